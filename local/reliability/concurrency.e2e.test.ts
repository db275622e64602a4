/**
 * Concurrency over real HTTP (serverless-offline, DynamoDB Local, the offline S3 stand-in):
 * parallel sign-ups with one email, parallel refreshes with one token, parallel metadata
 * patches of one item, parallel deletes of one item, and duplicate S3 and SNS deliveries
 * (through serverless-offline's Lambda invoke endpoint, racing the stand-ins' own delivery).
 * And every piece of security state under concurrency: the login throttle (parallel wrong
 * passwords on login, password change and account deletion), a password change racing logins
 * and refreshes, logout racing refreshes, and account deletion racing creates, uploads (also
 * through forms issued before it) and analyses.
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
import { GetCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import { ApiClient, newAccount, type ApiResponse } from '../test/http';
import { s3Event } from '../test/events';
import { settled, standInS3, upload, type UploadBody } from '../test/media';
import { localStack, offlineApi } from '../test/stack';
import { dynamo } from '../../shared/aws/dynamo';
import { requireEnv } from '../../shared/config/env';
import { THROTTLE_POLICY } from '../../shared/domain/loginThrottle';
import { credentialsKey, loginThrottleKey, userKey } from '../../shared/stores/keys';
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
    // The type is what the assertions accept; the message goes along so a surprise explains itself.
    return `error: ${payload.errorType ?? result.FunctionError}${payload.errorType === 'Error' && payload.errorMessage ? ` (${payload.errorMessage})` : ''}`;
  }

  /** The login throttle of an email as stored (keyed by the hashed email), read strongly consistently. */
  async function throttleOf(email: string): Promise<{ failures: number; lockedUntil: number; lockouts: number } | undefined> {
    const { Item } = await dynamo.send(new GetCommand({ TableName: tables.users, Key: loginThrottleKey(email), ConsistentRead: true }));
    return Item as { failures: number; lockedUntil: number; lockouts: number } | undefined;
  }

  /** The multipart POST of a presigned upload form, as a client sends it (fields first, file last). */
  async function postForm(form: UploadBody['upload'], bytes: Buffer, contentType: string): Promise<number> {
    const body = new FormData();
    for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
    body.append('file', new Blob([new Uint8Array(bytes)], { type: contentType }), 'upload');
    const response = await fetch(form.url, { method: 'POST', body });
    await response.text();
    return response.status;
  }

  const jitter = (maxMs: number): Promise<void> => pause(Math.random() * maxMs);
  const label = (response: ApiResponse<Partial<ErrorBody>>, success: number): string =>
    response.status === success ? String(success) : `${response.status} ${response.body?.error?.code ?? 'Unauthorized'}`;

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
      // A delivery that found the job busy fails its invocation on purpose (the handler's
      // AggregateError; serverless-offline reports its type as AggregateError or, from a worker
      // thread, as a plain Error with the handler's message) and Lambda retries it.
      const handedBack = (outcome: string): boolean => outcome === 'error: AnalysisBusy' || outcome === 'error: AggregateError' || /^error: Error \(\d+ analysis request\(s\) failed; Lambda will retry\)$/.test(outcome);
      expect(concurrent.every((outcome) => outcome === 'ok' || handedBack(outcome)), concurrent.join(', ')).to.equal(true);
      expect(retried.every((outcome) => outcome === 'ok'), retried.join(', ')).to.equal(true);
      expect(hook.received, 'one callback').to.have.length(1);
      expect(job?.body.callback).to.include({ status: 'delivered', attempts: 1 });
      await consistent([userId]);
    } finally {
      await hook.close();
    }
  });

  it('40 parallel wrong logins: the attempt budget (5) is verified, the rest 429; the first lock lasts 60 s; a burst during the lock escalates nothing; after the lock one attempt of a burst is verified and the lock doubles', async () => {
    const started = Date.now();
    const { email, password } = await account('race-throttle');
    const burst = async (size: number): Promise<{ outcomes: Record<string, number>; retryAfter: number[] }> => {
      const responses = await Promise.all(Array.from({ length: size }, (_, i) => api.post<ErrorBody>('/v1/sessions', { body: { email, password: `wrong guess ${i}` } })));
      return {
        outcomes: tally(responses.map((response) => label(response, 201))),
        retryAfter: responses.filter((response) => response.status === 429).map((response) => Number(response.headers.get('retry-after'))),
      };
    };

    const first = await burst(40);
    const firstLock = await throttleOf(email);
    const firstLockSeconds = ((firstLock?.lockedUntil ?? 0) - Date.now()) / 1000;
    const during = await burst(15);
    const stillFirstLock = await throttleOf(email);
    // Instead of waiting out the minute: the lock ends now (the state a served lock leaves).
    await dynamo.send(
      new UpdateCommand({
        TableName: tables.users,
        Key: loginThrottleKey(email),
        UpdateExpression: 'SET lockedUntil = :past, windowStartedAt = :past',
        ExpressionAttributeValues: { ':past': Date.now() - 1000 },
      }),
    );
    const afterLock = await burst(15);
    const secondLock = await throttleOf(email);
    const secondLockSeconds = ((secondLock?.lockedUntil ?? 0) - Date.now()) / 1000;
    const owner = await api.post<ErrorBody>('/v1/sessions', { body: { email, password } });
    figures.push({
      scenario: 'wrong logins, one account (40, then 15 during the lock, then 15 after it)',
      attempts: 70,
      outcomes: { first: first.outcomes, duringLock: during.outcomes, afterLock: afterLock.outcomes } as unknown as Record<string, number>,
      final: {
        verified: [first.outcomes['401 invalid_credentials'] ?? 0, during.outcomes['401 invalid_credentials'] ?? 0, afterLock.outcomes['401 invalid_credentials'] ?? 0],
        firstLockSeconds: Math.round(firstLockSeconds),
        secondLockSeconds: Math.round(secondLockSeconds),
        lockouts: [firstLock?.lockouts, stillFirstLock?.lockouts, secondLock?.lockouts],
        ownerDuringLock: owner.status,
      },
      ms: Date.now() - started,
    });

    expect(first.outcomes, 'first burst: exactly the budget is verified').to.deep.equal({ '401 invalid_credentials': THROTTLE_POLICY.maxFailures, '429 too_many_attempts': 40 - THROTTLE_POLICY.maxFailures });
    expect(Math.max(...first.retryAfter), 'Retry-After of the first lock').to.be.at.most(60);
    expect(Math.min(...first.retryAfter)).to.be.at.least(1);
    expect(firstLock?.lockouts, 'one lock').to.equal(1);
    expect(firstLockSeconds, 'the first lock lasts a minute').to.be.within(40, 60);
    expect(during.outcomes, 'during the lock nothing is verified').to.deep.equal({ '429 too_many_attempts': 15 });
    expect(stillFirstLock, 'a burst during the lock escalates nothing').to.deep.include({ lockouts: 1, lockedUntil: firstLock?.lockedUntil });
    expect(afterLock.outcomes, 'after the lock: one attempt').to.deep.equal({ '401 invalid_credentials': 1, '429 too_many_attempts': 14 });
    expect(secondLock?.lockouts).to.equal(2);
    expect(secondLockSeconds, 'the second lock lasts two minutes').to.be.within(100, 120);
    expect(owner.status, 'the right password waits for the lock too').to.equal(429);
  });

  it(`${N} parallel wrong current passwords on PATCH and on DELETE /v1/users/me: the attempt budget is verified, the rest 429; nothing changes`, async () => {
    const started = Date.now();
    const patcher = await account('race-patch-guess');
    const deleter = await account('race-delete-guess');
    const [patches, deletes] = await Promise.all([
      Promise.all(Array.from({ length: N }, (_, i) => api.patch<ErrorBody>('/v1/users/me', { token: patcher.token, body: { password: 'a brand new password 1', currentPassword: `wrong guess ${i}` } }))),
      Promise.all(Array.from({ length: N }, (_, i) => api.delete<ErrorBody>('/v1/users/me', { token: deleter.token, body: { password: `wrong guess ${i}` } }))),
    ]);
    const patchOutcomes = tally(patches.map((response) => label(response, 200)));
    const deleteOutcomes = tally(deletes.map((response) => label(response, 204)));
    const profile = (await dynamo.send(new GetCommand({ TableName: tables.users, Key: userKey(deleter.userId), ConsistentRead: true }))).Item;
    const credentials = (await dynamo.send(new GetCommand({ TableName: tables.users, Key: credentialsKey(patcher.email), ConsistentRead: true }))).Item;
    figures.push({
      scenario: 'wrong current passwords (PATCH and DELETE /v1/users/me)',
      attempts: 2 * N,
      outcomes: { patch: patchOutcomes, delete: deleteOutcomes } as unknown as Record<string, number>,
      final: { deleterProfile: profile?.['status'], patcherThrottle: (await throttleOf(patcher.email))?.lockouts, deleterThrottle: (await throttleOf(deleter.email))?.lockouts },
      ms: Date.now() - started,
    });

    expect(patchOutcomes).to.deep.equal({ '403 invalid_password': THROTTLE_POLICY.maxFailures, '429 too_many_attempts': N - THROTTLE_POLICY.maxFailures });
    expect(deleteOutcomes).to.deep.equal({ '403 invalid_password': THROTTLE_POLICY.maxFailures, '429 too_many_attempts': N - THROTTLE_POLICY.maxFailures });
    expect(profile?.['status'], 'the account is intact').to.equal('active');
    expect(credentials?.['userId']).to.equal(patcher.userId);
    expect((await api.get('/v1/users/me', { token: patcher.token })).status).to.equal(200);
    await consistent([patcher.userId, deleter.userId]);
  });

  it('a password change racing parallel logins with the old password and refreshes of sessions created just before it: no old-password session survives (5 trials)', async () => {
    const started = Date.now();
    const TRIALS = 5;
    const outcomes: string[] = [];
    const survivors: number[] = [];
    const found: string[] = [];
    const loginTimes: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const { userId, email, password, token } = await account(`race-password-${trial}`);
      const caller = (await partition(tables.sessions, userId)).map((item) => item['id'] as string);
      const loginStarted = Date.now();
      const before = await Promise.all([0, 1].map(() => api.post<Tokens>('/v1/sessions', { body: { email, password, remember: true } })));
      const loginMs = Date.now() - loginStarted;
      loginTimes.push(loginMs);
      expect(before.map((response) => response.status)).to.deep.equal([201, 201]);
      const newPassword = `${password}-changed`;
      // A login is dangerous when it reads the old credentials just before the change commits and
      // writes its session just after the change has looked for sessions to revoke: the change
      // (password check, new hash, write, revocation) takes about two logins, so the logins start
      // spread over the second half of it (four: a fifth failure would lock the account).
      const [change, logins, refreshes] = await Promise.all([
        api.patch<ErrorBody>('/v1/users/me', { token, body: { password: newPassword, currentPassword: password } }),
        Promise.all(
          [0.7, 1, 1.3, 1.6].map(async (share) => {
            await pause(share * loginMs + Math.random() * 10);
            return api.post<Tokens & ErrorBody>('/v1/sessions', { body: { email, password, remember: true } });
          }),
        ),
        Promise.all(
          before.map(async (session) => {
            await jitter(40);
            return api.post<Tokens & ErrorBody>('/v1/sessions/refresh', { body: { refreshToken: session.body.refreshToken } });
          }),
        ),
      ]);
      expect(change.status, change.text).to.equal(200);
      outcomes.push(...logins.map((response) => `login ${label(response, 201)}`), ...refreshes.map((response) => `refresh ${label(response, 200)}`));

      const stored = (await partition(tables.sessions, userId)).map((item) => item['id'] as string);
      const issued = [...before, ...logins, ...refreshes].filter((response) => response.status === 200 || response.status === 201).map((response) => response.body);
      const alive: string[] = [];
      for (const tokens of issued) {
        if ((await api.get('/v1/users/me', { token: tokens.accessToken })).status !== 401) alive.push(`access token of ${tokens.sessionId}`);
        if ((await api.post('/v1/sessions/refresh', { body: { refreshToken: tokens.refreshToken } })).status !== 401) alive.push(`refresh token of ${tokens.sessionId}`);
      }
      const survived = stored.filter((id) => !caller.includes(id));
      survivors.push(survived.length);
      found.push(...survived.map((id) => `trial ${trial}: session ${id} survived`), ...alive.map((what) => `trial ${trial}: ${what} works`));
      expect(stored, 'the session that changed the password stays').to.include.members(caller);
      expect((await api.get('/v1/users/me', { token })).status, 'the caller stays logged in').to.equal(200);
      expect((await api.post('/v1/sessions', { body: { email, password: newPassword } })).status, 'the new password works').to.equal(201);
      expect((await api.post('/v1/sessions', { body: { email, password } })).status, 'the old one does not').to.equal(401);
      await consistent([userId]);
    }
    figures.push({
      scenario: 'password change vs. 4 logins and 2 refreshes',
      attempts: TRIALS,
      outcomes: tally(outcomes),
      final: { survivingOldPasswordSessions: survivors, loginMs: loginTimes },
      ms: Date.now() - started,
    });
    expect(found, 'old-password sessions or tokens that outlived the change').to.deep.equal([]);
  });

  it('logout racing refreshes of the same session: the session is gone and no token a refresh returned works (5 trials)', async () => {
    const started = Date.now();
    const outcomes: string[] = [];
    for (let trial = 0; trial < 5; trial++) {
      const { userId, email, password } = await account(`race-logout-${trial}`);
      const session = (await api.post<Tokens>('/v1/sessions', { body: { email, password } })).body;
      const [logout, ...refreshes] = await Promise.all([
        api.delete<ErrorBody>('/v1/sessions/current', { token: session.accessToken }),
        ...Array.from({ length: 5 }, async () => {
          await jitter(20);
          return api.post<Tokens & ErrorBody>('/v1/sessions/refresh', { body: { refreshToken: session.refreshToken } });
        }),
      ]);
      outcomes.push(`logout ${label(logout, 204)}`, ...refreshes.map((response) => `refresh ${label(response, 200)}`));
      const stored = (await partition(tables.sessions, userId)).map((item) => item['id']);
      expect(stored, 'the session is gone').not.to.include(session.sessionId);
      for (const tokens of [session, ...refreshes.filter((response) => response.status === 200).map((response) => response.body)]) {
        expect((await api.get('/v1/users/me', { token: tokens.accessToken })).status).to.equal(401);
        expect((await api.post('/v1/sessions/refresh', { body: { refreshToken: tokens.refreshToken } })).status).to.equal(401);
      }
      await consistent([userId]);
    }
    figures.push({ scenario: 'logout vs. 5 refreshes', attempts: 5, outcomes: tally(outcomes), final: { survivingSessions: 0 }, ms: Date.now() - started });
  });

  it('account deletion racing creates, uploads (through forms issued before it, during and after) and analyses: nothing of the user remains in DynamoDB or S3 (3 trials)', async () => {
    const started = Date.now();
    const png = fixture('graphic.png');
    const outcomes: string[] = [];
    const leftovers: Array<Record<string, number>> = [];
    for (let trial = 0; trial < 3; trial++) {
      const { userId, email, password, token } = await account(`race-delete-account-${trial}`);
      const ready = await upload(api, token, { bytes: png, filename: 'g.png', contentType: 'image/png' });
      expect((await settled(api, token, ready.media.id)).status).to.equal('ready');
      const createForm = () => api.post<UploadBody & ErrorBody>('/v1/media', { token, body: { filename: 'f.png', contentType: 'image/png', size: png.length } });
      const issuedBefore = await Promise.all(Array.from({ length: 6 }, createForm));
      expect(issuedBefore.map((response) => response.status)).to.deep.equal([201, 201, 201, 201, 201, 201]);

      const [deletion, creates, analyses, uploadsDuring] = await Promise.all([
        api.delete<ErrorBody>('/v1/users/me', { token, body: { password } }),
        Promise.all(
          Array.from({ length: 8 }, async () => {
            await jitter(150);
            return createForm();
          }),
        ),
        Promise.all(
          Array.from({ length: 4 }, async () => {
            await jitter(150);
            return api.post<ErrorBody>(`/v1/media/${ready.media.id}/analyses`, { token, body: {} });
          }),
        ),
        Promise.all(
          issuedBefore.slice(0, 3).map(async (response) => {
            await jitter(150);
            return postForm(response.body.upload, png, 'image/png');
          }),
        ),
      ]);
      expect(deletion.status, deletion.text).to.equal(204);
      // The rest of the forms issued before the deletion, and those of creates that raced it, used after it.
      const lateForms = [...issuedBefore.slice(3), ...creates.filter((response) => response.status === 201)].map((response) => response.body.upload);
      const uploadsAfter = await Promise.all(lateForms.map((form) => postForm(form, png, 'image/png')));
      outcomes.push(
        ...creates.map((response) => `create ${label(response, 201)}`),
        ...analyses.map((response) => `analysis ${label(response, 202)}`),
        ...uploadsDuring.map((status) => `upload during ${status}`),
        ...uploadsAfter.map((status) => `upload after ${status}`),
      );

      // processUpload removes what late uploads stored (an S3 event each): wait for it to settle.
      const remaining = async (): Promise<Record<string, number>> => {
        const [users, sessionsLeft, mediaLeft, analysesLeft, objects] = await Promise.all([
          Promise.all([
            dynamo.send(new GetCommand({ TableName: tables.users, Key: userKey(userId), ConsistentRead: true })),
            dynamo.send(new GetCommand({ TableName: tables.users, Key: credentialsKey(email), ConsistentRead: true })),
          ]),
          partition(tables.sessions, userId),
          partition(tables.media, userId),
          partition(tables.analyses, userId),
          keysUnder(`media/${userId}/`),
        ]);
        return {
          usersTableItems: users.filter((read) => read.Item !== undefined).length,
          sessions: sessionsLeft.length,
          mediaTableItems: mediaLeft.length,
          analyses: analysesLeft.length,
          objects: objects.length,
        };
      };
      const nothing = { usersTableItems: 0, sessions: 0, mediaTableItems: 0, analyses: 0, objects: 0 };
      let left = await remaining();
      for (const deadline = Date.now() + 20_000; JSON.stringify(left) !== JSON.stringify(nothing) && Date.now() < deadline; left = await remaining()) await pause(250);
      // Late S3 events for the forms used after the deletion may still be on their way: look again a little later.
      await pause(1500);
      left = await remaining();
      leftovers.push(left);
      expect(left, `trial ${trial}: what is left of the deleted account`).to.deep.equal(nothing);
      await consistent([userId]);
    }
    figures.push({ scenario: 'account deletion vs. 8 creates, 4 analyses, 3 uploads during, 3+ after', attempts: 3, outcomes: tally(outcomes), final: { leftovers }, ms: Date.now() - started });
  });
});
