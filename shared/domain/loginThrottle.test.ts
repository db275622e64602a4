import { expect } from 'chai';
import sinon from 'sinon';
import { memoryUserStore } from '../../local/test/fakes';
import { THROTTLE_POLICY, afterFailure, lockedForSeconds, recordFailure } from './loginThrottle';

const T0 = Date.parse('2026-11-21T10:00:00Z');

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

  it('recordFailure re-reads and retries when a concurrent attempt saved first (no lost failure)', async () => {
    const users = memoryUserStore();
    await Promise.all(Array.from({ length: 4 }, () => recordFailure(users, 'ann@example.com', undefined, T0)));
    expect(users.throttles.get('ann@example.com')?.failures).to.equal(4);
  });

  it('recordFailure gives up quietly after repeated conflicts instead of failing the login answer', async () => {
    const users = memoryUserStore();
    const save = sinon.stub(users, 'saveThrottle').resolves(false);
    await recordFailure(users, 'ann@example.com', undefined, T0);
    expect(save.callCount).to.equal(5);
  });

  it('keeps the state for 24 hours after the last failure (TTL)', async () => {
    const users = memoryUserStore();
    await recordFailure(users, 'ann@example.com', undefined, T0);
    expect(users.throttles.get('ann@example.com')?.ttl).to.equal(Math.ceil((T0 + THROTTLE_POLICY.memoryMs) / 1000));
  });
});
