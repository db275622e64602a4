import { argon2Hasher } from '../../shared/auth/passwords';
import { systemClock } from '../../shared/clock';
import { signUp } from '../../shared/domain/accounts';
import { publicRoute } from '../../shared/http/handler';
import { newId } from '../../shared/ids';
import { countEvent } from '../../shared/metrics';
import { CreateUserBody, UserResponse } from '../../shared/schemas/users';
import { users } from '../../shared/stores/usersTable';

/** POST /v1/users: sign up. 201 with the profile; 409 email_taken. */
export const handler = publicRoute({ auth: 'none', body: CreateUserBody, response: UserResponse }, async ({ body }) => {
  const profile = await signUp({ users, hasher: argon2Hasher, clock: systemClock, newId }, body);
  countEvent('SignUps');
  return { status: 201, body: profile, headers: { location: '/v1/users/me' } };
});
