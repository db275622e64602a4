import { systemClock } from '../../shared/clock';
import { batchEditMedia } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { BatchEditBody, BatchEditResponse } from '../../shared/schemas/media';
import { media } from '../../shared/stores/mediaTable';

/**
 * POST /v1/media/batch: `{ids, addTags?, removeTags?, favorite?, archived?}` for up to 500 of the
 * caller's items -> 200 `{results: [{status, error?}], succeeded, failed}`, a result per id at its
 * place in `ids` (another user's id is a 404 there, like an unknown one; no id is echoed).
 */
export const handler = protectedRoute({ auth: 'bearer', body: BatchEditBody, response: BatchEditResponse }, async ({ caller, body }) => ({
  status: 200,
  body: await batchEditMedia({ media, clock: systemClock }, caller, body),
}));
