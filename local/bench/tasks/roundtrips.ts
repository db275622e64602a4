/**
 * DynamoDB round trips and consumed capacity per request, captured from the SDK: every
 * function's handler runs in this process (TypeScript sources, through the real shared/aws
 * clients) against DynamoDB Local and the S3 stand-in. A middleware on the functions' DynamoDB
 * client adds `ReturnConsumedCapacity: 'TOTAL'` to every command and records the operation and
 * its units; one below the retry layer counts HTTP exchanges. S3 and SNS calls are counted too
 * (SNS Publish is answered in-process: there is no SNS stand-in here). Each scenario is one
 * representative request, run a few times warm: its calls, units and duration.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { handler as createAnalysis } from '../../../functions/analyses/createAnalysis';
import { handler as getAnalysis } from '../../../functions/analyses/getAnalysis';
import { handler as runAnalysis } from '../../../functions/analyses/runAnalysis';
import { handler as getOpenApi } from '../../../functions/docs/getOpenApi';
import { handler as getHealth } from '../../../functions/health/getHealth';
import { handler as batchEditMedia } from '../../../functions/media/batchEditMedia';
import { handler as createMedia } from '../../../functions/media/createMedia';
import { handler as deleteMedia } from '../../../functions/media/deleteMedia';
import { handler as getMedia } from '../../../functions/media/getMedia';
import { handler as recordView } from '../../../functions/media/recordView';
import { handler as listMedia } from '../../../functions/media/listMedia';
import { handler as processUpload } from '../../../functions/media/processUpload';
import { handler as sweepUploads } from '../../../functions/media/sweepUploads';
import { handler as getMetadata } from '../../../functions/metadata/getMetadata';
import { handler as updateMetadata } from '../../../functions/metadata/updateMetadata';
import { handler as authorizer } from '../../../functions/sessions/authorizer';
import { handler as createSession } from '../../../functions/sessions/createSession';
import { handler as deleteSession } from '../../../functions/sessions/deleteSession';
import { handler as getJwks } from '../../../functions/sessions/getJwks';
import { handler as listSessions } from '../../../functions/sessions/listSessions';
import { handler as refreshSession } from '../../../functions/sessions/refreshSession';
import { handler as listTags } from '../../../functions/tags/listTags';
import { handler as createUser } from '../../../functions/users/createUser';
import { handler as deleteMe } from '../../../functions/users/deleteMe';
import { handler as getMe } from '../../../functions/users/getMe';
import { handler as updateMe } from '../../../functions/users/updateMe';
import { probeKeys } from '../../../shared/analysis/similarity';
import { tokenIssuer } from '../../../shared/auth/issuer';
import { argon2Hasher } from '../../../shared/auth/passwords';
import { dynamo } from '../../../shared/aws/dynamo';
import { s3 } from '../../../shared/aws/s3';
import { sns } from '../../../shared/aws/sns';
import { content } from '../../../shared/content/bucket';
import { originalKey } from '../../../shared/content/keys';
import { newId } from '../../../shared/ids';
import { dynamoAnalysisStore } from '../../../shared/stores/analyses';
import { httpEvent, lambdaContext, type EventOptions } from '../../test/events';
import type { RoundTripRow } from '../results';
import { summarize } from '../stats';
import { s3Event, snsEvent } from './events';
import { seeder, seedingClient } from './seed';

export interface RoundTripInput {
  repeats: number;
  /** Fewer repeats for requests that hash a password or decode an image. */
  slowRepeats: number;
  warmup: number;
}

const READ_OPERATIONS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

interface Recording {
  operations: Record<string, number>;
  attempts: number;
  readUnits: number;
  writeUnits: number;
  other: Record<string, number>;
}

const fresh = (): Recording => ({ operations: {}, attempts: 0, readUnits: 0, writeUnits: 0, other: {} });
let recording = fresh();
const scans: string[] = [];
let currentScenario = 'setup';

type Stack = { add(middleware: unknown, options: Record<string, unknown>): void };
type Next = (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;
type Context_ = { commandName?: string };

function instrument(): void {
  const dynamoStack = dynamo.middlewareStack as unknown as Stack;
  dynamoStack.add(
    (next: Next, context: Context_) => async (args: { input: Record<string, unknown> }) => {
      const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
      args.input['ReturnConsumedCapacity'] ??= 'TOTAL';
      recording.operations[operation] = (recording.operations[operation] ?? 0) + 1;
      if (operation === 'Scan') scans.push(currentScenario);
      const result = await next(args);
      const consumed = result.output['ConsumedCapacity'] as { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> | undefined;
      const units = (Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]).reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
      // DynamoDB Local counts index writes and bills transactions twice, as DynamoDB does.
      if (READ_OPERATIONS.has(operation)) recording.readUnits += units;
      else recording.writeUnits += units;
      return result;
    },
    { step: 'initialize', name: 'benchConsumedCapacity', priority: 'high' },
  );
  // Below the retry layer: one per HTTP exchange.
  dynamoStack.add(
    (next: Next) => async (args: { input: Record<string, unknown> }) => {
      recording.attempts++;
      return next(args);
    },
    { step: 'deserialize', name: 'benchAttempts', priority: 'low' },
  );
  // S3: counted where a request is really sent (presigning stops before that step).
  (s3.middlewareStack as unknown as Stack).add(
    (next: Next, context: Context_) => async (args: { input: Record<string, unknown> }) => {
      const name = `S3 ${(context.commandName ?? 'unknown').replace(/Command$/, '')}`;
      recording.other[name] = (recording.other[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'deserialize', name: 'benchS3Calls', priority: 'low' },
  );
  // SNS Publish answered here, as the topic would.
  (sns.middlewareStack as unknown as Stack).add(
    (next: Next, context: Context_) => async (args: { input: Record<string, unknown> }) => {
      const name = `SNS ${(context.commandName ?? 'unknown').replace(/Command$/, '')}`;
      recording.other[name] = (recording.other[name] ?? 0) + 1;
      if (context.commandName === 'PublishCommand') return { output: { MessageId: newId(), $metadata: { httpStatusCode: 200 } }, response: {} };
      return next(args);
    },
    { step: 'initialize', name: 'benchSnsStub', priority: 'high' },
  );
}

type AnyHandler = (event: never, context: Context) => Promise<unknown>;

interface Scenario {
  route: string;
  functionName: string;
  handler: AnyHandler;
  scenario: string;
  /** The fewest DynamoDB calls the key design allows for this request, and why. */
  minimum: number;
  why: string;
  slow?: boolean;
  /** Untimed: builds the event of one invocation (and whatever data it needs). */
  prepare(): Promise<unknown>;
}

function statusOf(result: unknown): number | string {
  if (result !== null && typeof result === 'object' && 'statusCode' in result) return Number((result as { statusCode: number }).statusCode);
  if (result !== null && typeof result === 'object' && 'isAuthorized' in result) return (result as { isAuthorized: boolean }).isAuthorized ? 'authorized' : 'denied';
  return 'ok';
}

export async function run(input: RoundTripInput): Promise<{ rows: RoundTripRow[]; scans: string[] }> {
  instrument();
  const seed = seeder();
  const analysesStore = dynamoAnalysisStore(seedingClient(), process.env['ANALYSES_TABLE'] as string);
  const password = 'correct horse battery staple';
  const passwordHash = await argon2Hasher.hash(password);
  const user = await seed.user(passwordHash, 'roundtrips');
  const session = await seed.session(user.id);
  const caller = { userId: user.id, sessionId: session.sessionId };
  const image = await seed.readyImage(user.id, { tags: [] });
  const http = (options: EventOptions): APIGatewayProxyEventV2 => httpEvent({ ...options, caller: options.caller ?? caller });
  const photo = fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'media', 'photo-exif.jpg'));
  const accessToken = (await tokenIssuer.issue({ userId: user.id, sessionId: session.sessionId }, new Date(), new Date(Date.now() + 3_600_000))).accessToken;
  const probes = probeKeys(image.perceptualHash as string).length;

  const scenarios: Scenario[] = [
    {
      route: 'GET /v1/health',
      functionName: 'getHealth',
      handler: getHealth,
      scenario: 'liveness',
      minimum: 0,
      why: 'answers from memory',
      prepare: async () => http({ method: 'GET', path: '/v1/health', caller: undefined }),
    },
    {
      route: 'GET /v1/openapi.json',
      functionName: 'getOpenApi',
      handler: getOpenApi,
      scenario: 'the document',
      minimum: 0,
      why: 'bundled document',
      prepare: async () => http({ method: 'GET', path: '/v1/openapi.json', caller: undefined }),
    },
    {
      route: 'GET /v1/.well-known/jwks.json',
      functionName: 'getJwks',
      handler: getJwks,
      scenario: 'public keys',
      minimum: 0,
      why: 'keys cached 5 min (SSM on AWS)',
      prepare: async () => http({ method: 'GET', path: '/v1/.well-known/jwks.json', caller: undefined }),
    },
    {
      route: 'POST /v1/users',
      functionName: 'createUser',
      handler: createUser,
      scenario: 'sign up',
      slow: true,
      minimum: 1,
      why: 'profile + unique email claim in one transaction',
      prepare: async () => http({ method: 'POST', path: '/v1/users', caller: undefined, body: { email: `new-${newId().toLowerCase()}@example.org`, password, name: 'New Person' } }),
    },
    {
      route: 'POST /v1/sessions',
      functionName: 'createSession',
      handler: createSession,
      scenario: 'log in (right password)',
      slow: true,
      minimum: 3,
      why: 'credentials (+ throttle) read in one BatchGetItem; an attempt reserved before the password is checked (atomic throttle); the session written in a transaction with a check of the credentials generation',
      prepare: async () => http({ method: 'POST', path: '/v1/sessions', caller: undefined, body: { email: user.email, password, remember: false } }),
    },
    {
      route: 'POST /v1/sessions/refresh',
      functionName: 'refreshSession',
      handler: refreshSession,
      scenario: 'rotate a refresh token',
      minimum: 1,
      why: 'one conditional UpdateItem (hash = presented, ALL_NEW; ALL_OLD on failure shows reuse)',
      prepare: async () => {
        const fresh = await seed.session(user.id);
        return http({ method: 'POST', path: '/v1/sessions/refresh', caller: undefined, body: { refreshToken: fresh.refreshToken } });
      },
    },
    {
      route: 'authorizer (every protected route)',
      functionName: 'authorizer',
      handler: authorizer,
      scenario: 'valid access token, live session',
      minimum: 1,
      why: 'the session must be read for revocation to be immediate',
      prepare: async () => ({
        version: '2.0',
        type: 'REQUEST',
        routeArn: 'arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/v1/users/me',
        identitySource: [`Bearer ${accessToken}`],
        routeKey: 'GET /v1/users/me',
        rawPath: '/v1/users/me',
        rawQueryString: '',
        headers: { authorization: `Bearer ${accessToken}` },
        requestContext: { http: { method: 'GET', path: '/v1/users/me' }, requestId: newId() },
      }),
    },
    {
      route: 'GET /v1/users/me',
      functionName: 'getMe',
      handler: getMe,
      scenario: 'own profile',
      minimum: 1,
      why: 'one GetItem',
      prepare: async () => http({ method: 'GET', path: '/v1/users/me' }),
    },
    {
      route: 'PATCH /v1/users/me',
      functionName: 'updateMe',
      handler: updateMe,
      scenario: 'change the name',
      minimum: 1,
      why: 'conditional UpdateItem (status = active) returning ALL_NEW',
      prepare: async () => http({ method: 'PATCH', path: '/v1/users/me', body: { name: `Renamed ${newId().slice(-4)}` } }),
    },
    {
      route: 'GET /v1/sessions',
      functionName: 'listSessions',
      handler: listSessions,
      scenario: 'first page',
      minimum: 1,
      why: 'one Query of the user partition',
      prepare: async () => http({ method: 'GET', path: '/v1/sessions' }),
    },
    {
      route: 'DELETE /v1/sessions/{id}',
      functionName: 'deleteSession',
      handler: deleteSession,
      scenario: 'revoke another session',
      minimum: 1,
      why: 'one conditional DeleteItem',
      prepare: async () => {
        const other = await seed.session(user.id);
        return http({ method: 'DELETE', path: `/v1/sessions/${other.sessionId}`, routeKey: 'DELETE /v1/sessions/{id}', pathParameters: { id: other.sessionId } });
      },
    },
    {
      route: 'POST /v1/media',
      functionName: 'createMedia',
      handler: createMedia,
      scenario: 'photo with sha256',
      minimum: 1,
      why: 'pending item + hash claim in one transaction',
      prepare: async () =>
        http({
          method: 'POST',
          path: '/v1/media',
          body: { filename: 'IMG_0001.jpg', contentType: 'image/jpeg', size: 4_718_592, sha256: randomBytes(32).toString('hex') },
        }),
    },
    {
      route: 'GET /v1/media/{id}',
      functionName: 'getMedia',
      handler: getMedia,
      scenario: 'ready photo',
      minimum: 1,
      why: 'one GetItem reads the item (URLs are signed, not fetched)',
      prepare: async () => http({ method: 'GET', path: `/v1/media/${image.id}`, routeKey: 'GET /v1/media/{id}', pathParameters: { id: image.id } }),
    },
    {
      route: 'POST /v1/media/{id}/views',
      functionName: 'recordView',
      handler: recordView,
      scenario: 'a viewer shows the photo',
      minimum: 1,
      why: 'one UpdateItem (ADD views, ALL_NEW) counts and answers',
      prepare: async () => http({ method: 'POST', path: `/v1/media/${image.id}/views`, routeKey: 'POST /v1/media/{id}/views', pathParameters: { id: image.id } }),
    },
    {
      route: 'GET /v1/media',
      functionName: 'listMedia',
      handler: listMedia,
      scenario: 'first page, no filter',
      minimum: 1,
      why: 'one Query of the partition returns the items',
      prepare: async () => http({ method: 'GET', path: '/v1/media' }),
    },
    {
      route: 'GET /v1/media?type=image',
      functionName: 'listMedia',
      handler: listMedia,
      scenario: 'first page by type',
      minimum: 2,
      why: 'KEYS_ONLY index Query, then BatchGetItem of the page',
      prepare: async () => http({ method: 'GET', path: '/v1/media', routeKey: 'GET /v1/media', query: { type: 'image' } }),
    },
    {
      route: 'GET /v1/media/{id}/metadata',
      functionName: 'getMetadata',
      handler: getMetadata,
      scenario: 'ready photo',
      minimum: 1,
      why: 'one GetItem',
      prepare: async () => http({ method: 'GET', path: `/v1/media/${image.id}/metadata`, routeKey: 'GET /v1/media/{id}/metadata', pathParameters: { id: image.id } }),
    },
    {
      route: 'PATCH /v1/media/{id}/metadata',
      functionName: 'updateMetadata',
      handler: updateMetadata,
      scenario: 'change the title',
      minimum: 1,
      why: 'conditional UpdateItem returning ALL_NEW (no tags changed: nothing to sync)',
      prepare: async () =>
        http({ method: 'PATCH', path: `/v1/media/${image.id}/metadata`, routeKey: 'PATCH /v1/media/{id}/metadata', pathParameters: { id: image.id }, body: { title: `Sunset ${newId().slice(-4)}` } }),
    },
    {
      route: 'PATCH /v1/media/{id}/metadata',
      functionName: 'updateMetadata',
      handler: updateMetadata,
      scenario: 'title + one new tag',
      minimum: 2,
      why: 'read the old tags; one transaction: item, tag entry, tag count',
      prepare: async () => {
        const item = await seed.readyImage(user.id, { tags: [] });
        return http({ method: 'PATCH', path: `/v1/media/${item.id}/metadata`, routeKey: 'PATCH /v1/media/{id}/metadata', pathParameters: { id: item.id }, body: { title: 'Beach', tags: ['beach'] } });
      },
    },
    {
      route: 'PATCH /v1/media/{id}/metadata',
      functionName: 'updateMetadata',
      handler: updateMetadata,
      scenario: 'mark a favourite',
      minimum: 2,
      why: 'read the item; one transaction: the flag (version condition) and its FAVORITE# entry',
      prepare: async () => {
        const item = await seed.readyImage(user.id, { tags: [] });
        return http({ method: 'PATCH', path: `/v1/media/${item.id}/metadata`, routeKey: 'PATCH /v1/media/{id}/metadata', pathParameters: { id: item.id }, body: { favorite: true } });
      },
    },
    {
      route: 'GET /v1/media?favorite=true',
      functionName: 'listMedia',
      handler: listMedia,
      scenario: 'the favourites view, first page',
      minimum: 2,
      why: 'Query of the FAVORITE# entries, then BatchGetItem of the page',
      prepare: async () => http({ method: 'GET', path: '/v1/media', routeKey: 'GET /v1/media', query: { favorite: 'true', archived: 'include' } }),
    },
    {
      route: 'POST /v1/media/batch',
      functionName: 'batchEditMedia',
      handler: batchEditMedia,
      scenario: 'archive 10 items',
      minimum: 20,
      why: 'per item: read it; one transaction: the flag and its ARCHIVED# entry',
      prepare: async () => {
        const ids: string[] = [];
        for (let index = 0; index < 10; index++) ids.push((await seed.readyImage(user.id, { tags: [] })).id);
        return http({ method: 'POST', path: '/v1/media/batch', routeKey: 'POST /v1/media/batch', body: { ids, archived: true } });
      },
    },
    {
      route: 'GET /v1/tags',
      functionName: 'listTags',
      handler: listTags,
      scenario: 'all tags with counts',
      minimum: 1,
      why: 'one Query of the TAG# counts',
      prepare: async () => http({ method: 'GET', path: '/v1/tags' }),
    },
    {
      route: 'POST /v1/media/{id}/analyses',
      functionName: 'createAnalysis',
      handler: createAnalysis,
      scenario: 'queue an analysis of a ready photo',
      minimum: 2,
      why: 'media item read; job written (then SNS Publish)',
      prepare: async () => http({ method: 'POST', path: `/v1/media/${image.id}/analyses`, routeKey: 'POST /v1/media/{id}/analyses', pathParameters: { id: image.id }, body: {} }),
    },
    {
      route: 'GET /v1/analyses/{id}',
      functionName: 'getAnalysis',
      handler: getAnalysis,
      scenario: 'poll a queued job',
      minimum: 1,
      why: 'one GetItem',
      prepare: async () => {
        const id = newId();
        const now = new Date().toISOString();
        await analysesStore.create({ id, userId: user.id, mediaId: image.id, status: 'queued', createdAt: now, updatedAt: now, attempts: 0 });
        return http({ method: 'GET', path: `/v1/analyses/${id}`, routeKey: 'GET /v1/analyses/{id}', pathParameters: { id } });
      },
    },
    {
      route: 'DELETE /v1/media/{id}',
      functionName: 'deleteMedia',
      handler: deleteMedia,
      scenario: 'ready photo, no tags',
      minimum: 2,
      why: 'mark deleting (ALL_OLD gives the item); item + hash claim + similarity entries in one transaction',
      prepare: async () => {
        const item = await seed.readyImage(user.id, { tags: [] });
        return http({ method: 'DELETE', path: `/v1/media/${item.id}`, routeKey: 'DELETE /v1/media/{id}', pathParameters: { id: item.id } });
      },
    },
    {
      route: 'DELETE /v1/users/me',
      functionName: 'deleteMe',
      handler: deleteMe,
      scenario: 'account with 2 sessions and 1 photo',
      slow: true,
      minimum: 9,
      why: 'profile, credentials (1 BatchGetItem with the throttle), deletion mark (1 transaction), Query + BatchWriteItem for sessions and media, Query of analyses, profile',
      prepare: async () => {
        const owner = await seed.user(passwordHash, 'deleteme');
        const own = await seed.session(owner.id);
        await seed.session(owner.id);
        await seed.pending(owner.id);
        return http({ method: 'DELETE', path: '/v1/users/me', caller: { userId: owner.id, sessionId: own.sessionId }, body: { password } });
      },
    },
    {
      route: 'S3 ObjectCreated (processUpload)',
      functionName: 'processUpload',
      handler: processUpload,
      scenario: 'a 1.2 MP JPEG with EXIF (fixture)',
      slow: true,
      minimum: 2,
      why: 'item read; ready + similarity entries in one transaction',
      prepare: async () => {
        const item = await seed.pending(user.id, { size: photo.length, sha256: undefined });
        await content.put(originalKey(user.id, item.id), photo, 'image/jpeg');
        return s3Event(originalKey(user.id, item.id));
      },
    },
    {
      route: 'SNS analysis request (runAnalysis)',
      functionName: 'runAnalysis',
      handler: runAnalysis,
      scenario: 'similarity search, labels off',
      minimum: 3 + probes,
      why: `claim (UpdateItem ALL_NEW), media read, one Query per probe key (${probes}), result`,
      prepare: async () => {
        const id = newId();
        const now = new Date().toISOString();
        await analysesStore.create({ id, userId: user.id, mediaId: image.id, status: 'queued', createdAt: now, updatedAt: now, attempts: 0 });
        return snsEvent({ userId: user.id, analysisId: id });
      },
    },
    {
      route: 'schedule (sweepUploads)',
      functionName: 'sweepUploads',
      handler: sweepUploads,
      scenario: 'nothing to sweep',
      minimum: 10,
      why: 'one Query per shard of the sparse pending index (10 shards)',
      prepare: async () => ({}),
    },
  ];

  const rows: RoundTripRow[] = [];
  for (const scenario of scenarios) {
    currentScenario = `${scenario.route} (${scenario.scenario})`;
    const repeats = scenario.slow === true ? input.slowRepeats : input.repeats;
    const durations: number[] = [];
    let last = fresh();
    let status: number | string = 'not run';
    for (let i = 0; i < input.warmup + repeats; i++) {
      // Calls made while preparing (an object put into S3) belong to no request.
      recording = fresh();
      const event = await scenario.prepare();
      recording = fresh();
      const started = performance.now();
      const result = await scenario.handler(event as never, lambdaContext(scenario.functionName));
      const elapsed = performance.now() - started;
      if (i >= input.warmup) {
        durations.push(elapsed);
        last = recording;
        status = statusOf(result);
      }
    }
    const calls = Object.values(last.operations).reduce((sum, count) => sum + count, 0);
    rows.push({
      route: scenario.route,
      functionName: scenario.functionName,
      scenario: scenario.scenario,
      operations: last.operations,
      calls,
      attempts: last.attempts,
      minimum: scenario.minimum,
      why: scenario.why,
      readUnits: last.readUnits,
      writeUnits: last.writeUnits,
      otherCalls: last.other,
      status,
      durationMs: summarize(durations),
    });
  }
  return { rows, scans };
}
