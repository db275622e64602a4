import type { Clock } from '../clock';
import { TooManyRequests } from '../http/errors';
import type { LoginState, LoginThrottleState, UserStore } from '../stores/users';

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
 *
 * The budget is taken before the password is checked (reserveAttempt), so parallel attempts
 * cannot all pass a check of the same unlocked state: at most the budget is ever verified.
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

/** How often an attempt re-reads the state after a concurrent attempt saved first. */
const RESERVE_ATTEMPTS = 10;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class LoginLocked extends TooManyRequests {
  constructor(retryAfterSeconds: number) {
    super(retryAfterSeconds, 'too_many_attempts', 'Too many failed attempts; retry after the time in Retry-After');
  }
}

/**
 * Takes one attempt from the budget before the password is checked, and returns the login state
 * it was taken from (whose credentials the caller then verifies) and whether this attempt starts a lock. The attempt counts as a failure
 * in advance, so the attempt that uses up the budget also starts the lock: a failure needs no
 * second write, a success clears the state (clearThrottle). The write is conditional on the
 * version read, so of parallel attempts each takes its own share of the budget, and once the
 * lock is set every other one sees it: a burst during a lock is refused (429) without escalating
 * it, and after a lock exactly one attempt gets through. Refused with 429 + Retry-After while
 * locked, and (Retry-After 1) if it keeps losing to concurrent attempts on the same account.
 */
export async function reserveAttempt(users: Pick<UserStore, 'getLoginState' | 'saveThrottle'>, email: string, clock: Clock): Promise<LoginState & { startsLock: boolean }> {
  let state = await users.getLoginState(email);
  for (let attempt = 1; ; attempt++) {
    // Read the time afresh each round: a lock another attempt set meanwhile is measured from now.
    const now = clock.now().getTime();
    const lockedFor = lockedForSeconds(state.throttle, now);
    if (lockedFor > 0) throw new LoginLocked(lockedFor);
    const next = afterFailure(state.throttle, now);
    const ttl = Math.ceil(Math.max(now + THROTTLE_POLICY.memoryMs, next.lockedUntil) / 1000);
    // `startsLock`: this attempt used up the budget, so the lock holds unless its password is right.
    if (await users.saveThrottle(email, next, ttl)) return { ...state, startsLock: next.lockouts > (state.throttle?.lockouts ?? 0) };
    if (attempt >= RESERVE_ATTEMPTS) throw new LoginLocked(1);
    // Another attempt saved first: let the burst spread out (jittered) before reading again.
    await pause(Math.random() * 10 * attempt);
    state = await users.getLoginState(email);
  }
}
