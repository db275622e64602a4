/** Builders for the events API Gateway (HTTP API, payload 2.0) hands to our handlers, for in-process tests. */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
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
