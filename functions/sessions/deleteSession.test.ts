import { expect } from 'chai';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';

describe('DELETE /v1/sessions/{id} (deleteSession)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: '01JD8X5Q2W4K6M8N0P2R4T6V8X', sessionId: '01JD8X5Q2W4K6M8N0P2R4T6V9A' };
  const other = '01JD8X5Q2W4K6M8N0P2R4T6V9B';
  const stranger = { userId: '01JD8X5Q2W4K6M8N0P2R4T6V9D', sessionId: '01JD8X5Q2W4K6M8N0P2R4T6V9C' };
  const record = (id: string, userId: string) => ({
    id,
    userId,
    createdAt: '2026-11-21T10:00:00.000Z',
    lastUsedAt: '2026-11-21T10:00:00.000Z',
    expiresAt: '2099-01-01T00:00:00.000Z',
    remember: false,
    userAgent: '',
    currentHash: 'a'.repeat(64),
    previousHashes: [],
  });

  beforeEach(async () => {
    world = handlerWorld();
    handler = loadHandler('functions/sessions/deleteSession', world);
    await world.sessions.create(record(caller.sessionId, caller.userId));
    await world.sessions.create(record(other, caller.userId));
    await world.sessions.create(record(stranger.sessionId, stranger.userId));
  });

  it('204 revokes one of the caller’s sessions; 404 the second time', async () => {
    expect((await invoke(handler, { method: 'DELETE', caller, pathParameters: { id: other } })).status).to.equal(204);
    expect(await world.sessions.get(caller.userId, other)).to.equal(undefined);
    expect((await invoke(handler, { method: 'DELETE', caller, pathParameters: { id: other } })).status).to.equal(404);
  });

  it('`current` logs out the session making the request', async () => {
    expect((await invoke(handler, { method: 'DELETE', caller, pathParameters: { id: 'current' } })).status).to.equal(204);
    expect(await world.sessions.get(caller.userId, caller.sessionId)).to.equal(undefined);
    expect(await world.sessions.get(caller.userId, other)).to.not.equal(undefined);
  });

  it('404 for another user’s session, which stays', async () => {
    const response = await invoke<{ error: { code: string } }>(handler, { method: 'DELETE', caller, pathParameters: { id: stranger.sessionId } });
    expect(response.status).to.equal(404);
    expect(await world.sessions.get(stranger.userId, stranger.sessionId)).to.not.equal(undefined);
  });

  it('400 for an id that is not a session id', async () => {
    for (const id of ['../../etc/passwd', 'CURRENT', '1', 'x'.repeat(300)]) {
      expect((await invoke(handler, { method: 'DELETE', caller, pathParameters: { id } })).status, id).to.equal(400);
    }
  });
});
