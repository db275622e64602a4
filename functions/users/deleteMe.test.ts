import { expect } from 'chai';
import { invoke } from '../../local/test/events';
import { capturedMetrics } from '../../local/test/metrics';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';

describe('DELETE /v1/users/me (deleteMe)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: '01JD8X5Q2W4K6M8N0P2R4T6V8X', sessionId: '01JD8X5Q2W4K6M8N0P2R4T6V9A' };

  beforeEach(async () => {
    world = handlerWorld();
    handler = loadHandler('functions/users/deleteMe', world);
    await world.users.create(
      { id: caller.userId, email: 'ann@example.com', name: 'Ann', createdAt: '2026-11-21T10:00:00.000Z', updatedAt: '2026-11-21T10:00:00.000Z', status: 'active' },
      'fake-hash:the password 1',
    );
    await world.sessions.create({
      id: caller.sessionId,
      userId: caller.userId,
      createdAt: '2026-11-21T10:00:00.000Z',
      lastUsedAt: '2026-11-21T10:00:00.000Z',
      expiresAt: '2099-01-01T00:00:00.000Z',
      remember: false,
      userAgent: '',
      currentHash: 'a'.repeat(64),
      previousHashes: [],
    });
  });

  it('204 and everything of the account is gone: profile, credentials, sessions, media, analyses', async () => {
    const now = '2026-11-21T10:00:00.000Z';
    await world.media.createPending(pendingMediaRecord(caller.userId, { id: '01JD8X5Q2W4K6M8N0P2R4T6V9M', filename: 'a.jpg', size: 1, createdAt: now, updatedAt: now }));
    await world.content.put(`media/${caller.userId}/01JD8X5Q2W4K6M8N0P2R4T6V9M/original`, Buffer.from('x'), 'image/jpeg');
    await world.analyses.create({ id: '01JD8X5Q2W4K6M8N0P2R4T6V9N', userId: caller.userId, mediaId: '01JD8X5Q2W4K6M8N0P2R4T6V9M', status: 'queued', createdAt: now, updatedAt: now, attempts: 0 });
    const response = await invoke(handler, { method: 'DELETE', caller, body: { password: 'the password 1' } });
    expect(response.status).to.equal(204);
    expect(response.body).to.equal(undefined);
    expect(world.users.profiles.size + world.users.credentials.size + world.sessions.records.size).to.equal(0);
    expect(world.media.items.size + world.content.objects.size + world.analyses.records.size).to.equal(0);
  });

  it('403 with a wrong password; nothing is deleted', async () => {
    const response = await invoke<{ error: { code: string } }>(handler, { method: 'DELETE', caller, body: { password: 'wrong' } });
    expect(response.status).to.equal(403);
    expect(world.users.profiles.size).to.equal(1);
  });

  it('counts the lock its wrong passwords start (MediaLibrary/LoginLocks), once; nothing is deleted', async () => {
    const emitted = await capturedMetrics(async () => {
      for (let attempt = 0; attempt < 6; attempt++) await invoke(handler, { method: 'DELETE', caller, body: { password: 'wrong' } });
    });
    expect(emitted).to.deep.equal([{ namespace: 'MediaLibrary', name: 'LoginLocks', value: 1, dimensions: { service: 'media-library' } }]);
    expect(world.users.profiles.size).to.equal(1);
  });

  it('400 without a password, or with anything else in the body', async () => {
    expect((await invoke(handler, { method: 'DELETE', caller })).status).to.equal(400);
    expect((await invoke(handler, { method: 'DELETE', caller, body: { password: 'the password 1', force: true } })).status).to.equal(400);
    expect(world.users.profiles.size).to.equal(1);
  });
});
