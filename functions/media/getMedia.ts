import { systemClock } from '../../shared/clock';
import { mediaSettings } from '../../shared/config/media';
import { content } from '../../shared/content/bucket';
import { getMedia } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { MediaIdParams, MediaResponse } from '../../shared/schemas/media';
import { media } from '../../shared/stores/mediaTable';

/** GET /v1/media/{id}: the item with downloadUrl and thumbnails when ready (one DynamoDB read; it counts no view). */
export const handler = protectedRoute({ auth: 'bearer', params: MediaIdParams, response: MediaResponse }, async ({ caller, params }) => ({
  status: 200,
  body: await getMedia({ media, content, clock: systemClock, settings: mediaSettings }, caller, params.id),
}));
