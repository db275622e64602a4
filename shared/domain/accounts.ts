/**
 * Accounts and sessions: plain functions over small interfaces (stores, hasher, clock, ids,
 * token issuer), so the rules are unit-testable without AWS. Handlers only parse, call these
 * and shape the answer.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock';
import { Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed } from '../http/errors';
import type { PasswordHasher } from '../auth/passwords';
import { hashSecret, newRefreshToken, parseRefreshToken } from '../auth/refreshTokens';
import type { AccessTokenSubject, IssuedAccessToken } from '../auth/tokens';
import { CredentialsChanged, type SessionRecord, type SessionStore } from '../stores/sessions';
import { EmailTaken, type Credentials, type UserProfile, type UserStore } from '../stores/users';
import { reserveAttempt } from './loginThrottle';

export interface TokenIssuer {
  /** Signs an access token that expires after the configured lifetime, and never after `notAfter`. */
  issue(subject: AccessTokenSubject, now: Date, notAfter: Date): Promise<IssuedAccessToken>;
}

export interface SessionSettings {
  shortSessionSeconds: number;
  longSessionSeconds: number;
}

export interface AccountDeps {
  users: UserStore;
  sessions: SessionStore;
  hasher: PasswordHasher;
  clock: Clock;
  newId: () => string;
}

export interface SessionTokens {
  sessionId: string;
  tokenType: 'Bearer';
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

/** `lastUsedAt` is written at most this often, so busy sessions do not cost a write per request. */
export const LAST_USED_RESOLUTION_MS = 5 * 60_000;

export class InvalidCredentials extends Unauthenticated {
  /** This wrong password used up the attempts: the account's logins are locked from now on. */
  lockStarted = false;

  constructor() {
    super('invalid_credentials', 'The email or password is wrong');
  }
}

export class InvalidRefreshToken extends Unauthenticated {
  constructor(
    /** A token already rotated away was presented (a replay): the session was revoked. */
    readonly reuseDetected = false,
  ) {
    super('invalid_refresh_token', 'The refresh token is not valid; log in again');
  }
}

export class InvalidPassword extends Forbidden {
  /** This wrong password used up the attempts: the account's logins are locked from now on. */
  lockStarted = false;

  constructor() {
    super('invalid_password', 'The password is wrong');
  }
}

/** Whether `error` is a wrong password (at login, or confirming a change) that started a lock. */
export const startedLock = (error: unknown): boolean => (error instanceof InvalidCredentials || error instanceof InvalidPassword) && error.lockStarted;

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export function passwordResemblesEmail(password: string, email: string): boolean {
  return password.trim().toLowerCase() === normalizeEmail(email);
}

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

export async function signUp(deps: Pick<AccountDeps, 'users' | 'hasher' | 'clock' | 'newId'>, input: { email: string; password: string; name: string }): Promise<UserProfile> {
  const email = normalizeEmail(input.email);
  if (passwordResemblesEmail(input.password, email)) {
    throw new ValidationFailed([{ path: 'body.password', message: 'The password must not be the email address', code: 'custom' }]);
  }
  const passwordHash = await deps.hasher.hash(input.password);
  const now = deps.clock.now().toISOString();
  const profile: UserProfile = { id: deps.newId(), email, name: input.name.trim(), createdAt: now, updatedAt: now, status: 'active' };
  try {
    await deps.users.create(profile, passwordHash);
  } catch (error) {
    if (error instanceof EmailTaken) throw new Conflict('email_taken', 'An account with this email already exists');
    throw error;
  }
  return profile;
}

/**
 * Checks a password under the login throttle: the attempt is taken from the account's budget
 * first (429 while locked), so however many run in parallel, at most the budget is verified;
 * a failure stays counted. Unknown emails cost the same hashing work as wrong passwords.
 * Returns the credentials verified (with their generation); the caller clears the throttle
 * (clearAfterSuccess) alongside its next write.
 */
async function checkPassword(deps: Pick<AccountDeps, 'users' | 'hasher' | 'clock'>, email: string, password: string, onWrong: () => Error): Promise<Credentials> {
  const { credentials, startsLock } = await reserveAttempt(deps.users, email, deps.clock);
  const ok = await deps.hasher.verify(credentials?.passwordHash, password);
  if (credentials === undefined || !ok) {
    const error = onWrong();
    if (error instanceof InvalidCredentials || error instanceof InvalidPassword) error.lockStarted = startsLock;
    throw error;
  }
  return credentials;
}

/**
 * A success clears the throttle. Best effort: if the write fails, the attempt stays counted as
 * a failure (the next success clears it), which is better than failing a correct login.
 */
async function clearAfterSuccess(deps: Pick<AccountDeps, 'users'>, email: string): Promise<void> {
  await deps.users.clearThrottle(email).catch(() => undefined);
}

async function startSession(
  deps: AccountDeps & { tokens: TokenIssuer; settings: SessionSettings },
  credentials: Credentials,
  remember: boolean,
  userAgent: string,
): Promise<SessionTokens> {
  const { userId } = credentials;
  const now = deps.clock.now();
  const sessionId = deps.newId();
  const refresh = newRefreshToken(userId, sessionId);
  const lifetimeSeconds = remember ? deps.settings.longSessionSeconds : deps.settings.shortSessionSeconds;
  const expiresAt = new Date(now.getTime() + lifetimeSeconds * 1000);
  const session: SessionRecord = {
    id: sessionId,
    userId,
    createdAt: now.toISOString(),
    lastUsedAt: now.toISOString(),
    expiresAt: expiresAt.toISOString(),
    remember,
    userAgent: userAgent.slice(0, 256),
    currentHash: refresh.hash,
    previousHashes: [],
  };
  // The token is signed while the session write is in flight; it is only handed out once the write succeeded.
  // The write holds only while the credentials verified are unchanged: a password change or an
  // account deletion in between makes it fail, as if the password had been wrong.
  const [, access] = await Promise.all([
    deps.sessions.create(session, credentials).catch((error: unknown) => {
      throw error instanceof CredentialsChanged ? new InvalidCredentials() : error;
    }),
    deps.tokens.issue({ userId, sessionId }, now, expiresAt),
  ]);
  return {
    sessionId,
    tokenType: 'Bearer',
    accessToken: access.accessToken,
    accessTokenExpiresAt: access.accessTokenExpiresAt.toISOString(),
    refreshToken: refresh.token,
    refreshTokenExpiresAt: session.expiresAt,
  };
}

export async function login(
  deps: AccountDeps & { tokens: TokenIssuer; settings: SessionSettings },
  input: { email: string; password: string; remember: boolean; userAgent: string },
): Promise<SessionTokens> {
  const email = normalizeEmail(input.email);
  const credentials = await checkPassword(deps, email, input.password, () => new InvalidCredentials());
  const [, tokens] = await Promise.all([clearAfterSuccess(deps, email), startSession(deps, credentials, input.remember, input.userAgent)]);
  return tokens;
}

/**
 * Refresh-token rotation with reuse detection: the presented secret must be the session's
 * current one, and is replaced by a new one in a conditional write. A secret that was already
 * rotated away (replay of a stolen or leaked token), or losing the race against a concurrent
 * refresh with the same token, revokes the whole session.
 */
export async function refresh(deps: Pick<AccountDeps, 'sessions' | 'clock'> & { tokens: TokenIssuer }, refreshToken: string): Promise<SessionTokens> {
  const parsed = parseRefreshToken(refreshToken);
  if (parsed === undefined) throw new InvalidRefreshToken();
  const now = deps.clock.now();
  const session = await deps.sessions.get(parsed.userId, parsed.sessionId);
  if (session === undefined || Date.parse(session.expiresAt) <= now.getTime()) throw new InvalidRefreshToken();
  const presented = hashSecret(parsed.secret);
  if (!sameHash(presented, session.currentHash)) {
    if (session.previousHashes.some((hash) => sameHash(presented, hash))) {
      await deps.sessions.delete(session.userId, session.id);
      throw new InvalidRefreshToken(true);
    }
    throw new InvalidRefreshToken();
  }
  const next = newRefreshToken(session.userId, session.id);
  if (!(await deps.sessions.rotate(session, next.hash, now.toISOString()))) {
    await deps.sessions.delete(session.userId, session.id);
    throw new InvalidRefreshToken();
  }
  const expiresAt = new Date(session.expiresAt);
  const access = await deps.tokens.issue({ userId: session.userId, sessionId: session.id }, now, expiresAt);
  return {
    sessionId: session.id,
    tokenType: 'Bearer',
    accessToken: access.accessToken,
    accessTokenExpiresAt: access.accessTokenExpiresAt.toISOString(),
    refreshToken: next.token,
    refreshTokenExpiresAt: session.expiresAt,
  };
}

export interface Caller {
  userId: string;
  sessionId: string;
}

async function activeProfile(deps: Pick<AccountDeps, 'users'>, userId: string): Promise<UserProfile> {
  const profile = await deps.users.getProfile(userId);
  if (profile === undefined || profile.status !== 'active') throw new NotFound('user_not_found', 'The account does not exist');
  return profile;
}

export async function getProfile(deps: Pick<AccountDeps, 'users'>, caller: Caller): Promise<UserProfile> {
  return activeProfile(deps, caller.userId);
}

/**
 * Name and/or password. A new password revokes every other session of the account: the change
 * moves the credentials' generation on first, so no login that verified the old password can
 * write a session afterwards (sessions.create checks the generation), and then every session
 * written before is found (strongly consistent query) and deleted. A refresh cannot bring a
 * deleted session back (its rotation is conditional on the stored hash).
 */
export async function updateProfile(
  deps: Pick<AccountDeps, 'users' | 'sessions' | 'hasher' | 'clock'>,
  caller: Caller,
  input: { name?: string | undefined; password?: string | undefined; currentPassword?: string | undefined },
): Promise<UserProfile> {
  let profile = await activeProfile(deps, caller.userId);
  if (input.password !== undefined) {
    if (passwordResemblesEmail(input.password, profile.email)) {
      throw new ValidationFailed([{ path: 'body.password', message: 'The password must not be the email address', code: 'custom' }]);
    }
    const verified = await checkPassword(deps, profile.email, input.currentPassword ?? '', () => new InvalidPassword());
    const passwordHash = await deps.hasher.hash(input.password);
    const [changed] = await Promise.all([deps.users.changePassword(verified, passwordHash), clearAfterSuccess(deps, profile.email)]);
    // Another change (or the account's deletion) got there first: the password verified is no longer the current one.
    if (!changed) throw new InvalidPassword();
    await deps.sessions.deleteAll(profile.id, caller.sessionId);
  }
  if (input.name !== undefined) {
    const updated = await deps.users.updateName(profile.id, input.name.trim(), deps.clock.now().toISOString());
    if (updated === undefined) throw new NotFound('user_not_found', 'The account does not exist');
    profile = updated;
  }
  return profile;
}

/** Work that must happen when an account goes (its media, from the media issue on). */
export type AccountCleanup = (userId: string) => Promise<void>;

/**
 * Deletes the account: the password is checked once, then the credentials go (no more
 * logins) and the profile is marked `deleting` in one transaction; sessions, media and the
 * profile follow. Every step is repeatable, so a retry after a failure finishes the job
 * without asking for the (already deleted) password again.
 */
export async function deleteAccount(deps: Pick<AccountDeps, 'users' | 'sessions' | 'hasher' | 'clock'> & { cleanup: AccountCleanup[] }, caller: Caller, password: string): Promise<void> {
  const profile = await deps.users.getProfile(caller.userId);
  if (profile === undefined) {
    // Everything else is gone already: only sessions can be left (a retry after the last step failed).
    await deps.sessions.deleteAll(caller.userId);
    return;
  }
  if (profile.status === 'active') {
    await checkPassword(deps, profile.email, password, () => new InvalidPassword());
    // From here no login can start a session (the credentials go) and no media item can be
    // created (the profile is `deleting`, which createMedia checks), so the steps below find everything.
    await Promise.all([deps.users.beginDeletion(profile), clearAfterSuccess(deps, profile.email)]);
  }
  // Every other session goes at once. The caller's own session stays until the very end, so
  // that when a step fails (503) the client can repeat the request with the same token.
  await deps.sessions.deleteAll(profile.id, caller.sessionId);
  for (const step of deps.cleanup) await step(profile.id);
  await deps.users.deleteProfile(profile.id);
  await deps.sessions.deleteAll(profile.id);
}

export interface SessionView {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string;
  current: boolean;
}

export async function listSessions(
  deps: Pick<AccountDeps, 'sessions' | 'clock'>,
  caller: Caller,
  limit: number,
  cursor: string | undefined,
): Promise<{ items: SessionView[]; nextCursor: string | null }> {
  const page = await deps.sessions.list(caller.userId, limit, cursor, deps.clock.now());
  return {
    items: page.items.map((session) => ({
      id: session.id,
      createdAt: session.createdAt,
      lastUsedAt: session.lastUsedAt,
      expiresAt: session.expiresAt,
      userAgent: session.userAgent,
      current: session.id === caller.sessionId,
    })),
    nextCursor: page.nextCursor,
  };
}

/** Revokes one of the caller's own sessions; `current` means the one making the request (logout). */
export async function revokeSession(deps: Pick<AccountDeps, 'sessions'>, caller: Caller, sessionId: string): Promise<void> {
  const id = sessionId === 'current' ? caller.sessionId : sessionId;
  if (!(await deps.sessions.delete(caller.userId, id))) throw new NotFound('session_not_found', 'No such session');
}

/**
 * The authorizer's check after the token's signature and claims: the session must still
 * exist and be unexpired, so logout and revocation take effect on the very next request.
 */
export async function activeSession(deps: Pick<AccountDeps, 'sessions' | 'clock'>, subject: AccessTokenSubject): Promise<boolean> {
  const now = deps.clock.now();
  const session = await deps.sessions.get(subject.userId, subject.sessionId);
  if (session === undefined || Date.parse(session.expiresAt) <= now.getTime()) return false;
  if (now.getTime() - Date.parse(session.lastUsedAt) > LAST_USED_RESOLUTION_MS) {
    // lastUsedAt is informative (GET /v1/sessions), best effort: a failed write (throttling, an
    // outage) must not fail the request the session is valid for; the next request tries again.
    await deps.sessions.touch(subject.userId, subject.sessionId, now, LAST_USED_RESOLUTION_MS).catch(() => undefined);
  }
  return true;
}
