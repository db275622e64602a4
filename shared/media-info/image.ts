import exifr from 'exifr';
import sharp from 'sharp';
import { UnreadableMedia, type ImageInfo } from './types';

/**
 * Image metadata and thumbnails (sharp/libvips, exifr). Only processUpload imports this
 * module, so only its bundle carries sharp's native binaries.
 */

/** Refuse decompression bombs: nothing a camera makes comes near 100 megapixels. */
export const MAX_INPUT_PIXELS = 100_000_000;
export const THUMBNAIL_SIZES = { small: 256, large: 1024 } as const;

export class UnreadableImage extends UnreadableMedia {
  override readonly name = 'UnreadableImage';
}

interface RawExif {
  DateTimeOriginal?: string;
  OffsetTimeOriginal?: string;
  Make?: string;
  Model?: string;
  latitude?: number;
  longitude?: number;
  GPSAltitude?: number;
  GPSAltitudeRef?: number | Uint8Array;
}

/** EXIF "2024:07:14 18:32:05" (+ "+02:00" when the camera recorded its offset; UTC otherwise). */
export function exifTimestamp(dateTime: string | undefined, offset: string | undefined): string | undefined {
  const match = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(dateTime ?? '');
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  // Date rolls 2024-02-30 over into March: check the calendar date survives the round trip.
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  const zone = offset !== undefined && /^[+-]\d{2}:\d{2}$/.test(offset) ? offset : 'Z';
  const date = new Date(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}${zone}`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

const clean = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, 100) : undefined);

async function readExif(buffer: Buffer): Promise<RawExif | undefined> {
  try {
    return (await exifr.parse(buffer, {
      tiff: true,
      exif: true,
      gps: true,
      reviveValues: false,
      pick: ['DateTimeOriginal', 'OffsetTimeOriginal', 'Make', 'Model', 'GPSLatitude', 'GPSLatitudeRef', 'GPSLongitude', 'GPSLongitudeRef', 'GPSAltitude', 'GPSAltitudeRef'],
    })) as RawExif | undefined;
  } catch {
    return undefined; // broken EXIF is not a broken image
  }
}

export async function readImage(buffer: Buffer): Promise<ImageInfo> {
  let metadata: sharp.Metadata;
  try {
    metadata = await sharp(buffer, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  } catch (error) {
    throw new UnreadableImage((error as Error).message);
  }
  if (metadata.width === undefined || metadata.height === undefined) throw new UnreadableImage('no dimensions');
  const orientation = metadata.orientation;
  const swap = orientation !== undefined && orientation >= 5;
  const exif = await readExif(buffer);
  const takenAt = exifTimestamp(exif?.DateTimeOriginal, exif?.OffsetTimeOriginal);
  const make = clean(exif?.Make);
  const model = clean(exif?.Model);
  const hasLocation = typeof exif?.latitude === 'number' && typeof exif.longitude === 'number' && Number.isFinite(exif.latitude) && Number.isFinite(exif.longitude);
  const belowSeaLevel = exif?.GPSAltitudeRef === 1 || (exif?.GPSAltitudeRef instanceof Uint8Array && exif.GPSAltitudeRef[0] === 1);
  return {
    width: swap ? metadata.height : metadata.width,
    height: swap ? metadata.width : metadata.height,
    ...(orientation === undefined ? {} : { orientation }),
    ...(takenAt === undefined ? {} : { takenAt }),
    ...(make === undefined && model === undefined ? {} : { camera: { ...(make === undefined ? {} : { make }), ...(model === undefined ? {} : { model }) } }),
    ...(hasLocation
      ? {
          location: {
            latitude: Math.round((exif?.latitude as number) * 1e6) / 1e6,
            longitude: Math.round((exif?.longitude as number) * 1e6) / 1e6,
            ...(typeof exif?.GPSAltitude === 'number' ? { altitude: (belowSeaLevel ? -1 : 1) * exif.GPSAltitude } : {}),
          },
        }
      : {}),
  };
}

/** WebP thumbnails that fit in 256 and 1024 px squares, upright (EXIF orientation applied), never enlarged. */
export async function makeThumbnails(buffer: Buffer): Promise<{ small: Buffer; large: Buffer }> {
  try {
    const upright = sharp(buffer, { limitInputPixels: MAX_INPUT_PIXELS }).rotate();
    const [small, large] = await Promise.all(
      [THUMBNAIL_SIZES.small, THUMBNAIL_SIZES.large].map((size) =>
        upright.clone().resize(size, size, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer(),
      ),
    );
    return { small: small as Buffer, large: large as Buffer };
  } catch (error) {
    throw new UnreadableImage((error as Error).message);
  }
}
