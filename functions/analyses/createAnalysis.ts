import { systemClock } from '../../shared/clock';
import { analysisSettings } from '../../shared/config/analysis';
import { requestAnalysis } from '../../shared/domain/analyses';
import { protectedRoute } from '../../shared/http/handler';
import { newId } from '../../shared/ids';
import { analysisQueue } from '../../shared/messaging/analysisQueue';
import type { AnalysisRequestMessage } from '../../shared/messaging/analysisRequests';
import { AnalysisResponse, CreateAnalysisBody } from '../../shared/schemas/analyses';
import { MediaIdParams } from '../../shared/schemas/media';
import { analyses } from '../../shared/stores/analysesTable';
import { media } from '../../shared/stores/mediaTable';

/**
 * POST /v1/media/{id}/analyses: `{callbackUrl?}` -> 202 with the queued job and
 * `Location: /v1/analyses/{id}`; 409 if the item is not a ready image; 400 for a callback URL
 * that is not https or points inside a private network.
 */
export const handler = protectedRoute(
  { auth: 'bearer', params: MediaIdParams, body: CreateAnalysisBody, response: AnalysisResponse },
  async ({ caller, params, body, requestId }) => {
    // The worker's logs and the callback carry this request's id (docs/operations.md).
    const queue = { publish: (message: AnalysisRequestMessage) => analysisQueue.publish(message, requestId) };
    const job = await requestAnalysis({ analyses, media, queue, clock: systemClock, newId, settings: analysisSettings }, caller, params.id, body ?? {});
    return { status: 202, body: job, headers: { location: `/v1/analyses/${job.id}` } };
  },
);
