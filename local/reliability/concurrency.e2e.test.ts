/**
 * Concurrency over real HTTP (serverless-offline, DynamoDB Local, the offline S3 stand-in):
 * parallel sign-ups with one email, parallel refreshes with one token, parallel metadata
 * patches of one item, parallel deletes of one item, and duplicate S3 and SNS deliveries
 * (through serverless-offline's Lambda invoke endpoint, racing the stand-ins' own delivery).
 * Each must end in exactly one consistent state; after each, the consistency checker, restricted
 * to the scenario's users and told that nothing is in flight, must find nothing. The figures
 * (attempts, outcomes, final state) are printed after the suite, for docs/reliability.md.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import { ApiClient, newAccount, type ApiResponse } from '../test/http';
import { s3Event } from '../test/events';
import { settled, standInS3, upload } from '../test/media';
import { localStack, offlineApi } from '../test/stack';
import { dynamo } from '../../shared/aws/dynamo';
import { requireEnv } from '../../shared/config/env';
import { checkConsistency, formatFinding, localTarget, type ConsistencyTarget } from './consistency';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'media');
const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));
/** How many parallel requests each scenario makes. */
const N = 20;
const BUCKET = requireEnv('MEDIA_BUCKET');

interface Tokens {
  sessionId: string;
  accessToken: string;
  refreshToken: string;
}
interface ErrorBody {
  error: { code: string; message: string };
}
interface Figure {
  scenario: string;
  attempts: number;
  outcomes: Record<string, number>;
  final: Record<string, unknown>;
  ms: number;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function tally(labels: Array<string | number>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const label of labels) counts[String(label)] = (counts[String(label)] ?? 0) + 1;
  return counts;
}

/** A loopback callback receiver that records what it gets. */
async function receiver(): Promise<{ url: string; received: string[]; close: () => Promise<void> }> {
  const received: string[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(Buffer.concat(chunks).toString('utf8'));
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/analysis`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('concurrency over HTTP: one consistent outcome', function () {
  this.timeout(120_000);
  const figures: Figure[] = [];
  const tables = { users: requireEnv('USERS_TABLE'), sessions: requireEnv('SESSIONS_TABLE'), media: requireEnv('MEDIA_TABLE'), analyses: requireEnv('ANALYSES_TABLE') };
  let api: ApiClient;
  let s3: S3Client;
  let lambda: LambdaClient;
  let target: ConsistencyTarget;

  before(async () => {
    const offline = await offlineApi();
    const stack = await localStack();
    api = new ApiClient(offline.baseUrl);
    s3 = standInS3(offline.s3Endpoint);
    lambda = new LambdaClient({ endpoint: `http://127.0.0.1:${offline.lambdaPort}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    // The API shares the harness's DynamoDB Local but runs its own S3 stand-in.
    target = localTarget({ dynamodbEndpoint: stack.dynamodbEndpoint, s3Endpoint: offline.s3Endpoint });
  });

  after(() => {
    s3?.destroy();
    lambda?.destroy();
    console.log('\n  concurrency figures (N = %d parallel requests per scenario)', N);
    for (const figure of figures) {
      console.log(`  - ${figure.scenario}: ${figure.attempts} attempts in ${figure.ms} ms; outcomes ${JSON.stringify(figure.outcomes)}; final ${JSON.stringify(figure.final)}`);
    }
  });

  async function account(prefix: string): Promise<{ userId: string; token: string; email: string; password: string }> {
    const body = newAccount(prefix);
    const created = await api.post<{ id: string }>('/v1/users', { body });
    expect(created.status, created.text).to.equal(201);
    const session = await api.post<Tokens>('/v1/sessions', { body: { email: body.email, password: body.password } });
    expect(session.status, session.text).to.equal(201);
    return { userId: created.body.id, token: session.body.accessToken, email: body.email, password: body.password };
  }

  async function consistent(userIds: string[]): Promise<void> {
    const report = await checkConsistency(target, { userIds, settled: true });
    expect(report.violations.map(formatFinding), 'consistency checker').to.deep.equal([]);
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key as string).sort();
  }

  async function partition(table: string, userId: string): Promise<Array<Record<string, unknown>>> {
    const { Items } = await dynamo.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `USER#${userId}` }, ConsistentRead: true }));
    return Items ?? [];
  }

  /** Invokes a function through serverless-offline's Lambda endpoint: 'ok', or 'error: …' when the handler threw (Lambda would retry). */
  async function invoke(functionName: string, event: unknown): Promise<string> {
    const result = await lambda.send(new InvokeCommand({ FunctionName: `media-library-local-${functionName}`, Payload: Buffer.from(JSON.stringify(event)) }));
    if (result.FunctionError === undefined) return 'ok';
    const payload = JSON.parse(Buffer.from(result.Payload ?? new Uint8Array()).toString('utf8') || '{}') as { errorMessage?: string; errorType?: string };
    return `error: ${payload.errorType ?? result.FunctionError}`;
  }

  it(`${N} parallel sign-ups with one email: one 201, the rest 409 email_taken; one account, and it can log in`, async () => {
    const started = Date.now();
    const body = newAccount('race-signup');
    const responses = await Promise.all(Array.from({ length: N }, () => api.post<{ id: string } & ErrorBody>('/v1/users', { body })));
    const outcomes = tally(responses.map((response) => (response.status === 201 ? 201 : `${response.status} ${response.body.error?.code}`)));
    const winners = responses.filter((response) => response.status === 201);

    const items = (await dynamo.send(new ScanCommand({ TableName: tables.users, ConsistentRead: true }))).Items ?? [];
    const credentials = items.filter((item) => item['pk'] === `EMAIL#${body.email}`);
    const profiles = items.filter((item) => item['sk'] === 'PROFILE' && item['email'] === body.email);
    const login = await api.post<Tokens>('/v1/sessions', { body: { email: body.email, password: body.password } });
    figures.push({ scenario: 'sign-ups, one email', attempts: N, outcomes, final: { credentials: credentials.length, profiles: profiles.length, login: login.status }, ms: Date.now() - started });

    expect(outcomes).to.deep.equal({ 201: 1, '409 email_taken': N - 1 });
    expect(credentials.map((item) => item['userId'] as unknown)).to.deep.equal([winners[0]?.body.id]);
    expect(profiles.map((item) => item['id'] as unknown)).to.deep.equal([winners[0]?.body.id]);
    expect(login.status, login.text).to.equal(201);
    await consistent([winners[0]?.body.id as string]);
  });

  it(`${N} parallel refreshes with one token: one 200, the rest 401; losing the race revokes the session (docs/security.md), other sessions live on`, async () => {
    const started = Date.now();
    const { userId, email, password } = await account('race-refresh');
    const raced = (await api.post<Tokens>('/v1/sessions', { body: { email, password } })).body;
    const other = (await api.post<Tokens>('/v1/sessions', { body: { email, password } })).body;
    const responses = await Promise.all(Array.from({ length: N }, () => api.post<Tokens & ErrorBody>('/v1/sessions/refresh', { body: { refreshToken: raced.refreshToken } })));
    const outcomes = tally(responses.map((response) => (response.status === 200 ? 200 : `${response.status} ${response.body.error?.code}`)));
    const winner = responses.find((response) => response.status === 200)?.body;

    const winnerAccess = winner === undefined ? undefined : await api.get('/v1/users/me', { token: winner.accessToken });
    const winnerRefresh = winner === undefined ? undefined : await api.post('/v1/sessions/refresh', { body: { refreshToken: winner.refreshToken } });
    const oldAccess = await api.get('/v1/users/me', { token: raced.accessToken });
    const otherAccess = await api.get('/v1/users/me', { token: other.accessToken });
    const stored = (await partition(tables.sessions, userId)).map((item) => item['id']);
    figures.push({
      scenario: 'refreshes, one token',
      attempts: N,
      outcomes,
      final: { sessionRevoked: !stored.includes(raced.sessionId), winnerAccessToken: winnerAccess?.status, winnerRefreshToken: winnerRefresh?.status, otherSession: otherAccess.status },
      ms: Date.now() - started,
    });

    expect(outcomes).to.deep.equal({ 200: 1, '401 invalid_refresh_token': N - 1 });
    expect(stored, 'the raced session is revoked').not.to.include(raced.sessionId);
    expect(stored, 'the other one stays').to.include(other.sessionId);
    expect(winnerAccess?.status, "the winner's new access token dies with the session").to.equal(401);
    expect(winnerRefresh?.status, "the winner's new refresh token too").to.equal(401);
    expect(oldAccess.status).to.equal(401);
    expect(otherAccess.status).to.equal(200);
    await consistent([userId]);
  });

  it(`${N} parallel metadata patches of one item, each adding its own tag (read-modify-write with If-Match, re-reading on 412): no tag is lost, counts are right`, async () => {
    const started = Date.now();
    const { userId, token } = await account('race-tags');
    const created = await upload(api, token, { bytes: fixture('graphic.png'), filename: 'g.png', contentType: 'image/png' });
    expect((await settled(api, token, created.media.id)).status).to.equal('ready');
    const id = created.media.id;
    const statuses: string[] = [];
    let attempts = 0;

    async function addTag(tag: string): Promise<void> {
      for (let attempt = 1; ; attempt++) {
        attempts++;
        const current = await api.get<{ tags: string[] }>(`/v1/media/${id}/metadata`, { token });
        expect(current.status, current.text).to.equal(200);
        const etag = current.headers.get('etag');
        expect(etag, 'GET metadata carries an ETag').to.match(/^"\d+"$/);
        const patched = await api.patch<ErrorBody>(`/v1/media/${id}/metadata`, { token, body: { tags: [...current.body.tags, tag] }, headers: { 'if-match': etag as string } });
        statuses.push(patched.status === 200 ? '200' : `${patched.status} ${patched.body.error?.code}`);
        if (patched.status === 200) return;
        const retryable = patched.status === 412 || patched.status === 503;
        if (!retryable || attempt >= 30) throw new Error(`PATCH for ${tag}: ${patched.status} ${patched.text}`);
        await pause(1000 * Number(patched.headers.get('retry-after') ?? '0') + Math.random() * 50);
      }
    }

    const wanted = Array.from({ length: N }, (_, i) => `tag-${String(i).padStart(2, '0')}`);
    await Promise.all(wanted.map(addTag));
    const final = (await api.get<{ tags: string[] }>(`/v1/media/${id}/metadata`, { token })).body.tags.slice().sort();
    const counts = (await api.get<{ items: Array<{ tag: string; count: number }> }>('/v1/tags', { token })).body.items;
    const lost = wanted.filter((tag) => !final.includes(tag));
    figures.push({ scenario: 'metadata patches, one item', attempts, outcomes: tally(statuses), final: { tags: final.length, lost: lost.length, lostTags: lost, tagCounts: counts.length }, ms: Date.now() - started });

    // What is there is consistent: each present tag counted once, nothing else counted.
    expect(counts.slice().sort((a, b) => (a.tag < b.tag ? -1 : 1))).to.deep.equal(final.map((tag) => ({ tag, count: 1 })));
    await consistent([userId]);
    expect(lost, `tags lost by concurrent read-modify-write patches (each got 200): ${lost.join(', ')}`).to.deep.equal([]);
    expect(statuses.filter((status) => status.startsWith('5')), 'no 5xx: contention is a 412, never an outage').to.deep.equal([]);
  });

  it(`${N} parallel deletes of one item: 204 or 404 (at least one 204), and nothing is left in S3 or DynamoDB`, async () => {
    const started = Date.now();
    const { userId, token } = await account('race-delete');
    const bytes = fixture('photo-exif.jpg');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const created = await upload(api, token, { bytes, filename: 'p.jpg', contentType: 'image/jpeg', sha256 });
    expect((await settled(api, token, created.media.id)).status).to.equal('ready');
    const id = created.media.id;
    expect((await api.patch(`/v1/media/${id}/metadata`, { token, body: { tags: ['one', 'two'] } })).status).to.equal(200);
    expect(await keysUnder(`media/${userId}/`)).to.have.length(3);

    const responses = await Promise.all(Array.from({ length: N }, () => api.delete<ErrorBody>(`/v1/media/${id}`, { token })));
    const outcomes = tally(responses.map((response) => (response.status === 204 ? 204 : `${response.status} ${response.body?.error?.code}`)));
    const objects = await keysUnder(`media/${userId}/`);
    const rows = (await partition(tables.media, userId)).map((item) => item['sk']);
    const afterwards = await api.get(`/v1/media/${id}`, { token });
    const tags = (await api.get<{ items: unknown[] }>('/v1/tags', { token })).body.items;
    figures.push({ scenario: 'deletes, one item', attempts: N, outcomes, final: { objects: objects.length, mediaTableRows: rows.length, get: afterwards.status, tags: tags.length }, ms: Date.now() - started });

    expect(Object.keys(outcomes).filter((status) => status !== '204' && status !== '404 media_not_found'), 'only 204 and 404').to.deep.equal([]);
    expect(outcomes['204'], 'at least one 204').to.be.at.least(1);
    expect(objects, 'S3').to.deep.equal([]);
    expect(rows, 'DynamoDB: item, tag entries, counts, hash claim, similarity entries').to.deep.equal([]);
    expect(afterwards.status).to.equal(404);
    expect(tags).to.deep.equal([]);
    await consistent([userId]);
    const again = await api.post('/v1/media', { token, body: { filename: 'p.jpg', contentType: 'image/jpeg', size: bytes.length, sha256 } });
    expect(again.status, 'the hash claim was released').to.equal(201);
  });

  it('the same S3 ObjectCreated event delivered twice more, concurrently with the stand-in\'s own delivery, and once again later: one ready item, one set of thumbnails', async () => {
    const started = Date.now();
    const { userId, token } = await account('race-s3');
    const created = await upload(api, token, { bytes: fixture('photo-exif.jpg'), filename: 'p.jpg', contentType: 'image/jpeg' });
    const id = created.media.id;
    const key = `media/${userId}/${id}/original`;
    const event = s3Event([key], { bucket: BUCKET, size: fixture('photo-exif.jpg').length });
    const concurrent = await Promise.all([invoke('processUpload', event), invoke('processUpload', event)]);
    const ready = await settled(api, token, id);
    const before = (await dynamo.send(new GetCommand({ TableName: tables.media, Key: { pk: `USER#${userId}`, sk: `MEDIA#${id}` }, ConsistentRead: true }))).Item;
    const late = await invoke('processUpload', event);
    const after = (await dynamo.send(new GetCommand({ TableName: tables.media, Key: { pk: `USER#${userId}`, sk: `MEDIA#${id}` }, ConsistentRead: true }))).Item;
    const objects = await keysUnder(`media/${userId}/`);
    figures.push({
      scenario: 'duplicate S3 deliveries',
      attempts: 3,
      outcomes: tally([...concurrent, late]),
      final: { status: ready.status, objects: objects.length, unchangedByLateDelivery: JSON.stringify(before) === JSON.stringify({ ...after, views: before?.['views'] as unknown }) },
      ms: Date.now() - started,
    });

    expect(concurrent.concat(late), 'every delivery succeeds (a duplicate is a no-op, not a failure)').to.deep.equal(['ok', 'ok', 'ok']);
    expect(ready.status).to.equal('ready');
    expect(objects).to.deep.equal([key, `media/${userId}/${id}/thumb-large.webp`, `media/${userId}/${id}/thumb-small.webp`].sort());
    const { views: _viewsBefore, ...stable } = before ?? {};
    const { views: _viewsAfter, ...stableAfter } = after ?? {};
    expect(stableAfter, 'the late delivery changed nothing').to.deep.equal(stable);
    await consistent([userId]);
  });

  it('the same SNS analysis request delivered twice more, concurrently with the topic\'s own delivery: one run, one succeeded job, one callback', async () => {
    const started = Date.now();
    const { userId, token } = await account('race-sns');
    const created = await upload(api, token, { bytes: fixture('graphic.png'), filename: 'g.png', contentType: 'image/png' });
    expect((await settled(api, token, created.media.id)).status).to.equal('ready');
    const hook = await receiver();
    try {
      const requested = await api.post<{ id: string }>(`/v1/media/${created.media.id}/analyses`, { token, body: { callbackUrl: hook.url } });
      expect(requested.status, requested.text).to.equal(202);
      const analysisId = requested.body.id;
      const topicArn = requireEnv('ANALYSIS_TOPIC_ARN');
      const event = {
        Records: [
          {
            EventSource: 'aws:sns',
            EventVersion: '1.0',
            EventSubscriptionArn: `${topicArn}:${randomUUID()}`,
            Sns: {
              Type: 'Notification',
              MessageId: randomUUID(),
              TopicArn: topicArn,
              Subject: null,
              Message: JSON.stringify({ userId, analysisId }),
              Timestamp: new Date().toISOString(),
              SignatureVersion: '1',
              Signature: 'local',
              SigningCertUrl: 'http://127.0.0.1/cert',
              UnsubscribeUrl: 'http://127.0.0.1/unsubscribe',
              MessageAttributes: {},
            },
          },
        ],
      };
      const concurrent = await Promise.all([invoke('runAnalysis', event), invoke('runAnalysis', event)]);

      let job: ApiResponse<{ status: string; callback?: { status: string; attempts: number } }> | undefined;
      const deadline = Date.now() + 30_000;
      do {
        job = await api.get(`/v1/analyses/${analysisId}`, { token });
        if (job.body.callback !== undefined) break;
        await pause(150);
      } while (Date.now() < deadline);
      // Lambda retries a failed delivery later: by then the job is done and the retry does nothing.
      const retried = await Promise.all(concurrent.filter((outcome) => outcome !== 'ok').map(() => invoke('runAnalysis', event)));
      await pause(500);
      const stored = (await partition(tables.analyses, userId)).find((item) => item['id'] === analysisId);
      figures.push({
        scenario: 'duplicate SNS deliveries',
        attempts: concurrent.length + retried.length,
        outcomes: tally([...concurrent, ...retried.map((outcome) => `retry ${outcome}`)]),
        final: { status: job?.body.status, runs: stored?.['attempts'], callbacksReceived: hook.received.length, callback: job?.body.callback },
        ms: Date.now() - started,
      });

      expect(job?.body.status).to.equal('succeeded');
      expect(stored?.['attempts'], 'the work was done once').to.equal(1);
      expect(concurrent.every((outcome) => outcome === 'ok' || outcome === 'error: AnalysisBusy' || outcome === 'error: AggregateError'), concurrent.join(', ')).to.equal(true);
      expect(retried.every((outcome) => outcome === 'ok'), retried.join(', ')).to.equal(true);
      expect(hook.received, 'one callback').to.have.length(1);
      expect(job?.body.callback).to.include({ status: 'delivered', attempts: 1 });
      await consistent([userId]);
    } finally {
      await hook.close();
    }
  });
});
