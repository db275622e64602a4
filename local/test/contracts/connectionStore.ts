/** The behaviour every ConnectionStore must have (DynamoDB Local and the in-memory fake). */
import { expect } from 'chai';
import { ulid } from 'ulid';
import type { ConnectionRecord, ConnectionStore } from '../../../shared/stores/connections';

const HOUR = 3600_000;
/** A fresh connection id that sorts by its first character (`A…` before `B…`). */
const idStarting = (first: string): string => `${first}${ulid().slice(-14)}=`;
const ENDPOINT = 'https://live.example/test';

/** A connection of `userId` opened `openedAgoMs` before `now`, living the 2 hours API Gateway allows. */
export function connectionOf(userId: string, now: Date, openedAgoMs = 0, overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  const connectedAt = new Date(now.getTime() - openedAgoMs);
  return {
    // API Gateway's connection ids: 16 characters, base64-ish, with `=` at the end.
    id: `${ulid().slice(-15)}=`,
    userId,
    sessionId: ulid(),
    connectedAt: connectedAt.toISOString(),
    expiresAt: new Date(connectedAt.getTime() + 2 * HOUR).toISOString(),
    endpoint: ENDPOINT,
    ...overrides,
  };
}

export function connectionStoreContract(makeStore: () => Promise<ConnectionStore>): void {
  let store: ConnectionStore;
  const now = new Date();
  beforeEach(async () => {
    store = await makeStore();
  });

  it('adds, lists, and removes a connection by its id alone, returning what it was', async () => {
    const connection = connectionOf(ulid(), now);
    expect(await store.add(connection, 10)).to.deep.equal([]);
    expect(await store.ofUser(connection.userId, now)).to.deep.equal([connection]);

    expect(await store.remove(connection.id)).to.deep.equal(connection);
    expect(await store.ofUser(connection.userId, now)).to.deep.equal([]);
    expect(await store.remove(connection.id), 'a second $disconnect finds nothing').to.equal(undefined);
  });

  it('removeOf forgets a connection whose owner is known, its id included (a later $disconnect finds nothing)', async () => {
    const userId = ulid();
    const [kept, gone] = [connectionOf(userId, now, 2000), connectionOf(userId, now, 1000)];
    await store.add(kept, 10);
    await store.add(gone, 10);
    await store.removeOf(userId, gone.id);
    expect(await store.ofUser(userId, now)).to.deep.equal([kept]);
    expect(await store.remove(gone.id)).to.equal(undefined);
    await store.removeOf(userId, gone.id); // again: nothing to do, no error
    expect(await store.ofUser(userId, now)).to.deep.equal([kept]);
  });

  it('answers undefined for the $disconnect of a connection it never knew', async () => {
    expect(await store.remove(`${ulid().slice(-15)}=`)).to.equal(undefined);
  });

  it('lists a user’s connections oldest first (ties by id)', async () => {
    const userId = ulid();
    const newest = connectionOf(userId, now, 1000);
    const oldest = connectionOf(userId, now, 3000);
    const [tieA, tieB] = [connectionOf(userId, now, 2000, { id: idStarting('A') }), connectionOf(userId, now, 2000, { id: idStarting('B') })];
    for (const connection of [newest, tieB, oldest, tieA]) await store.add(connection, 10);
    expect((await store.ofUser(userId, now)).map((connection) => connection.id)).to.deep.equal([oldest.id, tieA.id, tieB.id, newest.id]);
  });

  it('holds at most `cap` connections of a user: adding one more removes the oldest and returns it', async () => {
    const userId = ulid();
    const connections = [4000, 3000, 2000].map((ago) => connectionOf(userId, now, ago));
    for (const connection of connections) expect(await store.add(connection, 3)).to.deep.equal([]);
    const [oldest, second, third] = connections as [ConnectionRecord, ConnectionRecord, ConnectionRecord];

    const fourth = connectionOf(userId, now, 1000);
    expect(await store.add(fourth, 3)).to.deep.equal([oldest]);
    expect(await store.ofUser(userId, now)).to.deep.equal([second, third, fourth]);
    expect(await store.remove(oldest.id), 'the evicted connection is forgotten whole').to.equal(undefined);

    // A lower cap (the stage's setting changed) evicts every connection beyond it, oldest first.
    const fifth = connectionOf(userId, now);
    expect(await store.add(fifth, 2)).to.deep.equal([second, third]);
    expect(await store.ofUser(userId, now)).to.deep.equal([fourth, fifth]);
    const sixth = connectionOf(userId, new Date(now.getTime() + 1000));
    expect(await store.add(sixth, 1)).to.deep.equal([fourth, fifth]);
    expect(await store.ofUser(userId, now)).to.deep.equal([sixth]);
  });

  it('never evicts the connection being added, even when it sorts first', async () => {
    const userId = ulid();
    const other = connectionOf(userId, now, 0, { id: idStarting('Z') });
    await store.add(other, 1);
    const added = connectionOf(userId, now, 0, { id: idStarting('A') });
    expect(await store.add(added, 1)).to.deep.equal([other]);
    expect(await store.ofUser(userId, now)).to.deep.equal([added]);
  });

  it('counts a user’s own connections against the cap, never another user’s', async () => {
    const [ann, bob] = [ulid(), ulid()];
    const annsConnection = connectionOf(ann, now, 1000);
    await store.add(annsConnection, 1);
    expect(await store.add(connectionOf(bob, now), 1)).to.deep.equal([]);
    expect(await store.ofUser(ann, now)).to.deep.equal([annsConnection]);
  });

  it('does not list expired connections, nor count them against the cap', async () => {
    const userId = ulid();
    const expired = connectionOf(userId, now, 3 * HOUR);
    const live = connectionOf(userId, now, 1000);
    await store.add(expired, 10);
    await store.add(live, 10);
    expect(await store.ofUser(userId, now)).to.deep.equal([live]);
    expect(await store.ofUser(userId, new Date(Date.parse(expired.expiresAt) - 1)), 'listed until it expires').to.deep.equal([expired, live]);

    const next = connectionOf(userId, now);
    expect(await store.add(next, 2), 'the expired one does not take a place').to.deep.equal([]);
    expect(await store.ofUser(userId, now)).to.deep.equal([live, next]);
  });

  it('refuses to record a connection id twice, for the same user or another, and keeps the first', async () => {
    const first = connectionOf(ulid(), now);
    await store.add(first, 10);
    let error: unknown;
    await store.add({ ...first, sessionId: ulid() }, 10).catch((caught: unknown) => (error = caught));
    expect(error).to.be.instanceOf(Error);
    error = undefined;
    const otherUsers = connectionOf(ulid(), now, 0, { id: first.id });
    await store.add(otherUsers, 10).catch((caught: unknown) => (error = caught));
    expect(error, 'an id names one connection, whoever opened it').to.be.instanceOf(Error);
    expect(await store.ofUser(first.userId, now)).to.deep.equal([first]);
    expect(await store.ofUser(otherUsers.userId, now)).to.deep.equal([]);
  });

  it('never returns another user’s connections', async () => {
    const [ann, bob] = [ulid(), ulid()];
    const annsConnections = [connectionOf(ann, now, 2000), connectionOf(ann, now, 1000)];
    for (const connection of annsConnections) await store.add(connection, 10);
    const bobsConnection = connectionOf(bob, now);
    await store.add(bobsConnection, 10);
    expect(await store.ofUser(ann, now)).to.deep.equal(annsConnections);
    expect(await store.ofUser(bob, now)).to.deep.equal([bobsConnection]);
    expect(await store.ofUser(ulid(), now)).to.deep.equal([]);
  });
}
