import { tokenIssuer } from '../../shared/auth/issuer';
import { systemClock } from '../../shared/clock';
import { InvalidRefreshToken, refresh } from '../../shared/domain/accounts';
import { publicRoute } from '../../shared/http/handler';
import { countEvent } from '../../shared/metrics';
import { RefreshSessionBody, SessionTokensResponse } from '../../shared/schemas/sessions';
import { sessions } from '../../shared/stores/sessionsTable';

/** POST /v1/sessions/refresh: a new access token and a new refresh token; the old refresh token is spent. */
export const handler = publicRoute({ auth: 'none', body: RefreshSessionBody, response: SessionTokensResponse }, async ({ body }) => {
  try {
    return { status: 200, body: await refresh({ sessions, clock: systemClock, tokens: tokenIssuer }, body.refreshToken) };
  } catch (error) {
    // A replayed refresh token: someone else may hold it (docs/security.md).
    if (error instanceof InvalidRefreshToken && error.reuseDetected) countEvent('RefreshTokenReuse');
    throw error;
  }
});
