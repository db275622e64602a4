import { systemClock } from '../../shared/clock';
import { updateMetadata } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { MediaIdParams, MetadataResponse, UpdateMetadataBody } from '../../shared/schemas/media';
import { media } from '../../shared/stores/mediaTable';

/** PATCH /v1/media/{id}/metadata: `{title?, description?, tags?}` (anything else is 400) -> 200 metadata. */
export const handler = protectedRoute(
  { auth: 'bearer', params: MediaIdParams, body: UpdateMetadataBody, response: MetadataResponse },
  async ({ caller, params, body }) => ({ status: 200, body: await updateMetadata({ media, clock: systemClock }, caller, params.id, body) }),
);
