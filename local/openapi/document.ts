/**
 * Builds the OpenAPI 3.1 document of /v1 from the route table (./routes.ts) and the zod schemas
 * the handlers validate with, converted by zod's own JSON Schema generator (draft 2020-12, the
 * dialect of OpenAPI 3.1). `npx gulp openapi` writes it to docs/openapi.v1.json; a test fails
 * when the committed file is stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import type * as core from 'zod/v4/core';
import { ErrorResponse } from '../../shared/schemas/common';
import { LIVE_COMPONENT, LIVE_CONNECTION, LIVE_DESCRIPTION, LIVE_EVENT_DESCRIPTION, LIVE_EVENTS, LIVE_TAG, LiveEvent } from './live';
import { OPERATIONS, type Operation } from './routes';

type Schema = core.$ZodType;
type Json = Record<string, unknown>;

export const OPENAPI_FILE = path.join('docs', 'openapi.v1.json');
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const version = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const JSON_TYPE = 'application/json';
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/** zod spells `format: date-time` out as a 300-character pattern as well; the format says it all. */
function tidy(schema: unknown): void {
  if (Array.isArray(schema)) return schema.forEach(tidy);
  if (schema === null || typeof schema !== 'object') return;
  const node = schema as Json;
  if (node['format'] === 'date-time') delete node['pattern'];
  for (const child of Object.values(node)) tidy(child);
}

/** JSON Schema of a zod schema: what the handler accepts (requests) or sends (responses), after parsing. */
function jsonSchema(schema: Schema): Json {
  const result = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }) as Json;
  delete result['$schema'];
  tidy(result);
  return result;
}

/**
 * In a request, a property with a default may be left out: zod's output view lists it as
 * required (the parsed value always has it), so requests drop those from `required`.
 */
function optionalDefaults(schema: unknown): void {
  if (Array.isArray(schema)) return schema.forEach(optionalDefaults);
  if (schema === null || typeof schema !== 'object') return;
  const node = schema as Json;
  const properties = node['properties'] as Record<string, Json> | undefined;
  if (properties !== undefined && Array.isArray(node['required'])) {
    node['required'] = (node['required'] as string[]).filter((name) => properties[name]?.['default'] === undefined);
    if ((node['required'] as string[]).length === 0) delete node['required'];
  }
  for (const child of Object.values(node)) optionalDefaults(child);
}

/** Named schemas: [schema, component name, used in requests?]. Everything else is inlined. */
function componentNames(): Array<[Schema, string, boolean]> {
  const names: Array<[Schema, string, boolean]> = [];
  const seen = new Map<Schema, string>();
  const pascal = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
  for (const operation of OPERATIONS) {
    const id = pascal(operation.operationId ?? operation.functionName);
    if (operation.body !== undefined && !seen.has(operation.body)) {
      seen.set(operation.body, `${id}Request`);
      names.push([operation.body, `${id}Request`, true]);
    }
    const success = operation.success.schema;
    if (success !== undefined && !seen.has(success)) {
      seen.set(success, `${id}Response`);
      names.push([success, `${id}Response`, false]);
    }
  }
  return names;
}

/** Readable names for response schemas shared by several operations. */
const RESPONSE_NAMES: Record<string, string> = {
  GetMeResponse: 'User',
  CreateUserResponse: 'User',
  CreateSessionResponse: 'SessionTokens',
  GetMediaResponse: 'Media',
  ListMediaResponse: 'MediaList',
  GetMetadataResponse: 'Metadata',
  GetAnalysisResponse: 'Analysis',
  CreateAnalysisResponse: 'Analysis',
  ListSessionsResponse: 'SessionList',
  ListTagsResponse: 'TagList',
  GetJwksResponse: 'Jwks',
  GetHealthResponse: 'Health',
};

function components(): { schemas: Record<string, Json>; nameOf: Map<Schema, string> } {
  const registry = z.registry<{ id: string }>();
  const nameOf = new Map<Schema, string>();
  const requests = new Set<string>();
  for (const [schema, generated, isRequest] of componentNames()) {
    const name = RESPONSE_NAMES[generated] ?? generated;
    nameOf.set(schema, name);
    if (isRequest) requests.add(name);
    registry.add(schema, { id: name });
  }
  registry.add(ErrorResponse, { id: 'Error' });
  // What the live-updates WebSocket pushes: the union, and each event under its own name.
  registry.add(LiveEvent, { id: LIVE_COMPONENT });
  for (const event of LIVE_EVENTS) registry.add(event.schema, { id: event.component });
  const generated = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'output',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  const schemas: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(generated.schemas).sort(([a], [b]) => a.localeCompare(b))) {
    delete schema['$schema'];
    delete schema['$id'];
    tidy(schema);
    if (requests.has(name)) optionalDefaults(schema);
    schemas[name] = schema;
  }
  schemas['Error'] = {
    ...schemas['Error'],
    description: 'Every error the service itself answers with: a stable machine-readable `code`, a human message, and details where they help.',
  };
  // Tools that generate a client switch on `type` with this (the variants are named components).
  for (const event of LIVE_EVENTS) schemas[event.component] = { description: `\`${event.type}\`: ${event.summary.toLowerCase()}.`, ...schemas[event.component] };
  schemas[LIVE_COMPONENT] = {
    description: LIVE_EVENT_DESCRIPTION,
    ...schemas[LIVE_COMPONENT],
    discriminator: { propertyName: 'type', mapping: Object.fromEntries(LIVE_EVENTS.map((event) => [event.type, `#/components/schemas/${event.component}`])) },
  };
  schemas['GatewayMessage'] = {
    type: 'object',
    description: 'Errors API Gateway answers with before a function runs: 401 when the authorizer refuses the bearer token, 429 when the API is throttled.',
    properties: { message: { type: 'string' } },
    'x-note': 'These answers carry API Gateway’s `apigw-requestid` header instead of `X-Request-Id`. serverless-offline (`npm start`) adds `statusCode` and `error` fields.',
    required: ['message'],
  };
  return { schemas, nameOf };
}

const PARAMETER_DESCRIPTIONS: Record<string, string> = {
  limit: 'Page size, 1–100 (default 25)',
  cursor: 'The `nextCursor` of the previous page; opaque, and valid only for the caller and this list',
  type: 'Only images or only videos',
  status: 'Only items in this processing state',
  tag: 'Only items carrying this tag (trimmed and lower-cased, like tags themselves): tag search',
  favorite: 'Only favourites (`true`) or only the others (`false`); `true` reads the favourites view, newest first',
  archived: 'Archived items: left out (`exclude`, the default: the timeline), shown with the others (`include`), or alone (`only`: the archive view, newest first)',
  file: 'The asset: `swagger-ui-bundle.js`, `swagger-ui.css` or `init.js`',
  '/v1/sessions/{id}:id': 'A session id from `GET /v1/sessions`, or `current` for the session making the request',
  '/v1/analyses/{id}:id': 'The id of the analysis job',
  id: 'The id of the media item',
};

function parameters(schema: Schema | undefined, location: 'path' | 'query', template: string): Json[] {
  if (schema === undefined) return [];
  const shape = (schema as unknown as { _zod: { def: { shape: Record<string, Schema> } } })._zod.def.shape;
  return Object.entries(shape).map(([name, property]) => {
    const optional = (property as unknown as { _zod: { optin?: string } })._zod.optin === 'optional';
    const propertySchema = jsonSchema(property);
    delete propertySchema['description'];
    const description = PARAMETER_DESCRIPTIONS[`${template}:${name}`] ?? PARAMETER_DESCRIPTIONS[name];
    if (description === undefined) throw new Error(`describe the parameter ${name} of ${template} in PARAMETER_DESCRIPTIONS`);
    return {
      name,
      in: location,
      required: location === 'path' || !(optional || propertySchema['default'] !== undefined),
      description,
      schema: propertySchema,
    };
  });
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid',
  401: 'No valid credentials',
  403: 'Not allowed',
  404: 'Not found (also for other users’ objects: their existence is never revealed)',
  409: 'Conflict with the current state',
  412: 'The resource changed since the version named in `If-Match`: read it again',
  413: 'Too large',
  415: 'Unsupported media type',
  429: 'Too many requests: retry after `Retry-After` seconds',
  500: 'Internal error: quote the `requestId` when reporting it',
  503: 'A dependency is unavailable: retry after `Retry-After` seconds',
};

function errorSchema(codes: string[]): Json {
  return {
    allOf: [ref('Error'), { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string', enum: codes } } } } }],
  };
}

function errorResponse(status: number, codes: string[], options: { gateway: boolean }): Json {
  const own = codes.length === 0 ? undefined : errorSchema(codes);
  const schema = options.gateway ? (own === undefined ? ref('GatewayMessage') : { anyOf: [own, ref('GatewayMessage')] }) : own;
  const example =
    codes.length > 0
      ? { error: { code: codes[0], message: ERROR_DESCRIPTIONS[status], ...(status >= 500 ? { requestId: 'c0ffee00-0000-4000-8000-000000000000' } : {}) } }
      : { message: status === 401 ? 'Unauthorized' : 'Too Many Requests' };
  const retryAfter = status === 429 || status === 503;
  return {
    description: `${ERROR_DESCRIPTIONS[status] ?? 'Error'}${codes.length > 0 ? `: ${codes.map((code) => `\`${code}\``).join(', ')}` : ''}${options.gateway ? ` (or API Gateway's \`{"message": …}\`)` : ''}`,
    headers: {
      'X-Request-Id': { $ref: '#/components/headers/RequestId' },
      ...(retryAfter ? { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } : {}),
      ...(status === 401 && codes.length > 0 ? { 'WWW-Authenticate': { description: '`Bearer`', schema: { type: 'string' } } } : {}),
    },
    content: { [JSON_TYPE]: { schema, example } },
  };
}

function schemaOrRef(schema: Schema, nameOf: Map<Schema, string>): Json {
  const name = nameOf.get(schema);
  return name === undefined ? jsonSchema(schema) : ref(name);
}

function operationObject(operation: Operation, nameOf: Map<Schema, string>): Json {
  const responses: Record<string, Json> = {};
  const success = operation.success;
  const successHeaders: Json = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };
  for (const [name, description] of Object.entries(success.headers ?? {})) successHeaders[name] = { description, schema: { type: 'string' } };
  responses[String(success.status)] = {
    description: success.description,
    headers: successHeaders,
    ...(success.schema !== undefined
      ? { content: { [JSON_TYPE]: { schema: schemaOrRef(success.schema, nameOf), ...(success.example === undefined ? {} : { example: success.example }) } } }
      : success.raw !== undefined
        ? { content: Object.fromEntries(success.raw.contentTypes.map((type) => [type, { schema: { type: type.includes('json') ? 'object' : 'string', description: success.raw?.description } }])) }
        : {}),
  };
  const errors: Record<number, string[]> = { ...operation.errors };
  // Every function can fail unexpectedly; API Gateway throttles every route.
  errors[500] ??= ['internal_error'];
  errors[429] ??= [];
  if (operation.auth === 'bearer') errors[401] = [...new Set([...(errors[401] ?? []), 'unauthenticated'])];
  for (const status of Object.keys(errors).map(Number).sort((a, b) => a - b)) {
    const gateway = status === 429 || (status === 401 && operation.auth === 'bearer');
    responses[String(status)] = errorResponse(status, errors[status] ?? [], { gateway });
  }
  const params = [
    ...parameters(operation.params, 'path', operation.path),
    ...parameters(operation.query, 'query', operation.path),
    ...Object.entries(operation.requestHeaders ?? {}).map(([name, description]) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } })),
  ];
  return {
    operationId: operation.operationId ?? operation.functionName,
    'x-function': operation.functionName,
    tags: [operation.tag],
    summary: operation.summary,
    description: `${operation.description}\n\nServed by the function \`${operation.functionName}\`.`,
    security: operation.auth === 'bearer' ? [{ bearerAuth: [] }] : [],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(operation.body !== undefined
      ? {
          requestBody: {
            required: operation.bodyOptional !== true,
            content: { [JSON_TYPE]: { schema: schemaOrRef(operation.body, nameOf), ...(operation.requestExample === undefined ? {} : { example: operation.requestExample }) } },
          },
        }
      : {}),
    responses,
  };
}

const TAGS = [
  { name: 'accounts', description: 'Sign-up and the caller’s account' },
  { name: 'sessions', description: 'Log in, refresh rotation, sessions and the keys that verify tokens' },
  { name: 'media', description: 'Uploads through presigned S3 POSTs, listing and search, deletion' },
  { name: 'metadata', description: 'What processing found, and the owner’s title, description and tags' },
  { name: 'tags', description: 'The caller’s tags with counts' },
  { name: 'analyses', description: 'Asynchronous image analysis: poll or receive a signed callback' },
  { name: 'service', description: 'Health and this documentation' },
  LIVE_TAG,
];

const DESCRIPTION = `The backend of a photo and video library: content in S3, metadata in DynamoDB, JWT sessions.

**Conventions.** JSON in and out (\`Content-Type: application/json\`; bodies over 64 KB are refused with 413). Every response carries \`X-Request-Id\`. Timestamps are ISO 8601 UTC; ids are opaque 26-character strings.

**Errors** look like \`{"error": {"code": "validation_failed", "message": "…", "details": [{"path": "body.email", "message": "…"}]}}\`: 400 validation, 401 unauthenticated, 403 forbidden, 404 not found (also for other users' objects), 409 conflict, 413, 415, 429 and 503 with \`Retry-After\`. API Gateway itself answers 401 (a refused bearer token) and 429 (throttling) as \`{"message": "…"}\`.

**Authentication.** \`POST /v1/sessions\` returns a short-lived access token (ES256 JWT, 15 minutes) and a refresh token; send \`Authorization: Bearer <accessToken>\`. Refreshing rotates both tokens.

**Lists** answer \`{"items": […], "nextCursor": "…" | null}\`; pass \`cursor\` back for the next page, \`limit\` 1–100 (default 25).

${LIVE_DESCRIPTION}

**Versions.** This is v1: its released contract (docs/contract/v1.json) only ever grows; a breaking change would be a new /v2 beside it.`;

/** One webhook per live event: a message pushed over the WebSocket rather than an HTTP request. */
function liveWebhooks(): Record<string, Json> {
  const webhooks: Record<string, Json> = {};
  for (const event of LIVE_EVENTS) {
    webhooks[event.operationId] = {
      post: {
        operationId: event.operationId,
        tags: [LIVE_TAG.name],
        summary: `Live: ${event.summary.charAt(0).toLowerCase()}${event.summary.slice(1)} (\`${event.type}\`)`,
        description:
          `${event.description}\n\nPushed as a text message (JSON) over the live-updates WebSocket to every connection of the owner, not POSTed: ` +
          'see “Live updates” in the description of this API for how to connect. Delivery is at least once: drop an `id` seen before.',
        requestBody: { required: true, content: { [JSON_TYPE]: { schema: ref(event.component), example: event.example } } },
        responses: { '200': { description: 'Nothing is answered: a pushed message is not acknowledged.' } },
      },
    };
  }
  return webhooks;
}

export function buildOpenApi(): Json {
  const { schemas, nameOf } = components();
  const paths: Record<string, Record<string, Json>> = {};
  for (const operation of OPERATIONS) {
    (paths[operation.path] ??= {})[operation.method.toLowerCase()] = operationObject(operation, nameOf);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Media Library API',
      version,
      description: DESCRIPTION,
      contact: { name: 'Media Library API team', url: 'https://git.example.com/media-library/media-library-api', email: 'media-library-api@example.com' },
      license: { name: 'Proprietary', url: 'https://git.example.com/media-library/media-library-api/-/blob/main/README.md' },
    },
    servers: [
      { url: '/', description: 'The host serving this document (each stage’s API serves its own at /v1/openapi.json)' },
      { url: 'http://localhost:3000', description: '`npm start`' },
    ],
    tags: [...TAGS].sort((a, b) => a.name.localeCompare(b.name)),
    paths,
    webhooks: {
      analysisFinished: {
        post: {
          operationId: 'analysisFinished',
          tags: ['analyses'],
          summary: 'Callback when an analysis ends',
          description:
            'What the service POSTs to the `callbackUrl` of `POST /v1/media/{id}/analyses` once the job has succeeded or failed: the job, as `GET /v1/analyses/{id}` ' +
            'would show it. `X-Media-Library-Signature` is a JWT (ES256, `typ: callback+jwt`) signed with a key of `GET /v1/.well-known/jwks.json`; its `aud` is the ' +
            'callback URL and its `body_sha256` the SHA-256 (hex) of the exact body. Verify both before trusting the body (docs/analysis.md has an example). ' +
            'Up to 3 attempts (after 1 s and 4 s), 5 s timeout each, no redirects followed; the outcome is recorded in the job’s `callback`.',
          parameters: [
            {
              name: 'X-Media-Library-Signature',
              in: 'header',
              required: true,
              description: 'The signature JWT; verify it with the JWKS, `aud` = your callback URL, `body_sha256` = SHA-256 of the body.',
              schema: { type: 'string' },
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: { $ref: '#/components/schemas/Analysis' },
                example: {
                  id: '01JD8X7B2C3D4E5F6G7H8J9K0M',
                  mediaId: '01JD8X6A1B2C3D4E5F6G7H8J9K',
                  status: 'succeeded',
                  createdAt: '2026-11-21T09:30:00.000Z',
                  updatedAt: '2026-11-21T09:30:02.000Z',
                  result: { perceptualHash: 'f0e1d2c3b4a59687', dominantColors: [{ hex: '#3a6ea5', ratio: 0.41 }], similarMedia: [], labels: null, labelsSource: 'disabled' },
                },
              },
            },
          },
          responses: {
            '200': { description: 'Received. Any 2xx acknowledges the callback; anything else, or no answer within 5 s, is retried.' },
          },
        },
      },
      ...liveWebhooks(),
    },
    // OpenAPI has no WebSocket operations: the connection itself, for readers and tools.
    'x-live-updates': LIVE_CONNECTION,
    components: {
      schemas,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The access token of `POST /v1/sessions` or `POST /v1/sessions/refresh`.' } },
      headers: {
        RequestId: { description: 'The request id (also in the logs); quote it when reporting a problem.', schema: { type: 'string' } },
        RetryAfter: { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
      },
    },
  };
}

export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApi(), null, 2)}\n`;
}
