/**
 * The deploy stages' smoke test (local/delivery/smoke.ts) against the whole API under
 * serverless-offline: it passes with the smoke account and leaves no session behind, and it
 * fails, naming the step, the status and the request id, when the account cannot sign in, when
 * the API does not answer, or when an answer is not what the API promises.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { ApiClient, newAccount } from '../test/http';
import { offlineApi } from '../test/stack';
import { smokeTest, type SmokeOptions } from './smoke';

describe('local/delivery/smoke.ts: a deployed stage answers and its smoke account reads its library', function () {
  this.timeout(60_000);
  let api: ApiClient;
  let baseUrl: string;
  let account: { email: string; password: string; name: string };
  const lines: string[] = [];
  const options = (extra: Partial<SmokeOptions> = {}): SmokeOptions => ({ baseUrl, stage: 'test', email: account.email, password: account.password, log: (line) => lines.push(line), ...extra });

  before(async () => {
    baseUrl = (await offlineApi()).baseUrl;
    api = new ApiClient(baseUrl);
    account = newAccount('smoke');
    const created = await api.post('/v1/users', { body: account });
    expect(created.status, created.text).to.equal(201);
  });
  beforeEach(() => {
    lines.length = 0;
  });

  async function sessionsOfTheAccount(): Promise<number> {
    const session = await api.post<{ accessToken: string }>('/v1/sessions', { body: { email: account.email, password: account.password } });
    const listed = await api.get<{ items: Array<{ current: boolean }> }>('/v1/sessions', { token: session.body.accessToken });
    await api.delete('/v1/sessions/current', { token: session.body.accessToken });
    return listed.body.items.filter((item) => !item.current).length;
  }

  it('passes: health, sign in, own account, library, sign out; each step with its request id, and no session left', async () => {
    const steps = await smokeTest(options());
    expect(steps.map((step) => `${step.step} ${step.status}`)).to.deep.equal(['health 200', 'sign in 201', 'own account 200', 'library 200', 'sign out 204']);
    for (const step of steps) expect(step.requestId, step.step).to.match(/^[\w-]{8,}$/);
    expect(await sessionsOfTheAccount(), 'sessions the smoke test left').to.equal(0);
  });

  it('fails at sign-in with a wrong password, naming the status and the request id', async () => {
    let failure: unknown;
    await smokeTest(options({ password: `${account.password}-wrong` })).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/smoke sign in: POST \/v1\/sessions answered 401, expected 201 \(request [\w-]{8,}\)/);
  });

  it('fails when the stage does not answer', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    let failure: unknown;
    await smokeTest(options({ baseUrl: `http://127.0.0.1:${port}` })).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/smoke health: GET http:\/\/127\.0\.0\.1:\d+\/v1\/health did not answer/);
  });

  it('fails when an answer is not what the API promises (a 200 from something else at that URL)', async () => {
    const impostor = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}'));
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    try {
      let failure: unknown;
      await smokeTest(options({ baseUrl: `http://127.0.0.1:${(impostor.address() as AddressInfo).port}` })).catch((error: unknown) => (failure = error));
      expect(String(failure)).to.match(/smoke health: GET \/v1\/health answered a body the API does not promise/);
    } finally {
      await new Promise<void>((resolve) => impostor.close(() => resolve()));
    }
  });
});
