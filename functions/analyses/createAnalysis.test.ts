import { expect } from 'chai';
import { ulid } from 'ulid';
import { invoke } from '../../local/test/events';
import { memoryAnalysisQueue, memoryAnalysisStore, type MemoryAnalysisQueue, type MemoryAnalysisStore } from '../../local/test/fakes';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';
import type { MediaRecord } from '../../shared/stores/media';

interface JobBody {
  id: string;
  mediaId: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  [field: string]: unknown;
}
interface ErrorBody {
  error: { code: string; details?: Array<{ path: string }> };
}
type Caller = { userId: string; sessionId: string };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('POST /v1/media/{id}/analyses (createAnalysis)', () => {
  let world: HandlerWorld;
  let analyses: MemoryAnalysisStore;
  let queue: MemoryAnalysisQueue;
  let handler: unknown;
  const caller = { userId: ulid(), sessionId: ulid() };
  const stranger = { userId: ulid(), sessionId: ulid() };

  const stubs = () => ({
    '../../shared/stores/analysesTable': { analyses, '@noCallThru': true },
    '../../shared/messaging/analysisQueue': { analysisQueue: queue, '@noCallThru': true },
  });

  beforeEach(() => {
    world = handlerWorld();
    analyses = memoryAnalysisStore();
    queue = memoryAnalysisQueue();
    handler = loadHandler('functions/analyses/createAnalysis', world, stubs());
  });

  async function mediaItem(userId: string, options: { type?: 'image' | 'video'; ready?: boolean } = {}): Promise<MediaRecord> {
    const now = new Date().toISOString();
    const type = options.type ?? 'image';
    const record = pendingMediaRecord(userId, {
      filename: type === 'image' ? 'photo.jpg' : 'clip.mp4',
      contentType: type === 'image' ? 'image/jpeg' : 'video/mp4',
      size: 10,
      type,
      createdAt: now,
      updatedAt: now,
    });
    await world.media.createPending(record);
    if (options.ready !== false) {
      expect(await world.media.markReady(record, { width: 1, height: 1, ...(type === 'image' ? { perceptualHash: '0123456789abcdef' } : { durationSeconds: 1 }) }, '"etag"', now)).to.equal(true);
    }
    return record;
  }

  const post = <T = JobBody>(id: string, body?: unknown, who: Caller = caller, target: unknown = handler) =>
    invoke<T>(target, { method: 'POST', caller: who, pathParameters: { id }, ...(body === undefined ? {} : { body }) });

  function expectNothingQueued(): void {
    expect(analyses.records.size).to.equal(0);
    expect(queue.published).to.deep.equal([]);
  }

  it('202 with exactly {id, mediaId, status queued, createdAt, updatedAt} and Location; the job is stored queued and published once', async () => {
    const item = await mediaItem(caller.userId);
    const response = await post(item.id, {});
    expect(response.status).to.equal(202);
    const { id, createdAt } = response.body;
    expect(id).to.match(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(createdAt).to.match(ISO);
    expect(response.body).to.deep.equal({ id, mediaId: item.id, status: 'queued', createdAt, updatedAt: createdAt });
    expect(response.headers['location']).to.equal(`/v1/analyses/${id}`);
    expect(await analyses.get(caller.userId, id)).to.deep.equal({ id, userId: caller.userId, mediaId: item.id, status: 'queued', createdAt, updatedAt: createdAt, attempts: 0 });
    expect(queue.published).to.deep.equal([{ userId: caller.userId, analysisId: id }]);
  });

  it('accepts a request with no body at all (no callback URL)', async () => {
    const item = await mediaItem(caller.userId);
    const response = await post(item.id);
    expect(response.status).to.equal(202);
    const stored = await analyses.get(caller.userId, response.body.id);
    expect(stored?.status).to.equal('queued');
    expect(stored).not.to.have.property('callbackUrl');
    expect(queue.published).to.have.length(1);
  });

  it('accepts a loopback callback URL on the local stage and stores it (not echoed in the response)', async () => {
    const item = await mediaItem(caller.userId);
    const response = await post(item.id, { callbackUrl: 'http://127.0.0.1:9/x' });
    expect(response.status).to.equal(202);
    expect(response.body).to.have.keys(['id', 'mediaId', 'status', 'createdAt', 'updatedAt']);
    expect((await analyses.get(caller.userId, response.body.id))?.callbackUrl).to.equal('http://127.0.0.1:9/x');
  });

  for (const callbackUrl of ['http://169.254.169.254/', 'https://10.0.0.1/', 'file:///etc/passwd', 'https://user:pw@127.0.0.1/', 'not a url']) {
    it(`400 validation_failed at body.callbackUrl for ${callbackUrl}, and no job`, async () => {
      const item = await mediaItem(caller.userId);
      const response = await post<ErrorBody>(item.id, { callbackUrl });
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
      expect(response.body.error.details?.map((detail) => detail.path)).to.deep.equal(['body.callbackUrl']);
      expectNothingQueued();
    });
  }

  it('where loopback is not allowed: 400 for http://127.0.0.1:9/x and https://localhost/x', async () => {
    const strict = loadHandler('functions/analyses/createAnalysis', world, {
      ...stubs(),
      '../../shared/config/analysis': { analysisSettings: { leaseSeconds: 90, labelsEnabled: false, callbackPolicy: { allowLoopback: false } } },
    });
    const item = await mediaItem(caller.userId);
    for (const callbackUrl of ['http://127.0.0.1:9/x', 'https://localhost/x']) {
      const response = await post<ErrorBody>(item.id, { callbackUrl }, caller, strict);
      expect(response.status, callbackUrl).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
      expect(response.body.error.details?.[0]?.path).to.equal('body.callbackUrl');
    }
    expectNothingQueued();
  });

  it('409 media_not_ready for a pending item', async () => {
    const item = await mediaItem(caller.userId, { ready: false });
    const response = await post<ErrorBody>(item.id, {});
    expect(response.status).to.equal(409);
    expect(response.body.error.code).to.equal('media_not_ready');
    expectNothingQueued();
  });

  it('409 not_an_image for a ready video', async () => {
    const item = await mediaItem(caller.userId, { type: 'video' });
    const response = await post<ErrorBody>(item.id, {});
    expect(response.status).to.equal(409);
    expect(response.body.error.code).to.equal('not_an_image');
    expectNothingQueued();
  });

  it('404 media_not_found for another user’s media id and for an unknown id', async () => {
    const theirs = await mediaItem(stranger.userId);
    for (const id of [theirs.id, ulid()]) {
      const response = await post<ErrorBody>(id, {});
      expect(response.status).to.equal(404);
      expect(response.body.error.code).to.equal('media_not_found');
    }
    expectNothingQueued();
  });

  it('400 validation_failed for a malformed media id', async () => {
    const response = await post<ErrorBody>('not-an-id', {});
    expect(response.status).to.equal(400);
    expect(response.body.error.code).to.equal('validation_failed');
    expect(response.body.error.details?.[0]?.path).to.equal('path.id');
    expectNothingQueued();
  });

  it('400 validation_failed for unknown body fields', async () => {
    const item = await mediaItem(caller.userId);
    const response = await post<ErrorBody>(item.id, { callbackUrl: 'http://127.0.0.1:9/x', priority: 'high' });
    expect(response.status).to.equal(400);
    expect(response.body.error.code).to.equal('validation_failed');
    expectNothingQueued();
  });

  it('503 with Retry-After when publishing is throttled, and no job is left behind', async () => {
    const item = await mediaItem(caller.userId);
    queue.failNext(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const response = await post<ErrorBody>(item.id, {});
    expect(response.status).to.equal(503);
    expect(response.body.error.code).to.equal('service_unavailable');
    expect(Number(response.headers['retry-after'])).to.be.greaterThan(0);
    expectNothingQueued();

    const retried = await post(item.id, {});
    expect(retried.status, 'the next request goes through').to.equal(202);
    expect(queue.published).to.deep.equal([{ userId: caller.userId, analysisId: retried.body.id }]);
  });
});
