import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult, Context } from 'aws-lambda';
import { tokenAudience } from '../../shared/auth/settings';
import { bearerToken, InvalidToken, verifyAccessToken } from '../../shared/auth/tokens';
import { verificationKeys } from '../../shared/auth/verifier';
import { systemClock } from '../../shared/clock';
import { activeSession } from '../../shared/domain/accounts';
import { isDependencyFailure } from '../../shared/http/errorResponse';
import { logger } from '../../shared/log';
import { sessions } from '../../shared/stores/sessionsTable';

export interface AuthorizerContext {
  userId: string;
  sessionId: string;
  [key: string]: string;
}

/** API Gateway answers 401 when an authorizer fails with exactly this message. */
const UNAUTHORIZED = 'Unauthorized';

function authorizationHeader(event: APIGatewayRequestAuthorizerEventV2): string | undefined {
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() === 'authorization') return value;
  }
  return event.identitySource?.[0];
}

/**
 * The HTTP API Lambda authorizer (request type, simple responses): a valid access token of
 * a session that still exists -> `{userId, sessionId}` for the route's handler; anything
 * else -> 401. Checking the session on every request is what makes logout and revocation
 * immediate (with the authorizer cache off, the default; docs/security.md).
 *
 * When a dependency fails (the keys from SSM, the session from DynamoDB), API Gateway would
 * answer a failing authorizer with a bare 500. Instead the request is let through marked
 * `unavailable`, and the HTTP layer answers it 503 + Retry-After before looking at anything
 * else (shared/http/handler.ts): no handler ever runs for a request whose token was not checked.
 */
async function authorize(event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> {
  const token = bearerToken(authorizationHeader(event));
  if (token === undefined) {
    logger.info('access denied', { reason: 'no bearer token' });
    throw new Error(UNAUTHORIZED);
  }
  let subject;
  try {
    subject = verifyAccessToken(token, await verificationKeys(), tokenAudience, systemClock.now());
  } catch (error) {
    if (isDependencyFailure(error)) return unavailable(error);
    if (!(error instanceof InvalidToken)) throw error;
    logger.info('access denied', { reason: error.message });
    throw new Error(UNAUTHORIZED, { cause: error });
  }
  let active: boolean;
  try {
    active = await activeSession({ sessions, clock: systemClock }, subject);
  } catch (error) {
    if (isDependencyFailure(error)) return unavailable(error);
    throw error;
  }
  if (!active) {
    logger.info('access denied', { reason: 'session revoked or expired', userId: subject.userId, sessionId: subject.sessionId });
    throw new Error(UNAUTHORIZED);
  }
  return { isAuthorized: true, context: { userId: subject.userId, sessionId: subject.sessionId } };
}

/** Through to the function, which answers 503 for it: see above. */
function unavailable(error: unknown): APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext> {
  logger.warn('token not checked: a dependency failed', { error: error as Error });
  return { isAuthorized: true, context: { userId: '', sessionId: '', unavailable: 'true' } };
}

export const handler = middy<APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(authorize);
