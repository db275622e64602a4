import { expect } from 'chai';
import sinon from 'sinon';
import { memoryUserStore } from '../../local/test/fakes';
import type { HttpError } from '../http/errors';
import { THROTTLE_POLICY, afterFailure, lockedForSeconds, reserveAttempt } from './loginThrottle';

const T0 = Date.parse('2026-11-21T10:00:00Z');
/** A clock standing still at `ms`. */
const at = (ms: number) => ({ now: () => new Date(ms) });

describe('login throttle policy', () => {
  it('counts failures inside the window and locks on the fifth', () => {
    let state = afterFailure(undefined, T0);
    expect(state).to.include({ failures: 1, windowStartedAt: T0, lockedUntil: 0, lockouts: 0 });
    for (let i = 2; i < THROTTLE_POLICY.maxFailures; i++) state = afterFailure(state, T0 + i * 1000);
    expect(state.failures).to.equal(THROTTLE_POLICY.maxFailures - 1);
    expect(lockedForSeconds(state, T0 + 10_000)).to.equal(0);
    state = afterFailure(state, T0 + 10_000);
    expect(state.lockedUntil).to.equal(T0 + 10_000 + THROTTLE_POLICY.baseLockMs);
    expect(state.lockouts).to.equal(1);
    expect(lockedForSeconds(state, T0 + 10_000)).to.equal(60);
    expect(lockedForSeconds(state, T0 + 10_000 + 59_500)).to.equal(1);
    expect(lockedForSeconds(state, T0 + 10_000 + 60_000)).to.equal(0);
  });

  it('starts a new window after 15 minutes', () => {
    const state = afterFailure({ failures: 4, windowStartedAt: T0, lockedUntil: 0, lockouts: 0, version: 3 }, T0 + THROTTLE_POLICY.windowMs + 1);
    expect(state).to.include({ failures: 1, windowStartedAt: T0 + THROTTLE_POLICY.windowMs + 1, version: 3 });
  });

  it('doubles the lock with every lockout, up to one hour', () => {
    const durations: number[] = [];
    let state = afterFailure(undefined, T0);
    let now = T0;
    for (let lock = 0; lock < 9; lock++) {
      while (state.lockedUntil <= now) {
        now += 1000;
        state = afterFailure(state, now);
      }
      durations.push((state.lockedUntil - now) / 60_000);
      now = state.lockedUntil;
    }
    expect(durations).to.deep.equal([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it('after a lock, one attempt: its failure locks again at once, doubled; 15 quiet minutes after the lock start afresh', () => {
    let state: ReturnType<typeof afterFailure> | undefined;
    for (let i = 0; i < THROTTLE_POLICY.maxFailures; i++) state = afterFailure(state, T0 + i);
    const firstLockEnd = (state as ReturnType<typeof afterFailure>).lockedUntil;
    state = afterFailure(state, firstLockEnd + 1000);
    expect(state.lockedUntil).to.equal(firstLockEnd + 1000 + 2 * THROTTLE_POLICY.baseLockMs);
    const quiet = afterFailure(state, state.lockedUntil + THROTTLE_POLICY.windowMs + 1);
    expect(quiet).to.include({ failures: 1, lockouts: 2 });
    expect(lockedForSeconds(quiet, state.lockedUntil + THROTTLE_POLICY.windowMs + 1)).to.equal(0);
  });

  it('a guesser gets at most 9 attempts in the first 15 minutes (5, then one per lock of 1, 2, 4, 8 minutes)', () => {
    let state: ReturnType<typeof afterFailure> | undefined;
    let attempts = 0;
    for (let now = T0; now < T0 + THROTTLE_POLICY.windowMs; now += 1000) {
      if (lockedForSeconds(state, now) > 0) continue;
      attempts++;
      state = afterFailure(state, now);
    }
    expect(attempts).to.be.at.most(9);
  });

  it('reserveAttempt: of 20 parallel attempts exactly the budget (5) gets through, the last of them starting the lock; the rest are refused with 429 and Retry-After', async () => {
    const users = memoryUserStore();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => reserveAttempt(users, 'ann@example.com', at(T0))));
    const refused = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected').map((result) => result.reason as HttpError);
    expect(results.filter((result) => result.status === 'fulfilled')).to.have.length(THROTTLE_POLICY.maxFailures);
    expect(refused.map((error) => [error.status, error.code])).to.deep.equal(Array.from({ length: 15 }, () => [429, 'too_many_attempts']));
    expect(refused.map((error) => error.headers?.['retry-after'])).to.deep.equal(Array.from({ length: 15 }, () => '60'));
    expect(users.throttles.get('ann@example.com')).to.include({ lockouts: 1, lockedUntil: T0 + THROTTLE_POLICY.baseLockMs, version: THROTTLE_POLICY.maxFailures });
  });

  it('reserveAttempt during a lock: 429 with the time left, nothing written (a burst cannot escalate the lock)', async () => {
    const users = memoryUserStore();
    for (let i = 0; i < THROTTLE_POLICY.maxFailures; i++) await reserveAttempt(users, 'ann@example.com', at(T0));
    const locked = { ...users.throttles.get('ann@example.com') };
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => reserveAttempt(users, 'ann@example.com', at(T0 + 30_000))));
    expect(results.map((result) => (result.status === 'rejected' ? (result.reason as HttpError).headers?.['retry-after'] : 'through'))).to.deep.equal(Array.from({ length: 10 }, () => '30'));
    expect(users.throttles.get('ann@example.com')).to.deep.equal(locked);
  });

  it('reserveAttempt after a lock: of a parallel burst one attempt gets through, and it starts the next, doubled lock', async () => {
    const users = memoryUserStore();
    for (let i = 0; i < THROTTLE_POLICY.maxFailures; i++) await reserveAttempt(users, 'ann@example.com', at(T0));
    const after = T0 + THROTTLE_POLICY.baseLockMs;
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => reserveAttempt(users, 'ann@example.com', at(after))));
    expect(results.filter((result) => result.status === 'fulfilled')).to.have.length(1);
    expect(users.throttles.get('ann@example.com')).to.include({ lockouts: 2, lockedUntil: after + 2 * THROTTLE_POLICY.baseLockMs });
  });

  it('reserveAttempt returns the login state its attempt was taken from (the credentials to verify)', async () => {
    const users = memoryUserStore();
    await users.create({ id: 'u1', email: 'ann@example.com', name: 'Ann', createdAt: '', updatedAt: '', status: 'active' }, 'hash-1');
    const state = await reserveAttempt(users, 'ann@example.com', at(T0));
    expect(state.credentials).to.deep.equal({ email: 'ann@example.com', userId: 'u1', passwordHash: 'hash-1', generation: 0 });
    expect(users.throttles.get('ann@example.com')?.failures, 'counted as a failure until a success clears it').to.equal(1);
  });

  it('reserveAttempt refuses (429, Retry-After 1) rather than let an attempt through unreserved when it keeps losing to concurrent ones', async () => {
    const users = memoryUserStore();
    const save = sinon.stub(users, 'saveThrottle').resolves(false);
    const error = (await reserveAttempt(users, 'ann@example.com', at(T0)).then(
      () => expect.fail('should be refused'),
      (caught: unknown) => caught,
    )) as HttpError;
    expect([error.status, error.headers?.['retry-after']]).to.deep.equal([429, '1']);
    expect(save.callCount).to.equal(10);
  });

  it('keeps the state for 24 hours after the last attempt (TTL)', async () => {
    const users = memoryUserStore();
    await reserveAttempt(users, 'ann@example.com', at(T0));
    expect(users.throttles.get('ann@example.com')?.ttl).to.equal(Math.ceil((T0 + THROTTLE_POLICY.memoryMs) / 1000));
  });
});
