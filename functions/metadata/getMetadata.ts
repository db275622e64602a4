import { getMetadata } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { MediaIdParams, MetadataResponse } from '../../shared/schemas/media';
import { media } from '../../shared/stores/mediaTable';

/** GET /v1/media/{id}/metadata: what processing found out, plus title, description and tags. */
export const handler = protectedRoute({ auth: 'bearer', params: MediaIdParams, response: MetadataResponse }, async ({ caller, params }) => ({
  status: 200,
  body: await getMetadata({ media }, caller, params.id),
}));
