/** Builders for the events API Gateway (HTTP API, payload 2.0; WebSocket API), S3 and DynamoDB Streams hand to our handlers, for in-process tests. */
import { randomUUID } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, APIGatewayProxyWebsocketEventV2, Context, DynamoDBRecord, S3Event, S3EventRecord } from 'aws-lambda';
import { checkHandlerResponse } from './contract';

export interface EventOptions {
  method?: string;
  path?: string;
  routeKey?: string;
  body?: unknown;
  rawBody?: string;
  isBase64Encoded?: boolean;
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  caller?: { userId: string; sessionId: string };
  requestId?: string;
}

export function httpEvent(options: EventOptions = {}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'GET';
  const path = options.path ?? '/v1/test';
  const hasJson = options.body !== undefined && options.rawBody === undefined;
  const headers: Record<string, string> = {
    host: 'api.test',
    'user-agent': 'mocha',
    ...(hasJson ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  };
  const event = {
    version: '2.0',
    routeKey: options.routeKey ?? `${method} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers,
    queryStringParameters: options.query,
    pathParameters: options.pathParameters,
    body: options.rawBody ?? (hasJson ? JSON.stringify(options.body) : undefined),
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.test',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: options.requestId ?? randomUUID(),
      routeKey: options.routeKey ?? `${method} ${path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      ...(options.caller === undefined ? {} : { authorizer: { lambda: { ...options.caller } } }),
    },
  };
  return event;
}

export function lambdaContext(functionName = 'test-function'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface ParsedResponse<T = Record<string, unknown>> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Invokes a handler in-process and parses its JSON body. When the handler is one of
 * serverless.yml's HTTP functions, the response is checked against docs/openapi.v1.json.
 */
export async function invoke<T = Record<string, unknown>>(handler: unknown, options: EventOptions = {}): Promise<ParsedResponse<T>> {
  const result = await (handler as Handler)(httpEvent(options), lambdaContext());
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]));
  checkHandlerResponse(handler, options.method ?? 'GET', options.path ?? '/v1/test', { status: result.statusCode ?? 200, headers, text: result.body ?? '' });
  const body = result.body === undefined || result.body === '' ? undefined : (JSON.parse(result.body) as T);
  return { status: result.statusCode ?? 200, headers, body: body as T };
}

/** S3 URL-encodes object keys in events (spaces as '+'), as encodeURIComponent does but keeping '/'. */
export const s3EncodeKey = (key: string): string => encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');

/** One `ObjectCreated:Post` record as S3 delivers it; `encodedKey` as S3 encodes it (see s3EncodeKey). */
export function s3Record(encodedKey: string, options: { bucket?: string; size?: number } = {}): S3EventRecord {
  const bucket = options.bucket ?? 'media-bucket';
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: new Date().toISOString(),
    eventName: 'ObjectCreated:Post',
    userIdentity: { principalId: 'test' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'r', 'x-amz-id-2': 'i' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'processUpload',
      bucket: { name: bucket, ownerIdentity: { principalId: 'test' }, arn: `arn:aws:s3:::${bucket}` },
      object: { key: encodedKey, size: options.size ?? 0, eTag: 'e', sequencer: '1' },
    },
  };
}

/** An S3 event with one record per (plain) key. */
export function s3Event(keys: string[], options: { bucket?: string; size?: number } = {}): S3Event {
  return { Records: keys.map((key) => s3Record(s3EncodeKey(key), options)) };
}

/** A WebSocket API event ($connect, $disconnect, $default) as API Gateway hands it to a Lambda function. */
export function websocketEvent(
  routeKey: '$connect' | '$disconnect' | '$default',
  options: { connectionId?: string; headers?: Record<string, string>; body?: string } = {},
): APIGatewayProxyWebsocketEventV2 & { headers?: Record<string, string> } {
  const eventType = routeKey === '$connect' ? 'CONNECT' : routeKey === '$disconnect' ? 'DISCONNECT' : 'MESSAGE';
  return {
    ...(options.headers === undefined ? {} : { headers: { Host: 'live.test', 'Sec-WebSocket-Version': '13', ...options.headers } }),
    requestContext: {
      routeKey,
      messageId: eventType === 'MESSAGE' ? randomUUID() : undefined,
      eventType,
      extendedRequestId: randomUUID(),
      requestTime: new Date().toUTCString(),
      messageDirection: 'IN',
      stage: 'local',
      connectedAt: Date.now(),
      requestTimeEpoch: Date.now(),
      requestId: randomUUID(),
      domainName: 'live.test',
      connectionId: options.connectionId ?? `${randomUUID().replace(/-/g, '').slice(0, 15)}=`,
      apiId: 'live',
    },
    ...(options.body === undefined ? {} : { body: options.body }),
    isBase64Encoded: false,
  } as APIGatewayProxyWebsocketEventV2 & { headers?: Record<string, string> };
}

let sequence = 4_421_584_500_000_000_017_450_439_091n;

/**
 * One DynamoDB Streams record as Lambda's event source mapping delivers it (NEW_AND_OLD_IMAGES):
 * images marshalled as the stream holds them; `expired` marks a deletion by DynamoDB's TTL.
 */
export function streamRecord(
  table: string,
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  images: { oldImage?: Record<string, unknown>; newImage?: Record<string, unknown> },
  options: { expired?: boolean; at?: Date } = {},
): DynamoDBRecord {
  const image = images.newImage ?? images.oldImage ?? {};
  sequence += 100n;
  const marshalled = (item: Record<string, unknown>) => marshall(item, { removeUndefinedValues: true }) as NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;
  return {
    eventID: randomUUID().replace(/-/g, ''),
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: Math.floor((options.at ?? new Date()).getTime() / 1000),
      Keys: marshalled({ pk: image['pk'], sk: image['sk'] }),
      ...(images.newImage === undefined ? {} : { NewImage: marshalled(images.newImage) }),
      ...(images.oldImage === undefined ? {} : { OldImage: marshalled(images.oldImage) }),
      SequenceNumber: sequence.toString(),
      SizeBytes: 100,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: `arn:aws:dynamodb:us-east-1:123456789012:table/${table}/stream/2026-11-21T00:00:00.000`,
    ...(options.expired === true ? { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } } : {}),
  };
}
