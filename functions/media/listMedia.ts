import { systemClock } from '../../shared/clock';
import { content } from '../../shared/content/bucket';
import { listMedia } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { ListMediaQuery, MediaListResponse } from '../../shared/schemas/media';
import { media } from '../../shared/stores/mediaTable';

/** GET /v1/media?limit&cursor&type&status&tag: the caller's items, newest first. */
export const handler = protectedRoute({ auth: 'bearer', query: ListMediaQuery, response: MediaListResponse }, async ({ caller, query }) => ({
  status: 200,
  body: await listMedia({ media, content, clock: systemClock }, caller, query),
}));
