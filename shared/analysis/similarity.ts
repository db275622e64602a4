/**
 * Perceptual-hash similarity without loading every image of a user.
 *
 * A 64-bit difference hash (dHash) changes in few bits when an image is resized or
 * re-encoded. "Similar" means a Hamming distance of at most 10. To find candidates, each
 * hash is split into 6 bands (11, 11, 11, 11, 10, 10 bits) and every ready image is indexed
 * under its 6 band values. By the pigeonhole principle, two hashes within distance 10 agree
 * on some band up to one bit (6 bands each differing in ≥ 2 bits would be ≥ 12 bits apart).
 * So a search queries, per band, the band's value and its 1-bit neighbours: 6 + 64 = 70
 * exact-key lookups, each returning about N / 2048 entries for a library of N images (about
 * 1,700 index entries read for 50,000 images, instead of 50,000 items), and then computes
 * exact distances on the candidates.
 */
export const HASH_BITS = 64;
export const MAX_SIMILAR_DISTANCE = 10;
export const BAND_WIDTHS = [11, 11, 11, 11, 10, 10] as const;

const HEX64 = /^[0-9a-f]{16}$/;

export function isHash(value: string): boolean {
  return HEX64.test(value);
}

export function hammingDistance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let count = 0;
  while (x > 0n) {
    x &= x - 1n;
    count++;
  }
  return count;
}

/** The hash's value in each band, most significant bits first. */
export function bandValues(hash: string): number[] {
  let remaining = BigInt(`0x${hash}`);
  const values: number[] = [];
  let shift = BigInt(HASH_BITS);
  for (const width of BAND_WIDTHS) {
    shift -= BigInt(width);
    values.push(Number((remaining >> shift) & ((1n << BigInt(width)) - 1n)));
    remaining &= (1n << shift) - 1n;
  }
  return values;
}

/** Index keys an image is stored under: one per band. */
export function bandKeys(hash: string): string[] {
  return bandValues(hash).map((value, band) => `${band}#${value.toString(16).padStart(3, '0')}`);
}

/** Keys to look up to find every hash within MAX_SIMILAR_DISTANCE: each band's value and its 1-bit neighbours. */
export function probeKeys(hash: string): string[] {
  const keys = new Set<string>();
  bandValues(hash).forEach((value, band) => {
    const width = BAND_WIDTHS[band] as number;
    keys.add(`${band}#${value.toString(16).padStart(3, '0')}`);
    for (let bit = 0; bit < width; bit++) keys.add(`${band}#${(value ^ (1 << bit)).toString(16).padStart(3, '0')}`);
  });
  return [...keys];
}
