import { sessionSettings, tokenIssuer } from '../../shared/auth/issuer';
import { argon2Hasher } from '../../shared/auth/passwords';
import { systemClock } from '../../shared/clock';
import { InvalidCredentials, login, startedLock } from '../../shared/domain/accounts';
import { LoginLocked } from '../../shared/domain/loginThrottle';
import { publicRoute } from '../../shared/http/handler';
import { newId } from '../../shared/ids';
import { countEvent } from '../../shared/metrics';
import { CreateSessionBody, SessionTokensResponse } from '../../shared/schemas/sessions';
import { sessions } from '../../shared/stores/sessionsTable';
import { users } from '../../shared/stores/usersTable';

/** POST /v1/sessions: log in. 201 with an access and a refresh token; 401 invalid_credentials; 429 when locked. */
export const handler = publicRoute({ auth: 'none', body: CreateSessionBody, response: SessionTokensResponse }, async ({ body, headers }) => {
  try {
    const tokens = await login(
      { users, sessions, hasher: argon2Hasher, clock: systemClock, newId, tokens: tokenIssuer, settings: sessionSettings },
      { email: body.email, password: body.password, remember: body.remember, userAgent: headers['user-agent'] ?? '' },
    );
    countEvent('Logins', { outcome: 'success' });
    return { status: 201, body: tokens };
  } catch (error) {
    if (error instanceof InvalidCredentials) countEvent('Logins', { outcome: 'wrong_password' });
    else if (error instanceof LoginLocked) countEvent('Logins', { outcome: 'locked' });
    if (startedLock(error)) countEvent('LoginLocks');
    throw error;
  }
});
