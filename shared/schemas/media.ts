import * as z from 'zod/mini';
import { Id, IsoTimestamp, PageQuery } from './common';
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

export const UpdateMetadataBody = z
  .strictObject({
    title: z.optional(normalizedString(normalizeText, z.maxLength(200), z.regex(NO_CONTROL_CHARACTERS, 'No control characters in titles'))),
    description: z.optional(normalizedString(normalizeText, z.maxLength(2000))),
    tags: z.optional(z.array(Tag).check(z.maxLength(50, 'At most 50 tags per item'))),
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
