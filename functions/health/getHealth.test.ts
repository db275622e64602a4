import { expect } from 'chai';
import { invoke } from '../../local/test/events';
import packageJson from '../../package.json';
import { handler } from './getHealth';

describe('GET /v1/health (getHealth)', () => {
  it('answers 200 with status, the deployed version and the stage', async () => {
    const response = await invoke(handler, { path: '/v1/health' });
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ status: 'ok', version: packageJson.version, stage: 'local' });
    expect(response.headers['x-request-id']).to.be.a('string').and.not.be.empty;
  });
});
