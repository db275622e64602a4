import * as z from 'zod/mini';
import { Id, IsoTimestamp, PageQuery } from './common';
import { MAX_BATCH_ITEMS, MAX_TAGS_PER_ITEM } from './limits';
import { normalizedString, normalizeFilename, normalizeTag, normalizeText } from './text';

// eslint-disable-next-line no-control-regex
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f]*$/;

export const Tag = normalizedString(normalizeTag, z.minLength(1), z.maxLength(50), z.regex(NO_CONTROL_CHARACTERS, 'Tags cannot contain control characters'));

export const CreateMediaBody = z.strictObject({
  filename: normalizedString(normalizeFilename, z.minLength(1), z.maxLength(255)),
  // Any string here: a type we do not accept is answered 415, not 400.
  contentType: z.string().check(z.minLength(1), z.maxLength(100)),
  size: z.number().check(z.int(), z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER)),
  sha256: z.optional(z.string().check(z.regex(/^[0-9a-fA-F]{64}$/, 'A SHA-256 is 64 hex characters'))),
});

export const MediaIdParams = z.strictObject({ id: Id });

export const ListMediaQuery = z.extend(PageQuery, {
  type: z.optional(z.enum(['image', 'video'])),
  status: z.optional(z.enum(['pending', 'ready', 'rejected'])),
  tag: z.optional(Tag),
  // Query strings are text: `true` or `false` only (no 1, yes or empty).
  favorite: z.optional(z.enum(['true', 'false'])),
  // The timeline leaves archived items out (exclude, the default); the archive view shows them alone (only).
  archived: z.optional(z.enum(['exclude', 'include', 'only'])),
});

/** One change to many items: tags added or removed, favourite, archived; each item gets a result. */
export const BatchEditBody = z
  .strictObject({
    ids: z.array(Id).check(
      z.minLength(1, 'Give at least one id'),
      z.maxLength(MAX_BATCH_ITEMS, `At most ${MAX_BATCH_ITEMS} items per request`),
      z.refine((ids) => new Set(ids).size === ids.length, 'Give each id once'),
    ),
    addTags: z.optional(z.array(Tag).check(z.maxLength(MAX_TAGS_PER_ITEM, `At most ${MAX_TAGS_PER_ITEM} tags`))),
    removeTags: z.optional(z.array(Tag).check(z.maxLength(MAX_TAGS_PER_ITEM, `At most ${MAX_TAGS_PER_ITEM} tags`))),
    favorite: z.optional(z.boolean()),
    archived: z.optional(z.boolean()),
  })
  .check(
    z.refine((body) => (body.addTags ?? []).length + (body.removeTags ?? []).length > 0 || body.favorite !== undefined || body.archived !== undefined, {
      message: 'Give addTags, removeTags, favorite or archived',
      path: [],
    }),
    z.refine((body) => !(body.addTags ?? []).some((tag) => (body.removeTags ?? []).includes(tag)), { message: 'A tag cannot be added and removed at once', path: ['removeTags'] }),
  );

/** The result of one id, at the id's place in `ids` (no id is echoed back). */
export const BatchItemResult = z.object({
  /** What a request for this item alone would have answered: 200, or the error's status. */
  status: z.number(),
  error: z.optional(z.object({ code: z.string(), message: z.string() })),
});

export const BatchEditResponse = z.object({ results: z.array(BatchItemResult), succeeded: z.number(), failed: z.number() });

export const UpdateMetadataBody = z
  .strictObject({
    title: z.optional(normalizedString(normalizeText, z.maxLength(200), z.regex(NO_CONTROL_CHARACTERS, 'No control characters in titles'))),
    description: z.optional(normalizedString(normalizeText, z.maxLength(2000))),
    tags: z.optional(z.array(Tag).check(z.maxLength(MAX_TAGS_PER_ITEM, `At most ${MAX_TAGS_PER_ITEM} tags per item`))),
    favorite: z.optional(z.boolean()),
    archived: z.optional(z.boolean()),
  })
  .check(
    z.refine((body) => Object.values(body).some((value) => value !== undefined), {
      message: 'Give a title, a description, tags, favorite or archived to change',
      path: [],
    }),
  );

const Urls = z.object({ small: z.string(), large: z.string() });

export const MediaResponse = z.object({
  id: Id,
  filename: z.string(),
  contentType: z.string(),
  size: z.number(),
  status: z.enum(['pending', 'ready', 'rejected']),
  rejectReason: z.optional(z.string()),
  type: z.enum(['image', 'video']),
  createdAt: IsoTimestamp,
  // The metadata title, present when it is not empty (a grid's alt text: the title, else the filename).
  title: z.optional(z.string()),
  width: z.optional(z.number()),
  height: z.optional(z.number()),
  durationSeconds: z.optional(z.number()),
  takenAt: z.optional(IsoTimestamp),
  tags: z.array(z.string()),
  views: z.number(),
  favorite: z.boolean(),
  archived: z.boolean(),
  thumbnails: z.optional(Urls),
  downloadUrl: z.optional(z.string()),
});

export const RecordViewResponse = z.object({ id: Id, views: z.number() });

export const UploadForm = z.object({
  method: z.literal('POST'),
  url: z.string(),
  fields: z.record(z.string(), z.string()),
  expiresAt: IsoTimestamp,
});

export const CreateMediaResponse = z.object({ media: MediaResponse, upload: UploadForm });

export const MediaListResponse = z.object({ items: z.array(MediaResponse), nextCursor: z.nullable(z.string()) });

export const MetadataResponse = z.object({
  width: z.nullable(z.number()),
  height: z.nullable(z.number()),
  durationSeconds: z.optional(z.number()),
  takenAt: z.optional(IsoTimestamp),
  camera: z.optional(z.object({ make: z.optional(z.string()), model: z.optional(z.string()) })),
  location: z.optional(z.object({ latitude: z.number(), longitude: z.number(), altitude: z.optional(z.number()) })),
  orientation: z.optional(z.number()),
  title: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  favorite: z.boolean(),
  archived: z.boolean(),
});

export const TagListResponse = z.object({ items: z.array(z.object({ tag: z.string(), count: z.number() })) });
