import { systemClock } from '../../shared/clock';
import { getAnalysis } from '../../shared/domain/analyses';
import { protectedRoute } from '../../shared/http/handler';
import { AnalysisIdParams, AnalysisResponse } from '../../shared/schemas/analyses';
import { analyses } from '../../shared/stores/analysesTable';

/** GET /v1/analyses/{id}: the job's status, and its result or error once it has ended. */
export const handler = protectedRoute({ auth: 'bearer', params: AnalysisIdParams, response: AnalysisResponse }, async ({ caller, params }) => ({
  status: 200,
  body: await getAnalysis({ analyses, clock: systemClock }, caller, params.id),
}));
