import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { badBodies } from '../../local/test/badInput';
import { httpEvent, invoke, lambdaContext } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { capturedMetrics } from '../../local/test/metrics';

interface Tokens {
  sessionId: string;
  tokenType: string;
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

describe('POST /v1/sessions (createSession)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const userId = '01JD8X5Q2W4K6M8N0P2R4T6V8X';

  beforeEach(async () => {
    world = handlerWorld();
    handler = loadHandler('functions/sessions/createSession', world);
    await world.users.create({ id: userId, email: 'ann@example.com', name: 'Ann', createdAt: '2026-11-21T10:00:00.000Z', updatedAt: '2026-11-21T10:00:00.000Z', status: 'active' }, 'fake-hash:the password 1');
  });

  it('201 with a Bearer access token (ES256, at+jwt, kid, the claims) and a refresh token', async () => {
    const started = Date.now();
    const response = await invoke<Tokens>(handler, { method: 'POST', body: { email: ' ANN@example.com', password: 'the password 1' }, headers: { 'user-agent': 'Firefox' } });
    expect(response.status).to.equal(201);
    expect(response.body).to.have.keys(['sessionId', 'tokenType', 'accessToken', 'accessTokenExpiresAt', 'refreshToken', 'refreshTokenExpiresAt']);
    expect(response.body.tokenType).to.equal('Bearer');
    const decoded = jwt.decode(response.body.accessToken, { complete: true });
    expect(decoded?.header).to.include({ alg: 'ES256', typ: 'at+jwt' });
    expect(decoded?.header.kid).to.be.a('string');
    const payload = decoded?.payload as jwt.JwtPayload;
    expect(payload).to.include({ sub: userId, sid: response.body.sessionId, iss: process.env['JWT_ISSUER'], aud: process.env['JWT_AUDIENCE'] });
    expect(payload.jti).to.be.a('string');
    expect((payload.exp as number) - (payload.iat as number)).to.equal(900);
    const refreshLifetime = Date.parse(response.body.refreshTokenExpiresAt) - started;
    expect(refreshLifetime).to.be.within(24 * 3600_000 - 5000, 24 * 3600_000 + 5000);
    const [session] = [...world.sessions.records.values()];
    expect(session?.userAgent).to.equal('Firefox');
  });

  it('records an empty user agent when the client sends none', async () => {
    const event = httpEvent({ method: 'POST', body: { email: 'ann@example.com', password: 'the password 1' } });
    delete event.headers['user-agent'];
    const result = await (handler as (e: unknown, c: unknown) => Promise<{ statusCode: number }>)(event, lambdaContext());
    expect(result.statusCode).to.equal(201);
    expect([...world.sessions.records.values()][0]?.userAgent).to.equal('');
  });

  it('a remembered session lasts 30 days', async () => {
    const response = await invoke<Tokens>(handler, { method: 'POST', body: { email: 'ann@example.com', password: 'the password 1', remember: true } });
    expect(Date.parse(response.body.refreshTokenExpiresAt) - Date.now()).to.be.greaterThan(29 * 24 * 3600_000);
  });

  it('401 invalid_credentials for a wrong password and for an unknown email alike', async () => {
    const wrong = await invoke(handler, { method: 'POST', body: { email: 'ann@example.com', password: 'wrong password' } });
    const unknown = await invoke(handler, { method: 'POST', body: { email: 'bob@example.com', password: 'wrong password' } });
    expect(wrong.status).to.equal(401);
    expect(unknown.status).to.equal(401);
    expect(wrong.body).to.deep.equal(unknown.body);
  });

  it('counts logins by outcome and the lock a wrong password starts (metrics MediaLibrary/Logins, LoginLocks)', async () => {
    const login = (password: string): Promise<unknown> => invoke(handler, { method: 'POST', body: { email: 'ann@example.com', password } });
    const emitted = await capturedMetrics(async () => {
      await login('the password 1');
      for (let attempt = 0; attempt < 5; attempt++) await login('wrong password');
      await login('the password 1');
    });
    const service = { service: 'media-library' };
    expect(emitted.map(({ namespace, name, value, dimensions }) => `${namespace} ${name} ${value} ${JSON.stringify(dimensions)}`)).to.deep.equal([
      `MediaLibrary Logins 1 ${JSON.stringify({ ...service, outcome: 'success' })}`,
      ...Array<string>(5).fill(`MediaLibrary Logins 1 ${JSON.stringify({ ...service, outcome: 'wrong_password' })}`).flatMap((line, index) => (index === 4 ? [line, `MediaLibrary LoginLocks 1 ${JSON.stringify(service)}`] : [line])),
      `MediaLibrary Logins 1 ${JSON.stringify({ ...service, outcome: 'locked' })}`,
    ]);
  });

  it('the 6th failed attempt within 15 minutes gets 429 with Retry-After', async () => {
    for (let i = 0; i < 5; i++) expect((await invoke(handler, { method: 'POST', body: { email: 'ann@example.com', password: `guess ${i}` } })).status).to.equal(401);
    const locked = await invoke<{ error: { code: string } }>(handler, { method: 'POST', body: { email: 'ann@example.com', password: 'the password 1' } });
    expect(locked.status).to.equal(429);
    expect(locked.body.error.code).to.equal('too_many_attempts');
    expect(Number(locked.headers['retry-after'])).to.be.within(1, 60);
  });

  for (const bad of badBodies({ email: 'ann@example.com', password: 'the password 1' })) {
    it(`${bad.status} ${bad.code} for ${bad.what}`, async () => {
      const response = await invoke<{ error: { code: string } }>(handler, {
        method: 'POST',
        ...(bad.rawBody === undefined ? { body: bad.body } : { rawBody: bad.rawBody }),
        headers: { 'content-type': bad.contentType ?? 'application/json' },
      });
      expect(response.status).to.equal(bad.status);
      expect(response.body.error.code).to.equal(bad.code);
      expect(world.sessions.records.size).to.equal(0);
    });
  }

  it('400 for remember of the wrong type', async () => {
    expect((await invoke(handler, { method: 'POST', body: { email: 'ann@example.com', password: 'the password 1', remember: 'yes' } })).status).to.equal(400);
  });
});
