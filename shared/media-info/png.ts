/**
 * PNG chunks the service never reads and that cost only the decoder's time: libpng inflates every
 * compressed text chunk (zTXt, iTXt) up to its own per-chunk limit, and a file can hold many (an
 * audit's 20 chunks of 64 MiB took 17 s to decode, and a 50 MB upload could hold far more, past
 * processUpload's timeout). We read EXIF (eXIf) and pixels: text chunks go before decoding, and
 * so does an ICC profile whose compressed size no real profile comes near. Chunks are removed
 * whole, never changed, so every remaining CRC stays valid.
 */
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const TEXT_CHUNKS = new Set(['tEXt', 'zTXt', 'iTXt']);
/** Real ICC profiles are a few KB, large printer profiles under 1 MB before compression. */
export const MAX_ICC_CHUNK_BYTES = 256 * 1024;

export const isPng = (buffer: Buffer): boolean => buffer.length >= 8 && buffer.subarray(0, 8).equals(SIGNATURE);

/** The PNG without the chunks above; anything that does not parse as chunks is returned as it is (the decoder judges it). */
export function withoutUnreadChunks(buffer: Buffer): Buffer {
  if (!isPng(buffer)) return buffer;
  const kept: Buffer[] = [SIGNATURE];
  let removed = false;
  let offset = 8;
  while (offset + 12 <= buffer.length) {
    const length = buffer.readUInt32BE(offset);
    const end = offset + 12 + length;
    if (end > buffer.length) return buffer;
    const type = buffer.toString('latin1', offset + 4, offset + 8);
    if (TEXT_CHUNKS.has(type) || (type === 'iCCP' && length > MAX_ICC_CHUNK_BYTES)) removed = true;
    else kept.push(buffer.subarray(offset, end));
    offset = end;
    if (type === 'IEND') break;
  }
  return removed ? Buffer.concat(kept) : buffer;
}
