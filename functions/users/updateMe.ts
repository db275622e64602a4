import { argon2Hasher } from '../../shared/auth/passwords';
import { systemClock } from '../../shared/clock';
import { startedLock, updateProfile } from '../../shared/domain/accounts';
import { protectedRoute } from '../../shared/http/handler';
import { countEvent } from '../../shared/metrics';
import { UpdateUserBody, UserResponse } from '../../shared/schemas/users';
import { sessions } from '../../shared/stores/sessionsTable';
import { users } from '../../shared/stores/usersTable';

/** PATCH /v1/users/me: change name and/or password; a new password revokes every other session. */
export const handler = protectedRoute({ auth: 'bearer', body: UpdateUserBody, response: UserResponse }, async ({ caller, body }) => {
  try {
    return { status: 200, body: await updateProfile({ users, sessions, hasher: argon2Hasher, clock: systemClock }, caller, body) };
  } catch (error) {
    // The password check shares the login throttle: a wrong current password can start a lock.
    if (startedLock(error)) countEvent('LoginLocks');
    throw error;
  }
});
