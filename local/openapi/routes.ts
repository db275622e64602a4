/**
 * Every operation of the v1 API, described with the very zod schemas its handler validates
 * requests and shapes responses with (shared/schemas). local/openapi/document.ts turns this
 * table into OpenAPI 3.1; local/checks/openapi.test.ts checks it against serverless.yml (method,
 * path, authorizer) and against each handler's own route spec (same schema objects).
 *
 * `errors` lists, per status, the error codes the operation can answer with. The contract tests
 * validate every response of the test suites against the document, so an undocumented status
 * or code fails a test.
 */
import type * as core from 'zod/v4/core';
import { AnalysisIdParams, AnalysisResponse, CreateAnalysisBody } from '../../shared/schemas/analyses';
import { PageQuery } from '../../shared/schemas/common';
import { DocsAssetParams } from '../../shared/schemas/docs';
import { HealthResponse } from '../../shared/schemas/health';
import {
  BatchEditBody,
  BatchEditResponse,
  CreateMediaBody,
  CreateMediaResponse,
  ListMediaQuery,
  MediaIdParams,
  MediaListResponse,
  RecordViewResponse,
  MediaResponse,
  MetadataResponse,
  TagListResponse,
  UpdateMetadataBody,
} from '../../shared/schemas/media';
import { CreateSessionBody, JwksResponse, RefreshSessionBody, SessionIdParams, SessionListResponse, SessionTokensResponse } from '../../shared/schemas/sessions';
import { CreateUserBody, DeleteUserBody, UpdateUserBody, UserResponse } from '../../shared/schemas/users';

type Schema = core.$ZodType;

export interface Operation {
  /** The function (serverless.yml) that serves it; also the operationId unless `operationId` says otherwise. */
  functionName: string;
  operationId?: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  tag: string;
  summary: string;
  description: string;
  auth: 'none' | 'bearer';
  params?: Schema;
  query?: Schema;
  body?: Schema;
  /** The body may be left out entirely (POST /v1/media/{id}/analyses). */
  bodyOptional?: boolean;
  /** Optional request headers the operation reads, with their descriptions. */
  requestHeaders?: Record<string, string>;
  requestExample?: unknown;
  success: {
    status: number;
    description: string;
    /** The zod schema of a JSON body; `raw` for a body the handler sends as is (document, HTML, assets). */
    schema?: Schema;
    raw?: { contentTypes: string[]; description: string };
    example?: unknown;
    headers?: Record<string, string>;
  };
  errors: Record<number, string[]>;
}

const ID = '01JD8X5Q2W4K6M8N0P2R4T6V8X';
const MEDIA_ID = '01JD8X6A1B2C3D4E5F6G7H8J9K';
const SESSION_ID = '01JD8X4M6N8P0Q2R4S6T8V0W2X';
const NOW = '2026-11-21T09:30:00.000Z';
const LATER = '2026-11-21T09:45:00.000Z';

/** Errors every JSON-body route can answer with, besides its own. */
const BODY_ERRORS = { 400: ['validation_failed', 'invalid_json'], 413: ['payload_too_large'], 415: ['unsupported_media_type'] };
/** A route that reads DynamoDB, S3, SNS or SSM: 503 + Retry-After when they fail. */
const DEPENDENCY = { 503: ['service_unavailable'] };
const BEARER = { 401: ['unauthenticated'] };

const user = { id: ID, email: 'ann@example.com', name: 'Ann', createdAt: NOW };
const tokens = {
  sessionId: SESSION_ID,
  tokenType: 'Bearer',
  accessToken: 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.eyJzdWIiOiIwMUpEOFg1UTJXNEs2TThOMFAyUjRUNlY4WCJ9.c2lnbmF0dXJl',
  accessTokenExpiresAt: LATER,
  refreshToken: `${ID}.${SESSION_ID}.q7c1m0uQm3lJ6b2mS1J9v2pQWbq0W8wJ3tqf8x1z0aE`,
  refreshTokenExpiresAt: '2026-11-22T09:30:00.000Z',
};
const photo = {
  id: MEDIA_ID,
  filename: 'beach.jpg',
  contentType: 'image/jpeg',
  size: 2_483_211,
  status: 'ready',
  type: 'image',
  createdAt: NOW,
  title: 'Calanques',
  width: 4032,
  height: 3024,
  takenAt: '2026-08-14T16:02:11.000Z',
  tags: ['beach', 'holiday'],
  views: 3,
  favorite: true,
  archived: false,
  thumbnails: {
    small: `https://example-media-library-prod-media.s3.amazonaws.com/media/${ID}/${MEDIA_ID}/thumb-small.webp?X-Amz-Signature=…`,
    large: `https://example-media-library-prod-media.s3.amazonaws.com/media/${ID}/${MEDIA_ID}/thumb-large.webp?X-Amz-Signature=…`,
  },
  downloadUrl: `https://example-media-library-prod-media.s3.amazonaws.com/media/${ID}/${MEDIA_ID}/original?X-Amz-Signature=…`,
};
const { downloadUrl: _notListed, ...listed } = photo;
const metadata = {
  width: 4032,
  height: 3024,
  takenAt: '2026-08-14T16:02:11.000Z',
  camera: { make: 'Apple', model: 'iPhone 15' },
  location: { latitude: 43.2965, longitude: 5.3698 },
  orientation: 1,
  title: 'Calanques',
  description: 'Evening swim',
  tags: ['beach', 'holiday'],
  favorite: true,
  archived: false,
};
const analysis = { id: ID, mediaId: MEDIA_ID, status: 'queued', createdAt: NOW, updatedAt: NOW };

export const OPERATIONS: Operation[] = [
  {
    functionName: 'getHealth',
    method: 'GET',
    path: '/v1/health',
    tag: 'service',
    summary: 'Liveness',
    description: 'Answers as long as the function runs: for uptime checks and deploy smoke tests. Touches no dependency.',
    auth: 'none',
    success: { status: 200, description: 'The service is up', schema: HealthResponse, example: { status: 'ok', version: '0.1.0', stage: 'prod' } },
    errors: {},
  },
  {
    functionName: 'getOpenApi',
    method: 'GET',
    path: '/v1/openapi.json',
    tag: 'service',
    summary: 'This document',
    description: 'The OpenAPI 3.1 description of /v1, as committed in docs/openapi.v1.json.',
    auth: 'none',
    success: { status: 200, description: 'The OpenAPI document', raw: { contentTypes: ['application/json'], description: 'An OpenAPI 3.1 document' } },
    errors: {},
  },
  {
    functionName: 'getDocs',
    method: 'GET',
    path: '/docs',
    tag: 'service',
    summary: 'Human-readable API docs',
    description: 'Swagger UI over /v1/openapi.json (served with the API; no CDN).',
    auth: 'none',
    success: { status: 200, description: 'The docs page', raw: { contentTypes: ['text/html'], description: 'HTML' } },
    errors: {},
  },
  {
    functionName: 'getDocs',
    operationId: 'getDocsAsset',
    method: 'GET',
    path: '/docs/{file}',
    tag: 'service',
    summary: 'Assets of the docs page',
    description: 'Swagger UI’s script and style sheet, and the page’s start-up script.',
    auth: 'none',
    params: DocsAssetParams,
    success: { status: 200, description: 'The asset', raw: { contentTypes: ['text/javascript', 'text/css'], description: 'The file' } },
    errors: { 404: ['asset_not_found'] },
  },
  {
    functionName: 'createUser',
    method: 'POST',
    path: '/v1/users',
    tag: 'accounts',
    summary: 'Sign up',
    description:
      'Creates an account. The email is trimmed and lower-cased and unique; the password is 10–256 characters and must not be the email. Hashed with argon2id.',
    auth: 'none',
    body: CreateUserBody,
    requestExample: { email: 'ann@example.com', password: 'correct horse battery', name: 'Ann' },
    success: { status: 201, description: 'The new account', schema: UserResponse, example: user, headers: { Location: 'Always `/v1/users/me`' } },
    errors: { ...BODY_ERRORS, 409: ['email_taken'], ...DEPENDENCY },
  },
  {
    functionName: 'getMe',
    method: 'GET',
    path: '/v1/users/me',
    tag: 'accounts',
    summary: 'The caller’s profile',
    description: 'The account the access token belongs to.',
    auth: 'bearer',
    success: { status: 200, description: 'The profile', schema: UserResponse, example: user },
    errors: { ...BEARER, 404: ['user_not_found'], ...DEPENDENCY },
  },
  {
    functionName: 'updateMe',
    method: 'PATCH',
    path: '/v1/users/me',
    tag: 'accounts',
    summary: 'Change name or password',
    description: '`currentPassword` is required with `password`. A new password revokes every other session of the account.',
    auth: 'bearer',
    body: UpdateUserBody,
    requestExample: { password: 'a new long passphrase', currentPassword: 'correct horse battery' },
    success: { status: 200, description: 'The updated profile', schema: UserResponse, example: user },
    errors: { ...BODY_ERRORS, ...BEARER, 403: ['invalid_password'], 404: ['user_not_found'], 429: ['too_many_attempts'], ...DEPENDENCY },
  },
  {
    functionName: 'deleteMe',
    method: 'DELETE',
    path: '/v1/users/me',
    tag: 'accounts',
    summary: 'Delete the account',
    description: 'Checks the password, then deletes the account, every session, every media item with its files, and every analysis. Repeatable.',
    auth: 'bearer',
    body: DeleteUserBody,
    requestExample: { password: 'correct horse battery' },
    success: { status: 204, description: 'Deleted' },
    errors: { ...BODY_ERRORS, ...BEARER, 403: ['invalid_password'], 429: ['too_many_attempts'], ...DEPENDENCY },
  },
  {
    functionName: 'createSession',
    method: 'POST',
    path: '/v1/sessions',
    tag: 'sessions',
    summary: 'Log in',
    description:
      'A short session (24 h) or, with `remember`, a long one (30 days). A wrong password and an unknown email both answer 401 invalid_credentials. After 5 failures in 15 minutes the account is locked for a growing time (429 with Retry-After).',
    auth: 'none',
    body: CreateSessionBody,
    requestExample: { email: 'ann@example.com', password: 'correct horse battery', remember: true },
    success: { status: 201, description: 'The tokens of the new session', schema: SessionTokensResponse, example: tokens },
    errors: { ...BODY_ERRORS, 401: ['invalid_credentials'], 429: ['too_many_attempts'], ...DEPENDENCY },
  },
  {
    functionName: 'refreshSession',
    method: 'POST',
    path: '/v1/sessions/refresh',
    tag: 'sessions',
    summary: 'Refresh the tokens',
    description:
      'Exchanges a refresh token for a new access token and a new refresh token (rotation). Replaying a rotated-away refresh token revokes the session (theft detection).',
    auth: 'none',
    body: RefreshSessionBody,
    requestExample: { refreshToken: tokens.refreshToken },
    success: { status: 200, description: 'New tokens', schema: SessionTokensResponse, example: tokens },
    errors: { ...BODY_ERRORS, 401: ['invalid_refresh_token'], ...DEPENDENCY },
  },
  {
    functionName: 'listSessions',
    method: 'GET',
    path: '/v1/sessions',
    tag: 'sessions',
    summary: 'The caller’s sessions',
    description: 'Unexpired sessions, newest first; `current` marks the one making the request.',
    auth: 'bearer',
    query: PageQuery,
    success: {
      status: 200,
      description: 'A page of sessions',
      schema: SessionListResponse,
      example: { items: [{ id: SESSION_ID, createdAt: NOW, lastUsedAt: NOW, expiresAt: tokens.refreshTokenExpiresAt, userAgent: 'Mozilla/5.0', current: true }], nextCursor: null },
    },
    errors: { 400: ['validation_failed', 'invalid_cursor'], ...BEARER, ...DEPENDENCY },
  },
  {
    functionName: 'deleteSession',
    method: 'DELETE',
    path: '/v1/sessions/{id}',
    tag: 'sessions',
    summary: 'Log out / revoke a session',
    description: '`current` revokes the session making the request (log out). Its access tokens stop working at once.',
    auth: 'bearer',
    params: SessionIdParams,
    success: { status: 204, description: 'Revoked' },
    errors: { 400: ['validation_failed'], ...BEARER, 404: ['session_not_found'], ...DEPENDENCY },
  },
  {
    functionName: 'getJwks',
    method: 'GET',
    path: '/v1/.well-known/jwks.json',
    tag: 'sessions',
    summary: 'Token verification keys',
    description: 'The public keys (current and previous) that verify access tokens and callback signatures. Cacheable for 5 minutes.',
    auth: 'none',
    success: {
      status: 200,
      description: 'A JSON Web Key Set',
      schema: JwksResponse,
      example: { keys: [{ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: 'k-2026-11', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }] },
    },
    errors: DEPENDENCY,
  },
  {
    functionName: 'createMedia',
    method: 'POST',
    path: '/v1/media',
    tag: 'media',
    summary: 'Start an upload',
    description:
      'Writes a pending item and returns a presigned S3 POST bound to its key, exact Content-Type and exact size, valid 15 minutes. Post `upload.fields` plus the file as multipart/form-data to `upload.url`; the item becomes `ready` (or `rejected` with a reason) once processed. Images up to 50 MB, videos up to 2 GB.',
    auth: 'bearer',
    body: CreateMediaBody,
    requestExample: { filename: 'beach.jpg', contentType: 'image/jpeg', size: 2_483_211 },
    success: {
      status: 201,
      description: 'The pending item and its upload form',
      schema: CreateMediaResponse,
      headers: { Location: '`/v1/media/{id}` of the new item' },
      example: {
        media: { id: MEDIA_ID, filename: 'beach.jpg', contentType: 'image/jpeg', size: 2_483_211, status: 'pending', type: 'image', createdAt: NOW, tags: [], views: 0, favorite: false, archived: false },
        upload: {
          method: 'POST',
          url: 'https://example-media-library-prod-media.s3.amazonaws.com/',
          fields: { key: `media/${ID}/${MEDIA_ID}/original`, 'Content-Type': 'image/jpeg', Policy: '…', 'X-Amz-Signature': '…' },
          expiresAt: LATER,
        },
      },
    },
    errors: { ...BODY_ERRORS, ...BEARER, 409: ['duplicate'], 413: ['payload_too_large'], 415: ['unsupported_media_type'], ...DEPENDENCY },
  },
  {
    functionName: 'listMedia',
    method: 'GET',
    path: '/v1/media',
    tag: 'media',
    summary: 'List and search media',
    description:
      'The caller’s items, newest first; filter by `type`, `status`, `tag` (search), `favorite` and `archived`. The timeline leaves archived items out unless `archived` says otherwise; `favorite=true` is the favourites view, `archived=only` the archive. Filters combine; a page can hold fewer than `limit` items while `nextCursor` says there are more. Items carry `title` when they have one, and thumbnail URLs (signed per clock hour: the same URLs all hour, so the browser can cache the images, each valid for at least an hour), never a download URL.',
    auth: 'bearer',
    query: ListMediaQuery,
    success: { status: 200, description: 'A page of items', schema: MediaListResponse, example: { items: [listed], nextCursor: null } },
    errors: { 400: ['validation_failed', 'invalid_cursor'], ...BEARER, ...DEPENDENCY },
  },
  {
    functionName: 'getMedia',
    method: 'GET',
    path: '/v1/media/{id}',
    tag: 'media',
    summary: 'One item',
    description:
      'With `title` when it has one, `downloadUrl` (presigned, 5 minutes, new on each call; the original as a file to save, served as the item’s `contentType`) and `thumbnails` (WebP; signed per clock hour as in lists) when ready. Reading counts no view: poll it while an upload is processed.',
    auth: 'bearer',
    params: MediaIdParams,
    success: { status: 200, description: 'The item', schema: MediaResponse, example: photo },
    errors: { 400: ['validation_failed'], ...BEARER, 404: ['media_not_found'], ...DEPENDENCY },
  },
  {
    functionName: 'recordView',
    method: 'POST',
    path: '/v1/media/{id}/views',
    tag: 'media',
    summary: 'Count a view',
    description: 'A person opened the item (a viewer calls this each time it shows one). Only this counts toward `views`; reading the item does not.',
    auth: 'bearer',
    params: MediaIdParams,
    success: { status: 200, description: 'The item’s views, this one included', schema: RecordViewResponse, example: { id: MEDIA_ID, views: 4 } },
    errors: { 400: ['validation_failed'], ...BEARER, 404: ['media_not_found'], ...DEPENDENCY },
  },
  {
    functionName: 'deleteMedia',
    method: 'DELETE',
    path: '/v1/media/{id}',
    tag: 'media',
    summary: 'Delete an item',
    description: 'The original, the thumbnails, the metadata and the tag entries all go. A second DELETE answers 404.',
    auth: 'bearer',
    params: MediaIdParams,
    success: { status: 204, description: 'Deleted' },
    errors: { 400: ['validation_failed'], ...BEARER, 404: ['media_not_found'], 409: ['concurrent_update'], ...DEPENDENCY },
  },
  {
    functionName: 'getMetadata',
    method: 'GET',
    path: '/v1/media/{id}/metadata',
    tag: 'metadata',
    summary: 'Metadata of an item',
    description: 'Dimensions, capture time, camera and location (from EXIF), and the title, description and tags the owner gave it.',
    auth: 'bearer',
    params: MediaIdParams,
    success: { status: 200, description: 'The metadata', schema: MetadataResponse, example: metadata, headers: { ETag: 'The item’s version as a strong entity tag (`"7"`): send it as `If-Match` with a PATCH' } },
    errors: { 400: ['validation_failed'], ...BEARER, 404: ['media_not_found'], ...DEPENDENCY },
  },
  {
    functionName: 'updateMetadata',
    method: 'PATCH',
    path: '/v1/media/{id}/metadata',
    tag: 'metadata',
    summary: 'Change title, description, tags, favourite or archived',
    description:
      '`favorite: true` adds the item to the favourites view, `archived: true` takes it out of the timeline (it stays in search and, later, albums); `false` undoes either. ' +
      'Tags are trimmed, lower-cased and deduplicated (at most 50 of 50 characters). Any other field is refused. ' +
      '`tags` replaces the whole list: a client that reads the tags, adds one and writes them back sends the `ETag` it read as `If-Match`, ' +
      'gets 412 when someone changed the item in between, and reads again; so no concurrent change is lost.',
    auth: 'bearer',
    params: MediaIdParams,
    body: UpdateMetadataBody,
    requestHeaders: { 'If-Match': 'Apply only to this version (the `ETag` of GET or of a previous PATCH); `*` or no header: to whatever is current' },
    requestExample: { title: 'Calanques', tags: ['beach', 'holiday'] },
    success: { status: 200, description: 'The metadata after the change', schema: MetadataResponse, example: metadata, headers: { ETag: 'The new version as a strong entity tag' } },
    errors: { ...BODY_ERRORS, ...BEARER, 404: ['media_not_found'], 409: ['concurrent_update'], 412: ['precondition_failed'], ...DEPENDENCY },
  },
  {
    functionName: 'batchEditMedia',
    method: 'POST',
    path: '/v1/media/batch',
    tag: 'metadata',
    summary: 'Change many items at once',
    description:
      'One change to up to 500 of the caller’s items: tags added (`addTags`) or removed (`removeTags`), each item keeping its other tags, and the `favorite` and `archived` flags. ' +
      'Each id gets the result a request for that item alone would have had, at its place in `ids` (`results[i]` is for `ids[i]`; ids are not echoed): `200`, or `404 media_not_found` (also for another user’s id), `400 too_many_tags` (more than 50 after the additions), `409 concurrent_update`. ' +
      'An item that already is as asked is left as it is. Every change is repeatable: after a `503`, send the same request again.',
    auth: 'bearer',
    body: BatchEditBody,
    requestExample: { ids: [MEDIA_ID, '01JD8X2M6Q7T9W3Y5A7C9E1G3K'], addTags: ['holiday'], favorite: true },
    success: {
      status: 200,
      description: 'A result per item',
      schema: BatchEditResponse,
      example: {
        results: [
          { status: 200 },
          { status: 404, error: { code: 'media_not_found', message: 'No such media item' } },
        ],
        succeeded: 1,
        failed: 1,
      },
    },
    errors: { ...BODY_ERRORS, ...BEARER, ...DEPENDENCY },
  },
  {
    functionName: 'listTags',
    method: 'GET',
    path: '/v1/tags',
    tag: 'tags',
    summary: 'The caller’s tags',
    description: 'Every tag on the caller’s items with the number of items carrying it, most used first.',
    auth: 'bearer',
    success: { status: 200, description: 'Tags and counts', schema: TagListResponse, example: { items: [{ tag: 'beach', count: 12 }, { tag: 'holiday', count: 7 }] } },
    errors: { ...BEARER, ...DEPENDENCY },
  },
  {
    functionName: 'createAnalysis',
    method: 'POST',
    path: '/v1/media/{id}/analyses',
    tag: 'analyses',
    summary: 'Analyse an image',
    description:
      'Queues an analysis of a ready image (perceptual hash, dominant colours, similar images, labels) and answers at once. Poll `Location`, or give an https `callbackUrl`: the finished job is POSTed there, signed (`X-Media-Library-Signature`, verifiable with the JWKS).',
    auth: 'bearer',
    params: MediaIdParams,
    body: CreateAnalysisBody,
    bodyOptional: true,
    requestExample: { callbackUrl: 'https://hooks.example.com/media-analysis' },
    success: { status: 202, description: 'The queued job', schema: AnalysisResponse, example: analysis, headers: { Location: '`/v1/analyses/{id}` of the job' } },
    errors: { ...BODY_ERRORS, ...BEARER, 404: ['media_not_found'], 409: ['media_not_ready', 'not_an_image'], ...DEPENDENCY },
  },
  {
    functionName: 'getAnalysis',
    method: 'GET',
    path: '/v1/analyses/{id}',
    tag: 'analyses',
    summary: 'An analysis job',
    description: 'Its status and, once `succeeded`, its result; `failed` with an error otherwise (also for jobs that timed out or never started).',
    auth: 'bearer',
    params: AnalysisIdParams,
    success: {
      status: 200,
      description: 'The job',
      schema: AnalysisResponse,
      example: {
        ...analysis,
        status: 'succeeded',
        updatedAt: LATER,
        result: {
          perceptualHash: 'c3a1f0e0d8b89c1e',
          dominantColors: [{ hex: '#2a6f97', ratio: 0.41 }],
          similarMedia: [{ mediaId: ID, distance: 4 }],
          labels: [{ name: 'Beach', confidence: 97.2 }],
          labelsSource: 'rekognition',
        },
      },
    },
    errors: { 400: ['validation_failed'], ...BEARER, 404: ['analysis_not_found'], ...DEPENDENCY },
  },
];
