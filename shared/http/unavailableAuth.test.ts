import { expect } from 'chai';
import sinon from 'sinon';
import * as z from 'zod/mini';
import { invoke } from '../../local/test/events';
import { protectedRoute } from './handler';

/** When the authorizer could not check a token (a dependency failed) it marks the request `unavailable`. */
describe('shared/http handler: requests whose token could not be checked', () => {
  const work = sinon.spy(async () => ({ status: 200, body: { ok: true } }));
  const route = protectedRoute({ auth: 'bearer', body: z.strictObject({ name: z.string() }) }, work);
  const unavailable = { userId: '', sessionId: '', unavailable: 'true' } as unknown as { userId: string; sessionId: string };

  afterEach(() => work.resetHistory());

  it('answers 503 service_unavailable with Retry-After, and the handler never runs', async () => {
    const response = await invoke<{ error: { code: string } }>(route, { method: 'POST', body: { name: 'a' }, caller: unavailable });
    expect(response.status).to.equal(503);
    expect(response.body.error.code).to.equal('service_unavailable');
    expect(response.headers['retry-after']).to.equal('1');
    expect(work.called).to.equal(false);
  });

  it('answers 503 before looking at the body: an unchecked caller learns nothing about its input', async () => {
    const response = await invoke(route, { method: 'POST', rawBody: '{not json', headers: { 'content-type': 'application/json' }, caller: unavailable });
    expect(response.status).to.equal(503);
  });

  it('a checked caller gets the handler as usual', async () => {
    const response = await invoke(route, { method: 'POST', body: { name: 'a' }, caller: { userId: 'u', sessionId: 's' } });
    expect(response.status).to.equal(200);
    expect(work.calledOnce).to.equal(true);
  });
});
