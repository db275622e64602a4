import { getProfile } from '../../shared/domain/accounts';
import { protectedRoute } from '../../shared/http/handler';
import { UserResponse } from '../../shared/schemas/users';
import { users } from '../../shared/stores/usersTable';

/** GET /v1/users/me: the caller's profile. */
export const handler = protectedRoute({ auth: 'bearer', response: UserResponse }, async ({ caller }) => ({
  status: 200,
  body: await getProfile({ users }, caller),
}));
