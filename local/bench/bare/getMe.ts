/**
 * The bare handler of GET /v1/users/me for the overhead benchmark: the same GetItem as
 * functions/users/getMe.ts with the same client settings, and nothing else.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { TOOLING_CREDENTIALS } from '../../stack/credentials';

const endpoint = process.env['DYNAMODB_ENDPOINT'];
const table = process.env['USERS_TABLE'] as string;

const dynamo = DynamoDBDocumentClient.from(
  new DynamoDBClient({ ...(endpoint ? { endpoint, credentials: TOOLING_CREDENTIALS } : {}), maxAttempts: 3 }),
  { marshallOptions: { removeUndefinedValues: true } },
);

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const userId = (event.requestContext as unknown as { authorizer: { lambda: { userId: string } } }).authorizer.lambda.userId;
  const { Item: item } = await dynamo.send(new GetCommand({ TableName: table, Key: { pk: `USER#${userId}`, sk: 'PROFILE' }, ConsistentRead: true }));
  if (item === undefined) return { statusCode: 404, body: '' };
  const { id, email, name, createdAt, updatedAt, status } = item as Record<string, string>;
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, email, name, createdAt, updatedAt, status }) };
}
