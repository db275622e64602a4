import { expect } from 'chai';
import { httpEvent, lambdaContext } from '../../local/test/events';
import { publicRoute } from './handler';

type Raw = { statusCode: number; body: string; headers: Record<string, string> };
const call = (route: unknown): Promise<Raw> => (route as (event: unknown, context: unknown) => Promise<Raw>)(httpEvent({ path: '/page' }), lambdaContext());

describe('shared/http handler: text bodies and the page security policy', () => {
  const page = publicRoute({ auth: 'none', contentSecurityPolicy: { 'script-src': "'self'", sandbox: false, 'trusted-types': false } }, async () => ({
    status: 200,
    text: '<!doctype html><p>hi</p>',
    headers: { 'content-type': 'text/html; charset=utf-8' },
  }));
  const strict = publicRoute({ auth: 'none' }, async () => ({ status: 200, text: '<p>x</p>', headers: { 'content-type': 'text/html' } }));

  it('sends a text body as is, with the content type the route gives and the usual headers', async () => {
    const response = await call(page);
    expect(response.statusCode).to.equal(200);
    expect(response.body).to.equal('<!doctype html><p>hi</p>');
    expect(response.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(response.headers['x-request-id']).to.be.a('string').and.not.be.empty;
    expect(response.headers['X-Content-Type-Options']).to.equal('nosniff');
  });

  it('merges a route’s Content-Security-Policy over the strict default for HTML, dropping directives set to false', async () => {
    const relaxed = (await call(page)).headers['Content-Security-Policy'] ?? '';
    expect(relaxed).to.contain("script-src 'self'");
    expect(relaxed).to.contain("default-src 'none'");
    expect(relaxed).not.to.contain('sandbox');
    expect(relaxed).not.to.match(/(^|; )trusted-types /);
    const strictPolicy = (await call(strict)).headers['Content-Security-Policy'] ?? '';
    expect(strictPolicy).to.contain('sandbox');
    expect(strictPolicy).not.to.contain('script-src');
  });
});
