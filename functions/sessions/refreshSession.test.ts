import { expect } from 'chai';
import { badBodies } from '../../local/test/badInput';
import { invoke } from '../../local/test/events';
import { capturedMetrics } from '../../local/test/metrics';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';

interface Tokens {
  sessionId: string;
  accessToken: string;
  refreshToken: string;
}

describe('POST /v1/sessions/refresh (refreshSession)', () => {
  let world: HandlerWorld;
  let refresh: unknown;
  let tokens: Tokens;

  beforeEach(async () => {
    world = handlerWorld();
    refresh = loadHandler('functions/sessions/refreshSession', world);
    const login = loadHandler('functions/sessions/createSession', world);
    await world.users.create(
      { id: '01JD8X5Q2W4K6M8N0P2R4T6V8X', email: 'ann@example.com', name: 'Ann', createdAt: '2026-11-21T10:00:00.000Z', updatedAt: '2026-11-21T10:00:00.000Z', status: 'active' },
      'fake-hash:the password 1',
    );
    tokens = (await invoke<Tokens>(login, { method: 'POST', body: { email: 'ann@example.com', password: 'the password 1' } })).body;
  });

  it('200 with a new access token and a new refresh token', async () => {
    const response = await invoke<Tokens>(refresh, { method: 'POST', body: { refreshToken: tokens.refreshToken } });
    expect(response.status).to.equal(200);
    expect(response.body.sessionId).to.equal(tokens.sessionId);
    expect(response.body.refreshToken).not.to.equal(tokens.refreshToken);
    expect(response.body.accessToken).not.to.equal(tokens.accessToken);
  });

  it('the old refresh token then fails and revokes the session', async () => {
    const next = await invoke<Tokens>(refresh, { method: 'POST', body: { refreshToken: tokens.refreshToken } });
    const reuse = await invoke<{ error: { code: string } }>(refresh, { method: 'POST', body: { refreshToken: tokens.refreshToken } });
    expect(reuse.status).to.equal(401);
    expect(reuse.body.error.code).to.equal('invalid_refresh_token');
    expect((await invoke(refresh, { method: 'POST', body: { refreshToken: next.body.refreshToken } })).status).to.equal(401);
    expect(world.sessions.records.size).to.equal(0);
  });

  it('counts a replayed refresh token (MediaLibrary/RefreshTokenReuse), not a merely wrong or expired one', async () => {
    const emitted = await capturedMetrics(async () => {
      await invoke(refresh, { method: 'POST', body: { refreshToken: tokens.refreshToken } });
      await invoke(refresh, { method: 'POST', body: { refreshToken: `${tokens.refreshToken.slice(0, -4)}AAAA` } });
      await invoke(refresh, { method: 'POST', body: { refreshToken: tokens.refreshToken } });
      await invoke(refresh, { method: 'POST', body: { refreshToken: tokens.refreshToken } });
    });
    expect(emitted.map(({ name, value, dimensions }) => [name, value, dimensions])).to.deep.equal([['RefreshTokenReuse', 1, { service: 'media-library' }]]);
  });

  it('401 for an access token presented as a refresh token', async () => {
    expect((await invoke(refresh, { method: 'POST', body: { refreshToken: tokens.accessToken } })).status).to.equal(401);
  });

  for (const bad of badBodies({ refreshToken: 'x' })) {
    it(`${bad.status} for ${bad.what}`, async () => {
      const response = await invoke(refresh, {
        method: 'POST',
        ...(bad.rawBody === undefined ? { body: bad.body } : { rawBody: bad.rawBody }),
        headers: { 'content-type': bad.contentType ?? 'application/json' },
      });
      expect(response.status).to.equal(bad.status);
      expect(world.sessions.records.size).to.equal(1);
    });
  }
});
