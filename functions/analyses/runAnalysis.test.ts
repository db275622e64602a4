import type { Context, SNSEvent, SNSEventRecord } from 'aws-lambda';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { testPublicKeyPem } from '../../local/test/tokens';
import sinon from 'sinon';
import { ulid } from 'ulid';
import { lambdaContext } from '../../local/test/events';
import { memoryAnalysisStore, type MemoryAnalysisStore } from '../../local/test/fakes';
import { capturedMetrics } from '../../local/test/metrics';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';
import type { AnalysisRecord } from '../../shared/stores/analyses';
import type { MediaRecord } from '../../shared/stores/media';

type SnsHandler = (event: SNSEvent, context: Context) => Promise<void>;

function snsRecord(message: string): SNSEventRecord {
  return {
    EventVersion: '1.0',
    EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:analysis-requests:sub',
    EventSource: 'aws:sns',
    Sns: {
      SignatureVersion: '1',
      Timestamp: new Date().toISOString(),
      Signature: 'sig',
      SigningCertUrl: 'https://sns.example/cert.pem',
      MessageId: ulid(),
      Message: message,
      MessageAttributes: {},
      Type: 'Notification',
      UnsubscribeUrl: 'https://sns.example/unsubscribe',
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:analysis-requests',
      Subject: '',
    },
  };
}

const snsEvent = (...messages: string[]): SNSEvent => ({ Records: messages.map(snsRecord) });
const requestFor = (job: AnalysisRecord): string => JSON.stringify({ userId: job.userId, analysisId: job.id });

const ORIGINAL = Buffer.from('original image bytes');

describe('SNS analysis request (runAnalysis)', () => {
  let world: HandlerWorld;
  let analyses: MemoryAnalysisStore;
  let handler: SnsHandler;
  const userId = ulid();

  beforeEach(() => {
    world = handlerWorld();
    analyses = memoryAnalysisStore();
    handler = loadHandler('functions/analyses/runAnalysis', world, {
      '../../shared/stores/analysesTable': { analyses, '@noCallThru': true },
    }) as SnsHandler;
  });

  afterEach(() => sinon.restore());

  const run = (event: SNSEvent): Promise<void> => handler(event, lambdaContext('runAnalysis'));

  /** A ready image of `owner` with the given perceptual hash, its original in the bucket. */
  async function readyImage(owner: string, perceptualHash: string): Promise<MediaRecord> {
    const now = new Date().toISOString();
    const record = pendingMediaRecord(owner, { size: ORIGINAL.length, createdAt: now, updatedAt: now });
    await world.media.createPending(record);
    expect(await world.media.markReady(record, { width: 1, height: 1, perceptualHash, dominantColors: [{ hex: '#ff0000', ratio: 1 }] }, '"etag"', now)).to.equal(true);
    await world.content.put(`media/${owner}/${record.id}/original`, ORIGINAL, 'image/jpeg');
    return record;
  }

  async function queuedJob(item: MediaRecord, overrides: Partial<AnalysisRecord> = {}): Promise<AnalysisRecord> {
    const at = new Date(Date.now() - 1000).toISOString();
    const job: AnalysisRecord = { id: ulid(), userId: item.userId, mediaId: item.id, status: 'queued', createdAt: at, updatedAt: at, attempts: 0, ...overrides };
    await analyses.create(job);
    return job;
  }

  const current = (job: AnalysisRecord) => analyses.get(job.userId, job.id);

  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    throw new Error('expected the handler to throw');
  }

  it('runs a queued job to succeeded: the hash and colours made at upload, similar images of the same user (not itself), labels disabled', async () => {
    const item = await readyImage(userId, '0123456789abcdef');
    const near = await readyImage(userId, '0123456789abcdee'); // distance 1
    await readyImage(userId, 'fedcba9876543210'); // far away
    await readyImage(ulid(), '0123456789abcdef'); // another user's twin
    const job = await queuedJob(item);

    await run(snsEvent(requestFor(job)));

    const after = await current(job);
    expect(after?.status).to.equal('succeeded');
    expect(after?.result).to.deep.equal({
      perceptualHash: '0123456789abcdef',
      dominantColors: [{ hex: '#ff0000', ratio: 1 }],
      similarMedia: [{ mediaId: near.id, distance: 1 }],
      labels: null,
      labelsSource: 'disabled',
    });
    expect(after?.attempts).to.equal(1);
    expect(after).not.to.have.any.keys('runId', 'leaseExpiresAt', 'error', 'callback');
    expect(world.content.bytesRead, 'the worker decodes no image: it reads no bytes at all').to.equal(0);
  });

  it('a malformed message makes the invocation fail (AggregateError) after the other records have run', async () => {
    const item = await readyImage(userId, '0123456789abcdef');
    const job = await queuedJob(item);
    const error = await rejection(run(snsEvent('{"userId": "nope"', requestFor(job))));
    expect(error).to.be.instanceOf(AggregateError);
    expect((error as AggregateError).errors).to.have.length(1);
    expect((await current(job))?.status, 'the well-formed request still ran').to.equal('succeeded');
  });

  it('a message that is JSON but not a request (bad ids) fails the invocation too', async () => {
    const error = await rejection(run(snsEvent(JSON.stringify({ userId: 'x', analysisId: '../etc' }))));
    expect(error).to.be.instanceOf(AggregateError);
  });

  it('a job whose media item was deleted ends failed, media_unavailable', async () => {
    const item = await readyImage(userId, '0123456789abcdef');
    const job = await queuedJob(item);
    await world.media.beginDelete((await world.media.get(userId, item.id)) as MediaRecord);
    await world.media.finishDelete((await world.media.get(userId, item.id)) as MediaRecord);
    expect(await world.media.get(userId, item.id)).to.equal(undefined);

    await run(snsEvent(requestFor(job)));

    const after = await current(job);
    expect(after?.status).to.equal('failed');
    expect(after?.error?.code).to.equal('media_unavailable');
    expect(after).not.to.have.any.keys('result', 'runId', 'leaseExpiresAt');
  });

  it('an already succeeded job: nothing changes and nothing is analysed', async () => {
    const item = await readyImage(userId, '0123456789abcdef');
    const done = await queuedJob(item, {
      status: 'succeeded',
      attempts: 1,
      result: { perceptualHash: 'aaaaaaaaaaaaaaaa', dominantColors: [], similarMedia: [], labels: null, labelsSource: 'disabled' },
    });
    await run(snsEvent(requestFor(done)));
    expect(await current(done)).to.deep.equal(done);
  });

  it('calls back with the finished job, signed with the stage key (verifiable with the JWKS), and records the outcome', async () => {
    const received: Array<{ body: string; signature: string }> = [];
    const server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ body, signature: String(request.headers['x-media-library-signature']) });
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const item = await readyImage(userId, '0123456789abcdef');
      const job = await queuedJob(item, { callbackUrl: url });
      const emitted = await capturedMetrics(() => run(snsEvent(requestFor(job))));
      expect(emitted.map(({ name, dimensions }) => `${name} ${JSON.stringify(dimensions)}`), 'the callback, then the analysis').to.deep.equal([
        'Callbacks {"service":"media-library","outcome":"delivered"}',
        'Analyses {"service":"media-library","outcome":"succeeded"}',
        'AnalysisTime {"service":"media-library"}',
      ]);
      expect(received).to.have.length(1);
      const claims = jwt.verify(received[0]?.signature ?? '', testPublicKeyPem(), { algorithms: ['ES256'], audience: url, issuer: process.env['JWT_ISSUER'] }) as jwt.JwtPayload;
      expect(claims['body_sha256']).to.equal(createHash('sha256').update(received[0]?.body ?? '').digest('base64url'));
      expect(JSON.parse(received[0]?.body ?? '{}')).to.include({ id: job.id, status: 'succeeded' });
      expect((await current(job))?.callback).to.include({ status: 'delivered', attempts: 1, statusCode: 200 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
