import { expect } from 'chai';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';

describe('GET /v1/sessions (listSessions)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: '01JD8X5Q2W4K6M8N0P2R4T6V8X', sessionId: '01JD8X5Q2W4K6M8N0P2R4T6V9A' };
  const record = (id: string, userId = caller.userId) => ({
    id,
    userId,
    createdAt: '2026-11-21T10:00:00.000Z',
    lastUsedAt: '2026-11-21T10:00:00.000Z',
    expiresAt: '2099-01-01T00:00:00.000Z',
    remember: false,
    userAgent: 'Firefox',
    currentHash: 'a'.repeat(64),
    previousHashes: ['b'.repeat(64)],
  });

  beforeEach(async () => {
    world = handlerWorld();
    handler = loadHandler('functions/sessions/listSessions', world);
    await world.sessions.create(record(caller.sessionId));
    await world.sessions.create(record('01JD8X5Q2W4K6M8N0P2R4T6V9B'));
    await world.sessions.create(record('01JD8X5Q2W4K6M8N0P2R4T6V9C', '01JD8X5Q2W4K6M8N0P2R4T6V9D'));
  });

  it('lists the caller’s sessions with `current`, and no token hashes', async () => {
    const response = await invoke<{ items: Array<Record<string, unknown>>; nextCursor: null }>(handler, { caller });
    expect(response.status).to.equal(200);
    expect(response.body.items.map((item) => [item['id'], item['current']])).to.deep.equal([
      ['01JD8X5Q2W4K6M8N0P2R4T6V9B', false],
      [caller.sessionId, true],
    ]);
    expect(JSON.stringify(response.body)).not.to.contain('aaaa');
    expect(JSON.stringify(response.body)).not.to.contain('bbbb');
    expect(response.body.nextCursor).to.equal(null);
  });

  it('pages with limit and cursor', async () => {
    const first = await invoke<{ items: unknown[]; nextCursor: string }>(handler, { caller, query: { limit: '1' } });
    expect(first.body.items).to.have.length(1);
    const second = await invoke<{ items: unknown[]; nextCursor: string | null }>(handler, { caller, query: { limit: '1', cursor: first.body.nextCursor } });
    expect(second.body.items).to.have.length(1);
  });

  for (const [what, query, code] of [
    ['limit 0', { limit: '0' }, 'validation_failed'],
    ['limit 101', { limit: '101' }, 'validation_failed'],
    ['a non-numeric limit', { limit: 'ten' }, 'validation_failed'],
    ['an unknown parameter', { sort: 'asc' }, 'validation_failed'],
    ['a tampered cursor', { cursor: 'eyJwayI6IlVTRVIjb3RoZXIiLCJzayI6IlNFU1NJT04jeCJ9' }, 'invalid_cursor'],
    ['a garbage cursor', { cursor: '!!!' }, 'invalid_cursor'],
  ] as const) {
    it(`400 ${code} for ${what}`, async () => {
      const response = await invoke<{ error: { code: string } }>(handler, { caller, query });
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal(code);
    });
  }
});
