/**
 * Key design of the media table. Everything of a user lives in the user's partition:
 *
 *   pk = USER#<userId>
 *   sk = MEDIA#<mediaId>               a media item (ULID ids: newest first by key order)
 *   sk = TAGGED#<tag>#<mediaId>        tag entry: the index that lists a user's items by tag
 *   sk = TAG#<tag>                     tag count, kept in step with the entries
 *   sk = SHA256#<hex>                  content hash claim: one item per user and hash
 *   sk = PHASH#<band>#<value>#<mediaId> perceptual-hash band entry of a ready image (6 per
 *                                      image; the similarity index, shared/analysis/similarity.ts)
 *   sk = FAVORITE#<mediaId>            flag entry of a favourite: the index of the favourites view
 *   sk = ARCHIVED#<mediaId>            flag entry of an archived item: the index of the archive view
 *                                      (both written in the transaction that sets the item's flag)
 *
 * (tags URI-encoded in keys, so a `#` in a tag cannot break prefix queries)
 *
 * Global secondary indexes (KEYS_ONLY: lists read the items themselves, so incrementing
 * `views` never writes to an index):
 *   byType    gsi1pk = USER#<userId>#TYPE#<image|video>     gsi1sk = <mediaId>
 *   byStatus  gsi2pk = USER#<userId>#STATUS#<status>        gsi2sk = <mediaId>
 *   pending   gsi3pk = PENDING#<0-9>  gsi3sk = <createdAt>#<mediaId>   (sparse: pending items
 *             only, sharded by the id's last character; the hourly sweep reads it)
 */
import { userPartition } from './keys';

export const MEDIA_PREFIX = 'MEDIA#';
export const TAGGED_PREFIX = 'TAGGED#';
export const TAG_COUNT_PREFIX = 'TAG#';
export const PENDING_SHARDS = 10;

export const INDEX = { byType: 'byType', byStatus: 'byStatus', pending: 'pending' } as const;

export const encodeTag = (tag: string): string => encodeURIComponent(tag);

export const mediaKey = (userId: string, mediaId: string) => ({ pk: userPartition(userId), sk: `${MEDIA_PREFIX}${mediaId}` });
export const taggedKey = (userId: string, tag: string, mediaId: string) => ({
  pk: userPartition(userId),
  sk: `${TAGGED_PREFIX}${encodeTag(tag)}#${mediaId}`,
});
export const taggedPrefix = (tag: string): string => `${TAGGED_PREFIX}${encodeTag(tag)}#`;
export const tagCountKey = (userId: string, tag: string) => ({ pk: userPartition(userId), sk: `${TAG_COUNT_PREFIX}${encodeTag(tag)}` });
export const shaKey = (userId: string, sha256: string) => ({ pk: userPartition(userId), sk: `SHA256#${sha256}` });
export const PHASH_PREFIX = 'PHASH#';
export const phashKey = (userId: string, bandKey: string, mediaId: string) => ({ pk: userPartition(userId), sk: `${PHASH_PREFIX}${bandKey}#${mediaId}` });

/** The item flags that have entries of their own (the views that list them). */
export type MediaFlag = 'favorite' | 'archived';
export const FLAG_PREFIX: Record<MediaFlag, string> = { favorite: 'FAVORITE#', archived: 'ARCHIVED#' };
export const flagKey = (userId: string, flag: MediaFlag, mediaId: string) => ({ pk: userPartition(userId), sk: `${FLAG_PREFIX[flag]}${mediaId}` });

export const typeIndexKey = (userId: string, type: string) => `${userPartition(userId)}#TYPE#${type}`;
export const statusIndexKey = (userId: string, status: string) => `${userPartition(userId)}#STATUS#${status}`;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export function pendingShard(mediaId: string): string {
  return `PENDING#${CROCKFORD.indexOf(mediaId.slice(-1)) % PENDING_SHARDS}`;
}

/** userId and mediaId back from a media item's key. */
export function idsOfMediaKey(pk: string, sk: string): { userId: string; mediaId: string } | undefined {
  if (!pk.startsWith('USER#') || !sk.startsWith(MEDIA_PREFIX)) return undefined;
  return { userId: pk.slice('USER#'.length), mediaId: sk.slice(MEDIA_PREFIX.length) };
}
