/**
 * One fuzzed request through a handler, in process: the API Gateway v2 event of
 * local/test/events.ts with exactly the generated headers, body and parameters, and the
 * response checked against docs/openapi.v1.json (local/test/contract.ts). Unlike invoke(),
 * nothing here throws: a handler that throws, a contract violation and a body that is not
 * what its content type says are all reported in the outcome, for the property to judge.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { checkHandlerResponse } from '../test/contract';
import { httpEvent, lambdaContext } from '../test/events';

export interface FuzzRequest {
  method: string;
  /** The route's path template, e.g. `/v1/media/{id}`. */
  template: string;
  pathParameters?: Record<string, string> | undefined;
  query?: Record<string, string> | undefined;
  /** Exactly the headers of the event (names as given: API Gateway lower-cases them, serverless-offline does not). */
  headers: Record<string, string>;
  body?: string | undefined;
  isBase64Encoded?: boolean;
  caller?: { userId: string; sessionId: string } | undefined;
}

export interface Outcome {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The parsed body when the response says it is JSON. */
  json?: unknown;
  /** What the handler threw instead of answering. */
  threw?: unknown;
  /** Why the answer breaks the documented contract. */
  violation?: string;
}

/** The concrete path of a request, for the contract lookup (an empty or odd segment still names the route). */
export function concretePath(template: string, parameters: Record<string, string> | undefined): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = parameters?.[name] ?? '';
    try {
      return encodeURIComponent(value) || '_';
    } catch {
      return '_';
    }
  });
}

type Handler = (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;

export async function fuzzInvoke(handler: unknown, request: FuzzRequest): Promise<Outcome> {
  const path = concretePath(request.template, request.pathParameters);
  const event = httpEvent({
    method: request.method,
    path,
    routeKey: `${request.method} ${request.template}`,
    ...(request.body === undefined ? {} : { rawBody: request.body }),
    isBase64Encoded: request.isBase64Encoded ?? false,
    ...(request.pathParameters === undefined ? {} : { pathParameters: request.pathParameters }),
    ...(request.query === undefined ? {} : { query: request.query }),
    ...(request.caller === undefined ? {} : { caller: request.caller }),
  });
  event.headers = { ...request.headers };
  event.requestContext.http.userAgent = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'user-agent')?.[1] ?? '';
  let result: APIGatewayProxyStructuredResultV2;
  try {
    result = await (handler as Handler)(event, lambdaContext());
  } catch (error) {
    return { status: 0, headers: {}, text: '', threw: error };
  }
  const status = result.statusCode ?? 200;
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]));
  const text = result.body ?? '';
  const outcome: Outcome = { status, headers, text };
  try {
    checkHandlerResponse(handler, request.method, path, { status, headers, text });
  } catch (error) {
    outcome.violation = (error as Error).message;
  }
  if (/json/.test(headers['content-type'] ?? '') && text !== '') {
    try {
      outcome.json = JSON.parse(text) as unknown;
    } catch {
      outcome.violation ??= `a JSON content type with a body that is not JSON: ${text.slice(0, 200)}`;
    }
  }
  return outcome;
}
