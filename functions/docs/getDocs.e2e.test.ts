import fs from 'node:fs';
import { expect } from 'chai';
import { ApiClient } from '../../local/test/http';
import { offlineApi } from '../../local/test/stack';

describe('API docs over HTTP (serverless-offline, esbuild bundles)', function () {
  this.timeout(120_000);
  let api: ApiClient;

  before(async () => {
    api = new ApiClient((await offlineApi()).baseUrl);
  });

  it('GET /v1/openapi.json answers the committed document', async () => {
    const response = await api.get('/v1/openapi.json');
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal(JSON.parse(fs.readFileSync('docs/openapi.v1.json', 'utf8')));
  });

  it('GET /docs answers the Swagger UI page, and its assets are the swagger-ui-dist files, bundled as text', async () => {
    const page = await api.get('/docs');
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    expect(page.text).to.contain('<div id="swagger-ui"></div>');
    for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
      const asset = await api.get(`/docs/${file}`);
      expect(asset.status, file).to.equal(200);
      expect(asset.text === fs.readFileSync(require.resolve(`swagger-ui-dist/${file}`), 'utf8'), `${file} byte for byte`).to.equal(true);
    }
    expect((await api.get('/docs/init.js')).text).to.contain('/v1/openapi.json');
    expect((await api.get('/docs/nothing.js')).status).to.equal(404);
  });
});
