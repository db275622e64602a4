import fs from 'node:fs';
import path from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { expect } from 'chai';
import { httpEvent, lambdaContext } from '../../local/test/events';
import { handler } from './getDocs';

type Handler = (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
const get = (file?: string) =>
  (handler as unknown as Handler)(httpEvent({ path: file === undefined ? '/docs' : `/docs/${file}`, ...(file === undefined ? {} : { pathParameters: { file } }) }), lambdaContext());
const header = (response: APIGatewayProxyStructuredResultV2, name: string): string | undefined =>
  Object.entries(response.headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1] as string | undefined;
const distFile = (name: string): string => fs.readFileSync(path.join(path.dirname(require.resolve('swagger-ui-dist/package.json')), name), 'utf8');

describe('GET /docs (getDocs)', () => {
  it('answers the Swagger UI page, which loads its script and styles from /docs and the document from /v1/openapi.json', async () => {
    const response = await get();
    expect(response.statusCode).to.equal(200);
    expect(header(response, 'content-type')).to.equal('text/html; charset=utf-8');
    expect(response.body).to.contain('<script src="/docs/swagger-ui-bundle.js"></script>');
    expect(response.body).to.contain('<link rel="stylesheet" href="/docs/swagger-ui.css">');
    expect(response.body).to.contain('<script src="/docs/init.js"></script>');
    expect(response.body).not.to.match(/<script>[^<]/, 'no inline script');
    expect(response.body).not.to.match(/https?:\/\//, 'nothing from another origin (no CDN)');
  });

  it('sends a Content-Security-Policy that allows scripts and styles from this origin only', async () => {
    const policy = header(await get(), 'content-security-policy') ?? '';
    const directives = new Map(policy.split(';').map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name ?? '', values.join(' ')]));
    expect(directives.get('default-src')).to.equal("'none'");
    expect(directives.get('script-src')).to.equal("'self'");
    expect(directives.get('connect-src')).to.equal("'self'");
    expect(directives.get('frame-ancestors')).to.equal("'none'");
    expect(policy).not.to.contain('sandbox');
    expect(policy).not.to.contain('unsafe-eval');
  });

  it('serves Swagger UI’s bundle and style sheet from the swagger-ui-dist package, cacheable for a day', async () => {
    const script = await get('swagger-ui-bundle.js');
    expect(script.statusCode).to.equal(200);
    expect(header(script, 'content-type')).to.equal('text/javascript; charset=utf-8');
    expect(header(script, 'cache-control')).to.equal('public, max-age=86400');
    expect(script.body).to.equal(distFile('swagger-ui-bundle.js'));
    const css = await get('swagger-ui.css');
    expect(header(css, 'content-type')).to.equal('text/css; charset=utf-8');
    expect(css.body).to.equal(distFile('swagger-ui.css'));
  });

  it('serves the start-up script that points Swagger UI at /v1/openapi.json', async () => {
    const init = await get('init.js');
    expect(init.statusCode).to.equal(200);
    expect(init.body).to.contain("url: '/v1/openapi.json'");
  });

  for (const file of ['index.html', 'package.json', '..%2Fpackage.json', 'constructor', '__proto__']) {
    it(`answers 404 asset_not_found for ${file}`, async () => {
      const response = await get(file);
      expect(response.statusCode).to.equal(404);
      expect((JSON.parse(response.body ?? '{}') as { error: { code: string } }).error.code).to.equal('asset_not_found');
    });
  }

  it('answers 404 for any other name, however long or odd (the route documents no 400)', async () => {
    for (const file of ['a'.repeat(5000), '', '%00', 'swagger-ui.css/']) expect((await get(file)).statusCode, file.slice(0, 10)).to.equal(404);
  });
});
