import { sessionSettings, tokenIssuer } from '../../shared/auth/issuer';
import { argon2Hasher } from '../../shared/auth/passwords';
import { systemClock } from '../../shared/clock';
import { login } from '../../shared/domain/accounts';
import { publicRoute } from '../../shared/http/handler';
import { newId } from '../../shared/ids';
import { CreateSessionBody, SessionTokensResponse } from '../../shared/schemas/sessions';
import { sessions } from '../../shared/stores/sessionsTable';
import { users } from '../../shared/stores/usersTable';

/** POST /v1/sessions: log in. 201 with an access and a refresh token; 401 invalid_credentials; 429 when locked. */
export const handler = publicRoute({ auth: 'none', body: CreateSessionBody, response: SessionTokensResponse }, async ({ body, headers }) => {
  const tokens = await login(
    { users, sessions, hasher: argon2Hasher, clock: systemClock, newId, tokens: tokenIssuer, settings: sessionSettings },
    { email: body.email, password: body.password, remember: body.remember, userAgent: headers['user-agent'] ?? '' },
  );
  return { status: 201, body: tokens };
});
