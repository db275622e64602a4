import { expect } from 'chai';
import proxyquire from 'proxyquire';
import sinon from 'sinon';
import { ulid } from 'ulid';
import { fixedClock, memoryAnalysisQueue, memoryAnalysisStore, memoryContentStore, memoryMediaStore, sequentialIds } from '../../local/test/fakes';
import { pendingMediaRecord } from '../../local/test/records';
import type { CallbackOutcome } from '../analysis/callback';
import { originalKey } from '../content/keys';
import { HttpError } from '../http/errors';
import type { MediaRecord } from '../stores/media';
import {
  ABANDONED_AFTER_MS,
  AnalysisBusy,
  MAX_ATTEMPTS,
  NOT_STARTED_AFTER_MS,
  getAnalysis,
  requestAnalysis,
  runAnalysis,
  type WorkerDeps,
} from './analyses';
import type * as AnalysesModule from './analyses';

const settings = { leaseSeconds: 90, labelsEnabled: false, callbackPolicy: { allowLoopback: false } };
const publicResolver = async (): Promise<string[]> => ['93.184.216.34'];

function world() {
  const clock = fixedClock();
  const analyses = memoryAnalysisStore();
  const media = memoryMediaStore();
  const content = memoryContentStore();
  const queue = memoryAnalysisQueue();
  const deliveries: Array<{ url: string; body: string }> = [];
  const worker: WorkerDeps = {
    analyses,
    media,
    clock,
    settings,
    bucket: 'bucket',
    deliver: async ({ url, body }): Promise<CallbackOutcome> => {
      deliveries.push({ url, body });
      return { url, status: 'delivered', attempts: 1, statusCode: 200, lastAttemptAt: clock.now().toISOString() };
    },
  };
  const request = { analyses, media, queue, clock, newId: sequentialIds(), settings, resolve: publicResolver };
  return { clock, analyses, media, content, queue, deliveries, worker, request };
}

async function image(w: ReturnType<typeof world>, userId: string, fields: Partial<MediaRecord> = {}, hash = '0123456789abcdef'): Promise<MediaRecord> {
  const now = w.clock.now().toISOString();
  const record = pendingMediaRecord(userId, { filename: 'a.jpg', size: 3, createdAt: now, updatedAt: now, ...fields });
  await w.media.createPending(record);
  if (fields.status === undefined) await w.media.markReady(record, { width: 1, height: 1, perceptualHash: hash, dominantColors: [{ hex: '#ff0000', ratio: 1 }] }, '"e"', now);
  await w.content.put(originalKey(userId, record.id), Buffer.from('img'), 'image/jpeg');
  return (await w.media.get(userId, record.id)) as MediaRecord;
}

async function rejected(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(HttpError);
    return error as HttpError;
  }
  throw new Error('expected a rejection');
}

describe('analyses domain', () => {
  const caller = { userId: ulid() };

  describe('requestAnalysis', () => {
    it('records a queued job, then publishes it', async () => {
      const w = world();
      const item = await image(w, caller.userId);
      const job = await requestAnalysis(w.request, caller, item.id, { callbackUrl: 'https://example.com/hook' });
      expect(job).to.include({ mediaId: item.id, status: 'queued' });
      expect(w.queue.published).to.deep.equal([{ userId: caller.userId, analysisId: job.id }]);
      expect((await w.analyses.get(caller.userId, job.id))?.callbackUrl).to.equal('https://example.com/hook');
    });

    it('404 for missing, deleted or foreign items; 409 for items that are not ready images', async () => {
      const w = world();
      const item = await image(w, caller.userId);
      expect((await rejected(requestAnalysis(w.request, { userId: ulid() }, item.id, {}))).status).to.equal(404);
      expect((await rejected(requestAnalysis(w.request, caller, ulid(), {}))).status).to.equal(404);
      const pending = await image(w, caller.userId, { status: 'pending' });
      expect((await rejected(requestAnalysis(w.request, caller, pending.id, {}))).code).to.equal('media_not_ready');
      const video = await image(w, caller.userId, { type: 'video', contentType: 'video/mp4' });
      expect((await rejected(requestAnalysis(w.request, caller, video.id, {}))).code).to.equal('not_an_image');
      await w.media.beginDelete(item);
      expect((await rejected(requestAnalysis(w.request, caller, item.id, {}))).status).to.equal(404);
      expect(w.queue.published).to.deep.equal([]);
    });

    it('400 for a callback URL the SSRF guard refuses, with nothing recorded', async () => {
      const w = world();
      const item = await image(w, caller.userId);
      const error = await rejected(requestAnalysis({ ...w.request, resolve: async () => ['10.1.2.3'] }, caller, item.id, { callbackUrl: 'https://intranet.example/hook' }));
      expect(error.status).to.equal(400);
      expect(error.details?.[0]).to.include({ path: 'body.callbackUrl', code: 'invalid_callback_url' });
      expect(w.analyses.records.size).to.equal(0);
    });

    it('a URL check that breaks (a bug, not a refusal) is not blamed on the client: the error itself, nothing recorded', async () => {
      const w = world();
      const item = await image(w, caller.userId);
      const bug = new TypeError('Cannot read properties of undefined');
      const checkCallbackUrl = sinon.stub().rejects(bug);
      const analyses = proxyquire<typeof AnalysesModule>('./analyses', { '../net/callbackUrl': { checkCallbackUrl } });
      let thrown: unknown;
      await analyses.requestAnalysis(w.request, caller, item.id, { callbackUrl: 'https://example.com/hook' }).catch((caught: unknown) => (thrown = caught));
      expect(thrown).to.equal(bug);
      expect(checkCallbackUrl.firstCall.args[0]).to.equal('https://example.com/hook');
      expect(w.analyses.records.size).to.equal(0);
      expect(w.queue.published).to.deep.equal([]);
    });

    it('an item deleted (or no longer ready) between the check and the job write: 404 or 409, no job, nothing published', async () => {
      for (const [change, expected] of [
        ['deleted', [404, 'media_not_found']],
        ['rejected (a re-upload through the same form)', [409, 'media_not_ready']],
        ['ready again by the re-check', [409, 'media_not_ready']],
      ] as const) {
        const w = world();
        const item = await image(w, caller.userId);
        const analyses = memoryAnalysisStore(w.media);
        let reads = 0;
        const media = {
          get: async (userId: string, id: string) => {
            reads += 1;
            if (reads === 1 || change.startsWith('ready again')) return item; // the check sees a ready image
            return w.media.get(userId, id);
          },
        };
        // Between the check and the write the item changes.
        if (change === 'deleted') await w.media.deleteUserData(caller.userId);
        else await w.media.markRejected(item, 'type_mismatch', w.clock.now().toISOString());
        const error = await rejected(requestAnalysis({ ...w.request, analyses, media }, caller, item.id, {}));
        expect([error.status, error.code], change).to.deep.equal(expected);
        expect(analyses.records.size).to.equal(0);
        expect(w.queue.published).to.deep.equal([]);
      }
    });

    it('a publish that fails removes the job again: 503 for a dependency failure, the error itself otherwise', async () => {
      const w = world();
      const item = await image(w, caller.userId);
      w.queue.failNext(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
      const error = await rejected(requestAnalysis(w.request, caller, item.id, {}));
      expect([error.status, error.headers?.['retry-after']]).to.deep.equal([503, '2']);
      expect(w.analyses.records.size).to.equal(0);
      w.queue.failNext(new TypeError('bug'));
      let thrown: unknown;
      await requestAnalysis(w.request, caller, item.id, {}).catch((caught: unknown) => (thrown = caught));
      expect(thrown).to.be.instanceOf(TypeError);
      expect(w.analyses.records.size).to.equal(0);
    });
  });

  describe('runAnalysis', () => {
    async function queued(w: ReturnType<typeof world>, fields: Partial<MediaRecord> = {}, callbackUrl?: string) {
      const item = await image(w, caller.userId, fields);
      const job = await requestAnalysis(w.request, caller, item.id, callbackUrl === undefined ? {} : { callbackUrl });
      return { item, job, message: { userId: caller.userId, analysisId: job.id } };
    }

    it('succeeds with the stored hash, colours, similar images of the same user (not itself) and no labels where disabled', async () => {
      const w = world();
      const close = await image(w, caller.userId, {}, '0123456789abcdee');
      await image(w, caller.userId, {}, 'fedcba9876543210');
      await image(w, ulid(), {}, '0123456789abcdef');
      const { message } = await queued(w);
      expect(await runAnalysis(w.worker, message)).to.equal('succeeded');
      const job = await w.analyses.get(caller.userId, message.analysisId);
      expect(job?.status).to.equal('succeeded');
      expect(job?.result).to.deep.equal({
        perceptualHash: '0123456789abcdef',
        dominantColors: [{ hex: '#ff0000', ratio: 1 }],
        similarMedia: [{ mediaId: close.id, distance: 1 }],
        labels: null,
        labelsSource: 'disabled',
      });
      expect(job).not.to.have.any.keys('runId', 'leaseExpiresAt');
    });

    it('asks Rekognition for labels where enabled', async () => {
      const w = world();
      const labeler = { detect: sinon.spy(async () => [{ name: 'Tower', confidence: 98.1 }]) };
      const { item, message } = await queued(w);
      await runAnalysis({ ...w.worker, labeler, settings: { ...settings, labelsEnabled: true } }, message);
      const job = await w.analyses.get(caller.userId, message.analysisId);
      expect(job?.result).to.include({ perceptualHash: '0123456789abcdef', labelsSource: 'rekognition' });
      expect(job?.result?.labels).to.deep.equal([{ name: 'Tower', confidence: 98.1 }]);
      expect(labeler.detect.firstCall.args).to.deep.equal(['bucket', originalKey(caller.userId, item.id)]);
    });

    for (const [what, fields] of [
      ['a WebP', { contentType: 'image/webp', filename: 'a.webp' }],
      ['a GIF', { contentType: 'image/gif', filename: 'a.gif' }],
      ['a JPEG over 15 MB', { size: 15 * 1024 * 1024 + 1 }],
    ] as const) {
      it(`${what}: Rekognition cannot read it, so the job succeeds without asking, labels null, labelsSource "unsupported"`, async () => {
        const w = world();
        const labeler = { detect: sinon.spy(async () => [{ name: 'Tower', confidence: 98.1 }]) };
        const { message } = await queued(w, fields);
        expect(await runAnalysis({ ...w.worker, labeler, settings: { ...settings, labelsEnabled: true } }, message)).to.equal('succeeded');
        const job = await w.analyses.get(caller.userId, message.analysisId);
        expect(job?.result).to.include({ labels: null, labelsSource: 'unsupported' });
        expect(labeler.detect.called).to.equal(false);
      });
    }

    it('a PNG of exactly 15 MB is labelled', async () => {
      const w = world();
      const labeler = { detect: sinon.spy(async () => []) };
      const { message } = await queued(w, { contentType: 'image/png', size: 15 * 1024 * 1024 });
      await runAnalysis({ ...w.worker, labeler, settings: { ...settings, labelsEnabled: true } }, message);
      expect((await w.analyses.get(caller.userId, message.analysisId))?.result).to.deep.include({ labels: [], labelsSource: 'rekognition' });
    });

    it('an image processed without a hash (before hashing existed) ends failed with media_unavailable', async () => {
      const w = world();
      const { item, message } = await queued(w);
      const stored = w.media.items.get(`${caller.userId}/${item.id}`) as MediaRecord;
      delete stored.perceptualHash;
      expect(await runAnalysis(w.worker, message)).to.equal('failed');
      expect((await w.analyses.get(caller.userId, message.analysisId))?.error?.code).to.equal('media_unavailable');
    });

    it('a duplicate delivery does the work once: the second finds the job claimed (busy) and, later, done', async () => {
      const w = world();
      const { message } = await queued(w);
      let release!: () => void;
      const findSimilar = sinon.spy(() => new Promise<Array<{ mediaId: string; distance: number }>>((resolve) => (release = () => resolve([]))));
      w.worker.media = { get: (userId, id) => w.media.get(userId, id), findSimilar };
      const first = runAnalysis(w.worker, message);
      await new Promise((resolve) => setImmediate(resolve));
      let busy: unknown;
      await runAnalysis(w.worker, message).catch((error: unknown) => (busy = error));
      expect(busy).to.be.instanceOf(AnalysisBusy);
      release();
      expect(await first).to.equal('succeeded');
      expect(await runAnalysis(w.worker, message)).to.equal('already-done');
      expect(findSimilar.callCount, 'the work was done once').to.equal(1);
    });

    it('a run that crashed is taken over once its lease expired, and a job nobody takes over is reported timed_out', async () => {
      const w = world();
      const { message } = await queued(w);
      const crashed = await w.analyses.claim((await w.analyses.get(caller.userId, message.analysisId))!, 'crashed-run', new Date(w.clock.now().getTime() + 90_000).toISOString(), w.clock.now().toISOString());
      expect(crashed?.status).to.equal('running');

      w.clock.advance(60_000);
      let busy: unknown;
      await runAnalysis(w.worker, message).catch((error: unknown) => (busy = error));
      expect(busy, 'the lease still holds').to.be.instanceOf(AnalysisBusy);
      w.clock.advance(31_000);
      expect(await runAnalysis(w.worker, message), 'the retry after the lease takes over').to.equal('succeeded');
      expect((await w.analyses.get(caller.userId, message.analysisId))?.attempts).to.equal(2);

      const other = await queued(w);
      const stuck = (await w.analyses.get(caller.userId, other.job.id))!;
      await w.analyses.claim(stuck, 'crashed-run', new Date(w.clock.now().getTime() + 90_000).toISOString(), w.clock.now().toISOString());
      w.clock.advance(90_000 + ABANDONED_AFTER_MS - 1000);
      expect((await getAnalysis(w.request, caller, other.job.id)).status, 'not yet').to.equal('running');
      w.clock.advance(2000);
      const reported = await getAnalysis(w.request, caller, other.job.id);
      expect(reported).to.include({ status: 'failed' });
      expect(reported.error?.code).to.equal('timed_out');
      expect((await w.analyses.get(caller.userId, other.job.id))?.status, 'recorded').to.equal('failed');
    });

    it(`gives up after ${MAX_ATTEMPTS} runs that did not finish (worker_failed) and calls back`, async () => {
      const w = world();
      const { message } = await queued(w, {}, 'https://example.com/hook');
      for (let run = 0; run < MAX_ATTEMPTS; run++) {
        const job = (await w.analyses.get(caller.userId, message.analysisId))!;
        await w.analyses.claim(job, `run-${run}`, new Date(w.clock.now().getTime() + 90_000).toISOString(), w.clock.now().toISOString());
        w.clock.advance(91_000);
      }
      expect(await runAnalysis(w.worker, message)).to.equal('failed');
      const job = await w.analyses.get(caller.userId, message.analysisId);
      expect(job?.error?.code).to.equal('worker_failed');
      expect(job?.callback?.status).to.equal('delivered');
      expect(JSON.parse(w.deliveries[0]?.body ?? '{}')).to.include({ id: message.analysisId, status: 'failed' });
    });

    it('a passing dependency failure hands the job back to queued and fails the delivery for Lambda to retry', async () => {
      const w = world();
      const { message } = await queued(w);
      const throttled = Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      let thrown: unknown;
      await runAnalysis({ ...w.worker, media: { get: (userId, id) => w.media.get(userId, id), findSimilar: () => Promise.reject(throttled) } }, message).catch(
        (error: unknown) => (thrown = error),
      );
      expect(thrown).to.equal(throttled);
      expect((await w.analyses.get(caller.userId, message.analysisId))?.status).to.equal('queued');
      expect(await runAnalysis(w.worker, message), 'the retry').to.equal('succeeded');
    });

    it('ends failed with a reason for deleted media and unexpected errors (reported)', async () => {
      const w = world();
      const deleted = await queued(w);
      await w.media.beginDelete(deleted.item);
      expect(await runAnalysis(w.worker, deleted.message)).to.equal('failed');
      expect((await w.analyses.get(caller.userId, deleted.job.id))?.error?.code).to.equal('media_unavailable');

      const report = sinon.spy();
      const buggy = await queued(w);
      await runAnalysis({ ...w.worker, report, media: { get: (userId, id) => w.media.get(userId, id), findSimilar: () => Promise.reject(new TypeError('x is undefined')) } }, buggy.message);
      const job = await w.analyses.get(caller.userId, buggy.job.id);
      expect(job?.error).to.deep.equal({ code: 'internal_error', message: 'The analysis failed unexpectedly' });
      expect(report.calledOnce).to.equal(true);
    });

    it('calls back with the finished job and records the outcome', async () => {
      const w = world();
      const { message } = await queued(w, {}, 'https://example.com/hook');
      await runAnalysis(w.worker, message);
      const job = await w.analyses.get(caller.userId, message.analysisId);
      expect(w.deliveries).to.have.length(1);
      const body = JSON.parse(w.deliveries[0]?.body ?? '{}') as Record<string, unknown>;
      expect(body).to.deep.equal(JSON.parse(JSON.stringify({ ...job, callback: undefined, userId: undefined, attempts: undefined, callbackUrl: undefined })));
      expect(job?.callback).to.include({ status: 'delivered', statusCode: 200 });
    });

    it('a run that lost its lease (taken over meanwhile) does not overwrite the newer run', async () => {
      const w = world();
      const { message } = await queued(w);
      w.worker.media = {
        get: (userId, id) => w.media.get(userId, id),
        findSimilar: async () => {
          // Meanwhile the lease expires and another delivery takes the job over.
          w.clock.advance(91_000);
          const job = (await w.analyses.get(caller.userId, message.analysisId))!;
          await w.analyses.claim(job, 'newer-run', new Date(w.clock.now().getTime() + 90_000).toISOString(), w.clock.now().toISOString());
          return [];
        },
      };
      expect(await runAnalysis(w.worker, message)).to.equal('superseded');
      expect((await w.analyses.get(caller.userId, message.analysisId))?.runId).to.equal('newer-run');
    });

    it('a delivery that loses the claim to a concurrent one is busy (Lambda retries it) and changes nothing', async () => {
      const w = world();
      const { message } = await queued(w);
      const claim = w.analyses.claim.bind(w.analyses);
      w.analyses.claim = async (record, runId, leaseExpiresAt, now) => {
        await claim(record, 'concurrent-run', leaseExpiresAt, now); // the other delivery gets there first
        return claim(record, runId, leaseExpiresAt, now);
      };
      let busy: unknown;
      await runAnalysis(w.worker, message).catch((error: unknown) => (busy = error));
      expect(busy).to.be.instanceOf(AnalysisBusy);
      expect(await w.analyses.get(caller.userId, message.analysisId)).to.include({ status: 'running', runId: 'concurrent-run', attempts: 1 });
    });

    it(`giving up after ${MAX_ATTEMPTS} runs yields to whoever ended the job first: superseded, no second callback`, async () => {
      const w = world();
      const { message } = await queued(w, {}, 'https://example.com/hook');
      for (let run = 0; run < MAX_ATTEMPTS; run++) {
        const job = (await w.analyses.get(caller.userId, message.analysisId))!;
        await w.analyses.claim(job, `run-${run}`, new Date(w.clock.now().getTime() + 90_000).toISOString(), w.clock.now().toISOString());
        w.clock.advance(91_000);
      }
      w.clock.advance(ABANDONED_AFTER_MS);
      const failIfUnchanged = w.analyses.failIfUnchanged.bind(w.analyses);
      let polled = false;
      w.analyses.failIfUnchanged = async (record, error, now) => {
        if (!polled) {
          polled = true;
          await getAnalysis(w.request, caller, record.id); // a client polls at that moment: reported timed_out
        }
        return failIfUnchanged(record, error, now);
      };
      expect(await runAnalysis(w.worker, message)).to.equal('superseded');
      expect((await w.analyses.get(caller.userId, message.analysisId))?.error?.code).to.equal('timed_out');
      expect(w.deliveries).to.deep.equal([]);
    });

    it('a message for a job that does not exist is dropped', async () => {
      expect(await runAnalysis(world().worker, { userId: caller.userId, analysisId: ulid() })).to.equal('missing');
    });
  });

  describe('getAnalysis', () => {
    it('shows the outcome of the callback once it was made', async () => {
      const w = world();
      const item = await image(w, caller.userId);
      const job = await requestAnalysis(w.request, caller, item.id, { callbackUrl: 'https://example.com/hook' });
      expect(await getAnalysis(w.request, caller, job.id)).to.not.have.property('callback');
      await runAnalysis(w.worker, { userId: caller.userId, analysisId: job.id });
      const view = await getAnalysis(w.request, caller, job.id);
      expect(view.status).to.equal('succeeded');
      expect(view.callback).to.deep.equal({ url: 'https://example.com/hook', status: 'delivered', attempts: 1, statusCode: 200, lastAttemptAt: w.clock.now().toISOString() });
    });

    it('a stuck job that a worker starts just as it is reported: the worker\'s state, not failed', async () => {
      const w = world();
      const item = await image(w, caller.userId);
      const job = await requestAnalysis(w.request, caller, item.id, {});
      w.clock.advance(NOT_STARTED_AFTER_MS + 1000);
      const failIfUnchanged = w.analyses.failIfUnchanged.bind(w.analyses);
      w.analyses.failIfUnchanged = async (record, error, now) => {
        await w.analyses.claim(record, 'late-worker', new Date(w.clock.now().getTime() + 90_000).toISOString(), now);
        return failIfUnchanged(record, error, now);
      };
      const view = await getAnalysis(w.request, caller, job.id);
      expect(view.status).to.equal('running');
      expect(view).to.not.have.property('error');
      expect((await w.analyses.get(caller.userId, job.id))?.status).to.equal('running');
    });

    it('a stuck job deleted just as it is reported (its account went): answered as it was read', async () => {
      const w = world();
      const item = await image(w, caller.userId);
      const job = await requestAnalysis(w.request, caller, item.id, {});
      w.clock.advance(NOT_STARTED_AFTER_MS + 1000);
      const failIfUnchanged = w.analyses.failIfUnchanged.bind(w.analyses);
      w.analyses.failIfUnchanged = async (record, error, now) => {
        await w.analyses.deleteUserData(record.userId);
        return failIfUnchanged(record, error, now);
      };
      expect(await getAnalysis(w.request, caller, job.id)).to.deep.equal(job);
    });


    it('404 for other users and unknown ids; a job queued for over an hour is reported not_started', async () => {
      const w = world();
      const item = await image(w, caller.userId);
      const job = await requestAnalysis(w.request, caller, item.id, {});
      expect((await rejected(getAnalysis(w.request, { userId: ulid() }, job.id))).status).to.equal(404);
      expect((await rejected(getAnalysis(w.request, caller, ulid()))).code).to.equal('analysis_not_found');
      w.clock.advance(NOT_STARTED_AFTER_MS - 1000);
      expect((await getAnalysis(w.request, caller, job.id)).status).to.equal('queued');
      w.clock.advance(2000);
      expect((await getAnalysis(w.request, caller, job.id)).error?.code).to.equal('not_started');
    });
  });
});
