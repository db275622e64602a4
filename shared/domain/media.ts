/**
 * The media library: uploads, processing, listing, metadata, tags, deletion. Plain functions
 * over the MediaStore (DynamoDB), ContentStore (S3) and a MediaInspector (sharp, file-type,
 * the MP4 reader), so every rule is testable with in-memory fakes.
 */
import { createHash } from 'node:crypto';
import type { DominantColor } from '../analysis/perceptualHash';
import type { Clock } from '../clock';
import type { ContentStore, UploadForm } from '../content/content';
import { originalKey, parseOriginalKey, thumbnailKeys, userPrefix } from '../content/keys';
import { Conflict, HttpError, NotFound, PayloadTooLarge, PreconditionFailed, Unauthenticated, UnsupportedMediaType } from '../http/errors';
import { MAX_TAGS_PER_ITEM } from '../schemas/limits';
import { normalizeFilename, normalizeTag } from '../schemas/text';
import { readableRecord } from '../media-info/ranges';
import { inParallel } from '../stores/batch';
import { ALLOWED_TYPES, kindOf, UnreadableMedia, type ImageInfo, type MediaKind, type RangeReader, type VideoInfo } from '../media-info/types';
import { DuplicateMedia, OwnerUnavailable, TagSyncContended, VersionConflict, type MediaQuery, type MetadataChanges, type MediaRecord, type MediaStatus, type MediaStore, type ProcessedFields, type TagCount } from '../stores/media';

export interface MediaSettings {
  maxImageBytes: number;
  maxVideoBytes: number;
  uploadUrlSeconds: number;
  downloadUrlSeconds: number;
}

export interface MediaDeps {
  media: MediaStore;
  content: ContentStore;
  clock: Clock;
  newId: () => string;
  settings: MediaSettings;
}

/** What processUpload needs to look inside uploads (sharp, file-type, the MP4 box reader). */
export interface MediaInspector {
  /** How many leading bytes `sniff` wants. */
  sniffBytes: number;
  sniff(head: Buffer): Promise<string | undefined>;
  typesAgree(declared: string, sniffed: string | undefined): boolean;
  image(buffer: Buffer): Promise<ImageInfo>;
  thumbnails(buffer: Buffer): Promise<{ small: Buffer; large: Buffer }>;
  /** 64-bit difference hash: the key of the similarity index. */
  perceptualHash(buffer: Buffer): Promise<string>;
  /** Up to five dominant colours (kept for image analysis, which then needs no image decoder). */
  dominantColors(buffer: Buffer): Promise<DominantColor[]>;
  video(reader: RangeReader): Promise<VideoInfo>;
}

export interface Caller {
  userId: string;
}

/** A media item as clients see it. */
export interface MediaView {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  status: MediaStatus;
  rejectReason?: string;
  type: MediaKind;
  createdAt: string;
  /** The metadata title, when there is one. */
  title?: string;
  width?: number;
  height?: number;
  durationSeconds?: number;
  takenAt?: string;
  tags: string[];
  views: number;
  favorite: boolean;
  archived: boolean;
  thumbnails?: { small: string; large: string };
  downloadUrl?: string;
}

export interface MetadataView {
  width: number | null;
  height: number | null;
  durationSeconds?: number;
  takenAt?: string;
  camera?: { make?: string; model?: string };
  location?: { latitude: number; longitude: number; altitude?: number };
  orientation?: number;
  title: string;
  description: string;
  tags: string[];
  favorite: boolean;
  archived: boolean;
}

export class MediaNotFound extends NotFound {
  constructor() {
    super('media_not_found', 'No such media item');
  }
}

export class DuplicateUpload extends Conflict {
  constructor(readonly existingId: string) {
    super('duplicate', 'You already have this content (same sha256); see existingId', undefined, { existingId });
  }
}

function view(stored: MediaRecord): MediaView {
  // What a response schema would refuse is dropped or repaired: one bad record (written before a
  // range check existed, or by a bug) must not turn every read of its owner's items into a 500.
  const record = readableRecord(stored);
  return {
    id: record.id,
    filename: record.filename,
    contentType: record.contentType,
    size: record.size,
    status: record.status,
    ...(record.rejectReason === undefined ? {} : { rejectReason: record.rejectReason }),
    type: record.type,
    createdAt: record.createdAt,
    // Lists show it (alt text of the grid) with no extra read: the title lives on the item itself.
    ...(record.title === '' ? {} : { title: record.title }),
    ...(record.width === undefined ? {} : { width: record.width }),
    ...(record.height === undefined ? {} : { height: record.height }),
    ...(record.durationSeconds === undefined ? {} : { durationSeconds: record.durationSeconds }),
    ...(record.takenAt === undefined ? {} : { takenAt: record.takenAt }),
    tags: record.tags,
    views: record.views,
    favorite: record.favorite === true,
    archived: record.archived === true,
  };
}

/**
 * Thumbnail URLs are signed at the start of fixed windows of this length, so every list or get
 * within one window hands out the same URL for the same thumbnail and the browser's cache can
 * answer it (a URL signed at each call's own time would be new every time).
 */
export const THUMBNAIL_URL_WINDOW_SECONDS = 3600;

/** Thumbnails are WebP images we made: shown inline as such, kept by the browser for one window (private: only its owner may see it). */
const THUMBNAIL_RESPONSE = { contentType: 'image/webp', cacheControl: `private, max-age=${THUMBNAIL_URL_WINDOW_SECONDS}` } as const;

/**
 * When a thumbnail URL handed out at `now` is signed, and for how long: from the start of the
 * current window for two windows, so whenever in the window it is handed out it still works for
 * at least one whole window.
 */
function thumbnailSigning(now: Date): { signedAt: Date; expiresInSeconds: number } {
  const windowMs = THUMBNAIL_URL_WINDOW_SECONDS * 1000;
  return { signedAt: new Date(Math.floor(now.getTime() / windowMs) * windowMs), expiresInSeconds: 2 * THUMBNAIL_URL_WINDOW_SECONDS };
}

async function thumbnailUrls(deps: Pick<MediaDeps, 'content' | 'clock'>, record: MediaRecord): Promise<{ small: string; large: string } | undefined> {
  if (record.status !== 'ready' || record.thumbnails === undefined) return undefined;
  const { signedAt, expiresInSeconds } = thumbnailSigning(deps.clock.now());
  const [small, large] = await Promise.all([
    deps.content.presignDownload(record.thumbnails.small, expiresInSeconds, THUMBNAIL_RESPONSE, signedAt),
    deps.content.presignDownload(record.thumbnails.large, expiresInSeconds, THUMBNAIL_RESPONSE, signedAt),
  ]);
  return { small, large };
}

/**
 * Filenames are labels, never paths: keep the last path segment, without control characters or
 * bidi controls (normalizeFilename; the schema already did so before checking the length).
 */
export function cleanFilename(filename: string): string {
  // split always yields at least one segment, so pop() always has one to give.
  const base = normalizeFilename(filename).split(/[\\/]/).pop() as string;
  // At most 255 characters, never cutting a character in half.
  return Array.from(base.trim()).slice(0, 255).join('') || 'upload';
}

/** Tags as stored (normalizeTag: NFC, no bidi controls, trimmed, lower case), duplicates dropped (schemas enforce 1–50 chars, ≤ 50 tags). */
export function normalizeTags(tags: string[]): string[] {
  return [...new Set(tags.map(normalizeTag).filter((tag) => tag.length > 0))];
}

export async function createMedia(
  deps: MediaDeps,
  caller: Caller,
  input: { filename: string; contentType: string; size: number; sha256?: string | undefined },
  requestId?: string,
): Promise<{ media: MediaView; upload: UploadForm }> {
  const kind = kindOf(input.contentType);
  // The message names what is accepted, never what was sent: error bodies echo no input.
  if (kind === undefined) throw new UnsupportedMediaType(`This content type is not accepted; use one of ${ALLOWED_TYPES.join(', ')}`);
  const limit = kind === 'image' ? deps.settings.maxImageBytes : deps.settings.maxVideoBytes;
  if (input.size > limit) throw new PayloadTooLarge(`${kind === 'image' ? 'Images' : 'Videos'} may be at most ${limit} bytes`);
  const now = deps.clock.now();
  const record: MediaRecord = {
    id: deps.newId(),
    userId: caller.userId,
    filename: cleanFilename(input.filename),
    contentType: input.contentType,
    size: input.size,
    ...(input.sha256 === undefined ? {} : { sha256: input.sha256.toLowerCase() }),
    status: 'pending',
    type: kind,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    title: '',
    description: '',
    tags: [],
    views: 0,
    version: 1,
  };
  try {
    // The pending item exists before anyone can upload: every object has an item.
    await deps.media.createPending(record);
  } catch (error) {
    if (error instanceof DuplicateMedia) throw new DuplicateUpload(error.existingId);
    // The account is being deleted (the caller's own session lives until the deletion ends).
    if (error instanceof OwnerUnavailable) throw new Unauthenticated('unauthenticated', 'The account no longer exists');
    throw error;
  }
  const upload = await deps.content.presignUpload(originalKey(caller.userId, record.id), record.contentType, record.size, deps.settings.uploadUrlSeconds, now, requestId);
  return { media: view(record), upload };
}

/**
 * The item with a download URL and thumbnail URLs (when ready). Reading an item is not viewing
 * it: clients poll this while an upload is processed. A view is what recordView counts.
 */
export async function getMedia(deps: Pick<MediaDeps, 'media' | 'content' | 'clock' | 'settings'>, caller: Caller, mediaId: string): Promise<MediaView> {
  const record = await deps.media.get(caller.userId, mediaId);
  if (record === undefined || record.deleting === true) throw new MediaNotFound();
  const result = view(record);
  if (record.status === 'ready') {
    // Downloaded as a file of the item's own (accepted) type, never rendered as whatever it was stored as.
    // Signed now, for this request: a one-off download, not something the browser caches.
    result.downloadUrl = await deps.content.presignDownload(originalKey(record.userId, record.id), deps.settings.downloadUrlSeconds, {
      contentType: record.contentType,
      attachmentName: record.filename,
    });
    const thumbnails = await thumbnailUrls(deps, record);
    if (thumbnails !== undefined) result.thumbnails = thumbnails;
  }
  return result;
}

/**
 * One view of the item: a person opened it (the web app's viewer records one each time it shows
 * an item). Nothing else counts, so `views` means what a person would think it means.
 */
export async function recordView(deps: Pick<MediaDeps, 'media'>, caller: Caller, mediaId: string): Promise<{ id: string; views: number }> {
  const record = await deps.media.view(caller.userId, mediaId);
  if (record === undefined) throw new MediaNotFound();
  return { id: record.id, views: record.views };
}

/** A list's query as it arrives: flags are the query string's `true` or `false`. */
export type ListQuery = Omit<MediaQuery, 'favorite'> & { favorite?: 'true' | 'false' | undefined };

export async function listMedia(deps: Pick<MediaDeps, 'media' | 'content' | 'clock'>, caller: Caller, query: ListQuery): Promise<{ items: MediaView[]; nextCursor: string | null }> {
  const { favorite, ...rest } = query;
  const page = await deps.media.list(caller.userId, {
    ...rest,
    ...(query.tag === undefined ? {} : { tag: normalizeTags([query.tag])[0] }),
    ...(favorite === undefined ? {} : { favorite: favorite === 'true' }),
  });
  const items = await Promise.all(page.items.map((record) => presentMedia(deps, record)));
  return { items, nextCursor: page.nextCursor };
}

/** An item as lists show it: its view and, when ready, its thumbnail URLs (signed per window). */
export async function presentMedia(deps: Pick<MediaDeps, 'content' | 'clock'>, record: MediaRecord): Promise<MediaView> {
  const result = view(record);
  const thumbnails = await thumbnailUrls(deps, record);
  return thumbnails === undefined ? result : { ...result, thumbnails };
}

async function ownRecord(deps: Pick<MediaDeps, 'media'>, caller: Caller, mediaId: string): Promise<MediaRecord> {
  const record = await deps.media.get(caller.userId, mediaId);
  if (record === undefined || record.deleting === true) throw new MediaNotFound();
  return record;
}

function metadataView(stored: MediaRecord): MetadataView {
  // As view(): nothing a response schema would refuse.
  const record = readableRecord(stored);
  return {
    width: record.width ?? null,
    height: record.height ?? null,
    ...(record.durationSeconds === undefined ? {} : { durationSeconds: record.durationSeconds }),
    ...(record.takenAt === undefined ? {} : { takenAt: record.takenAt }),
    ...(record.camera === undefined ? {} : { camera: record.camera }),
    ...(record.location === undefined ? {} : { location: record.location }),
    ...(record.orientation === undefined ? {} : { orientation: record.orientation }),
    title: record.title,
    description: record.description,
    tags: record.tags,
    favorite: record.favorite === true,
    archived: record.archived === true,
  };
}

/** Metadata with the item's version: its entity tag (`ETag: "<version>"`), for `If-Match`. */
export interface VersionedMetadata {
  metadata: MetadataView;
  version: number;
}

export async function getMetadata(deps: Pick<MediaDeps, 'media'>, caller: Caller, mediaId: string): Promise<VersionedMetadata> {
  const record = await ownRecord(deps, caller, mediaId);
  return { metadata: metadataView(record), version: record.version };
}

/**
 * Title, description, tags, and the favourite and archive flags. Concurrent changes to one item are serialised by the item's
 * version, and tag entries/counts are brought in line afterwards (syncTags), so counts stay
 * exact. Without `expectedVersion` the change is applied on top of whatever is current (a
 * loser of a race re-reads and retries; the last `tags` written win). With `acceptedVersions`
 * (`If-Match`) the change applies only to one of those versions, else 412: a client doing read-modify-write of
 * `tags` loses no other client's tag.
 */
export async function updateMetadata(
  deps: Pick<MediaDeps, 'media' | 'clock'>,
  caller: Caller,
  mediaId: string,
  changes: MetadataChanges,
  acceptedVersions?: number[],
): Promise<VersionedMetadata> {
  const normalized = { ...changes, ...(changes.tags === undefined ? {} : { tags: normalizeTags(changes.tags) }) };
  return changeMetadata(deps, caller, mediaId, () => normalized, acceptedVersions);
}

/**
 * The change `changesOf` makes to the current version of the item, serialised by the version
 * (read, write over that version, re-read and again when someone got there first). A change that
 * changes nothing is not written (no new version, no live event).
 */
async function changeMetadata(
  deps: Pick<MediaDeps, 'media' | 'clock'>,
  caller: Caller,
  mediaId: string,
  changesOf: (record: MediaRecord) => MetadataChanges,
  acceptedVersions?: number[],
  { skipNoop = false }: { skipNoop?: boolean } = {},
): Promise<VersionedMetadata> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const record = await ownRecord(deps, caller, mediaId);
    if (acceptedVersions !== undefined && !acceptedVersions.includes(record.version)) throw new PreconditionFailed();
    const changes = changesOf(record);
    if (skipNoop && changesNothing(record, changes)) return { metadata: metadataView(record), version: record.version };
    let updated: MediaRecord;
    try {
      updated = await deps.media.updateMetadata(record, changes, deps.clock.now().toISOString());
    } catch (error) {
      if (!(error instanceof VersionConflict)) throw error;
      if (acceptedVersions !== undefined) throw new PreconditionFailed();
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 20));
      continue;
    }
    try {
      // Nothing to bring in line when no tag changed (and none was left unsynced): no extra reads.
      if ((updated.dirtyTags ?? []).length > 0) await deps.media.syncTags(caller.userId, mediaId);
    } catch (error) {
      // The change is committed; whoever keeps changing the item syncs the entries after it.
      if (!(error instanceof TagSyncContended)) throw error;
    }
    return { metadata: metadataView(updated), version: updated.version };
  }
  throw new HttpError(409, 'concurrent_update', 'The item is being changed by other requests; retry');
}

function changesNothing(record: MediaRecord, changes: MetadataChanges): boolean {
  return (
    (changes.title === undefined || changes.title === record.title) &&
    (changes.description === undefined || changes.description === record.description) &&
    (changes.tags === undefined || (changes.tags.length === record.tags.length && changes.tags.every((tag, index) => tag === record.tags[index]))) &&
    (changes.favorite === undefined || changes.favorite === (record.favorite === true)) &&
    (changes.archived === undefined || changes.archived === (record.archived === true))
  );
}

/** More tags than an item may carry after a batch's additions. */
export class TooManyTags extends HttpError {
  constructor() {
    super(400, 'too_many_tags', `An item carries at most ${MAX_TAGS_PER_ITEM} tags`);
  }
}

export interface BatchEdit {
  ids: string[];
  addTags?: string[] | undefined;
  removeTags?: string[] | undefined;
  favorite?: boolean | undefined;
  archived?: boolean | undefined;
}

/** The result of one id of a batch, at the id's place in the request (ids are not echoed). */
export interface BatchItemResult {
  status: number;
  error?: { code: string; message: string };
}

/** How many items of a batch are changed at once (each is a few reads and writes of its own). */
export const BATCH_CONCURRENCY = 8;

/**
 * One change to many of the caller's items: tags added or removed (each item keeps its other
 * tags), favourite, archived. Every item gets, at its place in `ids`, the result a request for it alone would have had
 * (200, or 404 for an id that is not the caller's, 400 too_many_tags, 409 when it kept changing);
 * an item that already is as asked is not written. A failure of the store (not of an item) fails
 * the whole request: every change is repeatable, so sending the batch again is safe.
 */
export async function batchEditMedia(deps: Pick<MediaDeps, 'media' | 'clock'>, caller: Caller, edit: BatchEdit): Promise<{ results: BatchItemResult[]; succeeded: number; failed: number }> {
  const add = normalizeTags(edit.addTags ?? []);
  const remove = new Set(normalizeTags(edit.removeTags ?? []));
  const changesOf = (record: MediaRecord): MetadataChanges => {
    const changes: MetadataChanges = {};
    if (add.length + remove.size > 0) {
      const tags = [...record.tags.filter((tag) => !remove.has(tag)), ...add.filter((tag) => !record.tags.includes(tag))];
      if (tags.length > MAX_TAGS_PER_ITEM) throw new TooManyTags();
      changes.tags = tags;
    }
    if (edit.favorite !== undefined) changes.favorite = edit.favorite;
    if (edit.archived !== undefined) changes.archived = edit.archived;
    return changes;
  };
  const byId = new Map<string, BatchItemResult>();
  await inParallel(edit.ids, BATCH_CONCURRENCY, async (id) => {
    try {
      await changeMetadata(deps, caller, id, changesOf, undefined, { skipNoop: true });
      byId.set(id, { status: 200 });
    } catch (error) {
      if (!(error instanceof HttpError) || error.status >= 500) throw error;
      byId.set(id, { status: error.status, error: { code: error.code, message: error.message } });
    }
  });
  const results = edit.ids.map((id) => byId.get(id) as BatchItemResult);
  const succeeded = results.filter((result) => result.status === 200).length;
  return { results, succeeded, failed: results.length - succeeded };
}

export async function listTags(deps: Pick<MediaDeps, 'media'>, caller: Caller): Promise<TagCount[]> {
  return deps.media.listTags(caller.userId);
}

async function removeRecord(deps: Pick<MediaDeps, 'media' | 'content'>, record: MediaRecord): Promise<void> {
  // Order matters for a retry after a failure: first the item disappears for readers and its
  // tags are released, then the bytes go, then the item itself (so a retry can find it).
  let current = record;
  for (let attempt = 0; current.deleting !== true; attempt++) {
    try {
      await deps.media.beginDelete(current);
      break;
    } catch (error) {
      if (!(error instanceof VersionConflict)) throw error;
      if (attempt >= 8) throw new HttpError(409, 'concurrent_update', 'The item is being changed by other requests; retry');
      const again = await deps.media.get(record.userId, record.id);
      if (again === undefined) return;
      current = again;
    }
  }
  await deps.media.syncTags(record.userId, record.id);
  const thumbs = thumbnailKeys(record.userId, record.id);
  await deps.content.delete([originalKey(record.userId, record.id), thumbs.small, thumbs.large]);
  await deps.media.finishDelete(current);
}

/** Deletes the item, its original, its thumbnails, tag entries and its hash claim. */
export async function deleteMedia(deps: Pick<MediaDeps, 'media' | 'content'>, caller: Caller, mediaId: string): Promise<void> {
  const record = await deps.media.get(caller.userId, mediaId);
  // A half-deleted item (a failed earlier DELETE) is finished, not refused.
  if (record === undefined) throw new MediaNotFound();
  await removeRecord(deps, record);
}

/** Account deletion: every object under the user's prefix and the user's whole partition. */
export async function deleteAllMedia(deps: Pick<MediaDeps, 'media' | 'content'>, userId: string): Promise<void> {
  // Items before bytes: an upload that lands afterwards (through a form issued before the
  // deletion) finds no item and processUpload deletes it as an orphan, and processing under way
  // cannot mark a deleted item ready (markReady is conditional), so it removes what it wrote.
  // No new item can appear (the account is marked `deleting`, which createPending checks), but a
  // write to an item that committed just before the item went (ready: similarity entries; a tag
  // sync: tag entries) may have missed the first pass; the second, after every item is gone,
  // finds them (nothing can write for an item that no longer exists).
  if ((await deps.media.deleteUserData(userId)) > 0) await deps.media.deleteUserData(userId);
  await deps.content.deletePrefix(userPrefix(userId));
}

export type ProcessOutcome = 'ready' | 'rejected' | 'duplicate-delivery' | 'orphan-removed' | 'ignored';

/** A reader over an object that counts what it fetches (the MP4 reader must stay small). */
export function countingReader(content: ContentStore, key: string, size: number, first: Buffer): RangeReader & { bytesRead: () => number } {
  let bytes = first.length;
  return {
    size,
    bytesRead: () => bytes,
    async read(start, end) {
      if (end < first.length) return first.subarray(start, end + 1);
      const chunk = await content.readRange(key, start, end);
      bytes += chunk.length;
      return chunk;
    },
  };
}

/** How much of an upload to read before deciding anything: the sniffer's need, and the MP4 reader's first read. */
export const FIRST_READ_BYTES = 64 * 1024;

/**
 * S3 ObjectCreated for media/{user}/{media}/original. At-least-once delivery makes this
 * repeatable: an item that is no longer pending (or was processed from the same ETag) is left
 * alone, and the final write is conditional, so concurrent duplicates settle on one result.
 * The stand-in (and a lying client) may deliver anything: the real size and the real type
 * decide, and a mismatch deletes the object and rejects the item with a reason.
 */
/** What processUpload decided about an upload (for the metrics of the function that runs it). */
export interface UploadDecision {
  outcome: 'ready' | 'rejected';
  /** Why it was rejected. */
  reason?: string;
  type: MediaRecord['type'];
  /** The size of the object processed. */
  bytes: number;
}

export async function processUpload(
  deps: Pick<MediaDeps, 'media' | 'content' | 'clock' | 'settings'> & {
    inspector: MediaInspector;
    /** The id of the request that issued the upload form, as soon as it is known (for the logs). */
    onRequestId?: (requestId: string) => void;
    onDecided?: (decision: UploadDecision) => void;
  },
  key: string,
): Promise<ProcessOutcome> {
  const ids = parseOriginalKey(key);
  if (ids === undefined) return 'ignored';
  const record = await deps.media.get(ids.userId, ids.mediaId);
  const head = await deps.content.head(key);
  if (head?.requestId !== undefined) deps.onRequestId?.(head.requestId);
  const thumbs = thumbnailKeys(ids.userId, ids.mediaId);
  if (record === undefined || record.deleting === true) {
    // Uploaded for an item that was deleted or swept: nothing may keep the bytes.
    if (head !== undefined) await deps.content.delete([key, thumbs.small, thumbs.large]);
    return 'orphan-removed';
  }
  if (record.status === 'rejected') {
    // The upload form stays usable until it expires: bytes sent with it after the rejection
    // (and anything an earlier version left) must not stay.
    if (head !== undefined) {
      await deps.content.delete([key, thumbs.small, thumbs.large]);
      return 'orphan-removed';
    }
    return 'duplicate-delivery';
  }
  if (record.status === 'ready' && (head === undefined || head.eTag === record.objectETag)) return 'duplicate-delivery';
  const now = (): string => deps.clock.now().toISOString();
  const reject = async (reason: string): Promise<ProcessOutcome> => {
    // Bytes first: if the item write then fails, a retry finds no object and rejects again.
    // Thumbnails too: a rejected re-upload over a ready item leaves none of the old version.
    await deps.content.delete([key, thumbs.small, thumbs.large]);
    await deps.media.markRejected(record, reason, now());
    deps.onDecided?.({ outcome: 'rejected', reason, type: record.type, bytes: head?.size ?? 0 });
    return 'rejected';
  };
  if (head === undefined) return reject('upload_missing');
  const limit = record.type === 'image' ? deps.settings.maxImageBytes : deps.settings.maxVideoBytes;
  if (head.size > limit) return reject('too_large');
  if (head.size !== record.size) return reject('size_mismatch');
  // The type the object was stored with is what S3 would serve it as: it must be the declared one
  // (the upload policy binds it; a client that got around it is refused here).
  if (head.contentType !== record.contentType) return reject('type_mismatch');

  const first = await deps.content.readRange(key, 0, Math.min(head.size, FIRST_READ_BYTES) - 1);
  const sniffed = await deps.inspector.sniff(first.subarray(0, deps.inspector.sniffBytes));
  if (!deps.inspector.typesAgree(record.contentType, sniffed)) return reject('type_mismatch');

  let fields: ProcessedFields;
  if (record.type === 'image') {
    const bytes = head.size <= first.length ? first : await deps.content.read(key);
    if (record.sha256 !== undefined && createHash('sha256').update(bytes).digest('hex') !== record.sha256) return reject('checksum_mismatch');
    let info: ImageInfo;
    let made: { small: Buffer; large: Buffer };
    let perceptualHash: string;
    let dominantColors: DominantColor[];
    try {
      info = await deps.inspector.image(bytes);
      made = await deps.inspector.thumbnails(bytes);
      perceptualHash = await deps.inspector.perceptualHash(bytes);
      dominantColors = await deps.inspector.dominantColors(bytes);
    } catch (error) {
      if (error instanceof UnreadableMedia) return reject('unreadable');
      throw error;
    }
    await Promise.all([deps.content.put(thumbs.small, made.small, 'image/webp'), deps.content.put(thumbs.large, made.large, 'image/webp')]);
    fields = { ...info, thumbnails: thumbs, perceptualHash, dominantColors };
  } else {
    try {
      fields = await deps.inspector.video(countingReader(deps.content, key, head.size, first));
    } catch (error) {
      // Only a broken file is rejected; a failing read (S3) fails the invocation for Lambda to retry.
      if (error instanceof UnreadableMedia) return reject('unreadable');
      throw error;
    }
  }
  if (await deps.media.markReady(record, fields, head.eTag, now())) {
    deps.onDecided?.({ outcome: 'ready', type: record.type, bytes: head.size });
    return 'ready';
  }
  // Another delivery finished first, or the item was deleted meanwhile: in that case nothing
  // written here may stay behind.
  const latest = await deps.media.get(record.userId, record.id);
  if (latest === undefined || latest.deleting === true) {
    await deps.content.delete([key, thumbs.small, thumbs.large]);
    return 'orphan-removed';
  }
  return 'duplicate-delivery';
}

/** Hourly: pending items older than `maxAgeHours` (never uploaded, or never processed) and any bytes they have. */
export async function sweepUploads(deps: Pick<MediaDeps, 'media' | 'content' | 'clock'>, maxAgeHours = 24, batch = 500): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - maxAgeHours * 3600_000).toISOString();
  let swept = 0;
  for (const { userId, mediaId } of await deps.media.listPendingBefore(before, batch)) {
    const record = await deps.media.get(userId, mediaId);
    if (record === undefined || record.status !== 'pending' || record.createdAt >= before) continue;
    await deps.content.delete([originalKey(userId, mediaId)]);
    if (await deps.media.deletePending(record)) swept++;
  }
  return swept;
}
