import { differenceHash, dominantColors } from '../analysis/perceptualHash';
import type { MediaInspector } from '../domain/media';
import { makeThumbnails, readImage } from './image';
import { SNIFF_BYTES, sniffType, typesAgree } from './sniff';
import { readVideo } from './video';

/**
 * Thumbnails of an upload, made once: processUpload asks for the thumbnails, the perceptual hash
 * and the dominant colours of the same bytes, and each used to decode the original again (four
 * full decodes of a 100-megapixel image, ~4 times the time). The hash and the colours are taken
 * from the large thumbnail instead (1024 px, upright; both shrink it to 9×8 or 64×64 anyway).
 * Keyed by the buffer itself, so an entry goes when processUpload lets go of the bytes.
 */
const thumbnailsMade = new WeakMap<Buffer, Promise<{ small: Buffer; large: Buffer }>>();
function thumbnailsOf(buffer: Buffer): Promise<{ small: Buffer; large: Buffer }> {
  let made = thumbnailsMade.get(buffer);
  if (made === undefined) {
    made = makeThumbnails(buffer);
    thumbnailsMade.set(buffer, made);
  }
  return made;
}

/** The real inspector: file-type, sharp/exifr, the MP4 box reader. processUpload only. */
export const inspector: MediaInspector = {
  sniffBytes: SNIFF_BYTES,
  sniff: sniffType,
  typesAgree,
  image: readImage,
  thumbnails: thumbnailsOf,
  perceptualHash: async (buffer) => differenceHash((await thumbnailsOf(buffer)).large),
  dominantColors: async (buffer) => dominantColors((await thumbnailsOf(buffer)).large),
  video: readVideo,
};
