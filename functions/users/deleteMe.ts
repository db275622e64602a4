import { argon2Hasher } from '../../shared/auth/passwords';
import { systemClock } from '../../shared/clock';
import { deleteAccount } from '../../shared/domain/accounts';
import { protectedRoute } from '../../shared/http/handler';
import { DeleteUserBody } from '../../shared/schemas/users';
import { sessions } from '../../shared/stores/sessionsTable';
import { users } from '../../shared/stores/usersTable';

/** DELETE /v1/users/me: `{password}` -> 204; the account, its sessions and its media are deleted. */
export const handler = protectedRoute({ auth: 'bearer', body: DeleteUserBody }, async ({ caller, body }) => {
  await deleteAccount({ users, sessions, hasher: argon2Hasher, clock: systemClock, cleanup: [] }, caller, body.password);
  return { status: 204 };
});
