import { expect } from 'chai';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';

describe('GET /v1/users/me (getMe)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: '01JD8X5Q2W4K6M8N0P2R4T6V8X', sessionId: '01JD8X5Q2W4K6M8N0P2R4T6V9A' };
  beforeEach(async () => {
    world = handlerWorld();
    handler = loadHandler('functions/users/getMe', world);
    await world.users.create(
      { id: caller.userId, email: 'ann@example.com', name: 'Ann', createdAt: '2026-11-21T10:00:00.000Z', updatedAt: '2026-11-21T10:00:00.000Z', status: 'active' },
      'secret-hash',
    );
  });

  it('200 with the caller’s profile only', async () => {
    const response = await invoke(handler, { caller });
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ id: caller.userId, email: 'ann@example.com', name: 'Ann', createdAt: '2026-11-21T10:00:00.000Z' });
  });

  it('404 when the account no longer exists', async () => {
    const response = await invoke<{ error: { code: string } }>(handler, { caller: { ...caller, userId: '01JD8X5Q2W4K6M8N0P2R4T6V9C' } });
    expect(response.status).to.equal(404);
    expect(response.body.error.code).to.equal('user_not_found');
  });

  it('401 without an authorizer context', async () => {
    expect((await invoke(handler)).status).to.equal(401);
  });
});
