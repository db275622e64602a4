import { expect } from 'chai';
import packageJson from '../../package.json';
import { contractFetch } from '../../local/test/contract';
import { offlineApi } from '../../local/test/stack';

describe('GET /v1/health over HTTP (serverless-offline)', function () {
  this.timeout(120_000);
  let baseUrl: string;

  before(async () => {
    baseUrl = (await offlineApi()).baseUrl;
  });

  it('answers 200 JSON with version, stage and a request id (as docs/openapi.v1.json documents)', async () => {
    const response = await contractFetch(`${baseUrl}/v1/health`);
    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.contain('application/json');
    expect(response.headers['x-request-id']).to.be.a('string').and.not.be.empty;
    expect(response.headers['x-content-type-options']).to.equal('nosniff');
    expect(response.json()).to.deep.equal({ status: 'ok', version: packageJson.version, stage: 'local' });
  });

  it('answers a CORS preflight from an allowed origin', async () => {
    const response = await fetch(`${baseUrl}/v1/health`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'GET' },
    });
    expect(response.status).to.be.oneOf([200, 204]);
    expect(response.headers.get('access-control-allow-origin')).to.equal('http://localhost:5173');
  });

  it('answers an unknown route with 404', async () => {
    const response = await fetch(`${baseUrl}/v1/no-such-route`);
    expect(response.status).to.equal(404);
  });
});
