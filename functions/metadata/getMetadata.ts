import { getMetadata } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { entityTag } from '../../shared/http/preconditions';
import { MediaIdParams, MetadataResponse } from '../../shared/schemas/media';
import { media } from '../../shared/stores/mediaTable';

/** GET /v1/media/{id}/metadata: what processing found out, plus title, description and tags; `ETag` for If-Match. */
export const handler = protectedRoute({ auth: 'bearer', params: MediaIdParams, response: MetadataResponse }, async ({ caller, params }) => {
  const { metadata, version } = await getMetadata({ media }, caller, params.id);
  return { status: 200, body: metadata, headers: { etag: entityTag(version) } };
});
