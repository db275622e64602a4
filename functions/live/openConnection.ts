import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { tokenAudience } from '../../shared/auth/settings';
import { InvalidToken, verifyAccessToken } from '../../shared/auth/tokens';
import { verificationKeys } from '../../shared/auth/verifier';
import { liveConnections, liveEndpoint } from '../../shared/aws/live';
import { systemClock } from '../../shared/clock';
import { liveSettings } from '../../shared/config/live';
import { activeSession } from '../../shared/domain/accounts';
import { ConnectionRefused, openConnection, type OpenDeps } from '../../shared/domain/live';
import { isDependencyFailure } from '../../shared/http/errorResponse';
import { ServiceUnavailable } from '../../shared/http/errors';
import { logger } from '../../shared/log';
import { connections } from '../../shared/stores/connectionsTable';
import { sessions } from '../../shared/stores/sessionsTable';

/** The parts of a WebSocket $connect event this function reads (headers as the client sent them). */
export interface ConnectEvent {
  headers?: Record<string, string | undefined> | null;
  requestContext: { connectionId: string; routeKey?: string };
}

export interface ConnectResult {
  statusCode: number;
  headers?: Record<string, string>;
}

const deps: OpenDeps = {
  connections,
  live: liveConnections,
  endpoint: liveEndpoint,
  clock: systemClock,
  settings: liveSettings,
  async authenticate(token) {
    let subject;
    try {
      subject = verifyAccessToken(token, await verificationKeys(), tokenAudience, systemClock.now());
    } catch (error) {
      if (error instanceof InvalidToken) throw new ConnectionRefused(error.message, { cause: error });
      throw error;
    }
    if (!(await activeSession({ sessions, clock: systemClock }, subject))) throw new ConnectionRefused('session revoked or expired');
    return subject;
  },
  report: (error) => logger.warn('could not close a connection beyond the cap; it expires on its own', { error: error as Error }),
};

function header(event: ConnectEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === name) return value;
  return undefined;
}

/**
 * WebSocket $connect of the live-updates API: the access token (a subprotocol, never the URL:
 * docs/live.md) of a live session opens a connection for its person; anything else is refused
 * with 401 before the handshake completes. The event is never logged: it carries the token.
 */
async function connect(event: ConnectEvent): Promise<ConnectResult> {
  const connectionId = event.requestContext.connectionId;
  try {
    const { protocol, connection } = await openConnection(deps, connectionId, header(event, 'sec-websocket-protocol'));
    logger.info('connection opened', { connectionId, userId: connection.userId, sessionId: connection.sessionId });
    // A browser that offered subprotocols fails the handshake unless one of them is selected.
    return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': protocol } };
  } catch (error) {
    if (error instanceof ConnectionRefused) {
      logger.info('connection refused', { connectionId, reason: error.message });
      return { statusCode: 401 };
    }
    // The stores report some dependency failures as ServiceUnavailable (a transaction throttled,
    // or conflicting without end): those are a 503 too, not an unhandled error.
    if (isDependencyFailure(error) || error instanceof ServiceUnavailable) {
      logger.warn('connection refused: a dependency failed', { connectionId, error: error as Error });
      return { statusCode: 503 };
    }
    throw error;
  }
}

export const handler = middy<ConnectEvent, ConnectResult, Error, Context>().use(injectLambdaContext(logger, { resetKeys: true })).handler(connect);
