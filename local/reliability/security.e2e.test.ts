/**
 * Security checks, end to end over real HTTP: a serverless-offline of the whole API started for
 * this suite with LOG_LEVEL=DEBUG, everything it prints kept (local/stack/offline.ts,
 * `outputLimit: Infinity`).
 *
 *   1. response headers and error bodies, on a success and an error answer of every route family;
 *   2. CORS: which origins are granted, and by which layer;
 *   3. request limits (body size, page size, tags, filename, upload size), with nothing stored;
 *   4. secrets never in logs: a whole account's life (sign-up, logins, refresh, password change,
 *      refused tokens, upload, download URLs, a signed callback, logout, deletion), then the
 *      process's whole output (serverless-offline, its Lambda workers, the S3 and SNS stand-ins)
 *      scanned for every secret the suite sent or was given.
 *
 * Log level: shared/log.ts takes it from POWERTOOLS_LOG_LEVEL, which serverless.yml sets from the
 * stage's `logLevel`; the local stage reads that from the environment
 * (`logLevel: ${env:LOG_LEVEL, 'INFO'}` in shared/config/stages/local.yml), so LOG_LEVEL in the
 * extra offline's environment is the supported switch (`serverless print --stage local --path
 * provider.environment.POWERTOOLS_LOG_LEVEL` with LOG_LEVEL=DEBUG prints DEBUG).
 *
 * Layers. Under serverless-offline, hapi stands in for API Gateway: it routes (an unknown route
 * is its 404), runs the Lambda authorizer (a refused token is its 401, as API Gateway's is),
 * answers CORS preflights itself from serverless.yml's `httpApi.cors`, and passes our functions'
 * answers through with their headers. Checks of what our code controls (nosniff, cache-control,
 * x-request-id, the error body) apply to the answers a function produced; on the stand-in's own
 * answers we check only that they leak nothing and name no product. hapi adds neither `server`
 * nor `x-powered-by` (nor does API Gateway's HTTP API), so no such header may reach the client.
 */
import { createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { expect } from 'chai';
import { ulid } from 'ulid';
import * as z from 'zod/mini';
import type * as core from 'zod/v4/core';
import { MAX_BODY_BYTES } from '../../shared/http/handler';
import { CreateMediaBody, ListMediaQuery, UpdateMetadataBody } from '../../shared/schemas/media';
import { PageQuery } from '../../shared/schemas/common';
import type { RunningOffline } from '../stack/offline';
import { serviceConfig } from '../stack/serviceConfig';
import { httpEvent } from '../test/events';
import { ApiClient, newAccount, type ApiResponse } from '../test/http';
import { settled, upload, type MediaBody, type UploadBody } from '../test/media';
import { extraOfflineApi } from '../test/stack';
import { attackTokens } from '../test/tokens';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'media');
const PHOTO = fs.readFileSync(path.join(FIXTURES, 'graphic.png'));

interface Tokens {
  sessionId: string;
  accessToken: string;
  refreshToken: string;
}
interface ErrorBody {
  error: { code: string; message: string; details?: Array<{ path: string; message: string; code?: string }>; requestId?: string };
}
interface Metadata {
  title: string;
  tags: string[];
}
interface Job {
  id: string;
  status: string;
  callback?: { status: string };
}

const unique = (): string => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --- limits, from where the service takes them ------------------------------------------------

type Json = Record<string, unknown>;
/** A schema's JSON Schema as the OpenAPI generator makes it (local/openapi/document.ts). */
const jsonSchema = (schema: core.$ZodType): Json => z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' });
const property = (schema: core.$ZodType, name: string): Json => (jsonSchema(schema)['properties'] as Record<string, Json>)[name] as Json;
const numberAt = (value: unknown, what: string): number => {
  if (typeof value !== 'number') throw new Error(`${what} is not in the schema`);
  return value;
};

const LIMITS = {
  /** shared/http/handler.ts */
  bodyBytes: MAX_BODY_BYTES,
  /** shared/schemas/common.ts PageQuery (GET /v1/sessions), and ListMediaQuery (GET /v1/media) */
  sessionsPage: numberAt(property(PageQuery, 'limit')['maximum'], 'PageQuery.limit maximum'),
  mediaPage: numberAt(property(ListMediaQuery, 'limit')['maximum'], 'ListMediaQuery.limit maximum'),
  /** shared/schemas/media.ts */
  tags: numberAt(property(UpdateMetadataBody, 'tags')['maxItems'], 'UpdateMetadataBody.tags maxItems'),
  tagLength: numberAt((property(UpdateMetadataBody, 'tags')['items'] as Json)['maxLength'], 'Tag maxLength'),
  filename: numberAt(property(CreateMediaBody, 'filename')['maxLength'], 'CreateMediaBody.filename maxLength'),
  /** the local stage's media.maxImageMB / maxVideoMB, as serverless.yml hands them to the functions */
  imageBytes: Number(serviceConfig('local').provider.environment?.['MAX_IMAGE_BYTES']),
  videoBytes: Number(serviceConfig('local').provider.environment?.['MAX_VIDEO_BYTES']),
};

// --- what an answer may contain ---------------------------------------------------------------

/** What an error answer must never show: internals, wherever they come from. */
const INTERNALS: Array<[string, RegExp]> = [
  ['a stack trace', /^\s*at\s+\S.*(:\d+:\d+|\(native\))\)?\s*$/m],
  ['a stack frame', /\bat (?:async )?[\w$.<>]+ \([^)]*:\d+:\d+\)/],
  ['a file path (/work/)', /\/work\//],
  ['a file path (node_modules)', /node_modules/],
  ['a source location (.ts:)', /\.ts:\d*/],
  ['a source location (.js:)', /\.[cm]?js:\d+/],
  ['a DynamoDB error (ConditionalCheckFailed)', /ConditionalCheckFailed/],
  ['a DynamoDB error (ValidationException)', /ValidationException/],
  ['a DynamoDB error (TransactionCanceled)', /TransactionCanceled/],
  ['a DynamoDB value (AttributeValue)', /AttributeValue/],
  ['a DynamoDB key (pk/sk)', /"(pk|sk|gsi\d?pk|gsi\d?sk)"\s*:/i],
];

function headerMap(headers: Headers): Record<string, string> {
  const map: Record<string, string> = {};
  headers.forEach((value, name) => (map[name.toLowerCase()] = value));
  return map;
}

/** Every problem of an answer's text and headers: internals, and any of the given inputs echoed. */
function leaksIn(where: string, text: string, headers: Record<string, string>, inputs: string[]): string[] {
  const problems: string[] = [];
  const everything = `${text}\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n')}`;
  for (const [what, pattern] of INTERNALS) {
    const match = pattern.exec(everything);
    if (match !== null) problems.push(`${where} shows ${what}: …${everything.slice(Math.max(0, match.index - 60), match.index + 80)}…`);
  }
  for (const input of inputs) {
    for (const form of new Set([input, JSON.stringify(input).slice(1, -1), encodeURIComponent(input)])) {
      if (everything.includes(form)) problems.push(`${where} echoes the input ${JSON.stringify(input)} back`);
    }
  }
  return problems;
}

/** The headers our functions set on every answer (shared/http/handler.ts). */
function checkFunctionHeaders(where: string, headers: Record<string, string>, cacheControl: string): void {
  expect(headers['x-content-type-options'], `${where}: x-content-type-options`).to.equal('nosniff');
  expect(headers, `${where}: x-powered-by names the software`).not.to.have.property('x-powered-by');
  expect(headers, `${where}: server names the software`).not.to.have.property('server');
  expect(headers['cache-control'], `${where}: cache-control`).to.equal(cacheControl);
  expect(headers['x-request-id'], `${where}: x-request-id`).to.match(/^[\w-]{8,128}$/);
}

/** `{"error": {code, message, details?, requestId?}}` and nothing else. */
function checkErrorBody(where: string, text: string, expectedCode: string): void {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    expect.fail(`${where}: the error body is not JSON: ${text.slice(0, 200)}`);
  }
  expect(body, `${where}: error body`).to.be.an('object');
  expect(Object.keys(body as object), `${where}: top-level fields of the error body`).to.deep.equal(['error']);
  const error = (body as { error: Record<string, unknown> }).error;
  expect(error, `${where}: error`).to.be.an('object');
  const extra = Object.keys(error).filter((key) => !['code', 'message', 'details', 'requestId'].includes(key));
  expect(extra, `${where}: fields of the error object besides code, message, details, requestId`).to.deep.equal([]);
  expect(error['code'], `${where}: error.code`).to.equal(expectedCode);
  expect(error['message'], `${where}: error.message`).to.be.a('string').and.not.equal('');
  if (error['requestId'] !== undefined) expect(error['requestId'], `${where}: error.requestId`).to.be.a('string');
  if (error['details'] !== undefined) {
    expect(error['details'], `${where}: error.details`).to.be.an('array');
    for (const detail of error['details'] as Array<Record<string, unknown>>) {
      const fields = Object.keys(detail).filter((key) => !['path', 'message', 'code'].includes(key));
      expect(fields, `${where}: fields of a detail besides path, message, code`).to.deep.equal([]);
      expect(detail['path'], `${where}: detail.path`).to.be.a('string');
      expect(detail['message'], `${where}: detail.message`).to.be.a('string');
    }
  }
}

// --- secrets the suite sends or is given, and the scan for them -------------------------------

interface Secret {
  label: string;
  value: string;
}

/** Every secret of the run, in every form a log line could carry it. */
class Secrets {
  readonly all: Secret[] = [];

  add(label: string, value: string): void {
    // A short value could turn up in the output by chance; every secret here is long.
    if (value.length < 12) throw new Error(`${label} is too short to scan for (${value.length} characters)`);
    if (!this.all.some((secret) => secret.value === value)) this.all.push({ label, value });
  }

  /**
   * As sent, and as a log line could carry it: raw; JSON-escaped (a field of a JSON log line);
   * JSON-escaped twice (a request body, itself JSON, logged as a string field); JSON-escaped
   * ASCII-only (`\u00e4`); URL-encoded; form-encoded.
   */
  password(label: string, value: string): void {
    const json = JSON.stringify(value).slice(1, -1);
    this.add(`password ${label}`, value);
    this.add(`password ${label} (JSON-escaped)`, json);
    this.add(`password ${label} (JSON-escaped twice)`, JSON.stringify(json).slice(1, -1));
    this.add(`password ${label} (JSON-escaped, ASCII only)`, json.replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`));
    this.add(`password ${label} (URL-encoded)`, encodeURIComponent(value));
    this.add(`password ${label} (form-encoded)`, new URLSearchParams({ p: value }).toString().slice(2));
  }

  /** A JWT: whole, as an Authorization header, and its signature. */
  jwt(label: string, token: string): void {
    this.add(label, token);
    this.add(`Authorization header with ${label}`, `Bearer ${token}`);
    const signature = token.split('.')[2];
    if (signature !== undefined && signature.length >= 12) this.add(`signature of ${label}`, signature);
  }

  /** `<userId>.<sessionId>.<secret>`: whole, and the secret part. */
  refreshToken(label: string, token: string): void {
    this.add(label, token);
    this.add(`secret part of ${label}`, token.split('.')[2] as string);
  }

  tokens(label: string, tokens: Tokens): void {
    this.jwt(`access token of ${label}`, tokens.accessToken);
    this.refreshToken(`refresh token of ${label}`, tokens.refreshToken);
  }

  /** X-Amz-Signature of every presigned URL (downloads, thumbnails). */
  presignedUrl(label: string, url: string): void {
    const signature = new URL(url).searchParams.get('X-Amz-Signature');
    if (signature === null) throw new Error(`${label} is not a presigned URL: ${url}`);
    this.add(`X-Amz-Signature of ${label}`, signature);
  }

  /** The signature field of a presigned POST policy. */
  postPolicy(label: string, fields: Record<string, string>): void {
    const signature = Object.entries(fields).find(([name]) => name.toLowerCase() === 'x-amz-signature')?.[1];
    if (signature === undefined) throw new Error(`${label} has no x-amz-signature field: ${JSON.stringify(fields)}`);
    this.add(`x-amz-signature field of ${label}`, signature);
  }

  /** The JWT signing keys the stack signs with (JWT_PRIVATE_KEYS): `d` of each as a JWK, and the PEM body. */
  signingKeys(): void {
    const file = (process.env['JWT_PRIVATE_KEYS'] as string).slice('file:'.length);
    const document = JSON.parse(fs.readFileSync(file, 'utf8')) as { keys: Array<{ kid: string; privateKeyPem: string }> };
    for (const { kid, privateKeyPem } of document.keys) {
      const jwk = createPrivateKey(privateKeyPem).export({ format: 'jwk' });
      this.add(`"d" of JWT private key ${kid}`, jwk.d as string);
      privateKeyPem
        .split('\n')
        .filter((line) => line.length >= 40 && !line.startsWith('-----'))
        .forEach((line, index) => this.add(`line ${index + 1} of the PEM of JWT private key ${kid}`, line));
    }
  }
}

/**
 * Where each secret appears in the output: how many lines, which function printed the first one
 * (Powertools' `function_name`, else serverless-offline or a stand-in), and that line around the
 * secret, masked.
 */
function findLeaks(output: string, secrets: Secret[]): string[] {
  const lines = output.split('\n');
  const found: string[] = [];
  for (const { label, value } of secrets) {
    const at = lines.flatMap((line, index) => (line.includes(value) ? [index] : []));
    if (at.length === 0) continue;
    const first = at[0] as number;
    const line = lines[first] as string;
    const printer = /"function_name":"([^"]+)"/.exec(line)?.[1] ?? 'serverless-offline or a stand-in (not a function log line)';
    const index = line.indexOf(value);
    const context = `${line.slice(Math.max(0, index - 160), index)}«${label}»${line.slice(index + value.length, index + value.length + 80)}`;
    found.push(`${label}: in ${at.length} line(s) of the serverless-offline output, first at line ${first + 1}, printed by ${printer}: …${context}…`);
  }
  return found;
}

/** A callback receiver on loopback that records the signature header of each delivery. */
async function callbackReceiver(): Promise<{ url: string; signatures: string[]; close: () => Promise<void> }> {
  const signatures: string[] = [];
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const signature = request.headers['x-media-library-signature'];
      if (typeof signature === 'string') signatures.push(signature);
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/analysis`, signatures, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('security checks (headers, CORS, limits, secrets in logs)', function () {
  this.timeout(180_000);
  let offline: RunningOffline;
  let api: ApiClient;
  let lambda: LambdaClient;
  const secrets = new Secrets();

  /** One account with a session, a ready image, a pending upload and an analysis. */
  const fixture = { userId: '', email: '', password: '', tokens: { sessionId: '', accessToken: '', refreshToken: '' }, readyId: '', pendingId: '', analysisId: '' };

  async function account(prefix: string): Promise<{ userId: string; email: string; password: string; tokens: Tokens }> {
    const body = newAccount(prefix);
    secrets.password(`of ${prefix}`, body.password);
    const created = await api.post<{ id: string }>('/v1/users', { body });
    expect(created.status, created.text).to.equal(201);
    const session = await api.post<Tokens>('/v1/sessions', { body: { email: body.email, password: body.password } });
    expect(session.status, session.text).to.equal(201);
    secrets.tokens(`the ${prefix} session`, session.body);
    return { userId: created.body.id, email: body.email, password: body.password, tokens: session.body };
  }

  before(async () => {
    offline = await extraOfflineApi(
      // SLS_LOG_LEVEL pins serverless-offline's own chatter at its default (notice) whatever the
      // caller's environment says: its debug mode prints whole events, Authorization headers and
      // bodies included, by design of the local tool (API Gateway has no such mode; its access
      // log format is in serverless.yml and names no header or body).
      { LOG_LEVEL: 'DEBUG', SLS_LOG_LEVEL: 'notice' },
      { outputLimit: Infinity },
    );
    api = new ApiClient(offline.baseUrl);
    lambda = new LambdaClient({ endpoint: `http://127.0.0.1:${offline.lambdaPort}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    secrets.signingKeys();

    Object.assign(fixture, await account('security'));
    const ready = await upload(api, fixture.tokens.accessToken, { bytes: PHOTO, filename: 'g.png', contentType: 'image/png' });
    secrets.postPolicy('the presigned upload of the fixture image', ready.upload.fields);
    fixture.readyId = ready.media.id;
    expect((await settled(api, fixture.tokens.accessToken, fixture.readyId)).status).to.equal('ready');
    const pending = await api.post<UploadBody>('/v1/media', { token: fixture.tokens.accessToken, body: { filename: 'p.jpg', contentType: 'image/jpeg', size: 10 } });
    expect(pending.status, pending.text).to.equal(201);
    secrets.postPolicy('the presigned upload of the pending item', pending.body.upload.fields);
    fixture.pendingId = pending.body.media.id;
    const job = await api.post<Job>(`/v1/media/${fixture.readyId}/analyses`, { token: fixture.tokens.accessToken });
    expect(job.status, job.text).to.equal(202);
    fixture.analysisId = job.body.id;
  });

  after(async () => {
    lambda?.destroy();
    await offline?.stop();
  });

  /** A request exactly as a client sends it, its answer with lower-case header names. */
  async function send(method: string, url: string, init: { headers?: Record<string, string>; body?: string } = {}) {
    const response = await fetch(`${offline.baseUrl}${url}`, { method, headers: init.headers ?? {}, ...(init.body === undefined ? {} : { body: init.body }) });
    return { status: response.status, headers: headerMap(response.headers), text: await response.text() };
  }

  /** A function invoked directly through serverless-offline's Lambda endpoint: its own answer, before the gateway layer. */
  async function invokeFunction(name: string, event: unknown): Promise<{ status: number; headers: Record<string, string>; text: string }> {
    const result = await lambda.send(new InvokeCommand({ FunctionName: `media-library-local-${name}`, Payload: Buffer.from(JSON.stringify(event)) }));
    const payload = Buffer.from(result.Payload ?? new Uint8Array()).toString('utf8');
    if (result.FunctionError !== undefined) throw new Error(`${name} failed: ${payload}`);
    const answer = JSON.parse(payload) as APIGatewayProxyStructuredResultV2;
    const headers = Object.fromEntries(Object.entries(answer.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]));
    return { status: answer.statusCode ?? 200, headers, text: answer.body ?? '' };
  }

  describe('1. response headers and error bodies of every route family', () => {
    interface Probe {
      family: string;
      title: string;
      request: () => { method: string; path: string; token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> };
      status: number;
      /** The error code of a function's error answer. */
      code?: string;
      /** Answers with a public cache on purpose (documented); every other JSON answer is no-store. */
      cacheControl?: string;
      /** Values sent that the answer must not echo. */
      inputs?: () => string[];
    }
    const probeSecret = `pw-probe-${unique()}-"quoted"\\slash`;
    const wrongPassword = `wrong-${unique()}-password`;
    const probeContentType = `text/x-probe-${unique()}`;
    const fakeRefresh = (): string => `${fixture.userId}.${fixture.tokens.sessionId}.${'A'.repeat(43)}`;
    const callbackProbe = `http://169.254.169.254/latest/meta-data/?probe=${unique()}`;

    const successes: Probe[] = [
      { family: 'health', title: 'GET /v1/health', request: () => ({ method: 'GET', path: '/v1/health' }), status: 200 },
      { family: 'users', title: 'GET /v1/users/me', request: () => ({ method: 'GET', path: '/v1/users/me', token: fixture.tokens.accessToken }), status: 200 },
      { family: 'sessions', title: 'GET /v1/sessions', request: () => ({ method: 'GET', path: '/v1/sessions', token: fixture.tokens.accessToken }), status: 200 },
      { family: 'media', title: 'GET /v1/media/{id}', request: () => ({ method: 'GET', path: `/v1/media/${fixture.readyId}`, token: fixture.tokens.accessToken }), status: 200 },
      { family: 'media', title: 'GET /v1/media', request: () => ({ method: 'GET', path: '/v1/media', token: fixture.tokens.accessToken }), status: 200 },
      { family: 'metadata', title: 'GET /v1/media/{id}/metadata', request: () => ({ method: 'GET', path: `/v1/media/${fixture.readyId}/metadata`, token: fixture.tokens.accessToken }), status: 200 },
      { family: 'tags', title: 'GET /v1/tags', request: () => ({ method: 'GET', path: '/v1/tags', token: fixture.tokens.accessToken }), status: 200 },
      { family: 'analyses', title: 'GET /v1/analyses/{id}', request: () => ({ method: 'GET', path: `/v1/analyses/${fixture.analysisId}`, token: fixture.tokens.accessToken }), status: 200 },
      // The public key set and the API description are cacheable by design (docs/security.md, getOpenApi.ts).
      { family: 'jwks', title: 'GET /v1/.well-known/jwks.json', request: () => ({ method: 'GET', path: '/v1/.well-known/jwks.json' }), status: 200, cacheControl: 'public, max-age=300' },
      { family: 'openapi/docs', title: 'GET /v1/openapi.json', request: () => ({ method: 'GET', path: '/v1/openapi.json' }), status: 200, cacheControl: 'public, max-age=300' },
      { family: 'openapi/docs', title: 'GET /docs (HTML)', request: () => ({ method: 'GET', path: '/docs' }), status: 200, cacheControl: 'no-cache' },
    ];

    const errors: Probe[] = [
      {
        family: 'users',
        title: 'POST /v1/users with a bad email: 400, the password not echoed',
        request: () => ({ method: 'POST', path: '/v1/users', body: { email: `probe-${unique()}-at-example`, password: probeSecret, name: 'Probe' } }),
        status: 400,
        code: 'validation_failed',
        inputs: () => [probeSecret],
      },
      {
        family: 'users',
        title: 'POST /v1/users with a taken email: 409 (a failed conditional write underneath)',
        request: () => ({ method: 'POST', path: '/v1/users', body: { email: fixture.email, password: probeSecret, name: 'Probe' } }),
        status: 409,
        code: 'email_taken',
        inputs: () => [probeSecret],
      },
      {
        family: 'users',
        title: 'PATCH /v1/users/me with a wrong currentPassword: 403, neither password echoed',
        request: () => ({ method: 'PATCH', path: '/v1/users/me', token: fixture.tokens.accessToken, body: { password: probeSecret, currentPassword: wrongPassword } }),
        status: 403,
        code: 'invalid_password',
        inputs: () => [probeSecret, wrongPassword],
      },
      {
        family: 'sessions',
        title: 'POST /v1/sessions with a wrong password: 401, not echoed',
        request: () => ({ method: 'POST', path: '/v1/sessions', body: { email: fixture.email, password: wrongPassword } }),
        status: 401,
        code: 'invalid_credentials',
        inputs: () => [wrongPassword, fixture.email],
      },
      {
        family: 'sessions',
        title: 'POST /v1/sessions/refresh with a secret never issued: 401, not echoed',
        request: () => ({ method: 'POST', path: '/v1/sessions/refresh', body: { refreshToken: fakeRefresh() } }),
        status: 401,
        code: 'invalid_refresh_token',
        inputs: () => [fakeRefresh(), 'A'.repeat(43)],
      },
      {
        family: 'sessions',
        title: 'DELETE /v1/sessions/{unknown}: 404',
        request: () => ({ method: 'DELETE', path: `/v1/sessions/${ulid()}`, token: fixture.tokens.accessToken }),
        status: 404,
        code: 'session_not_found',
      },
      {
        family: 'media',
        title: 'GET /v1/media/{unknown}: 404',
        request: () => ({ method: 'GET', path: `/v1/media/${ulid()}`, token: fixture.tokens.accessToken }),
        status: 404,
        code: 'media_not_found',
      },
      {
        family: 'media',
        title: 'POST /v1/media of a type not accepted: 415, the type not echoed',
        request: () => ({ method: 'POST', path: '/v1/media', token: fixture.tokens.accessToken, body: { filename: 'x.bin', contentType: probeContentType, size: 10 } }),
        status: 415,
        code: 'unsupported_media_type',
        inputs: () => [probeContentType],
      },
      {
        family: 'media',
        title: 'POST /v1/media with malformed JSON: 400 invalid_json, the parser message not echoed',
        request: () => ({ method: 'POST', path: '/v1/media', token: fixture.tokens.accessToken, rawBody: `{"filename": "probe-${probeContentType}`, headers: { 'content-type': 'application/json' } }),
        status: 400,
        code: 'invalid_json',
        inputs: () => [`probe-${probeContentType}`],
      },
      {
        family: 'metadata',
        title: 'PATCH /v1/media/{id}/metadata with a stale If-Match: 412 (a failed conditional write underneath)',
        request: () => ({ method: 'PATCH', path: `/v1/media/${fixture.readyId}/metadata`, token: fixture.tokens.accessToken, body: { title: 'stale' }, headers: { 'if-match': '"999999"' } }),
        status: 412,
        code: 'precondition_failed',
      },
      {
        family: 'metadata',
        title: 'PATCH /v1/media/{id}/metadata with an unknown field: 400',
        request: () => ({ method: 'PATCH', path: `/v1/media/${fixture.readyId}/metadata`, token: fixture.tokens.accessToken, body: { owner: probeContentType } }),
        status: 400,
        code: 'validation_failed',
        inputs: () => [probeContentType],
      },
      {
        family: 'analyses',
        title: 'GET /v1/analyses/{not an id}: 400',
        request: () => ({ method: 'GET', path: '/v1/analyses/not-an-id', token: fixture.tokens.accessToken }),
        status: 400,
        code: 'validation_failed',
      },
      {
        family: 'analyses',
        title: 'POST /v1/media/{pending}/analyses: 409',
        request: () => ({ method: 'POST', path: `/v1/media/${fixture.pendingId}/analyses`, token: fixture.tokens.accessToken }),
        status: 409,
        code: 'media_not_ready',
      },
      {
        family: 'analyses',
        title: 'POST /v1/media/{id}/analyses with an internal callback URL: 400, the URL not echoed',
        request: () => ({ method: 'POST', path: `/v1/media/${fixture.readyId}/analyses`, token: fixture.tokens.accessToken, body: { callbackUrl: callbackProbe } }),
        status: 400,
        code: 'validation_failed',
        inputs: () => [callbackProbe],
      },
      {
        family: 'openapi/docs',
        title: 'GET /docs/{no such file}: 404',
        request: () => ({ method: 'GET', path: '/docs/no-such-file.js' }),
        status: 404,
        code: 'asset_not_found',
      },
    ];

    it('covers every route family with a success and an error answer', () => {
      const families = ['health', 'users', 'sessions', 'media', 'metadata', 'tags', 'analyses', 'jwks', 'openapi/docs'];
      expect([...new Set(successes.map((probe) => probe.family))].sort()).to.deep.equal([...families].sort());
      // health, jwks and tags take no input our functions could refuse: their error answers are
      // the gateway's (below) and, for tags, the function's own refusal without the authorizer's context.
      expect([...new Set(errors.map((probe) => probe.family))].sort()).to.deep.equal(families.filter((family) => !['health', 'jwks', 'tags'].includes(family)).sort());
    });

    for (const probe of successes) {
      it(`${probe.family}: ${probe.title} → ${probe.status}, our headers`, async () => {
        const { method, path: url, ...options } = probe.request();
        const response = await api.request(method, url, options);
        const headers = headerMap(response.headers);
        expect(response.status, response.text.slice(0, 300)).to.equal(probe.status);
        checkFunctionHeaders(`${method} ${url}`, headers, probe.cacheControl ?? 'no-store');
        if (probe.cacheControl === undefined) expect(headers['content-type'], 'a JSON API answer').to.match(/^application\/json/);
      });
    }

    for (const probe of errors) {
      it(`${probe.family}: ${probe.title}`, async () => {
        const { method, path: url, ...options } = probe.request();
        const response = await api.request(method, url, options);
        const where = `${method} ${url} → ${response.status}`;
        const headers = headerMap(response.headers);
        expect(response.status, response.text.slice(0, 300)).to.equal(probe.status);
        checkFunctionHeaders(where, headers, 'no-store');
        checkErrorBody(where, response.text, probe.code as string);
        const leaks = leaksIn(where, response.text, headers, probe.inputs?.() ?? []);
        expect(leaks.length, leaks.join('\n')).to.equal(0);
      });
    }

    // The stand-in's own answers: a route that does not exist (API Gateway: 404 {"message":"Not Found"})
    // and a refused token (API Gateway: 401 {"message":"Unauthorized"}).
    const gatewayErrors: Array<{ family: string; method: string; path: string; status: number; token?: () => string }> = [
      { family: 'health', method: 'POST', path: '/v1/health', status: 404 },
      { family: 'jwks', method: 'DELETE', path: '/v1/.well-known/jwks.json', status: 404 },
      { family: 'openapi/docs', method: 'POST', path: '/v1/openapi.json', status: 404 },
      { family: 'tags', method: 'GET', path: '/v1/tags', status: 401, token: () => attackTokens({ userId: fixture.userId, sessionId: fixture.tokens.sessionId }, fixture.tokens.refreshToken)['expired'] as string },
      { family: 'users', method: 'GET', path: '/v1/users/me', status: 401, token: () => 'not-a-token-at-all-but-long' },
    ];
    for (const probe of gatewayErrors) {
      it(`${probe.family}: ${probe.method} ${probe.path} refused by the gateway layer (${probe.status}): no product names, nothing leaked`, async () => {
        const token = probe.token?.();
        if (token !== undefined) secrets.jwt(`the refused bearer token of ${probe.method} ${probe.path}`, token);
        const response = await api.request(probe.method, probe.path, { ...(token === undefined ? {} : { token }), contract: probe.status === 401 });
        const headers = headerMap(response.headers);
        const where = `${probe.method} ${probe.path} → ${response.status}`;
        expect(response.status, response.text.slice(0, 300)).to.equal(probe.status);
        expect(headers, `${where}: x-powered-by`).not.to.have.property('x-powered-by');
        expect(headers, `${where}: server`).not.to.have.property('server');
        const leaks = leaksIn(where, response.text, headers, token === undefined ? [] : [token]);
        expect(leaks.length, leaks.join('\n')).to.equal(0);
      });
    }

    it('tags: the function itself refuses a request without the authorizer context (401 unauthenticated), with our headers', async () => {
      // What a protected function answers when a route is wired without the authorizer: invoked
      // directly, so the gateway layer cannot answer for it.
      const answer = await invokeFunction('listTags', httpEvent({ method: 'GET', path: '/v1/tags', routeKey: 'GET /v1/tags' }));
      expect(answer.status).to.equal(401);
      checkFunctionHeaders('listTags without an authorizer context', answer.headers, 'no-store');
      checkErrorBody('listTags without an authorizer context', answer.text, 'unauthenticated');
      const leaks = leaksIn('listTags without an authorizer context', answer.text, answer.headers, []);
      expect(leaks.length, leaks.join('\n')).to.equal(0);
    });

    it('a 5xx answer is generic: code, message and the request id, nothing else', async () => {
      // The authorizer marks a request it could not check (a dependency failed) `unavailable`;
      // the function answers 503 before anything else. Invoked directly with that context.
      const event = httpEvent({ method: 'GET', path: '/v1/users/me', routeKey: 'GET /v1/users/me' });
      Object.assign(event.requestContext, { authorizer: { lambda: { userId: '', sessionId: '', unavailable: 'true' } } });
      const answer = await invokeFunction('getMe', event);
      const where = 'getMe when the token could not be checked';
      expect(answer.status, answer.text).to.equal(503);
      checkFunctionHeaders(where, answer.headers, 'no-store');
      expect(answer.headers['retry-after'], `${where}: retry-after`).to.match(/^\d+$/);
      checkErrorBody(where, answer.text, 'service_unavailable');
      expect((JSON.parse(answer.text) as ErrorBody).error.requestId, `${where}: requestId is the x-request-id`).to.equal(answer.headers['x-request-id']);
      const leaks = leaksIn(where, answer.text, answer.headers, []);
      expect(leaks.length, leaks.join('\n')).to.equal(0);
    });
  });

  describe('2. CORS', () => {
    const config = serviceConfig('local');
    /** What the functions allow (CORS_ORIGINS, for @middy/http-cors) ... */
    const functionOrigins = (config.provider.environment?.['CORS_ORIGINS'] ?? '').split(',').filter(Boolean);
    /** ... and what the gateway allows (httpApi.cors: API Gateway on AWS, serverless-offline here). */
    const gatewayOrigins = ((config.provider as { httpApi?: { cors?: { allowedOrigins?: string[] } } }).httpApi?.cors?.allowedOrigins ?? []).map(String);
    const [origin] = functionOrigins as [string];
    const strangers = ['http://evil.example', `${origin}.evil.example`, origin.replace(/:\d+$/, ':5174'), origin.replace(/^http:/, 'https:'), 'null'];

    function checkGranted(where: string, headers: Record<string, string>, expected: string): void {
      expect(headers['access-control-allow-origin'], `${where}: access-control-allow-origin`).to.equal(expected);
      if (headers['access-control-allow-credentials'] === 'true') expect(headers['access-control-allow-origin'], `${where}: * with credentials`).not.to.equal('*');
    }
    /**
     * Nothing granted: no allow-origin (nor allow-credentials). @middy/http-cors adds
     * allow-methods and allow-headers to every answer, which grant nothing without an allow-origin.
     */
    function checkRefused(where: string, headers: Record<string, string>): void {
      expect(headers, `${where}: access-control-allow-origin for an origin not configured`).not.to.have.property('access-control-allow-origin');
      expect(headers, `${where}: access-control-allow-credentials for an origin not configured`).not.to.have.property('access-control-allow-credentials');
    }

    it('the local stage configures origins, none of them *, the same for the gateway and the functions', () => {
      expect(functionOrigins, 'CORS_ORIGINS of the local stage').to.have.length.greaterThan(0);
      expect(functionOrigins).not.to.include('*');
      expect(gatewayOrigins, 'httpApi.cors.allowedOrigins').to.deep.equal(functionOrigins);
      for (const stranger of strangers) expect(functionOrigins).not.to.include(stranger);
    });

    // Preflights never reach a function: serverless-offline answers OPTIONS itself from
    // serverless.yml's httpApi.cors, as API Gateway does on AWS (no x-request-id proves it).
    for (const [title, method, url, requestHeaders] of [
      ['a public route (POST /v1/users)', 'POST', '/v1/users', 'content-type'],
      ['a protected route (GET /v1/media)', 'GET', '/v1/media', 'authorization'],
      ['a protected route (PATCH /v1/media/{id}/metadata)', 'PATCH', `/v1/media/${ulid()}/metadata`, 'authorization,content-type,if-match'],
    ] as const) {
      it(`preflight of ${title}: every configured origin gets exactly itself; other origins get nothing (answered by the gateway layer)`, async () => {
        for (const allowed of functionOrigins) {
          const response = await send('OPTIONS', url, { headers: { origin: allowed, 'access-control-request-method': method, 'access-control-request-headers': requestHeaders } });
          const where = `OPTIONS ${url} from ${allowed}`;
          expect(response.status, where).to.be.oneOf([200, 204]);
          checkGranted(where, response.headers, allowed);
          expect(response.headers['access-control-allow-methods'], `${where}: allow-methods`).to.include(method);
          for (const header of requestHeaders.split(',')) expect(response.headers['access-control-allow-headers']?.toLowerCase(), `${where}: allow-headers`).to.include(header);
          expect(response.headers, `${where}: answered by a function`).not.to.have.property('x-request-id');
        }
        for (const stranger of strangers) {
          const response = await send('OPTIONS', url, { headers: { origin: stranger, 'access-control-request-method': method, 'access-control-request-headers': requestHeaders } });
          checkRefused(`OPTIONS ${url} from ${stranger}`, response.headers);
        }
      });
    }

    // Simple requests reach the function: @middy/http-cors adds allow-origin for a configured
    // origin, and serverless-offline's onPreResponse writes it again from httpApi.cors.
    it('a simple request from a configured origin gets exactly that origin, never * (public and protected, success and error)', async () => {
      for (const allowed of functionOrigins) {
        for (const [method, url, token, status] of [
          ['GET', '/v1/health', undefined, 200],
          ['GET', '/v1/users/me', fixture.tokens.accessToken, 200],
          ['GET', `/v1/media/${ulid()}`, fixture.tokens.accessToken, 404],
        ] as const) {
          const response = await api.request(method, url, { ...(token === undefined ? {} : { token }), headers: { origin: allowed } });
          const where = `${method} ${url} from ${allowed}`;
          expect(response.status, where).to.equal(status);
          checkGranted(where, headerMap(response.headers), allowed);
          expect(response.headers.get('vary') ?? '', `${where}: Vary`).to.match(/\borigin\b/i);
        }
      }
    });

    it('our functions grant a simple request from another origin nothing (their own answer, through the Lambda endpoint)', async () => {
      for (const stranger of strangers) {
        for (const [name, event] of [
          ['getHealth', httpEvent({ method: 'GET', path: '/v1/health', routeKey: 'GET /v1/health', headers: { origin: stranger } })],
          ['getMe', httpEvent({ method: 'GET', path: '/v1/users/me', routeKey: 'GET /v1/users/me', headers: { origin: stranger }, caller: { userId: fixture.userId, sessionId: fixture.tokens.sessionId } })],
          ['createUser', httpEvent({ method: 'POST', path: '/v1/users', routeKey: 'POST /v1/users', headers: { origin: stranger }, body: { email: 'not-an-email' } })],
        ] as const) {
          const answer = await invokeFunction(name, event);
          expect(answer.status, `${name} from ${stranger}`).to.be.oneOf([200, 400]);
          checkRefused(`${name}'s own answer to ${stranger}`, answer.headers);
        }
        // The same function grants a configured origin, so the check above can tell the difference.
        const granted = await invokeFunction('getHealth', httpEvent({ method: 'GET', path: '/v1/health', routeKey: 'GET /v1/health', headers: { origin } }));
        checkGranted(`getHealth's own answer to ${origin}`, granted.headers, origin);
      }
    });

    it('a simple request from another origin gets no allow-origin at the client', async function () {
      // What reaches the client. On AWS, API Gateway adds CORS headers to an integration's answer
      // only for a configured origin and ignores the function's own CORS headers. serverless-offline
      // 14 instead copies the request's Origin into access-control-allow-origin of every non-OPTIONS
      // answer when httpApi.cors is set (src/events/http/HttpServer.js, onPreResponse), whatever
      // the origin. Where the function granted nothing (the test above) and the client still sees
      // an allow-origin, the stand-in added it: that is reported as pending, not passed.
      const stranger = strangers[0] as string;
      const response = await send('GET', '/v1/health', { headers: { origin: stranger } });
      expect(response.status).to.equal(200);
      const own = await invokeFunction('getHealth', httpEvent({ method: 'GET', path: '/v1/health', routeKey: 'GET /v1/health', headers: { origin: stranger } }));
      checkRefused(`getHealth's own answer to ${stranger}`, own.headers);
      const reflected = response.headers['access-control-allow-origin'];
      if (reflected === stranger) {
        console.log(`      (serverless-offline reflects ${stranger} into access-control-allow-origin; our function did not grant it; API Gateway would not)`);
        this.skip();
      }
      checkRefused(`GET /v1/health from ${stranger}`, response.headers);
    });
  });

  describe('3. request limits', () => {
    let token: string;
    let mediaId: string;
    const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

    /** A JSON body of exactly `size` bytes: `{"<field>":"xxx…"}` plus what `extra` adds. */
    function bodyOfSize(size: number, field: string, extra: Record<string, unknown> = {}, fill = 'x'): string {
      const base = JSON.stringify({ ...extra, [field]: '' });
      const room = size - bytes(base);
      if (room < 0) throw new Error('base body too large');
      const unit = bytes(fill);
      const text = JSON.stringify({ ...extra, [field]: fill.repeat(Math.floor(room / unit)) + 'x'.repeat(room % unit) });
      expect(bytes(text)).to.equal(size);
      return text;
    }

    async function mediaCount(): Promise<number> {
      const list = await api.get<{ items: MediaBody[] }>(`/v1/media?limit=${LIMITS.mediaPage}`, { token });
      expect(list.status, list.text).to.equal(200);
      return list.body.items.length;
    }
    async function metadata(): Promise<Metadata> {
      const response = await api.get<Metadata>(`/v1/media/${mediaId}/metadata`, { token });
      expect(response.status, response.text).to.equal(200);
      return response.body;
    }
    function expectError(response: ApiResponse, status: number, code: string, detailPath?: string): void {
      expect(response.status, response.text.slice(0, 300)).to.equal(status);
      const error = (response.body as unknown as ErrorBody).error;
      expect(error.code, response.text.slice(0, 300)).to.equal(code);
      if (detailPath !== undefined) expect(error.details?.map((detail) => detail.path), response.text.slice(0, 300)).to.include(detailPath);
    }

    before(async () => {
      const owner = await account('limits');
      token = owner.tokens.accessToken;
      const created = await api.post<UploadBody>('/v1/media', { token, body: { filename: 'limits.jpg', contentType: 'image/jpeg', size: 1000 } });
      expect(created.status, created.text).to.equal(201);
      mediaId = created.body.media.id;
      const tagged = await api.patch(`/v1/media/${mediaId}/metadata`, { token, body: { title: 'before', tags: ['baseline'] } });
      expect(tagged.status, tagged.text).to.equal(200);
    });

    it('the limits under test are the service\'s own', () => {
      // Read from shared/http/handler.ts, the zod schemas and the local stage's configuration;
      // pinned here too, so a change to any of them is a visible decision.
      expect(LIMITS).to.deep.equal({
        bodyBytes: 64 * 1024,
        sessionsPage: 100,
        mediaPage: 100,
        tags: 50,
        tagLength: 50,
        filename: 255,
        imageBytes: 50 * 1024 * 1024,
        videoBytes: 2048 * 1024 * 1024,
      });
    });

    it(`a body of exactly ${LIMITS.bodyBytes} bytes is read; one byte more is 413 payload_too_large and creates no account`, async () => {
      const email = `limit-${unique()}@example.com`;
      const password = `pw-${unique()}-long-enough`;
      secrets.password('of the oversized sign-up', password);
      const exact = bodyOfSize(LIMITS.bodyBytes, 'name', { email, password });
      expectError(await api.post('/v1/users', { rawBody: exact, headers: { 'content-type': 'application/json' } }), 400, 'validation_failed', 'body.name');
      const over = bodyOfSize(LIMITS.bodyBytes + 1, 'name', { email, password });
      const refused = await api.post('/v1/users', { rawBody: over, headers: { 'content-type': 'application/json' } });
      expectError(refused, 413, 'payload_too_large');
      const leaks = leaksIn('413', refused.text, headerMap(refused.headers), [password]);
      expect(leaks.length, leaks.join('\n')).to.equal(0);
      // Nothing was stored: the email is still free, and nobody can log in with it.
      expectError(await api.post('/v1/sessions', { body: { email, password } }), 401, 'invalid_credentials');
      expect((await api.post('/v1/users', { body: { email, password, name: 'Late' } })).status, 'the email of the refused sign-up is free').to.equal(201);
    });

    it('the limit counts bytes, not characters (multi-byte text over the limit is 413)', async () => {
      const over = bodyOfSize(LIMITS.bodyBytes + 1, 'title', {}, 'é');
      expect(over.length, 'fewer characters than the limit').to.be.lessThan(LIMITS.bodyBytes);
      expectError(await api.patch(`/v1/media/${mediaId}/metadata`, { token, rawBody: over, headers: { 'content-type': 'application/json' } }), 413, 'payload_too_large');
      expect((await metadata()).title).to.equal('before');
    });

    it('an oversized PATCH of metadata and an oversized POST /v1/media store nothing', async () => {
      const before = await metadata();
      const count = await mediaCount();
      const patch = bodyOfSize(LIMITS.bodyBytes + 1, 'description', { title: 'changed', tags: ['changed'] });
      expectError(await api.patch(`/v1/media/${mediaId}/metadata`, { token, rawBody: patch, headers: { 'content-type': 'application/json' } }), 413, 'payload_too_large');
      expect(await metadata()).to.deep.equal(before);
      const create = bodyOfSize(LIMITS.bodyBytes + 1, 'filename', { contentType: 'image/jpeg', size: 10 });
      expectError(await api.post('/v1/media', { token, rawBody: create, headers: { 'content-type': 'application/json' } }), 413, 'payload_too_large');
      expect(await mediaCount()).to.equal(count);
    });

    for (const [route, maximum] of [
      ['/v1/media', LIMITS.mediaPage],
      ['/v1/sessions', LIMITS.sessionsPage],
    ] as const) {
      it(`GET ${route}: limit ${maximum} is served, ${maximum + 1} and beyond are 400`, async () => {
        expect((await api.get(`${route}?limit=${maximum}`, { token })).status).to.equal(200);
        for (const limit of [maximum + 1, 1_000_000, 0, -1]) {
          expectError(await api.get(`${route}?limit=${limit}`, { token }), 400, 'validation_failed', 'query.limit');
        }
      });
    }

    it(`more than ${LIMITS.tags} tags, or a tag over ${LIMITS.tagLength} characters, is 400 and leaves the tags as they were; the maximum is accepted`, async () => {
      const before = await metadata();
      const tagsBefore = (await api.get<{ items: Array<{ tag: string; count: number }> }>('/v1/tags', { token })).body.items;
      const many = Array.from({ length: LIMITS.tags + 1 }, (_, index) => `tag${index}`);
      expectError(await api.patch(`/v1/media/${mediaId}/metadata`, { token, body: { tags: many } }), 400, 'validation_failed', 'body.tags');
      const long = ['fine', 'y'.repeat(LIMITS.tagLength + 1)];
      expectError(await api.patch(`/v1/media/${mediaId}/metadata`, { token, body: { tags: long } }), 400, 'validation_failed', 'body.tags.1');
      expect(await metadata(), 'metadata after refused tag changes').to.deep.equal(before);
      expect((await api.get<{ items: unknown[] }>('/v1/tags', { token })).body.items, 'GET /v1/tags after refused tag changes').to.deep.equal(tagsBefore);

      const most = Array.from({ length: LIMITS.tags }, (_, index) => `${String(index).padStart(2, '0')}${'z'.repeat(LIMITS.tagLength - 2)}`);
      const accepted = await api.patch<Metadata>(`/v1/media/${mediaId}/metadata`, { token, body: { tags: most } });
      expect(accepted.status, accepted.text.slice(0, 300)).to.equal(200);
      expect(accepted.body.tags).to.have.length(LIMITS.tags);
    });

    it(`a filename over ${LIMITS.filename} characters is 400 and stores nothing; ${LIMITS.filename} is accepted`, async () => {
      const count = await mediaCount();
      const tooLong = `${'f'.repeat(LIMITS.filename - 3)}.jpg`;
      expectError(await api.post('/v1/media', { token, body: { filename: tooLong, contentType: 'image/jpeg', size: 10 } }), 400, 'validation_failed', 'body.filename');
      expect(await mediaCount()).to.equal(count);
      const longest = await api.post('/v1/media', { token, body: { filename: `${'f'.repeat(LIMITS.filename - 4)}.jpg`, contentType: 'image/jpeg', size: 10 } });
      expect(longest.status, longest.text.slice(0, 300)).to.equal(201);
      expect(await mediaCount()).to.equal(count + 1);
    });

    for (const [kind, contentType, limit] of [
      ['image', 'image/jpeg', LIMITS.imageBytes],
      ['video', 'video/mp4', LIMITS.videoBytes],
    ] as const) {
      it(`POST /v1/media of a ${kind} over ${limit} bytes is 413 and stores nothing; exactly ${limit} gets an upload bound to that size`, async () => {
        const count = await mediaCount();
        const refused = await api.post('/v1/media', { token, body: { filename: `big.${kind}`, contentType, size: limit + 1 } });
        expectError(refused, 413, 'payload_too_large');
        expect(await mediaCount()).to.equal(count);
        const largest = await api.post<UploadBody>('/v1/media', { token, body: { filename: `largest.${kind}`, contentType, size: limit } });
        expect(largest.status, largest.text.slice(0, 300)).to.equal(201);
        secrets.postPolicy(`the presigned upload of the largest ${kind}`, largest.body.upload.fields);
        // The presigned POST itself holds the uploader to the declared size.
        const policyField = Object.entries(largest.body.upload.fields).find(([name]) => name.toLowerCase() === 'policy')?.[1] as string;
        const policy = JSON.parse(Buffer.from(policyField, 'base64').toString('utf8')) as { conditions: unknown[] };
        expect(policy.conditions).to.deep.include(['content-length-range', limit, limit]);
      });
    }
  });

  describe('4. secrets never in logs', () => {
    it('a whole account life at LOG_LEVEL=DEBUG prints no password, token, key, URL signature or callback signature', async () => {
      const hook = await callbackReceiver();
      const requestIds: string[] = [];
      const seen = <T>(response: ApiResponse<T>): ApiResponse<T> => {
        const id = response.headers.get('x-request-id');
        if (id !== null) requestIds.push(id);
        return response;
      };
      // Passwords with characters that JSON, URL and form encodings all change.
      const tag = unique();
      const email = `logs-${tag}@example.com`;
      const password = `Pässword "${tag}" \\ /&+=%`;
      const wrong = `Wrong "${tag}" pässword+&`;
      const changed = `Changed "${tag}" pässword/?#`;
      secrets.password('at sign-up', password);
      secrets.password('(wrong)', wrong);
      secrets.password('after the change', changed);
      try {
        expect(seen(await api.post('/v1/users', { body: { email: 'not-an-email', password, name: 'Logs' } })).status, 'a refused sign-up carrying the password').to.equal(400);
        expect(seen(await api.post('/v1/users', { body: { email, password, name: 'Logs' } })).status).to.equal(201);
        expect(seen(await api.post('/v1/sessions', { body: { email, password: wrong } })).status, 'login with a wrong password').to.equal(401);
        const login = seen(await api.post<Tokens>('/v1/sessions', { body: { email, password, remember: true } }));
        expect(login.status, login.text).to.equal(201);
        secrets.tokens('the first login', login.body);
        const refreshed = seen(await api.post<Tokens>('/v1/sessions/refresh', { body: { refreshToken: login.body.refreshToken } }));
        expect(refreshed.status, refreshed.text).to.equal(200);
        secrets.tokens('the refresh', refreshed.body);
        let token = refreshed.body.accessToken;
        const me = seen(await api.get<{ id: string }>('/v1/users/me', { token }));
        const subject = { userId: me.body.id, sessionId: refreshed.body.sessionId };

        expect(seen(await api.patch('/v1/users/me', { token, body: { password: changed, currentPassword: wrong } })).status, 'password change with a wrong current password').to.equal(403);
        expect(seen(await api.patch('/v1/users/me', { token, body: { password: changed, currentPassword: password } })).status, 'password change').to.equal(200);

        // Refused bearer tokens: junk, expired, signed by someone else, tampered, a refresh token.
        const attacks = attackTokens(subject, refreshed.body.refreshToken);
        for (const name of ['garbage', 'expired', 'signed by another key', 'tampered payload', 'refresh token as access token']) {
          const refused = attacks[name] as string;
          secrets.jwt(`the ${name} bearer token`, refused);
          expect((await api.get('/v1/users/me', { token: refused })).status, name).to.equal(401);
        }

        const created = await upload(api, token, { bytes: PHOTO, filename: 'logs.png', contentType: 'image/png' });
        secrets.postPolicy('the presigned upload', created.upload.fields);
        const ready = await settled(api, token, created.media.id);
        expect(ready.status).to.equal('ready');
        const item = seen(await api.get<MediaBody>(`/v1/media/${created.media.id}`, { token }));
        expect(item.body.downloadUrl, 'downloadUrl').to.be.a('string');
        secrets.presignedUrl('downloadUrl', item.body.downloadUrl as string);
        secrets.presignedUrl('the small thumbnail URL', item.body.thumbnails?.small as string);
        secrets.presignedUrl('the large thumbnail URL', item.body.thumbnails?.large as string);
        const list = seen(await api.get<{ items: MediaBody[] }>('/v1/media', { token }));
        for (const listed of list.body.items) if (listed.thumbnails !== undefined) secrets.presignedUrl('a listed thumbnail URL', listed.thumbnails.small);

        const job = seen(await api.post<Job>(`/v1/media/${created.media.id}/analyses`, { token, body: { callbackUrl: hook.url } }));
        expect(job.status, job.text).to.equal(202);
        const deadline = Date.now() + 30_000;
        while (hook.signatures.length === 0 && Date.now() < deadline) await sleep(100);
        expect(hook.signatures, 'the signed callback arrived').to.have.length(1);
        secrets.jwt('the callback signature', hook.signatures[0] as string);
        // The job records the delivery after the receiver answered: wait for it, so its logs are in too.
        for (;;) {
          const polled = seen(await api.get<Job>(`/v1/analyses/${job.body.id}`, { token }));
          if (polled.body.callback?.status === 'delivered') break;
          if (Date.now() > deadline) throw new Error(`callback delivery not recorded: ${polled.text}`);
          await sleep(100);
        }

        expect(seen(await api.delete('/v1/sessions/current', { token })).status, 'logout').to.equal(204);
        const again = seen(await api.post<Tokens>('/v1/sessions', { body: { email, password: changed } }));
        expect(again.status, again.text).to.equal(201);
        secrets.tokens('the login after the change', again.body);
        token = again.body.accessToken;
        expect(seen(await api.delete('/v1/users/me', { token, body: { password: wrong } })).status, 'account deletion with a wrong password').to.equal(403);
        expect(seen(await api.delete('/v1/users/me', { token, body: { password: changed } })).status, 'account deletion').to.equal(204);
      } finally {
        await hook.close();
      }

      // Let the last lines (the deletion's log, the worker's report) reach the pipe.
      await sleep(500);
      const output = offline.output();

      // Not vacuous: the output holds the log lines of the very requests made above.
      expect(requestIds.length, 'request ids collected').to.be.greaterThan(10);
      const missing = requestIds.filter((id) => !output.includes(id));
      expect(missing, `request ids of answers missing from the logs (${output.length} characters captured)`).to.deep.equal([]);
      for (const line of ['"message":"request completed"', '"message":"upload processed"', '"message":"analysis run"', '"message":"access denied"']) {
        expect(output, `the captured output has ${line}`).to.include(line);
      }
      expect(secrets.all.length, 'secrets to look for').to.be.greaterThan(40);
      // The scan finds what it looks for, in the form a JSON log line would carry it.
      const planted = secrets.all.find((secret) => secret.label === 'password after the change (JSON-escaped)') as Secret;
      expect(findLeaks(`${output}\n${JSON.stringify({ level: 'DEBUG', body: { password: changed } })}`, secrets.all).join('\n'), 'the scan itself').to.contain(planted.label);

      const leaks = findLeaks(output, secrets.all);
      expect(leaks.length, `${leaks.length} secret(s) in the logs:\n${leaks.join('\n')}`).to.equal(0);
    });
  });
});
