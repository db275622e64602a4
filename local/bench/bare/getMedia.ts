/**
 * The bare handler of GET /v1/media/{id} for the overhead benchmark: the same SDK calls as
 * functions/media/getMedia.ts with the same client settings (a consistent GetItem, then the
 * download and thumbnail URLs presigned for a ready item, with the answer's type and disposition),
 * and nothing else: no middleware, no validation, no logging, no response schema.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
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

const presign = (key: string, contentType: string, disposition: string): Promise<string> =>
  getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentType: contentType, ResponseContentDisposition: disposition }), { expiresIn: seconds });

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const userId = (event.requestContext as unknown as { authorizer: { lambda: { userId: string } } }).authorizer.lambda.userId;
  const id = event.pathParameters?.['id'] as string;
  const { Item: item } = await dynamo.send(new GetCommand({ TableName: table, Key: { pk: `USER#${userId}`, sk: `MEDIA#${id}` }, ConsistentRead: true }));
  const body: Record<string, unknown> = { ...item };
  if (item?.['status'] === 'ready') {
    const thumbnails = item['thumbnails'] as { small: string; large: string };
    const [download, small, large] = await Promise.all([
      presign(`media/${userId}/${id}/original`, String(item['contentType']), `attachment; filename="${String(item['filename'])}"`),
      presign(thumbnails.small, 'image/webp', 'inline'),
      presign(thumbnails.large, 'image/webp', 'inline'),
    ]);
    Object.assign(body, { downloadUrl: download, thumbnails: { small, large } });
  }
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
