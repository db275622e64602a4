import { argon2Hasher } from '../../shared/auth/passwords';
import { systemClock } from '../../shared/clock';
import { content } from '../../shared/content/bucket';
import { deleteAccount } from '../../shared/domain/accounts';
import { deleteAllMedia } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { DeleteUserBody } from '../../shared/schemas/users';
import { analyses } from '../../shared/stores/analysesTable';
import { media } from '../../shared/stores/mediaTable';
import { sessions } from '../../shared/stores/sessionsTable';
import { users } from '../../shared/stores/usersTable';

/** DELETE /v1/users/me: `{password}` -> 204; the account, its sessions and its media are deleted. */
export const handler = protectedRoute({ auth: 'bearer', body: DeleteUserBody }, async ({ caller, body }) => {
  await deleteAccount(
    {
      users,
      sessions,
      hasher: argon2Hasher,
      clock: systemClock,
      cleanup: [(userId) => deleteAllMedia({ media, content }, userId), async (userId) => void (await analyses.deleteUserData(userId))],
    },
    caller,
    body.password,
  );
  return { status: 204 };
});
