/**
 * One upload through the real processing path, in process: the domain's processUpload with the
 * real inspector (shared/media-info/inspector.ts: file-type, sharp, exifr, the MP4 reader) over
 * the in-memory stores of local/test/fakes.ts, and what a client would then read. Used by the
 * file-format fuzz suite (formats.test.ts) and by its memory probe (formatMemory.ts), which runs
 * it in a child process to measure peak RSS.
 *
 * In-memory stores, not DynamoDB Local and the S3 stand-in: the properties are about what the
 * decoders do with the bytes (time, memory, reads, what they report), which no store changes;
 * in memory a run costs milliseconds instead of network round trips, so thousands of mutated
 * files fit in the budget. What the real stores would add is checked directly: every value
 * processUpload writes goes through the DynamoDB marshaller with the options of the real client
 * (which refuses NaN, Infinity and unsafe integers), and every read goes through the response
 * schemas the handlers use.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import { ulid } from 'ulid';
import * as z from 'zod/mini';
import { getMedia, getMetadata, listMedia, processUpload, type MediaSettings, type ProcessOutcome } from '../../shared/domain/media';
import { originalKey } from '../../shared/content/keys';
import { inspector } from '../../shared/media-info/inspector';
import { MediaListResponse, MediaResponse, MetadataResponse } from '../../shared/schemas/media';
import type { MediaRecord, ProcessedFields } from '../../shared/stores/media';
import { fixedClock, memoryContentStore, memoryMediaStore } from '../test/fakes';
import { pendingMediaRecord } from '../test/records';

/** The limits of every stage (shared/config/stages/*.yml: maxImageMB 50, maxVideoMB 2048). */
export const STAGE_SETTINGS: MediaSettings = {
  maxImageBytes: 50 * 1024 * 1024,
  maxVideoBytes: 2048 * 1024 * 1024,
  uploadUrlSeconds: 900,
  downloadUrlSeconds: 300,
};

/**
 * How many ranged reads, and how many bytes, one processing may cost: the MP4 reader's caps
 * (video.ts: MAX_RANGED_READS reads, MAX_BYTES_READ bytes) plus the first read processUpload
 * makes itself; an image is read whole (at most maxImageBytes) once more.
 */
export interface ReadCounts {
  rangedReads: number;
  wholeReads: number;
  bytesRead: number;
}

export interface ProcessedUpload {
  outcome: ProcessOutcome;
  /** The item as stored afterwards. */
  stored: MediaRecord;
  reads: ReadCounts;
  /** What processUpload wrote with markReady (undefined unless it did). */
  written?: ProcessedFields;
  /** Problems with what a client reads afterwards, or with what was written. */
  problems: string[];
  milliseconds: number;
}

const OWNER = '01JZZZZZZZZZZZZZZZZZZZZZZZ';

/** The options of the real DocumentClient (shared/aws/dynamo.ts). */
const MARSHALL_OPTIONS = { removeUndefinedValues: true } as const;

/** `bytes` uploaded as `contentType`, processed, then read back through every read of the domain and the response schemas. */
export async function processUploadOf(bytes: Buffer, contentType: string): Promise<ProcessedUpload> {
  const media = memoryMediaStore();
  const content = memoryContentStore();
  const reads: ReadCounts = { rangedReads: 0, wholeReads: 0, bytesRead: 0 };
  const readRange = content.readRange.bind(content);
  const read = content.read.bind(content);
  content.readRange = async (key, start, end) => {
    reads.rangedReads++;
    const chunk = await readRange(key, start, end);
    reads.bytesRead += chunk.length;
    return chunk;
  };
  content.read = async (key) => {
    reads.wholeReads++;
    const body = await read(key);
    reads.bytesRead += body.length;
    return body;
  };
  let written: ProcessedFields | undefined;
  const markReady = media.markReady.bind(media);
  const problems: string[] = [];
  media.markReady = async (record, fields, eTag, now) => {
    written = fields;
    try {
      // What DynamoDB would be sent: the marshaller refuses NaN, Infinity and integers past 2^53.
      marshall(fields, MARSHALL_OPTIONS);
    } catch (error) {
      problems.push(`processUpload wrote what DynamoDB refuses: ${(error as Error).message}`);
    }
    return markReady(record, fields, eTag, now);
  };

  const record = pendingMediaRecord(OWNER, { id: ulid(), contentType, size: bytes.length, type: contentType.startsWith('video/') ? 'video' : 'image', filename: 'upload' });
  await media.createPending(record);
  const key = originalKey(OWNER, record.id);
  await content.put(key, bytes, contentType);
  const clock = fixedClock(new Date().toISOString());
  const started = Date.now();
  const outcome = await processUpload({ media, content, clock, settings: STAGE_SETTINGS, inspector }, key);
  const milliseconds = Date.now() - started;
  const stored = (await media.get(OWNER, record.id)) as MediaRecord;

  // Every read of the item, as the handlers would answer it (they parse with these schemas and
  // answer 500 when a body fails).
  const caller = { userId: OWNER };
  const deps = { media, content, clock, settings: STAGE_SETTINGS };
  const check = async (what: string, schema: z.ZodMiniType, answer: () => Promise<unknown>): Promise<void> => {
    try {
      const result = z.safeParse(schema, await answer());
      if (!result.success) problems.push(`${what} fails its response schema: ${JSON.stringify(result.error.issues).slice(0, 400)}`);
    } catch (error) {
      problems.push(`${what} threw: ${(error as Error).stack ?? String(error)}`);
    }
  };
  await check('GET /v1/media/{id}', MediaResponse, () => getMedia(deps, caller, record.id));
  await check('GET /v1/media/{id}/metadata', MetadataResponse, async () => (await getMetadata(deps, caller, record.id)).metadata);
  await check('GET /v1/media', MediaListResponse, () => listMedia(deps, caller, { limit: 25 }));
  return { outcome, stored, reads, ...(written === undefined ? {} : { written }), problems, milliseconds };
}
