/**
 * Large MP4 files for the upload benchmark, made from a small one: its `mdat` box grows with
 * padding after the samples (their offsets in `moov` stay valid) and `moov` stays where it was.
 */

export interface Box {
  type: string;
  start: number;
  size: number;
}

/** The top-level boxes of an ISO-BMFF file with 32-bit box sizes. */
export function topLevelBoxes(file: Buffer): Box[] {
  const boxes: Box[] = [];
  for (let offset = 0; offset + 8 <= file.length; ) {
    const size = file.readUInt32BE(offset);
    if (size < 8) throw new Error('only 32-bit box sizes are handled');
    boxes.push({ type: file.toString('latin1', offset + 4, offset + 8), start: offset, size });
    offset += size;
  }
  return boxes;
}

/** The file grown to `totalBytes` by padding its `mdat`, which must come before `moov`. */
export function paddedMp4(fixture: Buffer, totalBytes: number): Buffer {
  const boxes = topLevelBoxes(fixture);
  const mdat = boxes.find((box) => box.type === 'mdat');
  const moov = boxes.find((box) => box.type === 'moov');
  if (mdat === undefined || moov === undefined || moov.start < mdat.start) throw new Error('the file must have mdat before moov');
  const padding = totalBytes - fixture.length;
  if (padding < 0 || mdat.size + padding > 0xffffffff) throw new Error(`cannot pad the file to ${totalBytes} bytes`);
  const result = Buffer.alloc(totalBytes);
  fixture.copy(result, 0, 0, mdat.start + mdat.size);
  result.writeUInt32BE(mdat.size + padding, mdat.start);
  fixture.copy(result, mdat.start + mdat.size + padding, mdat.start + mdat.size);
  return result;
}
