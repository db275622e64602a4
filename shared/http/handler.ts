import middy from '@middy/core';
import httpCors from '@middy/http-cors';
import httpSecurityHeaders from '@middy/http-security-headers';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod/mini';
import type * as core from 'zod/v4/core';
import { listEnv } from '../config/env';
import { logger } from '../log';
import { HttpError, InvalidJson, PayloadTooLarge, ServiceUnavailable, Unauthenticated, UnsupportedMediaType, ValidationFailed } from './errors';
import { isDependencyFailure, toErrorResponse } from './errorResponse';
import { validationDetails } from './validation';

/** Request bodies above this size are refused with 413 before any parsing (DESIGN.md). */
export const MAX_BODY_BYTES = 64 * 1024;

const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/**
 * Where in a parsed body a string (or a key) is not well-formed Unicode (a lone UTF-16
 * surrogate: JSON escapes such as `\uDC00` can make one, UTF-8 cannot carry it on). A loop
 * over a stack, not recursion: 64 KB of `[[[[…` nests deeper than the call stack goes.
 */
function illFormedAt(body: unknown): string | undefined {
  const pending: Array<[unknown, string]> = [[body, 'body']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value === 'string') {
      if (!value.isWellFormed()) return path;
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (!key.isWellFormed()) return path;
        pending.push([item, `${path}.${key}`]);
      }
    }
  }
  return undefined;
}

/** Who is calling: set by the Lambda authorizer on protected routes. */
export interface Caller {
  userId: string;
  sessionId: string;
}

export interface HttpRequest<Body, Params, Query> {
  body: Body;
  params: Params;
  query: Query;
  /** Header names are lower-cased: API Gateway lower-cases them, serverless-offline does not. */
  headers: Record<string, string>;
  requestId: string;
  event: APIGatewayProxyEventV2;
  context: Context;
}

export interface HttpResult<ResponseBody = unknown> {
  status: number;
  body?: ResponseBody;
  /** A non-JSON body (the docs page and its assets), sent as is with the `content-type` in `headers`. */
  text?: string;
  headers?: Record<string, string>;
}

type Schema = core.$ZodType;
type Output<S> = S extends core.$ZodType ? core.output<S> : undefined;
type Input<S> = S extends core.$ZodType ? core.input<S> : unknown;

export interface RouteSpec<B extends Schema | undefined, P extends Schema | undefined, Q extends Schema | undefined, R extends Schema | undefined> {
  /** `bearer`: the route sits behind the authorizer and the handler gets the caller. */
  auth: 'none' | 'bearer';
  body?: B;
  params?: P;
  query?: Q;
  /** Shapes successful response bodies: unknown fields are stripped, so nothing stray leaks. */
  response?: R;
  /**
   * Content-Security-Policy directives of HTML responses, merged over the strict default
   * (`false` drops a directive). Only the docs page needs scripts and styles.
   */
  contentSecurityPolicy?: Record<string, string | false>;
}

type PublicHandler<B, P, Q, R> = (request: HttpRequest<Output<B>, Output<P>, Output<Q>>) => Promise<HttpResult<Input<R>>>;
type ProtectedHandler<B, P, Q, R> = (
  request: HttpRequest<Output<B>, Output<P>, Output<Q>> & { caller: Caller },
) => Promise<HttpResult<Input<R>>>;

const corsOrigins = listEnv('CORS_ORIGINS');

function lowerCaseHeaders(headers: APIGatewayProxyEventV2['headers'] | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) result[name.toLowerCase()] = value;
  }
  return result;
}

function readBody(event: APIGatewayProxyEventV2, headers: Record<string, string>): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.byteLength > MAX_BODY_BYTES) {
    throw new PayloadTooLarge(`The request body must not exceed ${MAX_BODY_BYTES} bytes`);
  }
  const contentType = headers['content-type'];
  if (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType)) {
    throw new UnsupportedMediaType('The request body must be JSON (Content-Type: application/json)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new InvalidJson();
  }
  // Such a string could be neither stored as UTF-8 nor put into a URL or a header later.
  const illFormed = illFormedAt(parsed);
  if (illFormed !== undefined) {
    throw new ValidationFailed([{ path: illFormed, message: 'Must be well-formed Unicode (no lone surrogates)', code: 'invalid_format' }]);
  }
  return parsed;
}

function validate<S extends Schema | undefined>(schema: S, value: unknown, location: string): Output<S> {
  if (schema === undefined) return undefined as Output<S>;
  const result = z.safeParse(schema, value);
  if (!result.success) throw new ValidationFailed(validationDetails(result.error, location));
  return result.data as Output<S>;
}

function callerFrom(event: APIGatewayProxyEventV2): Caller {
  // Real HTTP APIs nest the authorizer's simple-response context under `lambda`;
  // serverless-offline puts it directly on `authorizer`. Accept both shapes.
  const authorizer = (event.requestContext as { authorizer?: Record<string, unknown> }).authorizer;
  const context = (authorizer?.['lambda'] ?? authorizer) as Record<string, unknown> | undefined;
  // The authorizer could not check the token (a dependency failed): never run the handler.
  if (context?.['unavailable'] === 'true') throw new ServiceUnavailable(1, 'Authentication is temporarily unavailable; retry');
  const userId = context?.['userId'];
  const sessionId = context?.['sessionId'];
  if (typeof userId !== 'string' || userId === '' || typeof sessionId !== 'string' || sessionId === '') {
    // The authorizer guards these routes; reaching here means a route was wired without it.
    throw new Unauthenticated();
  }
  return { userId, sessionId };
}

function requestIdOf(event: APIGatewayProxyEventV2, context: Context): string {
  // API Gateway's id ties our logs to its access logs. serverless-offline sends the same
  // placeholder for every request, so locally the (unique) Lambda request id stands in.
  if (process.env['IS_OFFLINE'] !== undefined) return context.awsRequestId;
  return event.requestContext?.requestId ?? context.awsRequestId;
}

function serialize(result: HttpResult, requestId: string): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, string> = {
    'cache-control': 'no-store',
    ...result.headers,
    'x-request-id': requestId,
  };
  if (result.text !== undefined) return { statusCode: result.status, headers, body: result.text };
  if (result.body === undefined) return { statusCode: result.status, headers, body: '' };
  headers['content-type'] = 'application/json; charset=utf-8';
  return { statusCode: result.status, headers, body: JSON.stringify(result.body) };
}

interface RequestState {
  requestId: string;
  startedAt: number;
}
const STATE = Symbol('http-request-state');
type MiddyRequest = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> & {
  internal: Record<string | symbol, unknown>;
};

/** First in, last out: request id for logs and responses, one access-log line per request. */
const requestContext = (): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> => {
  const finish = (request: MiddyRequest): void => {
    const state = request.internal[STATE] as RequestState | undefined;
    const response = request.response;
    if (state === undefined || response === undefined || response === null) return;
    logger.info('request completed', {
      route: request.event.routeKey,
      status: response.statusCode,
      durationMs: Math.round((performance.now() - state.startedAt) * 100) / 100,
    });
  };
  return {
    before: (request) => {
      const requestId = requestIdOf(request.event, request.context);
      (request as MiddyRequest).internal[STATE] = { requestId, startedAt: performance.now() } satisfies RequestState;
      logger.appendKeys({ requestId });
    },
    after: (request) => finish(request),
    onError: (request) => finish(request),
  };
};

/** Last in, first out on error: typed errors -> their status, anything else -> generic 500 or 503. */
const errorMapper = (): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> => ({
  onError: (request) => {
    const error = request.error;
    const requestId = requestIdOf(request.event, request.context);
    if (error instanceof HttpError) {
      logger.info('request rejected', { status: error.status, code: error.code });
    } else if (isDependencyFailure(error)) {
      logger.warn('dependency failure', { error: error as Error });
    } else {
      logger.error('unhandled error', { error: error as Error });
    }
    request.response = serialize(toErrorResponse(error, requestId), requestId);
  },
});

function wrap(spec: RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined, Schema | undefined>, fn: (request: never) => Promise<HttpResult>) {
  const core = async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const requestId = requestIdOf(event, context);
    // Who is calling comes first: nothing of a request is looked at before its caller is known.
    const caller = spec.auth === 'bearer' ? { caller: callerFrom(event) } : {};
    const headers = lowerCaseHeaders(event.headers);
    // A body sent to a route that takes none is ignored, as HTTP lets a server do.
    const request = {
      body: spec.body === undefined ? undefined : validate(spec.body, readBody(event, headers), 'body'),
      params: validate(spec.params, event.pathParameters ?? {}, 'path'),
      query: validate(spec.query, event.queryStringParameters ?? {}, 'query'),
      headers,
      requestId,
      event,
      context,
      ...caller,
    };
    const result = await fn(request as never);
    if (spec.response !== undefined && result.body !== undefined && result.status < 300) {
      // A response that does not match its schema is our bug: fail closed (500) rather than leak fields.
      return serialize({ ...result, body: z.parse(spec.response, result.body) }, requestId);
    }
    return serialize(result, requestId);
  };

  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>({ timeoutEarlyInMillis: 50 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(requestContext())
    .use(
      httpCors({
        origins: corsOrigins,
        headers: 'Content-Type,Authorization,X-Request-Id,If-Match',
        exposeHeaders: 'X-Request-Id,Location,Retry-After,ETag',
        methods: 'GET,POST,PATCH,DELETE,OPTIONS',
        maxAge: 600,
      }),
    )
    // `reportingEndpoints` is missing from the middleware's types; false drops its empty header.
    .use(
      httpSecurityHeaders({
        reportingEndpoints: false,
        ...(spec.contentSecurityPolicy === undefined ? {} : { contentSecurityPolicy: spec.contentSecurityPolicy }),
      } as Parameters<typeof httpSecurityHeaders>[0]),
    )
    .use(errorMapper())
    .handler(core);
  // The route's schemas travel with the handler: local/checks/openapi.test.ts checks that the
  // OpenAPI document describes each function with exactly the schemas its handler validates with.
  return Object.assign(handler, { route: spec });
}

/** A route open to anyone (health, sign-up, login, JWKS). */
export function publicRoute<B extends Schema | undefined = undefined, P extends Schema | undefined = undefined, Q extends Schema | undefined = undefined, R extends Schema | undefined = undefined>(
  spec: RouteSpec<B, P, Q, R> & { auth: 'none' },
  fn: PublicHandler<B, P, Q, R>,
) {
  return wrap(spec, fn);
}

/** A route behind the Lambda authorizer: the handler receives the authenticated caller. */
export function protectedRoute<B extends Schema | undefined = undefined, P extends Schema | undefined = undefined, Q extends Schema | undefined = undefined, R extends Schema | undefined = undefined>(
  spec: RouteSpec<B, P, Q, R> & { auth: 'bearer' },
  fn: ProtectedHandler<B, P, Q, R>,
) {
  return wrap(spec, fn);
}
