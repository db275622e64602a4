import { recordView } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { MediaIdParams, RecordViewResponse } from '../../shared/schemas/media';
import { media } from '../../shared/stores/mediaTable';

/** POST /v1/media/{id}/views: a person opened the item; counts one view (one DynamoDB write). */
export const handler = protectedRoute({ auth: 'bearer', params: MediaIdParams, response: RecordViewResponse }, async ({ caller, params }) => ({
  status: 200,
  body: await recordView({ media }, caller, params.id),
}));
