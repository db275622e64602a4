/**
 * The behaviour every UserStore must have, run against the DynamoDB store (DynamoDB Local)
 * and against the in-memory fake, so unit tests that use the fake test the real rules.
 */
import { expect } from 'chai';
import { ulid } from 'ulid';
import { EmailTaken, type Credentials, type LoginThrottleState, type UserProfile, type UserStore } from '../../../shared/stores/users';

function profile(email = `${ulid().toLowerCase()}@example.com`): UserProfile {
  const now = new Date().toISOString();
  return { id: ulid(), email, name: 'Test', createdAt: now, updatedAt: now, status: 'active' };
}

export function userStoreContract(makeStore: () => Promise<UserStore>): void {
  let store: UserStore;
  beforeEach(async () => {
    store = await makeStore();
  });

  it('creates profile and credentials together and reads them back', async () => {
    const user = profile();
    await store.create(user, 'hash-1');
    expect(await store.getProfile(user.id)).to.deep.equal(user);
    expect(await store.getCredentials(user.email)).to.deep.equal({ email: user.email, userId: user.id, passwordHash: 'hash-1', generation: 0 });
    expect(await store.getProfile(ulid())).to.equal(undefined);
    expect(await store.getCredentials('nobody@example.com')).to.equal(undefined);
  });

  it('refuses a second account with the same email (EmailTaken) and keeps the first intact', async () => {
    const first = profile();
    await store.create(first, 'hash-1');
    const second = { ...profile(first.email) };
    let error: unknown;
    try {
      await store.create(second, 'hash-2');
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(EmailTaken);
    expect(await store.getProfile(second.id), 'no orphan profile').to.equal(undefined);
    expect((await store.getCredentials(first.email))?.userId).to.equal(first.id);
  });

  it('returns credentials and throttle of an email in one call', async () => {
    const user = profile();
    await store.create(user, 'hash-1');
    expect(await store.getLoginState(user.email)).to.deep.equal({ credentials: { email: user.email, userId: user.id, passwordHash: 'hash-1', generation: 0 } });
    const state = { failures: 2, windowStartedAt: 1, lockedUntil: 0, lockouts: 0, version: 0 };
    expect(await store.saveThrottle(user.email, state, 2_000_000_000)).to.equal(true);
    expect((await store.getLoginState(user.email)).throttle).to.deep.equal({ ...state, version: 1 });
    expect(await store.getLoginState('nobody@example.com')).to.deep.equal({});
  });

  it('saves the throttle only over the version it read (optimistic locking), and clears it', async () => {
    const email = `${ulid().toLowerCase()}@example.com`;
    const fresh = { failures: 1, windowStartedAt: 1, lockedUntil: 0, lockouts: 0, version: 0 };
    expect(await store.saveThrottle(email, fresh, 2_000_000_000)).to.equal(true);
    expect(await store.saveThrottle(email, { ...fresh, failures: 9 }, 2_000_000_000), 'stale version').to.equal(false);
    expect(await store.saveThrottle(email, { ...fresh, failures: 2, version: 1 }, 2_000_000_000)).to.equal(true);
    expect((await store.getLoginState(email)).throttle?.failures).to.equal(2);
    await store.clearThrottle(email);
    expect((await store.getLoginState(email)).throttle).to.equal(undefined);
  });

  it('a throttle state read before a clear cannot be saved over it: the clear stands, the writer re-reads', async () => {
    const email = `${ulid().toLowerCase()}@example.com`;
    expect(await store.saveThrottle(email, { failures: 1, windowStartedAt: 1, lockedUntil: 0, lockouts: 0, version: 0 }, 2_000_000_000)).to.equal(true);
    const read = (await store.getLoginState(email)).throttle as LoginThrottleState;
    await store.clearThrottle(email);
    expect(await store.saveThrottle(email, { ...read, failures: 2 }, 2_000_000_000), 'from before the clear').to.equal(false);
    expect((await store.getLoginState(email)).throttle).to.equal(undefined);
  });

  it('updates the name of active accounts only', async () => {
    const user = profile();
    await store.create(user, 'hash-1');
    const updated = await store.updateName(user.id, 'New name', '2030-01-01T00:00:00.000Z');
    expect(updated).to.include({ name: 'New name', updatedAt: '2030-01-01T00:00:00.000Z', email: user.email });
    expect(await store.updateName(ulid(), 'x', '2030-01-01T00:00:00.000Z')).to.equal(undefined);
    await store.beginDeletion(user);
    expect(await store.updateName(user.id, 'Too late', '2030-01-01T00:00:00.000Z')).to.equal(undefined);
  });

  it('changes the password only from the generation verified, moving it on; never for another user or a deleted account', async () => {
    const user = profile();
    await store.create(user, 'hash-1');
    const verified = (await store.getCredentials(user.email)) as Credentials;
    expect(await store.changePassword(verified, 'hash-2')).to.equal(true);
    expect(await store.getCredentials(user.email)).to.deep.include({ passwordHash: 'hash-2', generation: 1 });
    expect(await store.changePassword(verified, 'hash-3'), 'a second change from the same (now old) generation').to.equal(false);
    const current = (await store.getCredentials(user.email)) as Credentials;
    expect(await store.changePassword({ ...current, userId: ulid() }, 'hash-4'), 'someone else’s credentials').to.equal(false);
    expect((await store.getCredentials(user.email))?.passwordHash).to.equal('hash-2');
    await store.beginDeletion(user);
    expect(await store.changePassword(current, 'hash-5'), 'the credentials are gone').to.equal(false);
    expect(await store.getCredentials(user.email), 'and are not brought back').to.equal(undefined);
  });

  it('parallel password changes from one verified generation: exactly one wins', async () => {
    const user = profile();
    await store.create(user, 'hash-1');
    const verified = (await store.getCredentials(user.email)) as Credentials;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.changePassword(verified, `hash-${i}`)));
    expect(results.filter((changed) => changed)).to.have.length(1);
    expect((await store.getCredentials(user.email))?.generation).to.equal(1);
  });

  it('deletion: first the credentials go and the profile is marked, then the profile goes; repeatable', async () => {
    const user = profile();
    await store.create(user, 'hash-1');
    await store.beginDeletion(user);
    expect(await store.getCredentials(user.email)).to.equal(undefined);
    expect((await store.getProfile(user.id))?.status).to.equal('deleting');
    await store.beginDeletion(user);
    await store.deleteProfile(user.id);
    expect(await store.getProfile(user.id)).to.equal(undefined);
    await store.deleteProfile(user.id);
  });

  it('beginDeletion never removes credentials that now belong to someone else', async () => {
    const user = profile();
    await store.create(user, 'hash-1');
    await store.beginDeletion(user);
    const successor = profile(user.email);
    await store.create(successor, 'hash-2');
    await store.beginDeletion(user).catch(() => undefined);
    expect((await store.getCredentials(user.email))?.userId).to.equal(successor.id);
  });
}
