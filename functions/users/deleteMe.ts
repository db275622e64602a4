import { argon2Hasher } from '../../shared/auth/passwords';
import { systemClock } from '../../shared/clock';
import { content } from '../../shared/content/bucket';
import { deleteAccount, startedLock } from '../../shared/domain/accounts';
import { deleteAllMedia } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { countEvent } from '../../shared/metrics';
import { DeleteUserBody } from '../../shared/schemas/users';
import { analyses } from '../../shared/stores/analysesTable';
import { media } from '../../shared/stores/mediaTable';
import { sessions } from '../../shared/stores/sessionsTable';
import { users } from '../../shared/stores/usersTable';

/** DELETE /v1/users/me: `{password}` -> 204; the account, its sessions and its media are deleted. */
export const handler = protectedRoute({ auth: 'bearer', body: DeleteUserBody }, async ({ caller, body }) => {
  const cleanup = [(userId: string) => deleteAllMedia({ media, content }, userId), async (userId: string) => void (await analyses.deleteUserData(userId))];
  try {
    await deleteAccount({ users, sessions, hasher: argon2Hasher, clock: systemClock, cleanup }, caller, body.password);
  } catch (error) {
    // The password check shares the login throttle: a wrong password can start a lock.
    if (startedLock(error)) countEvent('LoginLocks');
    throw error;
  }
  return { status: 204 };
});
