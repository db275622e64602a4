import { listTags } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { TagListResponse } from '../../shared/schemas/media';
import { media } from '../../shared/stores/mediaTable';

/** GET /v1/tags: the caller's tags with how many items carry each, most used first. */
export const handler = protectedRoute({ auth: 'bearer', response: TagListResponse }, async ({ caller }) => ({
  status: 200,
  body: { items: await listTags({ media }, caller) },
}));
