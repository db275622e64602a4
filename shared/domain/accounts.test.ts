import { expect } from 'chai';
import { fakeHasher, fakeTokenIssuer, fixedClock, memorySessionStore, memoryUserStore, sequentialIds } from '../../local/test/fakes';
import { HttpError } from '../http/errors';
import { hashSecret, parseRefreshToken } from '../auth/refreshTokens';
import {
  LAST_USED_RESOLUTION_MS,
  activeSession,
  deleteAccount,
  getProfile,
  listSessions,
  login,
  refresh,
  revokeSession,
  signUp,
  updateProfile,
  type SessionTokens,
} from './accounts';
import { THROTTLE_POLICY } from './loginThrottle';

const HOUR = 3600;
const settings = { shortSessionSeconds: 24 * HOUR, longSessionSeconds: 30 * 24 * HOUR };

function world() {
  const users = memoryUserStore();
  const sessions = memorySessionStore(users);
  const hasher = fakeHasher();
  const clock = fixedClock();
  const tokens = fakeTokenIssuer();
  const deps = { users, sessions, hasher, clock, newId: sequentialIds(), tokens, settings };
  return { ...deps, deps };
}

async function rejected(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(HttpError);
    return error as HttpError;
  }
  throw new Error('expected a rejection');
}

const ann = { email: ' Ann@Example.COM ', password: 'correct horse battery', name: ' Ann ' };

async function signedUpAndLoggedIn(w: ReturnType<typeof world>, remember = false) {
  const profile = await signUp(w.deps, ann);
  const tokens = await login(w.deps, { email: 'ann@example.com', password: ann.password, remember, userAgent: 'tests' });
  return { profile, tokens, caller: { userId: profile.id, sessionId: tokens.sessionId } };
}

describe('accounts domain', () => {
  describe('signUp', () => {
    it('normalises the email, trims the name, stores only a hash of the password', async () => {
      const w = world();
      const profile = await signUp(w.deps, ann);
      expect(profile).to.include({ email: 'ann@example.com', name: 'Ann', status: 'active' });
      expect(profile.createdAt).to.equal('2026-11-21T10:00:00.000Z');
      const credentials = w.users.credentials.get('ann@example.com');
      expect(credentials?.userId).to.equal(profile.id);
      expect(credentials?.passwordHash).to.equal('fake-hash:correct horse battery');
    });

    it('answers 409 email_taken for an email registered in any letter case', async () => {
      const w = world();
      await signUp(w.deps, ann);
      const error = await rejected(signUp(w.deps, { ...ann, email: 'ANN@example.com' }));
      expect(error.status).to.equal(409);
      expect(error.code).to.equal('email_taken');
      expect(w.users.profiles.size).to.equal(1);
    });

    it('refuses a password equal to the email (400), whatever its case and spacing', async () => {
      const w = world();
      const error = await rejected(signUp(w.deps, { ...ann, password: ' ANN@example.com ' }));
      expect(error.status).to.equal(400);
      expect(error.details?.[0]?.path).to.equal('body.password');
      expect(w.users.profiles.size).to.equal(0);
    });
  });

  describe('login', () => {
    it('starts a short session (24 h) by default and a long one (30 days) with remember', async () => {
      const w = world();
      const { tokens } = await signedUpAndLoggedIn(w);
      expect(tokens.tokenType).to.equal('Bearer');
      expect(tokens.refreshTokenExpiresAt).to.equal('2026-11-22T10:00:00.000Z');
      expect(tokens.accessTokenExpiresAt).to.equal('2026-11-21T10:15:00.000Z');
      const long = await login(w.deps, { email: 'ann@example.com', password: ann.password, remember: true, userAgent: 'x' });
      expect(long.refreshTokenExpiresAt).to.equal('2026-12-21T10:00:00.000Z');
      const stored = w.sessions.records.get(`${parseRefreshToken(long.refreshToken)?.userId}/${long.sessionId}`);
      expect(stored?.remember).to.equal(true);
      expect(stored?.currentHash).to.equal(hashSecret(parseRefreshToken(long.refreshToken)?.secret as string));
      expect(JSON.stringify(stored)).not.to.contain(long.refreshToken);
    });

    it('answers 401 invalid_credentials alike for a wrong password and an unknown email, hashing in both cases', async () => {
      const w = world();
      await signUp(w.deps, ann);
      const wrong = await rejected(login(w.deps, { email: 'ann@example.com', password: 'wrong password', remember: false, userAgent: '' }));
      const unknown = await rejected(login(w.deps, { email: 'bob@example.com', password: 'wrong password', remember: false, userAgent: '' }));
      expect([wrong.status, wrong.code, wrong.message]).to.deep.equal([unknown.status, unknown.code, unknown.message]);
      expect(wrong.status).to.equal(401);
      expect(wrong.code).to.equal('invalid_credentials');
      // The unknown email still went through a verification (against the dummy hash).
      expect(w.hasher.verified).to.deep.equal(['fake-hash:correct horse battery', undefined]);
      expect(w.sessions.records.size).to.equal(0);
    });

    it('locks the account after 5 failures within 15 minutes: the 6th attempt gets 429 with Retry-After, even with the right password', async () => {
      const w = world();
      await signUp(w.deps, ann);
      const attempt = (password: string) => login(w.deps, { email: 'ann@example.com', password, remember: false, userAgent: '' });
      for (let i = 0; i < THROTTLE_POLICY.maxFailures; i++) {
        expect((await rejected(attempt('wrong password'))).status).to.equal(401);
        w.clock.advance(10_000);
      }
      const locked = await rejected(attempt(ann.password));
      expect(locked.status).to.equal(429);
      expect(locked.code).to.equal('too_many_attempts');
      expect(Number(locked.headers?.['retry-after'])).to.be.within(1, 60);
      expect(w.hasher.verified).to.have.length(THROTTLE_POLICY.maxFailures);
    });

    it('lets the account in after the lock, with locks growing on repeated failures', async () => {
      const w = world();
      await signUp(w.deps, ann);
      const attempt = (password: string) => login(w.deps, { email: 'ann@example.com', password, remember: false, userAgent: '' });
      const lockOnce = async (): Promise<number> => {
        for (let i = 0; i < THROTTLE_POLICY.maxFailures; i++) await rejected(attempt('wrong password'));
        return Number((await rejected(attempt('wrong password'))).headers?.['retry-after']);
      };
      const first = await lockOnce();
      w.clock.advance(first * 1000);
      const second = await lockOnce();
      expect(second).to.equal(first * 2);
      w.clock.advance(second * 1000);
      await attempt(ann.password);
      expect(w.users.throttles.size, 'a success clears the throttle').to.equal(0);
    });

    it('forgets failures older than the 15-minute window', async () => {
      const w = world();
      await signUp(w.deps, ann);
      const attempt = (password: string) => login(w.deps, { email: 'ann@example.com', password, remember: false, userAgent: '' });
      for (let i = 0; i < THROTTLE_POLICY.maxFailures - 1; i++) await rejected(attempt('wrong password'));
      w.clock.advance(THROTTLE_POLICY.windowMs + 1000);
      for (let i = 0; i < THROTTLE_POLICY.maxFailures - 1; i++) expect((await rejected(attempt('wrong password'))).status).to.equal(401);
      expect((await attempt(ann.password)).sessionId).to.be.a('string');
    });

    it('40 parallel wrong passwords: only the attempt budget is verified, the rest are refused (429) unchecked; the lock is the first one (60 s)', async () => {
      const w = world();
      await signUp(w.deps, ann);
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) => login(w.deps, { email: 'ann@example.com', password: `wrong guess ${i}`, remember: false, userAgent: '' })),
      );
      const statuses = results.map((result) => (result.status === 'rejected' ? (result.reason as HttpError).status : 201));
      expect(statuses.filter((status) => status === 401)).to.have.length(THROTTLE_POLICY.maxFailures);
      expect(statuses.filter((status) => status === 429)).to.have.length(40 - THROTTLE_POLICY.maxFailures);
      expect(w.hasher.verified, 'verified').to.have.length(THROTTLE_POLICY.maxFailures);
      expect(w.users.throttles.get('ann@example.com')).to.include({ lockouts: 1, lockedUntil: w.clock.now().getTime() + THROTTLE_POLICY.baseLockMs });
    });

    it('a success clears the attempts counted before it', async () => {
      const w = world();
      await signUp(w.deps, ann);
      for (let i = 0; i < THROTTLE_POLICY.maxFailures - 1; i++) await rejected(login(w.deps, { email: 'ann@example.com', password: 'wrong password', remember: false, userAgent: '' }));
      await login(w.deps, { email: 'ann@example.com', password: ann.password, remember: false, userAgent: '' });
      expect(w.users.throttles.size).to.equal(0);
    });

    it('a login whose throttle cannot be cleared afterwards still succeeds (the attempt stays counted)', async () => {
      const w = world();
      await signUp(w.deps, ann);
      w.users.clearThrottle = async () => {
        throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      };
      const tokens = await login(w.deps, { email: 'ann@example.com', password: ann.password, remember: false, userAgent: '' });
      expect(tokens.sessionId).to.be.a('string');
      expect(w.users.throttles.get('ann@example.com')?.failures).to.equal(1);
    });

    it('a password change landing while a login verifies the old password: the login gets 401 and leaves no session', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      const verify = w.hasher.verify.bind(w.hasher);
      let changing = false;
      w.hasher.verify = async (hash, password) => {
        const ok = await verify(hash, password);
        if (!changing && password === ann.password && hash === `fake-hash:${ann.password}`) {
          changing = true; // the change runs to the end (revocation included) between the login's check and its session write
          await updateProfile(w.deps, caller, { password: 'a brand new password', currentPassword: ann.password });
        }
        return ok;
      };
      const error = await rejected(login(w.deps, { email: 'ann@example.com', password: ann.password, remember: true, userAgent: 'thief' }));
      expect([error.status, error.code]).to.deep.equal([401, 'invalid_credentials']);
      expect([...w.sessions.records.values()].map((session) => session.id), 'only the session that changed the password').to.deep.equal([caller.sessionId]);
    });

    it('an account deletion landing while a login verifies the password: the login gets 401 and leaves no session', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      const verify = w.hasher.verify.bind(w.hasher);
      let deleting = false;
      w.hasher.verify = async (hash, password) => {
        const ok = await verify(hash, password);
        if (!deleting) {
          deleting = true;
          await deleteAccount({ ...w.deps, cleanup: [] }, caller, ann.password);
        }
        return ok;
      };
      const error = await rejected(login(w.deps, { email: 'ann@example.com', password: ann.password, remember: true, userAgent: '' }));
      expect(error.status).to.equal(401);
      expect(w.sessions.records.size).to.equal(0);
      expect(w.users.profiles.size).to.equal(0);
    });

    it('throttles unknown emails too, so locking reveals nothing about which emails exist', async () => {
      const w = world();
      const attempt = () => login(w.deps, { email: 'nobody@example.com', password: 'whatever pw', remember: false, userAgent: '' });
      for (let i = 0; i < THROTTLE_POLICY.maxFailures; i++) await rejected(attempt());
      expect((await rejected(attempt())).status).to.equal(429);
    });

    it('keeps the user agent, shortened to 256 characters', async () => {
      const w = world();
      await signUp(w.deps, ann);
      const tokens = await login(w.deps, { email: 'ann@example.com', password: ann.password, remember: false, userAgent: 'x'.repeat(1000) });
      const [session] = [...w.sessions.records.values()];
      expect(session?.id).to.equal(tokens.sessionId);
      expect(session?.userAgent).to.have.length(256);
    });
  });

  describe('refresh', () => {
    it('rotates: a new access and refresh token; the old refresh token is spent', async () => {
      const w = world();
      const { tokens } = await signedUpAndLoggedIn(w);
      w.clock.advance(60_000);
      const next = await refresh(w.deps, tokens.refreshToken);
      expect(next.sessionId).to.equal(tokens.sessionId);
      expect(next.refreshToken).not.to.equal(tokens.refreshToken);
      expect(next.accessToken).not.to.equal(tokens.accessToken);
      expect(next.refreshTokenExpiresAt, 'the session keeps its absolute lifetime').to.equal(tokens.refreshTokenExpiresAt);
      const again = await refresh(w.deps, next.refreshToken);
      expect(again.sessionId).to.equal(tokens.sessionId);
    });

    it('revokes the whole session when an already-rotated refresh token is presented (reuse detection)', async () => {
      const w = world();
      const { tokens, caller } = await signedUpAndLoggedIn(w);
      const next = await refresh(w.deps, tokens.refreshToken);
      const reuse = await rejected(refresh(w.deps, tokens.refreshToken));
      expect(reuse.status).to.equal(401);
      expect(reuse.code).to.equal('invalid_refresh_token');
      expect(await w.sessions.get(caller.userId, caller.sessionId)).to.equal(undefined);
      expect((await rejected(refresh(w.deps, next.refreshToken))).status, 'the thief and the victim are both out').to.equal(401);
    });

    it('revokes the session when it loses a race against a concurrent refresh with the same token', async () => {
      const w = world();
      const { tokens, caller } = await signedUpAndLoggedIn(w);
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => refresh(w.deps, tokens.refreshToken)));
      expect(results.filter((result) => result.status === 'fulfilled')).to.have.length.at.most(1);
      expect(await w.sessions.get(caller.userId, caller.sessionId)).to.equal(undefined);
    });

    it('answers 401 without revoking for a token it never issued', async () => {
      const w = world();
      const { tokens, caller } = await signedUpAndLoggedIn(w);
      const parsed = parseRefreshToken(tokens.refreshToken);
      const forged = `${parsed?.userId}.${parsed?.sessionId}.${'A'.repeat(43)}`;
      expect((await rejected(refresh(w.deps, forged))).status).to.equal(401);
      expect((await rejected(refresh(w.deps, 'not-a-refresh-token'))).status).to.equal(401);
      expect(await w.sessions.get(caller.userId, caller.sessionId), 'a forged token must not let anyone log a victim out').to.not.equal(undefined);
    });

    it('refuses the refresh token of an expired session', async () => {
      const w = world();
      const { tokens } = await signedUpAndLoggedIn(w);
      w.clock.advance(24 * HOUR * 1000);
      expect((await rejected(refresh(w.deps, tokens.refreshToken))).status).to.equal(401);
    });

    it('never issues an access token that outlives its session', async () => {
      const w = world();
      const { tokens } = await signedUpAndLoggedIn(w);
      w.clock.advance(24 * HOUR * 1000 - 60_000);
      const late = await refresh(w.deps, tokens.refreshToken);
      expect(late.accessTokenExpiresAt).to.equal(tokens.refreshTokenExpiresAt);
    });
  });

  describe('profile', () => {
    it('returns the caller profile, 404 once the account is gone or going', async () => {
      const w = world();
      const { profile, caller } = await signedUpAndLoggedIn(w);
      expect((await getProfile(w.deps, caller)).email).to.equal(profile.email);
      w.users.profiles.set(profile.id, { ...profile, status: 'deleting' });
      expect((await rejected(getProfile(w.deps, caller))).status).to.equal(404);
    });

    it('changes the name', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      w.clock.advance(1000);
      const updated = await updateProfile(w.deps, caller, { name: '  Annie ' });
      expect(updated.name).to.equal('Annie');
      expect(updated.updatedAt).to.equal('2026-11-21T10:00:01.000Z');
    });

    it('changes the password only with the right current password, and revokes every other session', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      const other = await login(w.deps, { email: 'ann@example.com', password: ann.password, remember: true, userAgent: 'phone' });
      const wrong = await rejected(updateProfile(w.deps, caller, { password: 'a brand new password', currentPassword: 'nope nope nope' }));
      expect(wrong.status).to.equal(403);
      expect(wrong.code).to.equal('invalid_password');
      expect(w.sessions.records.size).to.equal(2);

      await updateProfile(w.deps, caller, { password: 'a brand new password', currentPassword: ann.password });
      expect(await w.sessions.get(caller.userId, caller.sessionId), 'the current session stays').to.not.equal(undefined);
      expect(await w.sessions.get(caller.userId, other.sessionId), 'every other session is revoked').to.equal(undefined);
      await rejected(login(w.deps, { email: 'ann@example.com', password: ann.password, remember: false, userAgent: '' }));
      await login(w.deps, { email: 'ann@example.com', password: 'a brand new password', remember: false, userAgent: '' });
    });

    it('two parallel password changes verified against the same password: one wins, the other gets 403 (its password is no longer current)', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      const results = await Promise.allSettled([
        updateProfile(w.deps, caller, { password: 'first new password', currentPassword: ann.password }),
        updateProfile(w.deps, caller, { password: 'second new password', currentPassword: ann.password }),
      ]);
      const outcomes = results.map((result) => (result.status === 'fulfilled' ? 200 : (result.reason as HttpError).status));
      expect(outcomes.slice().sort()).to.deep.equal([200, 403]);
      const winner = outcomes[0] === 200 ? 'first new password' : 'second new password';
      expect(w.users.credentials.get('ann@example.com')).to.include({ passwordHash: `fake-hash:${winner}`, generation: 1 });
    });

    it('refuses a new password equal to the email', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      const error = await rejected(updateProfile(w.deps, caller, { password: 'Ann@Example.com', currentPassword: ann.password }));
      expect(error.status).to.equal(400);
    });

    it('refuses a password change without the current password like a wrong one (403), keeping the old password', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      const error = await rejected(updateProfile(w.deps, caller, { password: 'a brand new password' }));
      expect([error.status, error.code]).to.deep.equal([403, 'invalid_password']);
      expect(w.hasher.verified.at(-1), 'checked against the stored hash, as any guess').to.equal(`fake-hash:${ann.password}`);
      await login(w.deps, { email: 'ann@example.com', password: ann.password, remember: false, userAgent: '' });
    });

    it('answers 404 when the account is deleted between reading it and renaming it, and writes no name', async () => {
      const w = world();
      const { profile, caller } = await signedUpAndLoggedIn(w);
      const read = w.users.getProfile.bind(w.users);
      w.users.getProfile = async (userId) => {
        const found = await read(userId);
        if (found !== undefined) await w.users.beginDeletion(found); // a DELETE /users/me lands right after the read
        return found;
      };
      const error = await rejected(updateProfile(w.deps, caller, { name: 'Annie' }));
      expect([error.status, error.code]).to.deep.equal([404, 'user_not_found']);
      expect(w.users.profiles.get(profile.id)).to.include({ name: 'Ann', status: 'deleting' });
    });

    it('throttles guesses of the current password like logins', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      for (let i = 0; i < THROTTLE_POLICY.maxFailures; i++) {
        await rejected(updateProfile(w.deps, caller, { password: 'a brand new password', currentPassword: `guess number ${i}` }));
      }
      expect((await rejected(updateProfile(w.deps, caller, { password: 'a brand new password', currentPassword: ann.password }))).status).to.equal(429);
    });
  });

  describe('deleteAccount', () => {
    it('needs the password, then removes credentials, sessions and profile', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      const cleaned: string[] = [];
      const deps = { ...w.deps, cleanup: [async (userId: string) => void cleaned.push(userId)] };
      expect((await rejected(deleteAccount(deps, caller, 'wrong password'))).status).to.equal(403);
      expect(w.users.profiles.size).to.equal(1);

      await deleteAccount(deps, caller, ann.password);
      expect(w.users.profiles.size).to.equal(0);
      expect(w.users.credentials.size).to.equal(0);
      expect(w.sessions.records.size).to.equal(0);
      expect(cleaned).to.deep.equal([caller.userId]);
      expect((await rejected(login(w.deps, { email: 'ann@example.com', password: ann.password, remember: false, userAgent: '' }))).status).to.equal(401);
      await deleteAccount(deps, caller, 'anything');
    });

    it('finishes an interrupted deletion on retry without the (already deleted) credentials', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      let failOnce = true;
      const deps = {
        ...w.deps,
        cleanup: [
          async () => {
            if (failOnce) {
              failOnce = false;
              throw new Error('S3 unavailable');
            }
          },
        ],
      };
      await deleteAccount(deps, caller, ann.password).then(
        () => expect.fail('should fail'),
        (error: Error) => expect(error.message).to.equal('S3 unavailable'),
      );
      expect(w.users.credentials.size, 'no more logins after the first attempt').to.equal(0);
      expect([...w.sessions.records.values()].map((session) => session.id), 'only the caller’s session is left, so it can retry').to.deep.equal([caller.sessionId]);
      await deleteAccount(deps, caller, 'password no longer checked');
      expect(w.users.profiles.size).to.equal(0);
      expect(w.sessions.records.size).to.equal(0);
    });

    it('signs out every other device at once and the caller’s own session last', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      await login(w.deps, { email: 'ann@example.com', password: ann.password, remember: false, userAgent: 'phone' });
      expect(w.sessions.records.size).to.equal(2);
      const seen: string[][] = [];
      const deps = { ...w.deps, cleanup: [async () => void seen.push([...w.sessions.records.values()].map((session) => session.id))] };
      await deleteAccount(deps, caller, ann.password);
      expect(seen, 'during the cleanup only the caller’s session exists').to.deep.equal([[caller.sessionId]]);
      expect(w.sessions.records.size).to.equal(0);
    });

    it('a retry after the profile went but its last session could not be deleted removes that session', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      const deleteAll = w.sessions.deleteAll.bind(w.sessions);
      let calls = 0;
      w.sessions.deleteAll = async (userId: string, keep?: string) => {
        calls += 1;
        if (calls === 2) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
        return deleteAll(userId, keep);
      };
      const deps = { ...w.deps, cleanup: [] };
      await deleteAccount(deps, caller, ann.password).then(
        () => expect.fail('should fail'),
        (error: Error) => expect(error.name).to.equal('ThrottlingException'),
      );
      expect(w.users.profiles.size).to.equal(0);
      expect(w.sessions.records.size, 'the caller’s session is left').to.equal(1);
      await deleteAccount(deps, caller, 'anything');
      expect(w.sessions.records.size).to.equal(0);
    });
  });

  describe('sessions', () => {
    it('lists active sessions newest first and marks the current one', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      w.clock.advance(1000);
      const second = await login(w.deps, { email: 'ann@example.com', password: ann.password, remember: true, userAgent: 'phone' });
      const page = await listSessions(w.deps, caller, 25, undefined);
      expect(page.items.map((item) => [item.id, item.current])).to.deep.equal([
        [second.sessionId, false],
        [caller.sessionId, true],
      ]);
      expect(page.items[0]).to.have.keys(['id', 'createdAt', 'lastUsedAt', 'expiresAt', 'userAgent', 'current']);
      expect(page.nextCursor).to.equal(null);
    });

    it('pages with a cursor and leaves out expired sessions', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      const created: SessionTokens[] = [];
      for (let i = 0; i < 3; i++) created.push(await login(w.deps, { email: 'ann@example.com', password: ann.password, remember: true, userAgent: `d${i}` }));
      const first = await listSessions(w.deps, caller, 2, undefined);
      expect(first.items).to.have.length(2);
      const second = await listSessions(w.deps, caller, 2, first.nextCursor ?? undefined);
      expect([...first.items, ...second.items].map((item) => item.id)).to.have.members([caller.sessionId, ...created.map((tokens) => tokens.sessionId)]);
      w.clock.advance(25 * HOUR * 1000);
      const later = await listSessions(w.deps, caller, 25, undefined);
      expect(later.items.map((item) => item.id)).to.have.members(created.map((tokens) => tokens.sessionId));
    });

    it('revokes one of the caller sessions; `current` means this one; others are 404', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      const other = await login(w.deps, { email: 'ann@example.com', password: ann.password, remember: false, userAgent: '' });
      await revokeSession(w.deps, caller, other.sessionId);
      expect((await rejected(revokeSession(w.deps, caller, other.sessionId))).status).to.equal(404);
      await revokeSession(w.deps, caller, 'current');
      expect(w.sessions.records.size).to.equal(0);

      const bob = await signUp(w.deps, { email: 'bob@example.com', password: 'bobs password', name: 'Bob' });
      const bobs = await login(w.deps, { email: 'bob@example.com', password: 'bobs password', remember: false, userAgent: '' });
      expect((await rejected(revokeSession(w.deps, caller, bobs.sessionId))).status, "another user's session does not exist for you").to.equal(404);
      expect(await w.sessions.get(bob.id, bobs.sessionId)).to.not.equal(undefined);
    });

    it('activeSession: live sessions pass, revoked and expired ones do not; lastUsedAt is written at most every 5 minutes', async () => {
      const w = world();
      const { caller } = await signedUpAndLoggedIn(w);
      expect(await activeSession(w.deps, caller)).to.equal(true);
      w.clock.advance(LAST_USED_RESOLUTION_MS - 1000);
      await activeSession(w.deps, caller);
      expect((await w.sessions.get(caller.userId, caller.sessionId))?.lastUsedAt).to.equal('2026-11-21T10:00:00.000Z');
      w.clock.advance(2000);
      await activeSession(w.deps, caller);
      expect((await w.sessions.get(caller.userId, caller.sessionId))?.lastUsedAt).to.equal(w.clock.now().toISOString());
      w.clock.advance(24 * HOUR * 1000);
      expect(await activeSession(w.deps, caller)).to.equal(false);
      expect(await activeSession(w.deps, { userId: caller.userId, sessionId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' })).to.equal(false);
    });
  });
});
