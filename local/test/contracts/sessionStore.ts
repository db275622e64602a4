/** The behaviour every SessionStore must have (DynamoDB Local and the in-memory fake). */
import { expect } from 'chai';
import { ulid } from 'ulid';
import { REMEMBERED_HASHES, type SessionRecord, type SessionStore } from '../../../shared/stores/sessions';
import { InvalidCursor } from '../../../shared/stores/cursor';

const HOUR = 3600_000;

function session(userId: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = new Date();
  return {
    id: ulid(),
    userId,
    createdAt: now.toISOString(),
    lastUsedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 24 * HOUR).toISOString(),
    remember: false,
    userAgent: 'tests',
    currentHash: 'a'.repeat(64),
    previousHashes: [],
    ...overrides,
  };
}

export function sessionStoreContract(makeStore: () => Promise<SessionStore>): void {
  let store: SessionStore;
  beforeEach(async () => {
    store = await makeStore();
  });

  it('creates and reads a session', async () => {
    const record = session(ulid());
    await store.create(record);
    expect(await store.get(record.userId, record.id)).to.deep.equal(record);
    expect(await store.get(record.userId, ulid())).to.equal(undefined);
    expect(await store.get(ulid(), record.id), 'the key includes the user').to.equal(undefined);
  });

  it('rotates only from the expected hash, remembering the last rotated-away hashes', async () => {
    const record = session(ulid());
    await store.create(record);
    expect(await store.rotate(record, 'b'.repeat(64), '2030-01-01T00:00:00.000Z')).to.equal(true);
    expect(await store.rotate(record, 'c'.repeat(64), '2030-01-01T00:00:00.000Z'), 'stale expected hash').to.equal(false);
    const stored = await store.get(record.userId, record.id);
    expect(stored?.currentHash).to.equal('b'.repeat(64));
    expect(stored?.previousHashes).to.deep.equal(['a'.repeat(64)]);
    expect(stored?.lastUsedAt).to.equal('2030-01-01T00:00:00.000Z');

    let current = stored as SessionRecord;
    for (let i = 0; i < REMEMBERED_HASHES + 5; i++) {
      const next = i.toString(16).padStart(64, '0');
      expect(await store.rotate(current, next, current.lastUsedAt)).to.equal(true);
      current = (await store.get(record.userId, record.id)) as SessionRecord;
    }
    expect(current.previousHashes).to.have.length(REMEMBERED_HASHES);
  });

  it('touch writes lastUsedAt only when it is older than the interval', async () => {
    const record = session(ulid(), { lastUsedAt: '2030-01-01T00:00:00.000Z' });
    await store.create(record);
    await store.touch(record.userId, record.id, new Date('2030-01-01T00:04:00.000Z'), 5 * 60_000);
    expect((await store.get(record.userId, record.id))?.lastUsedAt).to.equal('2030-01-01T00:00:00.000Z');
    await store.touch(record.userId, record.id, new Date('2030-01-01T00:06:00.000Z'), 5 * 60_000);
    expect((await store.get(record.userId, record.id))?.lastUsedAt).to.equal('2030-01-01T00:06:00.000Z');
    await store.touch(record.userId, ulid(), new Date(), 0);
  });

  it('lists a user’s unexpired sessions newest first, in pages, never another user’s', async () => {
    const userId = ulid();
    const records: SessionRecord[] = [];
    for (let i = 0; i < 5; i++) {
      const record = session(userId);
      records.push(record);
      await store.create(record);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const expired = session(userId, { expiresAt: new Date(Date.now() - 1000).toISOString() });
    await store.create(expired);
    await store.create(session(ulid()));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list(userId, 2, cursor, new Date());
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(seen).to.deep.equal(records.map((record) => record.id).reverse());
  });

  it('refuses a cursor that points into another user’s sessions', async () => {
    const mine = ulid();
    const theirs = ulid();
    for (const userId of [mine, theirs, theirs]) await store.create(session(userId));
    const theirPage = await store.list(theirs, 1, undefined, new Date());
    expect(theirPage.nextCursor).to.be.a('string');
    let error: unknown;
    try {
      await store.list(mine, 1, theirPage.nextCursor as string, new Date());
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(InvalidCursor);
  });

  it('deletes one session (reporting whether it existed) or all but one', async () => {
    const userId = ulid();
    const records = [session(userId), session(userId), session(userId)];
    for (const record of records) await store.create(record);
    expect(await store.delete(userId, records[0]?.id as string)).to.equal(true);
    expect(await store.delete(userId, records[0]?.id as string)).to.equal(false);
    expect(await store.deleteAll(userId, records[2]?.id)).to.equal(1);
    expect((await store.list(userId, 25, undefined, new Date())).items.map((item) => item.id)).to.deep.equal([records[2]?.id]);
    expect(await store.deleteAll(userId)).to.equal(1);
    expect(await store.deleteAll(userId)).to.equal(0);
  });

  it('deletes more sessions than fit in one batch', async () => {
    const userId = ulid();
    for (let i = 0; i < 30; i++) await store.create(session(userId));
    expect(await store.deleteAll(userId)).to.equal(30);
    expect((await store.list(userId, 100, undefined, new Date())).items).to.deep.equal([]);
  });
}
