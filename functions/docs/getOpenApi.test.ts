import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { invoke } from '../../local/test/events';
import { handler } from './getOpenApi';

describe('GET /v1/openapi.json (getOpenApi)', () => {
  it('answers the committed OpenAPI document, cacheable for 5 minutes', async () => {
    const response = await invoke<Record<string, unknown>>(handler, { path: '/v1/openapi.json' });
    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal('application/json; charset=utf-8');
    expect(response.headers['cache-control']).to.equal('public, max-age=300');
    const committed = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'openapi.v1.json'), 'utf8')) as unknown;
    expect(response.body).to.deep.equal(committed);
    expect(response.body['openapi']).to.equal('3.1.0');
  });
});
