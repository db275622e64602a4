/** The behaviour every AnalysisStore must have (DynamoDB Local and the in-memory fake). */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { ulid } from 'ulid';
import type { CallbackOutcome } from '../../../shared/analysis/callback';
import type { AnalysisRecord, AnalysisResult, AnalysisStore } from '../../../shared/stores/analyses';

const SECOND = 1000;

/** ISO timestamps relative to the start of a test. */
function timeline(): (offsetMs: number) => string {
  const start = Date.now();
  return (offsetMs) => new Date(start + offsetMs).toISOString();
}

function queuedJob(at: string, overrides: Partial<AnalysisRecord> = {}): AnalysisRecord {
  return { id: ulid(), userId: ulid(), mediaId: ulid(), status: 'queued', createdAt: at, updatedAt: at, attempts: 0, ...overrides };
}

const RESULT: AnalysisResult = {
  perceptualHash: '0123456789abcdef',
  dominantColors: [
    { hex: '#ff0000', ratio: 0.75 },
    { hex: '#00ff00', ratio: 0.25 },
  ],
  similarMedia: [
    { mediaId: ulid(), distance: 0 },
    { mediaId: ulid(), distance: 7 },
  ],
  labels: null,
  labelsSource: 'disabled',
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export function analysisStoreContract(makeStore: () => Promise<AnalysisStore>): void {
  let store: AnalysisStore;
  let at: (offsetMs: number) => string;
  beforeEach(async () => {
    store = await makeStore();
    at = timeline();
  });

  const stored = (job: AnalysisRecord) => store.get(job.userId, job.id);

  /** A job created queued and claimed by `runId` at `at(0)` with a 90 s lease. */
  async function claimedJob(runId: string, overrides: Partial<AnalysisRecord> = {}): Promise<AnalysisRecord> {
    const job = queuedJob(at(-SECOND), overrides);
    await store.create(job);
    const claimed = await store.claim(job, runId, at(90 * SECOND), at(0));
    expect(claimed?.runId).to.equal(runId);
    return claimed as AnalysisRecord;
  }

  describe('create, get and delete', () => {
    it('reads back exactly what was created (with and without a callback URL), nothing more', async () => {
      const plain = queuedJob(at(0));
      const withCallback = queuedJob(at(0), { callbackUrl: 'https://hooks.example/done?x=1' });
      await store.create(plain);
      await store.create(withCallback);
      expect(await stored(plain)).to.deep.equal(plain);
      expect(await stored(withCallback)).to.deep.equal(withCallback);
    });

    it('drops undefined fields rather than storing them', async () => {
      const job = queuedJob(at(0));
      await store.create({ ...job, callbackUrl: undefined });
      expect(await stored(job)).to.deep.equal(job);
    });

    it('refuses to create a job whose key exists, and keeps the first', async () => {
      const job = queuedJob(at(0));
      await store.create(job);
      const error = await rejection(store.create({ ...job, mediaId: ulid() }));
      expect((error as Error).name).to.equal('ConditionalCheckFailedException');
      expect(await stored(job)).to.deep.equal(job);
    });

    it('the same job id under another user is another job', async () => {
      const job = queuedJob(at(0));
      const other = { ...job, userId: ulid() };
      await store.create(job);
      await store.create(other);
      expect(await stored(other)).to.deep.equal(other);
    });

    it('get: undefined for an unknown id, and for another user’s job', async () => {
      const job = queuedJob(at(0));
      await store.create(job);
      expect(await store.get(job.userId, ulid())).to.equal(undefined);
      expect(await store.get(ulid(), job.id)).to.equal(undefined);
    });

    it('delete removes the job (and a missing one is no error)', async () => {
      const job = queuedJob(at(0));
      await store.create(job);
      await store.delete(job.userId, job.id);
      expect(await stored(job)).to.equal(undefined);
      await store.delete(job.userId, job.id);
      await store.delete(ulid(), ulid());
    });
  });

  describe('claim', () => {
    it('takes a queued job: running, this runId and lease, updatedAt now, attempts 1', async () => {
      const job = queuedJob(at(-SECOND), { callbackUrl: 'https://hooks.example/done' });
      await store.create(job);
      const runId = randomUUID();
      const claimed = await store.claim(job, runId, at(90 * SECOND), at(0));
      const expected: AnalysisRecord = { ...job, status: 'running', runId, leaseExpiresAt: at(90 * SECOND), updatedAt: at(0), attempts: 1 };
      expect(claimed).to.deep.equal(expected);
      expect(await stored(job)).to.deep.equal(expected);
    });

    it('refuses while the lease is valid, and when it expires exactly now (strictly before now only)', async () => {
      const first = await claimedJob(randomUUID());
      expect(await store.claim(first, randomUUID(), at(200 * SECOND), at(30 * SECOND))).to.equal(undefined);
      expect(await store.claim(first, randomUUID(), at(200 * SECOND), at(90 * SECOND)), 'lease ends exactly now').to.equal(undefined);
      expect(await stored(first)).to.deep.equal(first);
    });

    it('takes over a running job whose lease has expired: attempts 2 and a new runId', async () => {
      const first = await claimedJob(randomUUID());
      const second = randomUUID();
      const taken = await store.claim(first, second, at(181 * SECOND), at(91 * SECOND));
      const expected: AnalysisRecord = { ...first, runId: second, leaseExpiresAt: at(181 * SECOND), updatedAt: at(91 * SECOND), attempts: 2 };
      expect(taken).to.deep.equal(expected);
      expect(await stored(first)).to.deep.equal(expected);
    });

    it('refuses a finished job, whatever the time, and a missing one', async () => {
      const runId = randomUUID();
      const succeeded = await store.complete(await claimedJob(runId), runId, { result: RESULT }, at(SECOND));
      const failed = await store.complete(await claimedJob(runId), runId, { error: { code: 'unreadable', message: 'no' } }, at(SECOND));
      for (const job of [succeeded, failed] as AnalysisRecord[]) {
        expect(await store.claim(job, randomUUID(), at(3600 * SECOND), at(3000 * SECOND))).to.equal(undefined);
        expect(await stored(job)).to.deep.equal(job);
      }
      const missing = queuedJob(at(0));
      expect(await store.claim(missing, randomUUID(), at(90 * SECOND), at(0))).to.equal(undefined);
      expect(await stored(missing)).to.equal(undefined);
    });

    it('of 10 concurrent claims of a queued job exactly one succeeds', async () => {
      const job = queuedJob(at(-SECOND));
      await store.create(job);
      const runIds = Array.from({ length: 10 }, () => randomUUID());
      const results = await Promise.all(runIds.map((runId) => store.claim(job, runId, at(90 * SECOND), at(0))));
      const winners = results.filter((result): result is AnalysisRecord => result !== undefined);
      expect(winners).to.have.length(1);
      const after = await stored(job);
      expect(after).to.deep.equal(winners[0]);
      expect(after?.attempts).to.equal(1);
      expect(runIds).to.include(after?.runId);
    });
  });

  describe('release', () => {
    it('by the holder: back to queued, without runId and lease, and claimable again', async () => {
      const runId = randomUUID();
      const claimed = await claimedJob(runId);
      await store.release(claimed, runId, at(5 * SECOND));
      const { runId: _runId, leaseExpiresAt: _lease, ...rest } = claimed;
      expect(await stored(claimed)).to.deep.equal({ ...rest, status: 'queued', updatedAt: at(5 * SECOND) });
      const again = await store.claim(claimed, randomUUID(), at(100 * SECOND), at(10 * SECOND));
      expect(again?.status).to.equal('running');
      expect(again?.attempts).to.equal(2);
    });

    it('by a stale runId, or of a job that is not running, changes nothing', async () => {
      const claimed = await claimedJob(randomUUID());
      await store.release(claimed, randomUUID(), at(5 * SECOND));
      expect(await stored(claimed)).to.deep.equal(claimed);

      const queued = queuedJob(at(0));
      await store.create(queued);
      await store.release(queued, randomUUID(), at(5 * SECOND));
      expect(await stored(queued)).to.deep.equal(queued);

      const runId = randomUUID();
      const done = await store.complete(await claimedJob(runId), runId, { result: RESULT }, at(SECOND));
      await store.release(done as AnalysisRecord, runId, at(5 * SECOND));
      expect(await stored(done as AnalysisRecord)).to.deep.equal(done);
    });

    it('of a missing job is no error and creates nothing', async () => {
      const missing = queuedJob(at(0));
      await store.release(missing, randomUUID(), at(0));
      expect(await stored(missing)).to.equal(undefined);
    });
  });

  describe('complete', () => {
    it('by the holder with a result: succeeded, the result exactly as given, no runId or lease', async () => {
      const runId = randomUUID();
      const claimed = await claimedJob(runId, { callbackUrl: 'https://hooks.example/done' });
      const result: AnalysisResult = {
        ...RESULT,
        labels: [
          { name: 'Dog', confidence: 98.5 },
          { name: 'Grass', confidence: 71 },
        ],
        labelsSource: 'rekognition',
      };
      const finished = await store.complete(claimed, runId, { result }, at(3 * SECOND));
      const { runId: _runId, leaseExpiresAt: _lease, ...rest } = claimed;
      const expected: AnalysisRecord = { ...rest, status: 'succeeded', result, updatedAt: at(3 * SECOND) };
      expect(finished).to.deep.equal(expected);
      expect(await stored(claimed)).to.deep.equal(expected);
    });

    it('keeps `labels: null`, empty lists and nested objects', async () => {
      const runId = randomUUID();
      const claimed = await claimedJob(runId);
      const result: AnalysisResult = { perceptualHash: 'ffffffffffffffff', dominantColors: [], similarMedia: [], labels: null, labelsSource: 'disabled' };
      await store.complete(claimed, runId, { result }, at(3 * SECOND));
      expect((await stored(claimed))?.result).to.deep.equal(result);
      const runId2 = randomUUID();
      const other = await claimedJob(runId2);
      await store.complete(other, runId2, { result: RESULT }, at(3 * SECOND));
      expect((await stored(other))?.result).to.deep.equal(RESULT);
    });

    it('with an error: failed, the error stored, no result, runId or lease', async () => {
      const runId = randomUUID();
      const claimed = await claimedJob(runId);
      const error = { code: 'media_unavailable', message: 'The media item was deleted' };
      const finished = await store.complete(claimed, runId, { error }, at(3 * SECOND));
      const { runId: _runId, leaseExpiresAt: _lease, ...rest } = claimed;
      const expected: AnalysisRecord = { ...rest, status: 'failed', error, updatedAt: at(3 * SECOND) };
      expect(finished).to.deep.equal(expected);
      expect(await stored(claimed)).to.deep.equal(expected);
    });

    it('by a run that lost the job to a takeover: undefined, and the new holder’s job is untouched', async () => {
      const stale = randomUUID();
      const first = await claimedJob(stale);
      const taken = await store.claim(first, randomUUID(), at(200 * SECOND), at(100 * SECOND));
      expect(taken).not.to.equal(undefined);
      expect(await store.complete(first, stale, { result: RESULT }, at(101 * SECOND))).to.equal(undefined);
      expect(await store.complete(first, stale, { error: { code: 'x', message: 'y' } }, at(101 * SECOND))).to.equal(undefined);
      expect(await stored(first)).to.deep.equal(taken);
    });

    it('twice: the second finds the job finished and changes nothing; a queued or missing job cannot be completed', async () => {
      const runId = randomUUID();
      const claimed = await claimedJob(runId);
      const finished = await store.complete(claimed, runId, { result: RESULT }, at(3 * SECOND));
      expect(await store.complete(claimed, runId, { error: { code: 'x', message: 'y' } }, at(4 * SECOND))).to.equal(undefined);
      expect(await stored(claimed)).to.deep.equal(finished);

      const queued = queuedJob(at(0));
      await store.create(queued);
      expect(await store.complete(queued, randomUUID(), { result: RESULT }, at(SECOND))).to.equal(undefined);
      expect(await stored(queued)).to.deep.equal(queued);

      const missing = queuedJob(at(0));
      expect(await store.complete(missing, randomUUID(), { result: RESULT }, at(SECOND))).to.equal(undefined);
      expect(await stored(missing)).to.equal(undefined);
    });
  });

  describe('failIfUnchanged', () => {
    const stuck = { code: 'timed_out', message: 'The worker stopped' };

    it('fails a running job still as read: error stored, runId and lease gone', async () => {
      const claimed = await claimedJob(randomUUID());
      const failed = await store.failIfUnchanged(claimed, stuck, at(600 * SECOND));
      const { runId: _runId, leaseExpiresAt: _lease, ...rest } = claimed;
      const expected: AnalysisRecord = { ...rest, status: 'failed', error: stuck, updatedAt: at(600 * SECOND) };
      expect(failed).to.deep.equal(expected);
      expect(await stored(claimed)).to.deep.equal(expected);
    });

    it('fails a queued job still as read', async () => {
      const job = queuedJob(at(0));
      await store.create(job);
      const failed = await store.failIfUnchanged(job, { code: 'not_started', message: 'No worker' }, at(7200 * SECOND));
      const expected: AnalysisRecord = { ...job, status: 'failed', error: { code: 'not_started', message: 'No worker' }, updatedAt: at(7200 * SECOND) };
      expect(failed).to.deep.equal(expected);
      expect(await stored(job)).to.deep.equal(expected);
    });

    it('changes nothing when the status or updatedAt differ from the record given, or the job is missing', async () => {
      const job = queuedJob(at(0));
      await store.create(job);
      expect(await store.failIfUnchanged({ ...job, updatedAt: at(-1) }, stuck, at(SECOND)), 'another updatedAt').to.equal(undefined);
      expect(await store.failIfUnchanged({ ...job, status: 'running' }, stuck, at(SECOND)), 'another status').to.equal(undefined);
      expect(await stored(job)).to.deep.equal(job);

      // A worker claimed the job after the reader read it.
      const claimed = await store.claim(job, randomUUID(), at(90 * SECOND), at(SECOND));
      expect(await store.failIfUnchanged(job, stuck, at(2 * SECOND)), 'the job moved on').to.equal(undefined);
      expect(await stored(job)).to.deep.equal(claimed);

      const missing = queuedJob(at(0));
      expect(await store.failIfUnchanged(missing, stuck, at(SECOND))).to.equal(undefined);
      expect(await stored(missing)).to.equal(undefined);
    });
  });

  describe('recordCallback', () => {
    it('stores the outcome (undefined fields dropped) and replaces an earlier one, changing nothing else', async () => {
      const runId = randomUUID();
      const url = 'https://hooks.example/done';
      const finished = (await store.complete(await claimedJob(runId, { callbackUrl: url }), runId, { result: RESULT }, at(3 * SECOND))) as AnalysisRecord;
      const failedOutcome: CallbackOutcome = { url, status: 'failed', attempts: 3, error: 'connection refused', lastAttemptAt: at(9 * SECOND) };
      await store.recordCallback(finished, { ...failedOutcome, statusCode: undefined });
      expect(await stored(finished)).to.deep.equal({ ...finished, callback: failedOutcome });
      const delivered: CallbackOutcome = { url, status: 'delivered', attempts: 1, statusCode: 204, lastAttemptAt: at(10 * SECOND) };
      await store.recordCallback(finished, delivered);
      expect(await stored(finished)).to.deep.equal({ ...finished, callback: delivered });
    });

    it('does not bring back a job deleted while its callback was being delivered', async () => {
      const job = queuedJob(at(0));
      await store.create(job);
      await store.delete(job.userId, job.id);
      await store.recordCallback(job, { url: 'https://hooks.example/x', status: 'delivered', attempts: 1, statusCode: 200, lastAttemptAt: at(SECOND) });
      expect(await stored(job)).to.equal(undefined);
    });
  });

  describe('deleteUserData', () => {
    it("removes every job of the user (account deletion) and none of anyone else's", async () => {
      const mine = [queuedJob(at(0)), queuedJob(at(0))];
      const userId = (mine[0] as AnalysisRecord).userId;
      mine[1] = { ...(mine[1] as AnalysisRecord), userId };
      const other = queuedJob(at(0));
      for (const job of [...mine, other]) await store.create(job);
      expect(await store.deleteUserData(userId)).to.equal(2);
      for (const job of mine) expect(await stored(job)).to.equal(undefined);
      expect(await stored(other)).to.deep.equal(other);
      expect(await store.deleteUserData(userId)).to.equal(0);
    });
  });
}
