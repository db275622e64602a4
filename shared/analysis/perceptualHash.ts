import sharp from 'sharp';
import { MAX_INPUT_PIXELS } from '../media-info/image';

/**
 * dHash: the image, upright and grey, shrunk to 9×8; each bit says whether a pixel is
 * brighter than its right neighbour. 64 bits, as 16 hex digits.
 */
export async function differenceHash(buffer: Buffer): Promise<string> {
  const pixels = await sharp(buffer, { limitInputPixels: MAX_INPUT_PIXELS }).rotate().grayscale().resize(9, 8, { fit: 'fill' }).raw().toBuffer();
  let hash = 0n;
  for (let row = 0; row < 8; row++) {
    for (let column = 0; column < 8; column++) {
      const left = pixels[row * 9 + column] as number;
      const right = pixels[row * 9 + column + 1] as number;
      hash = (hash << 1n) | (left > right ? 1n : 0n);
    }
  }
  return hash.toString(16).padStart(16, '0');
}

export interface DominantColor {
  hex: string;
  ratio: number;
}

/**
 * Up to five dominant colours: the image shrunk to 64×64, each pixel put in one of 512 boxes
 * (3 bits per channel), the five fullest boxes reported as their mean colour and their share
 * of the pixels (ratios sum to at most 1).
 */
export async function dominantColors(buffer: Buffer, count = 5): Promise<DominantColor[]> {
  const { data, info } = await sharp(buffer, { limitInputPixels: MAX_INPUT_PIXELS })
    .rotate()
    .resize(64, 64, { fit: 'inside' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const boxes = new Map<number, { count: number; r: number; g: number; b: number }>();
  const pixels = info.width * info.height;
  for (let i = 0; i < pixels; i++) {
    const r = data[i * 3] as number;
    const g = data[i * 3 + 1] as number;
    const b = data[i * 3 + 2] as number;
    const box = ((r >> 5) << 6) | ((g >> 5) << 3) | (b >> 5);
    const entry = boxes.get(box) ?? { count: 0, r: 0, g: 0, b: 0 };
    entry.count++;
    entry.r += r;
    entry.g += g;
    entry.b += b;
    boxes.set(box, entry);
  }
  const hex = (value: number): string => Math.round(value).toString(16).padStart(2, '0');
  return [...boxes.values()]
    .sort((a, b) => b.count - a.count)
    .slice(0, count)
    .map((entry) => ({
      hex: `#${hex(entry.r / entry.count)}${hex(entry.g / entry.count)}${hex(entry.b / entry.count)}`,
      ratio: Math.round((entry.count / pixels) * 1000) / 1000,
    }));
}
