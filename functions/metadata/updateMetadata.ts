import { systemClock } from '../../shared/clock';
import { updateMetadata } from '../../shared/domain/media';
import { protectedRoute } from '../../shared/http/handler';
import { acceptedVersions, entityTag } from '../../shared/http/preconditions';
import { MediaIdParams, MetadataResponse, UpdateMetadataBody } from '../../shared/schemas/media';
import { media } from '../../shared/stores/mediaTable';

/**
 * PATCH /v1/media/{id}/metadata: `{title?, description?, tags?}` (anything else is 400) -> 200
 * metadata. With `If-Match: "<version>"` (the ETag of GET) it applies only to that version, else 412.
 */
export const handler = protectedRoute(
  { auth: 'bearer', params: MediaIdParams, body: UpdateMetadataBody, response: MetadataResponse },
  async ({ caller, params, body, headers }) => {
    const { metadata, version } = await updateMetadata({ media, clock: systemClock }, caller, params.id, body, acceptedVersions(headers['if-match']));
    return { status: 200, body: metadata, headers: { etag: entityTag(version) } };
  },
);
