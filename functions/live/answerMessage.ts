import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { answerMessage } from '../../shared/domain/live';
import { logger } from '../../shared/log';

/**
 * WebSocket $default: the live-updates API only pushes. A client's ping is answered with a pong
 * (the route's response goes back on the same connection), anything else with an error message;
 * the connection stays open either way. Needs nothing from AWS.
 */
async function answer(event: APIGatewayProxyWebsocketEventV2): Promise<{ statusCode: number; body: string }> {
  const reply = answerMessage(typeof event.body === 'string' && event.body.length <= 1024 ? event.body : undefined);
  if (reply.type === 'error') logger.info('unknown message', { connectionId: event.requestContext.connectionId });
  return { statusCode: 200, body: JSON.stringify(reply) };
}

export const handler = middy<APIGatewayProxyWebsocketEventV2, { statusCode: number; body: string }, Error, Context>().use(injectLambdaContext(logger, { resetKeys: true })).handler(answer);
