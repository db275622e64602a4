import { systemClock } from '../../shared/clock';
import { mediaSettings } from '../../shared/config/media';
import { content } from '../../shared/content/bucket';
import { createMedia } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { newId } from '../../shared/ids';
import { CreateMediaBody, CreateMediaResponse } from '../../shared/schemas/media';
import { media } from '../../shared/stores/mediaTable';

/**
 * POST /v1/media: `{filename, contentType, size, sha256?}` -> 201 `{media, upload}`. The item is
 * written (pending) first, then a presigned POST bound to its key, type and size is issued.
 */
export const handler = protectedRoute({ auth: 'bearer', body: CreateMediaBody, response: CreateMediaResponse }, async ({ caller, body, requestId }) => {
  const created = await createMedia({ media, content, clock: systemClock, newId, settings: mediaSettings }, caller, body, requestId);
  return { status: 201, body: created, headers: { location: `/v1/media/${created.media.id}` } };
});
