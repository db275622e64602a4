/**
 * Contract checks: every response the test suites receive, end to end (ApiClient) and in
 * process (invoke() of a function's handler), is validated against docs/openapi.v1.json. An
 * undocumented route, status, content type or body shape throws, failing the test that made
 * the request. Response bodies are validated with Ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect).
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { serviceConfig } from '../stack/serviceConfig';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCUMENT_ID = 'openapi.v1.json';

type Json = Record<string, unknown>;
interface Located {
  path: string;
  method: string;
  operation: Json;
}

let state: { document: Json; ajv: Ajv2020; operations: Located[] } | undefined;

function load(): NonNullable<typeof state> {
  if (state !== undefined) return state;
  const document = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'openapi.v1.json'), 'utf8')) as Json;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, DOCUMENT_ID);
  const operations: Located[] = [];
  for (const [template, item] of Object.entries(document['paths'] as Record<string, Record<string, Json>>)) {
    for (const [method, operation] of Object.entries(item)) operations.push({ path: template, method: method.toUpperCase(), operation });
  }
  state = { document, ajv, operations };
  return state;
}

export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
}

const pointer = (...parts: string[]): string => parts.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

function matches(template: string, actual: string): boolean {
  const expected = template.split('/');
  const given = actual.split('/');
  return expected.length === given.length && expected.every((segment, index) => (segment.startsWith('{') ? (given[index] ?? '') !== '' : segment === given[index]));
}

/** The documented operation for a request, preferring literal segments over templates. */
export function findOperation(method: string, requestPath: string): Located | undefined {
  const bare = requestPath.split('?')[0] as string;
  const candidates = load().operations.filter((entry) => entry.method === method.toUpperCase() && matches(entry.path, bare));
  const literals = (template: string): number => template.split('/').filter((segment) => !segment.startsWith('{')).length;
  return candidates.sort((a, b) => literals(b.path) - literals(a.path))[0];
}

export interface ObservedResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The raw body text ('' for none). */
  text: string;
}

function isGatewayMessage(text: string): boolean {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    return typeof body['message'] === 'string' && typeof body['error'] !== 'object';
  } catch {
    return false;
  }
}

/** Throws ContractViolation when the response is not what the document promises for that operation. */
export function checkResponse(located: Located, response: ObservedResponse): void {
  const where = `${located.method} ${located.path} → ${response.status}`;
  const responses = located.operation['responses'] as Record<string, Json>;
  const documented = responses[String(response.status)];
  if (documented === undefined) throw new ContractViolation(`${where}: status not documented (documented: ${Object.keys(responses).join(', ')})\n${response.text.slice(0, 500)}`);
  // API Gateway's own answers (a refused token, throttling) come before any function runs: they
  // carry its `apigw-requestid`, not our X-Request-Id.
  // (serverless-offline imitates them with a few more fields: `{"statusCode", "error", "message"}`.)
  const fromGateway = isGatewayMessage(response.text);
  if (response.headers['x-request-id'] === undefined && !fromGateway) throw new ContractViolation(`${where}: no X-Request-Id header`);
  for (const name of Object.keys((documented['headers'] as Json | undefined) ?? {})) {
    const required = name === 'Retry-After' || name === 'Location';
    if (required && response.headers[name.toLowerCase()] === undefined) throw new ContractViolation(`${where}: documented header ${name} missing`);
  }
  const content = documented['content'] as Record<string, Json> | undefined;
  if (content === undefined) {
    if (response.text !== '') throw new ContractViolation(`${where}: documented without a body, got ${response.text.slice(0, 200)}`);
    return;
  }
  const contentType = (response.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  const mediaType = Object.keys(content).find((type) => type === contentType);
  if (mediaType === undefined) throw new ContractViolation(`${where}: content type "${contentType}" not documented (${Object.keys(content).join(', ')})`);
  if (!mediaType.includes('json')) return;
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    throw new ContractViolation(`${where}: body is not JSON: ${response.text.slice(0, 200)}`);
  }
  const schemaRef = `${DOCUMENT_ID}#/${pointer('paths', located.path, located.method.toLowerCase(), 'responses', String(response.status), 'content', mediaType, 'schema')}`;
  const validate = load().ajv.getSchema(schemaRef);
  if (validate === undefined) throw new ContractViolation(`${where}: no schema at ${schemaRef}`);
  if (!validate(body)) {
    const problems = (validate.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
    throw new ContractViolation(`${where}: body does not match the document:\n  ${problems.join('\n  ')}\n  body: ${JSON.stringify(body).slice(0, 800)}`);
  }
}

/** For the end-to-end client: the request is located by method and path. */
export function checkHttpResponse(method: string, requestPath: string, response: ObservedResponse): void {
  const located = findOperation(method, requestPath);
  if (located === undefined) throw new ContractViolation(`${method} ${requestPath}: no such operation in docs/openapi.v1.json`);
  checkResponse(located, response);
}

/** fetch() for tests that do not use ApiClient: the answer is checked against the document too. */
export async function contractFetch(url: string, init?: RequestInit): Promise<ObservedResponse & { json: <T>() => T }> {
  const response = await fetch(url, init);
  const text = await response.text();
  const observed = { status: response.status, headers: Object.fromEntries([...response.headers].map(([name, value]) => [name.toLowerCase(), value])), text };
  checkHttpResponse(init?.method ?? 'GET', new URL(url).pathname, observed);
  return { ...observed, json: <T>() => JSON.parse(text) as T };
}

// --- in-process handlers -------------------------------------------------------------------

const handlerFunctions = new WeakMap<object, string>();
let functionsBySource: Map<string, string> | undefined;

function functionOfSource(absolutePath: string): string | undefined {
  if (functionsBySource === undefined) {
    functionsBySource = new Map();
    for (const [name, fn] of Object.entries(serviceConfig('local').functions)) {
      functionsBySource.set(path.join(ROOT, `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.ts`), name);
    }
  }
  return functionsBySource.get(absolutePath.replace(/\.(js|ts)$/, '.ts'));
}

/** Called by loadHandler(): a handler loaded through proxyquire never reaches require.cache. */
export function registerHandler(handler: unknown, modulePath: string): void {
  const name = functionOfSource(path.resolve(ROOT, modulePath).replace(/(\.ts)?$/, '.ts'));
  if (name !== undefined && typeof handler === 'function') handlerFunctions.set(handler, name);
}

function functionOfHandler(handler: unknown): string | undefined {
  if (typeof handler !== 'function') return undefined;
  const known = handlerFunctions.get(handler);
  if (known !== undefined) return known;
  for (const module of Object.values(require.cache)) {
    if ((module?.exports as { handler?: unknown } | undefined)?.handler === handler) {
      const name = functionOfSource(module?.filename ?? '');
      if (name !== undefined) handlerFunctions.set(handler, name);
      return name;
    }
  }
  return undefined;
}

/**
 * For in-process invocations: the operation of the function the handler belongs to (by the
 * request's method and path when the function serves several). Handlers that are not one of
 * serverless.yml's functions (test doubles of the HTTP layer) are not checked.
 */
export function checkHandlerResponse(handler: unknown, method: string, requestPath: string, response: ObservedResponse): void {
  const functionName = functionOfHandler(handler);
  if (functionName === undefined) return;
  const own = load().operations.filter((entry) => entry.operation['x-function'] === functionName);
  if (own.length === 0) return; // not an HTTP function (S3, SNS, schedule, authorizer)
  const located = own.length === 1 ? own[0] : own.find((entry) => entry.method === method.toUpperCase() && matches(entry.path, requestPath.split('?')[0] as string));
  if (located === undefined) throw new ContractViolation(`${functionName}: ${method} ${requestPath} is none of its documented operations`);
  checkResponse(located, response);
}
