import { differenceHash, dominantColors } from '../analysis/perceptualHash';
import type { MediaInspector } from '../domain/media';
import { makeThumbnails, readImage } from './image';
import { SNIFF_BYTES, sniffType, typesAgree } from './sniff';
import { readVideo } from './video';

/** The real inspector: file-type, sharp/exifr, the MP4 box reader. processUpload only. */
export const inspector: MediaInspector = {
  sniffBytes: SNIFF_BYTES,
  sniff: sniffType,
  typesAgree,
  image: readImage,
  thumbnails: makeThumbnails,
  perceptualHash: differenceHash,
  dominantColors: (buffer) => dominantColors(buffer),
  video: readVideo,
};
