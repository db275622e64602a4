import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { closeConnection } from '../../shared/domain/live';
import { logger } from '../../shared/log';
import { connections } from '../../shared/stores/connectionsTable';

/**
 * WebSocket $disconnect: forgets the connection, whoever closed it (the client, a push that
 * closed it, API Gateway's idle or 2-hour limit). Best effort on AWS too (API Gateway does not
 * always send it): a connection missed here is forgotten when a push finds it gone, or by TTL.
 */
async function disconnect(event: APIGatewayProxyWebsocketEventV2): Promise<{ statusCode: number }> {
  const connectionId = event.requestContext.connectionId;
  const closed = await closeConnection({ connections }, connectionId);
  logger.info('connection closed', { connectionId, ...(closed === undefined ? { known: false } : { userId: closed.userId }) });
  return { statusCode: 200 };
}

export const handler = middy<APIGatewayProxyWebsocketEventV2, { statusCode: number }, Error, Context>().use(injectLambdaContext(logger, { resetKeys: true })).handler(disconnect);
