/**
 * Object keys: media/{userId}/{mediaId}/original and its thumbnails beside it. Only the
 * `original` suffix triggers processUpload (serverless.yml), so writing thumbnails does not.
 */
import { ID_PATTERN } from '../ids';

export const mediaPrefix = (userId: string, mediaId: string): string => `media/${userId}/${mediaId}/`;
export const userPrefix = (userId: string): string => `media/${userId}/`;
export const originalKey = (userId: string, mediaId: string): string => `${mediaPrefix(userId, mediaId)}original`;
export const thumbnailKeys = (userId: string, mediaId: string): { small: string; large: string } => ({
  small: `${mediaPrefix(userId, mediaId)}thumb-small.webp`,
  large: `${mediaPrefix(userId, mediaId)}thumb-large.webp`,
});

/** The owner and media id of an `original` key, or undefined for any other key. */
export function parseOriginalKey(key: string): { userId: string; mediaId: string } | undefined {
  const match = /^media\/([^/]+)\/([^/]+)\/original$/.exec(key);
  if (match === null) return undefined;
  const [, userId, mediaId] = match as unknown as [string, string, string];
  return ID_PATTERN.test(userId) && ID_PATTERN.test(mediaId) ? { userId, mediaId } : undefined;
}
