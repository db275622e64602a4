import { content } from '../../shared/content/bucket';
import { deleteMedia } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { MediaIdParams } from '../../shared/schemas/media';
import { media } from '../../shared/stores/mediaTable';

/** DELETE /v1/media/{id}: 204; original, thumbnails, item, tag entries and counts all go. */
export const handler = protectedRoute({ auth: 'bearer', params: MediaIdParams }, async ({ caller, params }) => {
  await deleteMedia({ media, content }, caller, params.id);
  return { status: 204 };
});
