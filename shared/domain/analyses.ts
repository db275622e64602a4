/**
 * Image analysis, the asynchronous request/polling pattern: the request writes a `queued`
 * job and publishes it (202 + Location); a worker subscribed to the topic moves it to
 * `running` and then `succeeded` or `failed` with conditional writes; clients poll the job or
 * receive a signed callback when it ends.
 */
import { randomUUID } from 'node:crypto';
import type { CallbackOutcome, DeliveryOptions } from '../analysis/callback';
import { labelable } from '../analysis/labelable';
import type { Labeler } from '../analysis/labels';
import type { Clock } from '../clock';
import { originalKey } from '../content/keys';
import { isDependencyFailure } from '../http/errorResponse';
import { Conflict, NotFound, ServiceUnavailable, ValidationFailed } from '../http/errors';
import type { AnalysisQueue, AnalysisRequestMessage } from '../messaging/analysisRequests';
import { CallbackUrlRejected, checkCallbackUrl, type CallbackPolicy, type Resolver } from '../net/callbackUrl';
import { MediaNoLongerReady, type AnalysisError, type AnalysisRecord, type AnalysisResult, type AnalysisStore } from '../stores/analyses';
import type { MediaStore } from '../stores/media';

export interface AnalysisSettings {
  /** How long a worker holds a job before another delivery may take it over. */
  leaseSeconds: number;
  labelsEnabled: boolean;
  callbackPolicy: CallbackPolicy;
}

/** A job is given up (failed) after this many started runs that did not finish. */
export const MAX_ATTEMPTS = 3;
/** A reader reports a job failed when its lease expired this long ago and nobody took over. */
export const ABANDONED_AFTER_MS = 5 * 60_000;
/** ...or when it has been queued this long without a worker starting it. */
export const NOT_STARTED_AFTER_MS = 60 * 60_000;

export interface RequestDeps {
  analyses: AnalysisStore;
  media: Pick<MediaStore, 'get'>;
  queue: AnalysisQueue;
  clock: Clock;
  newId: () => string;
  settings: Pick<AnalysisSettings, 'callbackPolicy'>;
  resolve?: Resolver;
}

export interface WorkerDeps {
  analyses: AnalysisStore;
  media: Pick<MediaStore, 'get' | 'findSimilar'>;
  clock: Clock;
  settings: AnalysisSettings;
  /** Absent where labels are disabled for the stage. */
  labeler?: Labeler;
  bucket: string;
  /** Delivers a callback (shared/analysis/callback.ts deliverCallback, with signing bound). */
  deliver: (options: Pick<DeliveryOptions, 'url' | 'body' | 'policy'>) => Promise<CallbackOutcome>;
  /** Told about unexpected errors that end a job as `internal_error` (for the logs). */
  report?: (error: unknown) => void;
}

export interface AnalysisView {
  id: string;
  mediaId: string;
  status: AnalysisRecord['status'];
  createdAt: string;
  updatedAt: string;
  result?: AnalysisResult;
  error?: AnalysisError;
  callback?: CallbackOutcome;
}

export function analysisView(record: AnalysisRecord): AnalysisView {
  return {
    id: record.id,
    mediaId: record.mediaId,
    status: record.status,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.result === undefined ? {} : { result: record.result }),
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.callback === undefined ? {} : { callback: record.callback }),
  };
}

export class AnalysisNotFound extends NotFound {
  constructor() {
    super('analysis_not_found', 'No such analysis');
  }
}

/** 404 unless the item exists (and is not being deleted), 409 unless it is a ready image. */
async function checkAnalysable(deps: Pick<RequestDeps, 'media'>, caller: { userId: string }, mediaId: string): Promise<void> {
  const media = await deps.media.get(caller.userId, mediaId);
  if (media === undefined || media.deleting === true) throw new NotFound('media_not_found', 'No such media item');
  if (media.status !== 'ready') throw new Conflict('media_not_ready', `The media item is ${media.status}; only ready items can be analysed`);
  if (media.type !== 'image') throw new Conflict('not_an_image', 'Only images can be analysed');
}

/** POST /v1/media/{id}/analyses */
export async function requestAnalysis(deps: RequestDeps, caller: { userId: string }, mediaId: string, input: { callbackUrl?: string | undefined }): Promise<AnalysisView> {
  await checkAnalysable(deps, caller, mediaId);
  if (input.callbackUrl !== undefined) {
    try {
      await checkCallbackUrl(input.callbackUrl, deps.settings.callbackPolicy, deps.resolve);
    } catch (error) {
      if (!(error instanceof CallbackUrlRejected)) throw error;
      throw new ValidationFailed([{ path: 'body.callbackUrl', message: error.message, code: 'invalid_callback_url' }], 'The callback URL is not accepted');
    }
  }
  const now = deps.clock.now().toISOString();
  const record: AnalysisRecord = {
    id: deps.newId(),
    userId: caller.userId,
    mediaId,
    status: 'queued',
    createdAt: now,
    updatedAt: now,
    attempts: 0,
    ...(input.callbackUrl === undefined ? {} : { callbackUrl: input.callbackUrl }),
  };
  try {
    // Written only while the item is still a ready image, not being deleted (an account deletion
    // deletes the items before the jobs, so it finds every job written).
    await deps.analyses.create(record);
  } catch (error) {
    if (!(error instanceof MediaNoLongerReady)) throw error;
    await checkAnalysable(deps, caller, mediaId);
    throw new Conflict('media_not_ready', 'The media item changed while the analysis was requested; retry');
  }
  try {
    await deps.queue.publish({ userId: caller.userId, analysisId: record.id });
  } catch (error) {
    // No message, no worker: a job nobody will ever run must not be left behind.
    await deps.analyses.delete(caller.userId, record.id);
    if (isDependencyFailure(error)) throw new ServiceUnavailable(2);
    throw error;
  }
  return analysisView(record);
}

/** GET /v1/analyses/{id}; a job nobody is working on any more is reported (and recorded) as failed. */
export async function getAnalysis(deps: Pick<RequestDeps, 'analyses' | 'clock'>, caller: { userId: string }, id: string): Promise<AnalysisView> {
  const record = await deps.analyses.get(caller.userId, id);
  if (record === undefined) throw new AnalysisNotFound();
  const now = deps.clock.now();
  let stuck: AnalysisError | undefined;
  if (record.status === 'running' && record.leaseExpiresAt !== undefined && Date.parse(record.leaseExpiresAt) + ABANDONED_AFTER_MS < now.getTime()) {
    stuck = { code: 'timed_out', message: 'The worker stopped (crashed or timed out) and no retry took the job over' };
  } else if (record.status === 'queued' && Date.parse(record.updatedAt) + NOT_STARTED_AFTER_MS < now.getTime()) {
    stuck = { code: 'not_started', message: 'No worker started the analysis' };
  }
  if (stuck !== undefined) {
    const failed = await deps.analyses.failIfUnchanged(record, stuck, now.toISOString());
    return analysisView(failed ?? (await deps.analyses.get(caller.userId, id)) ?? record);
  }
  return analysisView(record);
}

class MediaUnavailable extends Error {
  override readonly name = 'MediaUnavailable';
}

/** Another run holds the job: the delivery is retried later by Lambda, when it will find it done (or abandoned). */
export class AnalysisBusy extends Error {
  override readonly name = 'AnalysisBusy';
}

/**
 * The slow part: the similarity search over the user's library and Rekognition. The hash and
 * colours were computed when the upload was processed, so the worker never decodes an image
 * (and its bundle carries no image library).
 */
async function analyse(deps: WorkerDeps, job: AnalysisRecord): Promise<AnalysisResult> {
  const media = await deps.media.get(job.userId, job.mediaId);
  if (media === undefined || media.deleting === true || media.status !== 'ready' || media.type !== 'image') {
    throw new MediaUnavailable('The media item was deleted or is no longer a ready image');
  }
  if (media.perceptualHash === undefined || media.dominantColors === undefined) {
    throw new MediaUnavailable('The image has no perceptual hash; upload it again');
  }
  const key = originalKey(job.userId, job.mediaId);
  // Rekognition refuses WebP, GIF and images over 15 MB: such a job succeeds without labels.
  const labelsSource = deps.labeler === undefined ? 'disabled' : labelable(media.contentType, media.size) ? 'rekognition' : 'unsupported';
  const [similarMedia, labels] = await Promise.all([
    deps.media.findSimilar(job.userId, media.perceptualHash, job.mediaId),
    labelsSource === 'rekognition' && deps.labeler !== undefined ? deps.labeler.detect(deps.bucket, key) : Promise.resolve(null),
  ]);
  return { perceptualHash: media.perceptualHash, dominantColors: media.dominantColors, similarMedia, labels, labelsSource };
}

export type RunOutcome = 'succeeded' | 'failed' | 'already-done' | 'missing' | 'superseded';

async function sendCallback(deps: WorkerDeps, record: AnalysisRecord): Promise<void> {
  if (record.callbackUrl === undefined) return;
  const outcome = await deps.deliver({ url: record.callbackUrl, body: JSON.stringify(analysisView(record)), policy: deps.settings.callbackPolicy });
  await deps.analyses.recordCallback(record, outcome);
}

/** The SNS-subscribed worker. Repeatable: a duplicate delivery finds the job claimed or done and does nothing twice. */
export async function runAnalysis(deps: WorkerDeps, message: AnalysisRequestMessage): Promise<RunOutcome> {
  const job = await deps.analyses.get(message.userId, message.analysisId);
  if (job === undefined) return 'missing';
  if (job.status === 'succeeded' || job.status === 'failed') return 'already-done';
  const now = deps.clock.now();
  const leaseExpired = job.status === 'running' && job.leaseExpiresAt !== undefined && Date.parse(job.leaseExpiresAt) < now.getTime();
  if (job.status === 'running' && !leaseExpired) throw new AnalysisBusy(`analysis ${job.id} is being worked on`);
  if (leaseExpired && job.attempts >= MAX_ATTEMPTS) {
    const failed = await deps.analyses.failIfUnchanged(job, { code: 'worker_failed', message: `The analysis did not finish in ${job.attempts} attempts` }, now.toISOString());
    if (failed === undefined) return 'superseded';
    await sendCallback(deps, failed);
    return 'failed';
  }
  const runId = randomUUID();
  const claimed = await deps.analyses.claim(job, runId, new Date(now.getTime() + deps.settings.leaseSeconds * 1000).toISOString(), now.toISOString());
  if (claimed === undefined) throw new AnalysisBusy(`analysis ${job.id} was claimed by another delivery`);

  let outcome: { result: AnalysisResult } | { error: AnalysisError };
  try {
    outcome = { result: await analyse(deps, claimed) };
  } catch (error) {
    if (error instanceof MediaUnavailable) outcome = { error: { code: 'media_unavailable', message: error.message } };
    else if (isDependencyFailure(error)) {
      // A passing failure (throttling, a timeout): hand the job back and let Lambda retry.
      await deps.analyses.release(claimed, runId, deps.clock.now().toISOString());
      throw error;
    } else {
      deps.report?.(error);
      outcome = { error: { code: 'internal_error', message: 'The analysis failed unexpectedly' } };
    }
  }
  const finished = await deps.analyses.complete(claimed, runId, outcome, deps.clock.now().toISOString());
  if (finished === undefined) return 'superseded';
  await sendCallback(deps, finished);
  return finished.status === 'succeeded' ? 'succeeded' : 'failed';
}
