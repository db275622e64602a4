import { expect } from 'chai';
import { ulid } from 'ulid';
import { invoke } from '../../local/test/events';
import { memoryAnalysisStore, type MemoryAnalysisStore } from '../../local/test/fakes';
import { handlerWorld, loadHandler } from '../../local/test/handlers';
import type { AnalysisRecord, AnalysisResult } from '../../shared/stores/analyses';

interface ErrorBody {
  error: { code: string; details?: Array<{ path: string }> };
}
type Caller = { userId: string; sessionId: string };

const MINUTE = 60_000;
const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();

const RESULT: AnalysisResult = {
  perceptualHash: '0123456789abcdef',
  dominantColors: [{ hex: '#ff0000', ratio: 1 }],
  similarMedia: [{ mediaId: ulid(), distance: 3 }],
  labels: null,
  labelsSource: 'disabled',
};

describe('GET /v1/analyses/{id} (getAnalysis)', () => {
  let analyses: MemoryAnalysisStore;
  let handler: unknown;
  const caller = { userId: ulid(), sessionId: ulid() };
  const stranger = { userId: ulid(), sessionId: ulid() };

  beforeEach(() => {
    analyses = memoryAnalysisStore();
    handler = loadHandler('functions/analyses/getAnalysis', handlerWorld(), {
      '../../shared/stores/analysesTable': { analyses, '@noCallThru': true },
    });
  });

  /** A job put straight into the store, with whatever timestamps the test needs. */
  function job(overrides: Partial<AnalysisRecord> = {}, userId = caller.userId): AnalysisRecord {
    const at = ago(MINUTE);
    const record: AnalysisRecord = { id: ulid(), userId, mediaId: ulid(), status: 'queued', createdAt: at, updatedAt: at, attempts: 0, ...overrides };
    analyses.records.set(`${record.userId}/${record.id}`, structuredClone(record));
    return record;
  }

  const get = <T = Record<string, unknown>>(id: string, who: Caller = caller) => invoke<T>(handler, { caller: who, pathParameters: { id } });

  it('returns a queued job: exactly its public fields', async () => {
    const record = job({ callbackUrl: 'https://hooks.example/done' });
    const response = await get(record.id);
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ id: record.id, mediaId: record.mediaId, status: 'queued', createdAt: record.createdAt, updatedAt: record.updatedAt });
  });

  it('returns a succeeded job with its result and callback outcome', async () => {
    const callback = { url: 'https://hooks.example/done', status: 'delivered' as const, attempts: 1, statusCode: 204, lastAttemptAt: ago(0) };
    const record = job({ status: 'succeeded', attempts: 1, result: RESULT, callbackUrl: callback.url, callback, updatedAt: ago(30_000) });
    const response = await get(record.id);
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({
      id: record.id,
      mediaId: record.mediaId,
      status: 'succeeded',
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      result: RESULT,
      callback,
    });
  });

  it('404 analysis_not_found for another user’s job and for an unknown id', async () => {
    const theirs = job({}, stranger.userId);
    for (const id of [theirs.id, ulid()]) {
      const response = await get<ErrorBody>(id);
      expect(response.status).to.equal(404);
      expect(response.body.error.code).to.equal('analysis_not_found');
    }
    expect(analyses.records.get(`${stranger.userId}/${theirs.id}`)).to.deep.equal(theirs);
  });

  for (const id of ['not-an-id', ulid().toLowerCase(), 'x'.repeat(300)]) {
    it(`400 validation_failed for the malformed id ${JSON.stringify(id.slice(0, 30))}`, async () => {
      const response = await get<ErrorBody>(id);
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
      expect(response.body.error.details?.[0]?.path).to.equal('path.id');
    });
  }

  it('a running job whose lease expired more than 5 minutes ago: reported and stored failed, timed_out', async () => {
    const record = job({ status: 'running', attempts: 1, runId: 'run-1', leaseExpiresAt: ago(6 * MINUTE), updatedAt: ago(8 * MINUTE) });
    const before = Date.now();
    const response = await get<{ status: string; error?: { code: string }; updatedAt: string }>(record.id);
    expect(response.status).to.equal(200);
    expect(response.body.status).to.equal('failed');
    expect(response.body.error?.code).to.equal('timed_out');
    expect(Date.parse(response.body.updatedAt)).to.be.at.least(before);
    const stored = await analyses.get(caller.userId, record.id);
    expect(stored?.status).to.equal('failed');
    expect(stored?.error?.code).to.equal('timed_out');
    expect(stored).not.to.have.any.keys('runId', 'leaseExpiresAt');
    expect(response.body).to.deep.equal({ id: record.id, mediaId: record.mediaId, status: 'failed', createdAt: record.createdAt, updatedAt: stored?.updatedAt, error: stored?.error });
  });

  it('a running job whose lease expired less than 5 minutes ago stays running (a retry may still take it over)', async () => {
    const record = job({ status: 'running', attempts: 1, runId: 'run-1', leaseExpiresAt: ago(4 * MINUTE), updatedAt: ago(6 * MINUTE) });
    const response = await get<{ status: string }>(record.id);
    expect(response.body.status).to.equal('running');
    expect(await analyses.get(caller.userId, record.id)).to.deep.equal(record);
  });

  it('a queued job older than an hour: reported and stored failed, not_started', async () => {
    const record = job({ createdAt: ago(61 * MINUTE), updatedAt: ago(61 * MINUTE) });
    const response = await get<{ status: string; error?: { code: string } }>(record.id);
    expect(response.status).to.equal(200);
    expect(response.body.status).to.equal('failed');
    expect(response.body.error?.code).to.equal('not_started');
    const stored = await analyses.get(caller.userId, record.id);
    expect(stored?.status).to.equal('failed');
    expect(stored?.error?.code).to.equal('not_started');
  });

  it('a queued job younger than an hour stays queued', async () => {
    const record = job({ createdAt: ago(59 * MINUTE), updatedAt: ago(59 * MINUTE) });
    const response = await get<{ status: string }>(record.id);
    expect(response.body.status).to.equal('queued');
    expect(await analyses.get(caller.userId, record.id)).to.deep.equal(record);
  });

  it('a running job with a valid lease stays running, unchanged in the store', async () => {
    const record = job({ status: 'running', attempts: 1, runId: 'run-1', leaseExpiresAt: new Date(Date.now() + MINUTE).toISOString(), updatedAt: ago(30_000) });
    const response = await get(record.id);
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ id: record.id, mediaId: record.mediaId, status: 'running', createdAt: record.createdAt, updatedAt: record.updatedAt });
    expect(await analyses.get(caller.userId, record.id)).to.deep.equal(record);
  });

  it('401 without a caller', async () => {
    const record = job();
    const response = await invoke<ErrorBody>(handler, { pathParameters: { id: record.id } });
    expect(response.status).to.equal(401);
  });
});
