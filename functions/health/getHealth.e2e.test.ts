import { expect } from 'chai';
import packageJson from '../../package.json';
import { offlineApi } from '../../local/test/stack';

describe('GET /v1/health over HTTP (serverless-offline)', function () {
  this.timeout(120_000);
  let baseUrl: string;

  before(async () => {
    baseUrl = (await offlineApi()).baseUrl;
  });

  it('answers 200 JSON with version, stage and a request id', async () => {
    const response = await fetch(`${baseUrl}/v1/health`);
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.contain('application/json');
    expect(response.headers.get('x-request-id')).to.be.a('string').and.not.be.empty;
    expect(response.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(await response.json()).to.deep.equal({ status: 'ok', version: packageJson.version, stage: 'local' });
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
