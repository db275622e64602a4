import { expect } from 'chai';
import { badBodies } from '../../local/test/badInput';
import { invoke } from '../../local/test/events';
import { capturedMetrics } from '../../local/test/metrics';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';

describe('PATCH /v1/users/me (updateMe)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: '01JD8X5Q2W4K6M8N0P2R4T6V8X', sessionId: '01JD8X5Q2W4K6M8N0P2R4T6V9A' };
  const profile = { id: caller.userId, email: 'ann@example.com', name: 'Ann', createdAt: '2026-11-21T10:00:00.000Z', updatedAt: '2026-11-21T10:00:00.000Z', status: 'active' as const };
  const session = (id: string) => ({
    id,
    userId: caller.userId,
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
    handler = loadHandler('functions/users/updateMe', world);
    await world.users.create(profile, 'fake-hash:old password 123');
    await world.sessions.create(session(caller.sessionId));
    await world.sessions.create(session('01JD8X5Q2W4K6M8N0P2R4T6V9B'));
  });

  it('changes the name', async () => {
    const response = await invoke(handler, { method: 'PATCH', caller, body: { name: ' Annie ' } });
    expect(response.status).to.equal(200);
    expect(response.body).to.include({ name: 'Annie', email: 'ann@example.com' });
    expect(response.body).not.to.have.property('updatedAt');
  });

  it('changes the password with the current one and revokes the other sessions', async () => {
    const response = await invoke(handler, { method: 'PATCH', caller, body: { password: 'new password 456', currentPassword: 'old password 123' } });
    expect(response.status).to.equal(200);
    expect(world.users.credentials.get('ann@example.com')?.passwordHash).to.equal('fake-hash:new password 456');
    expect([...world.sessions.records.values()].map((record) => record.id)).to.deep.equal([caller.sessionId]);
  });

  it('counts the lock its wrong current passwords start (MediaLibrary/LoginLocks, shared with logins), once', async () => {
    const emitted = await capturedMetrics(async () => {
      for (let attempt = 0; attempt < 6; attempt++) await invoke(handler, { method: 'PATCH', caller, body: { password: 'new password 456', currentPassword: 'guess guess' } });
    });
    expect(emitted).to.deep.equal([{ namespace: 'MediaLibrary', name: 'LoginLocks', value: 1, dimensions: { service: 'media-library' } }]);
  });

  it('403 invalid_password with a wrong current password; nothing changes', async () => {
    const response = await invoke<{ error: { code: string } }>(handler, { method: 'PATCH', caller, body: { password: 'new password 456', currentPassword: 'guess guess' } });
    expect(response.status).to.equal(403);
    expect(response.body.error.code).to.equal('invalid_password');
    expect(world.sessions.records.size).to.equal(2);
  });

  for (const [what, body, path] of [
    ['a password without currentPassword', { password: 'new password 456' }, 'body.currentPassword'],
    ['an empty change', {}, 'body'],
    ['a short new password', { password: 'short', currentPassword: 'old password 123' }, 'body.password'],
    ['an email change (not supported)', { email: 'new@example.com' }, 'body'],
  ] as const) {
    it(`400 for ${what}`, async () => {
      const response = await invoke<{ error: { code: string; details: Array<{ path: string }> } }>(handler, { method: 'PATCH', caller, body });
      expect(response.status).to.equal(400);
      expect(response.body.error.details.map((detail) => detail.path)).to.include(path);
    });
  }

  for (const bad of badBodies({ name: 'Annie' })) {
    it(`${bad.status} for ${bad.what}`, async () => {
      const response = await invoke<{ error: { code: string } }>(handler, {
        method: 'PATCH',
        caller,
        ...(bad.rawBody === undefined ? { body: bad.body } : { rawBody: bad.rawBody }),
        headers: { 'content-type': bad.contentType ?? 'application/json' },
      });
      expect(response.status).to.be.oneOf([bad.status, 400]);
      expect(response.status).to.be.within(400, 499);
      expect(world.users.profiles.get(caller.userId)?.name).to.equal('Ann');
    });
  }
});
