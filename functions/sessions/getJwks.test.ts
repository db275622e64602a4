import { expect } from 'chai';
import { invoke } from '../../local/test/events';
import { testSigningKey } from '../../local/test/tokens';
import { handler } from './getJwks';

describe('GET /v1/.well-known/jwks.json (getJwks)', () => {
  it('200 with the public signing keys only, cacheable for 5 minutes', async () => {
    const response = await invoke<{ keys: Array<Record<string, string>> }>(handler);
    expect(response.status).to.equal(200);
    expect(response.headers['cache-control']).to.equal('public, max-age=300');
    expect(response.body.keys).to.have.length(1);
    expect(response.body.keys[0]).to.have.keys(['kty', 'crv', 'alg', 'use', 'kid', 'x', 'y']);
    expect(response.body.keys[0]).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: testSigningKey().kid });
  });
});
