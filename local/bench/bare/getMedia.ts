/**
 * The bare handler of GET /v1/media/{id} for the overhead benchmark: the same SDK calls as
 * functions/media/getMedia.ts with the same client settings (the view-counting UpdateItem, then
 * the download and thumbnail URLs presigned for a ready item), and nothing else: no middleware,
 * no validation, no logging, no response schema.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { TOOLING_CREDENTIALS } from '../../stack/credentials';

const dynamoEndpoint = process.env['DYNAMODB_ENDPOINT'];
const s3Endpoint = process.env['S3_ENDPOINT'];
const table = process.env['MEDIA_TABLE'] as string;
const bucket = process.env['MEDIA_BUCKET'] as string;
const seconds = Number(process.env['DOWNLOAD_URL_SECONDS']);

const dynamo = DynamoDBDocumentClient.from(
  new DynamoDBClient({ ...(dynamoEndpoint ? { endpoint: dynamoEndpoint, credentials: TOOLING_CREDENTIALS } : {}), maxAttempts: 3 }),
  { marshallOptions: { removeUndefinedValues: true } },
);
const s3 = new S3Client({
  ...(s3Endpoint ? { endpoint: s3Endpoint, forcePathStyle: true, credentials: TOOLING_CREDENTIALS } : {}),
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
  maxAttempts: 3,
});

const presign = (key: string, disposition?: string): Promise<string> =>
  getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key, ...(disposition === undefined ? {} : { ResponseContentDisposition: disposition }) }), { expiresIn: seconds });

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const userId = (event.requestContext as unknown as { authorizer: { lambda: { userId: string } } }).authorizer.lambda.userId;
  const id = event.pathParameters?.['id'] as string;
  const { Attributes: item } = await dynamo.send(
    new UpdateCommand({
      TableName: table,
      Key: { pk: `USER#${userId}`, sk: `MEDIA#${id}` },
      UpdateExpression: 'ADD #views :one',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deleting)',
      ExpressionAttributeNames: { '#views': 'views' },
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const body: Record<string, unknown> = { ...item };
  if (item?.['status'] === 'ready') {
    const thumbnails = item['thumbnails'] as { small: string; large: string };
    const [download, small, large] = await Promise.all([
      presign(`media/${userId}/${id}/original`, `inline; filename="${String(item['filename'])}"`),
      presign(thumbnails.small),
      presign(thumbnails.large),
    ]);
    Object.assign(body, { downloadUrl: download, thumbnails: { small, large } });
  }
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
