import type { LoginThrottleState, UserStore } from '../stores/users';

/**
 * Per-account login throttling. Five failed attempts within 15 minutes lock the account's
 * logins; the lock lasts 1 minute the first time and doubles with every further lock (up to
 * an hour), and the count of locks is remembered for 24 hours after the last failure. Once a
 * lock is served, one attempt is allowed (the owner may have remembered the password); if it
 * fails within 15 minutes the next, longer lock starts at once: a guesser gets one try per lock,
 * not five (about nine in the first quarter of an hour). Attempts
 * during a lock are refused with 429 + Retry-After without checking the password. A successful
 * login clears the state. Keyed by the (hashed) email whether or not an account exists, so the
 * throttle reveals nothing about which emails are registered.
 */
export const THROTTLE_POLICY = {
  maxFailures: 5,
  windowMs: 15 * 60_000,
  baseLockMs: 60_000,
  maxLockMs: 60 * 60_000,
  memoryMs: 24 * 60 * 60_000,
} as const;

/** Seconds until the account may try again, or 0 when it is not locked. */
export function lockedForSeconds(state: LoginThrottleState | undefined, now: number): number {
  if (state === undefined || state.lockedUntil <= now) return 0;
  return Math.ceil((state.lockedUntil - now) / 1000);
}

export function afterFailure(state: LoginThrottleState | undefined, now: number): LoginThrottleState {
  const current = state ?? { failures: 0, windowStartedAt: now, lockedUntil: 0, lockouts: 0, version: 0 };
  const windowExpired = now - current.windowStartedAt > THROTTLE_POLICY.windowMs;
  const failures = (windowExpired ? 0 : current.failures) + 1;
  const windowStartedAt = windowExpired ? now : current.windowStartedAt;
  if (failures < THROTTLE_POLICY.maxFailures) {
    return { failures, windowStartedAt, lockedUntil: current.lockedUntil, lockouts: current.lockouts, version: current.version };
  }
  const lockMs = Math.min(THROTTLE_POLICY.baseLockMs * 2 ** current.lockouts, THROTTLE_POLICY.maxLockMs);
  const lockedUntil = now + lockMs;
  // After the lock, one more failure within the window locks again (failures stay one short of
  // the limit); 15 quiet minutes after the lock start a new count.
  return { failures: THROTTLE_POLICY.maxFailures - 1, windowStartedAt: lockedUntil, lockedUntil, lockouts: current.lockouts + 1, version: current.version };
}

/** Records one failed attempt, re-reading and retrying when a concurrent attempt got there first. */
export async function recordFailure(users: UserStore, email: string, state: LoginThrottleState | undefined, now: number): Promise<void> {
  let current = state;
  for (let attempt = 0; attempt < 5; attempt++) {
    const next = afterFailure(current, now);
    const ttl = Math.ceil((Math.max(now + THROTTLE_POLICY.memoryMs, next.lockedUntil) / 1000));
    if (await users.saveThrottle(email, next, ttl)) return;
    current = (await users.getLoginState(email)).throttle;
  }
}
