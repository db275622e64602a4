import { decodeTime } from 'ulid';
import type { MediaRecord } from '../stores/media';
import { kindOf, type Camera, type GeoLocation } from './types';

/**
 * What a value read from an uploaded file may be before we keep it, and what a stored record may
 * show. Files are written by anyone: EXIF rationals of 1/0 (Infinity) and 0/0 (NaN), a 32-bit
 * "latitude" of 4294967295, an MP4 creation time in the year 584 554 049, a duration of 2^64 − 1
 * ticks. Kept as they are, such values fail the DynamoDB write (which refuses NaN, Infinity and
 * integers past 2^53) and leave the item pending, or are stored and then fail the response
 * schemas of every read that shows them. So each value is checked against the range it can
 * really have, and one out of range is dropped: the file is still a good picture or video, only
 * that piece of metadata is not believable.
 *
 * Pure functions, no decoder: the read path (every media function) uses them too.
 */

/**
 * The oldest surviving photograph (Niépce, "View from the Window at Le Gras") dates from 1826 or
 * 1827: a capture time before 1826 is not one. (A scan of an older painting is "taken" when it is
 * scanned.)
 */
export const EARLIEST_CAPTURE_MS = Date.UTC(1826, 0, 1);
/**
 * How far past "now" a capture time may lie: camera clocks run fast, and an EXIF local time
 * without an offset is read as UTC, which puts a photo taken a minute ago at UTC+14 fourteen
 * hours ahead. Anything later than a day ahead is a wrong clock or a forged value.
 */
export const CAPTURE_CLOCK_SKEW_MS = 24 * 3600_000;

/**
 * Pixels per side: an image has at most MAX_INPUT_PIXELS (100 million, image.ts) pixels, so no side
 * can be longer; a video's `tkhd` size is 16.16 fixed point, at most 65 536.
 */
export const MAX_DIMENSION = 100_000_000;

/**
 * Longest believable video: a 2 GiB upload (the largest accepted) lasting 31 days would carry
 * 6 kbit/s, less than any video codec produces; a longer duration is a broken `mvhd`.
 */
export const MAX_DURATION_SECONDS = 31 * 24 * 3600;

/** Below the deepest ocean (−10 935 m) and above the edge of space (the Kármán line, 100 km). */
export const ALTITUDE_RANGE_METRES = { min: -11_000, max: 100_000 } as const;

/** Camera make and model are labels: at most this many characters. */
export const MAX_CAMERA_TEXT = 100;

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** An instant (milliseconds since 1970) as the ISO string we store, if it is a believable capture time. */
export function captureTimeOf(epochMs: number, now = Date.now()): string | undefined {
  if (!Number.isFinite(epochMs) || epochMs < EARLIEST_CAPTURE_MS || epochMs > now + CAPTURE_CLOCK_SKEW_MS) return undefined;
  return new Date(epochMs).toISOString();
}

/**
 * A timestamp exactly as the response schemas want it (ISO 8601 UTC, four-digit year), or
 * undefined. `toISOString` writes years past 9999 as "+010000-…", which no schema accepts.
 */
export function isoTimestampOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const epochMs = Date.parse(value);
  if (!Number.isFinite(epochMs) || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const iso = new Date(epochMs).toISOString();
  return /^\d{4}-/.test(iso) ? iso : undefined;
}

/** A stored or read capture time, if it is a well-formed timestamp in the believable window. */
export function plausibleCaptureTime(value: unknown, now = Date.now()): string | undefined {
  const iso = isoTimestampOf(value);
  return iso === undefined ? undefined : captureTimeOf(Date.parse(iso), now);
}

/** A side of a picture in pixels: a whole number from 1 to MAX_DIMENSION. */
export function plausibleDimension(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= MAX_DIMENSION ? (value as number) : undefined;
}

/** A duration in seconds, rounded to the millisecond, from 0 to MAX_DURATION_SECONDS. */
export function plausibleDuration(value: unknown): number | undefined {
  if (!isFiniteNumber(value) || value < 0 || value > MAX_DURATION_SECONDS) return undefined;
  return Math.round(value * 1000) / 1000;
}

/** EXIF orientation: 1–8 (anything else means "as stored"). */
export function plausibleOrientation(value: unknown): number | undefined {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 8 ? (value as number) : undefined;
}

/**
 * A position on Earth, rounded to 1e-6° (about 11 cm), if latitude and longitude are in range;
 * an altitude out of range is dropped on its own (the position still holds).
 */
export function plausibleLocation(latitude: unknown, longitude: unknown, altitude?: unknown): GeoLocation | undefined {
  if (!isFiniteNumber(latitude) || !isFiniteNumber(longitude) || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  const keepAltitude = isFiniteNumber(altitude) && altitude >= ALTITUDE_RANGE_METRES.min && altitude <= ALTITUDE_RANGE_METRES.max;
  return {
    latitude: Math.round(latitude * 1e6) / 1e6,
    longitude: Math.round(longitude * 1e6) / 1e6,
    ...(keepAltitude ? { altitude } : {}),
  };
}

// eslint-disable-next-line no-control-regex
const CONTROL_AND_BIDI = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;

/** A camera make or model: well-formed text without control or bidi characters, trimmed, at most MAX_CAMERA_TEXT characters. */
export function plausibleCameraText(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = Array.from(value.toWellFormed().replace(CONTROL_AND_BIDI, '').trim()).slice(0, MAX_CAMERA_TEXT).join('').trim();
  return text === '' ? undefined : text;
}

export function plausibleCamera(make: unknown, model: unknown): Camera | undefined {
  const cleanMake = plausibleCameraText(make);
  const cleanModel = plausibleCameraText(model);
  if (cleanMake === undefined && cleanModel === undefined) return undefined;
  return { ...(cleanMake === undefined ? {} : { make: cleanMake }), ...(cleanModel === undefined ? {} : { model: cleanModel }) };
}

const STATUSES = new Set(['pending', 'ready', 'rejected']);
const stringOr = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);

/** When the item was created: its own timestamp if well-formed, else the time in its ULID, else its last update. */
function createdAtOf(record: MediaRecord): string {
  const own = isoTimestampOf(record.createdAt);
  if (own !== undefined) return own;
  try {
    return new Date(decodeTime(record.id)).toISOString();
  } catch {
    return isoTimestampOf(record.updatedAt) ?? new Date(0).toISOString();
  }
}

/**
 * A stored record as the read path may show it: every field a response schema would refuse
 * (shared/schemas/media.ts) dropped, if optional, or repaired, if required. Records written before
 * the range checks above existed, or by any later bug, then still read (a response that fails its
 * schema is a 500, and one bad item would break every list of its owner). Optional metadata is held
 * to the same ranges as at ingestion, so what an old record shows is what a new one would store.
 */
export function readableRecord(record: MediaRecord, now = Date.now()): MediaRecord {
  const {
    width, height, durationSeconds, takenAt, camera, location, orientation, rejectReason,
    ...required
  } = record;
  const readable: MediaRecord = {
    ...required,
    filename: stringOr(record.filename, 'upload'),
    contentType: stringOr(record.contentType, 'application/octet-stream'),
    size: isFiniteNumber(record.size) ? record.size : 0,
    // A status no reader knows is not an item anyone can use.
    status: STATUSES.has(record.status) ? record.status : 'rejected',
    type: record.type === 'image' || record.type === 'video' ? record.type : (kindOf(stringOr(record.contentType, '')) ?? 'image'),
    createdAt: createdAtOf(record),
    title: stringOr(record.title, ''),
    description: stringOr(record.description, ''),
    tags: Array.isArray(record.tags) ? record.tags.filter((tag): tag is string => typeof tag === 'string') : [],
    views: isFiniteNumber(record.views) ? record.views : 0,
  };
  // Width and height go together: one side alone tells a client nothing it could lay out.
  const [readableWidth, readableHeight] = [plausibleDimension(width), plausibleDimension(height)];
  const hasSize = readableWidth !== undefined && readableHeight !== undefined;
  const optional = {
    rejectReason: typeof rejectReason === 'string' ? rejectReason : undefined,
    width: hasSize ? readableWidth : undefined,
    height: hasSize ? readableHeight : undefined,
    durationSeconds: plausibleDuration(durationSeconds),
    takenAt: plausibleCaptureTime(takenAt, now),
    camera: typeof camera === 'object' && camera !== null ? plausibleCamera(camera.make, camera.model) : undefined,
    location: typeof location === 'object' && location !== null ? plausibleLocation(location.latitude, location.longitude, location.altitude) : undefined,
    orientation: plausibleOrientation(orientation),
  };
  for (const [name, value] of Object.entries(optional)) if (value !== undefined) Object.assign(readable, { [name]: value });
  return readable;
}
