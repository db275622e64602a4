import exifr from 'exifr';
import sharp from 'sharp';
import { withoutUnreadChunks } from './png';
import { captureTimeOf, plausibleCamera, plausibleLocation, plausibleOrientation } from './ranges';
import { UnreadableMedia, type ImageInfo } from './types';

/**
 * Image metadata and thumbnails (sharp/libvips, exifr). Only processUpload imports this
 * module, so only its bundle carries sharp's native binaries.
 *
 * Memory is bounded per upload, whatever the file holds (docs/reliability.md, "File formats"):
 * - pixels: at most MAX_INPUT_PIXELS, and the image is decoded once (makeThumbnails), not once
 *   per output;
 * - metadata: exifr sees only the EXIF block libvips found (at most MAX_EXIF_BYTES), never the
 *   file: given a PNG, exifr inflates its iCCP chunk with no limit (1 MB of file, 1 GB of
 *   memory). libvips reads the rest (ICC, XMP, text chunks) under its own limits (`unlimited`
 *   off: libpng caps a decompressed chunk and the number of text chunks);
 * - libvips' operation cache is off: it kept every decoded image of a processing alive until the
 *   next one, so three decodes of a 100-megapixel JPEG held three times the memory of one.
 */

/** Refuse decompression bombs: nothing a camera makes comes near 100 megapixels. */
export const MAX_INPUT_PIXELS = 100_000_000;
export const THUMBNAIL_SIZES = { small: 256, large: 1024 } as const;
/**
 * A JPEG's EXIF is one APP1 segment, at most 64 KiB; PNG and WebP EXIF is the same block moved
 * over. More than 1 MiB is not camera metadata: exifr reads only that much of it.
 */
export const MAX_EXIF_BYTES = 1024 * 1024;
/**
 * Most layouts decode as a stream, a few rows at a time. Two make the decoder hold the whole
 * picture first: a progressive JPEG keeps every DCT coefficient (2 bytes a sample) until its last
 * scan, an interlaced (Adam7) PNG every pixel. At 100 megapixels that is up to 800 MB (CMYK, or
 * 16-bit RGBA): with the rest of a processing, past the 1 GiB budget of processUpload's 1536 MB
 * (docs/reliability.md). Such a picture needing more than this is refused as unreadable; a
 * 100-megapixel progressive RGB JPEG (600 MB) or 8-bit interlaced PNG (400 MB) still passes.
 */
export const MAX_BUFFERED_DECODE_BYTES = 640 * 1024 * 1024;
const SAMPLE_BYTES: Record<string, number> = { uchar: 1, char: 1, ushort: 2, short: 2, uint: 4, int: 4, float: 4, double: 8, complex: 8, dpcomplex: 16 };

/** What the decoder must hold at once for this picture (0 when it streams). */
export function bufferedDecodeBytes(metadata: Pick<sharp.Metadata, 'format' | 'width' | 'height' | 'channels' | 'depth' | 'isProgressive'>): number {
  if (metadata.isProgressive !== true || metadata.width === undefined || metadata.height === undefined) return 0;
  const samples = metadata.width * metadata.height * (metadata.channels ?? 4);
  if (metadata.format === 'jpeg') return samples * 2;
  if (metadata.format === 'png') return samples * (SAMPLE_BYTES[metadata.depth ?? 'uchar'] ?? 1);
  return 0;
}

function refuseCostlyDecode(metadata: sharp.Metadata): void {
  const bytes = bufferedDecodeBytes(metadata);
  if (bytes > MAX_BUFFERED_DECODE_BYTES) throw new UnreadableImage(`decoding needs ${Math.round(bytes / 1024 / 1024)} MiB at once (more than ${MAX_BUFFERED_DECODE_BYTES / 1024 / 1024})`);
}

/** The formats we accept (types.ts IMAGE_TYPES) as libvips names them. */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif']);

/**
 * Every decode of an upload uses these. Spelled out, not left to sharp's defaults, because each
 * one is a safety property a future default must not take away: refuse huge pictures, stop at
 * the first decoder warning (truncated or corrupt data), keep libvips' own limits on metadata
 * (`unlimited: false`), read front to back without keeping the whole image (`sequentialRead`),
 * and decode the first frame only of an animated GIF or WebP (`pages: 1`).
 */
const INPUT_OPTIONS = { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'warning', unlimited: false, sequentialRead: true, pages: 1 } as const satisfies sharp.SharpOptions;

// One processing per upload: nothing decoded is ever asked for again.
sharp.cache(false);

export class UnreadableImage extends UnreadableMedia {
  override readonly name = 'UnreadableImage';
}

interface RawExif {
  DateTimeOriginal?: unknown;
  OffsetTimeOriginal?: unknown;
  Make?: unknown;
  Model?: unknown;
  latitude?: unknown;
  longitude?: unknown;
  GPSAltitude?: unknown;
  GPSAltitudeRef?: unknown;
}

/**
 * EXIF "2024:07:14 18:32:05" (+ "+02:00" when the camera recorded its offset; UTC otherwise),
 * if it names a real instant in the believable window (ranges.ts: 1826 to a day from `now`).
 */
export function exifTimestamp(dateTime: unknown, offset: unknown, now = Date.now()): string | undefined {
  const match = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(typeof dateTime === 'string' ? dateTime : '');
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  // Date rolls 2024-02-30 over into March: check the calendar date survives the round trip.
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  const zone = typeof offset === 'string' && /^[+-]\d{2}:\d{2}$/.test(offset) ? offset : 'Z';
  return captureTimeOf(Date.parse(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}${zone}`), now);
}

/** The TIFF structure inside an EXIF block as libvips hands it over (JPEG and WebP blocks start with "Exif\0\0"). */
function tiffOf(exif: Buffer): Buffer {
  const tiff = exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? exif.subarray(6) : exif;
  return tiff.subarray(0, MAX_EXIF_BYTES);
}

async function readExif(exif: Buffer | undefined): Promise<RawExif | undefined> {
  if (exif === undefined || exif.length === 0) return undefined;
  try {
    return (await exifr.parse(tiffOf(exif), {
      // Only the three IFDs we read from; every other block and segment parser off.
      tiff: true,
      exif: true,
      gps: true,
      ifd1: false,
      interop: false,
      makerNote: false,
      userComment: false,
      xmp: false,
      icc: false,
      iptc: false,
      jfif: false,
      ihdr: false,
      reviveValues: false,
      pick: ['DateTimeOriginal', 'OffsetTimeOriginal', 'Make', 'Model', 'GPSLatitude', 'GPSLatitudeRef', 'GPSLongitude', 'GPSLongitudeRef', 'GPSAltitude', 'GPSAltitudeRef'],
    })) as RawExif | undefined;
  } catch {
    return undefined; // broken EXIF is not a broken image
  }
}

function altitudeOf(exif: RawExif): number | undefined {
  if (typeof exif.GPSAltitude !== 'number') return undefined;
  const ref = exif.GPSAltitudeRef;
  const belowSeaLevel = ref === 1 || (ref instanceof Uint8Array && ref[0] === 1);
  return (belowSeaLevel ? -1 : 1) * exif.GPSAltitude;
}

/**
 * Size as displayed, orientation, and what EXIF says (capture time, camera, position). Each
 * value out of its range (ranges.ts) is left out; the image is still good.
 */
export async function readImage(upload: Buffer): Promise<ImageInfo> {
  const buffer = withoutUnreadChunks(upload);
  let metadata: sharp.Metadata;
  try {
    metadata = await sharp(buffer, INPUT_OPTIONS).metadata();
  } catch (error) {
    throw new UnreadableImage((error as Error).message);
  }
  if (metadata.width === undefined || metadata.height === undefined) throw new UnreadableImage('no dimensions');
  // libvips picks its loader from the bytes: only the formats we accept may be decoded.
  if (metadata.format === undefined || !ACCEPTED_FORMATS.has(metadata.format)) throw new UnreadableImage(`not an accepted image format: ${String(metadata.format)}`);
  refuseCostlyDecode(metadata);
  const orientation = plausibleOrientation(metadata.orientation);
  const swap = orientation !== undefined && orientation >= 5;
  const exif = (await readExif(metadata.exif)) ?? {};
  const takenAt = exifTimestamp(exif.DateTimeOriginal, exif.OffsetTimeOriginal);
  const camera = plausibleCamera(exif.Make, exif.Model);
  const location = plausibleLocation(exif.latitude, exif.longitude, altitudeOf(exif));
  return {
    width: swap ? metadata.height : metadata.width,
    height: swap ? metadata.width : metadata.height,
    ...(orientation === undefined ? {} : { orientation }),
    ...(takenAt === undefined ? {} : { takenAt }),
    ...(camera === undefined ? {} : { camera }),
    ...(location === undefined ? {} : { location }),
  };
}

/**
 * WebP thumbnails that fit in 256 and 1024 px squares, upright (EXIF orientation applied), never
 * enlarged. One decode: the upright image is shrunk once to the large size (JPEG and WebP shrink
 * while decoding), and the small thumbnail is made from that, so a 100-megapixel upload is
 * decoded once, not once per thumbnail.
 */
export async function makeThumbnails(upload: Buffer): Promise<{ small: Buffer; large: Buffer }> {
  const buffer = withoutUnreadChunks(upload);
  try {
    refuseCostlyDecode(await sharp(buffer, INPUT_OPTIONS).metadata());
    const { data, info } = await sharp(buffer, INPUT_OPTIONS)
      .rotate()
      .resize(THUMBNAIL_SIZES.large, THUMBNAIL_SIZES.large, { fit: 'inside', withoutEnlargement: true })
      // 8 bits a channel whatever the input (a 16-bit PNG would come out 16-bit otherwise).
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const pixels = { raw: { width: info.width, height: info.height, channels: info.channels } };
    const large = await sharp(data, pixels).webp({ quality: 80 }).toBuffer();
    const small = await sharp(data, pixels)
      .resize(THUMBNAIL_SIZES.small, THUMBNAIL_SIZES.small, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer();
    return { small, large };
  } catch (error) {
    throw new UnreadableImage((error as Error).message);
  }
}
