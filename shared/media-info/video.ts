import { UnreadableMedia, type RangeReader, type VideoInfo } from './types';

/**
 * MP4 / QuickTime metadata by ranged reads: walk the top-level box headers (16 bytes each,
 * skipping the media data however large), fetch only the `moov` box, and read duration and
 * creation time from `mvhd` and the picture size from the video track's `tkhd`. A 2 GB video
 * costs a few kilobytes of reads plus its `moov` (typically well under 1 MB), never the file.
 */

/** The first read: enough for `ftyp` and, in "faststart" files, usually the whole `moov`. */
export const FIRST_READ_BYTES = 64 * 1024;
/** A `moov` larger than this is not something this service accepts (hours of 4K video stay far below). */
export const MAX_MOOV_BYTES = 32 * 1024 * 1024;
const MAX_TOP_LEVEL_BOXES = 10_000;
/** Seconds between 1904-01-01 (QuickTime epoch) and 1970-01-01. */
const QUICKTIME_EPOCH_OFFSET = 2_082_844_800;

export class UnreadableVideo extends UnreadableMedia {
  override readonly name = 'UnreadableVideo';
}

/** Marks errors of the range reader (S3), which must reach the caller as they are. */
class ReadFailure extends Error {
  constructor(readonly original: unknown) {
    super('read failed');
  }
}

interface Box {
  type: string;
  /** Offset of the box within its parent buffer or the file. */
  start: number;
  headerSize: number;
  size: number;
}

function boxAt(buffer: Buffer, offset: number, available: number): Box | undefined {
  if (offset + 8 > available) return undefined;
  let size = buffer.readUInt32BE(offset);
  const type = buffer.toString('latin1', offset + 4, offset + 8);
  let headerSize = 8;
  if (size === 1) {
    if (offset + 16 > available) return undefined;
    size = Number(buffer.readBigUInt64BE(offset + 8));
    headerSize = 16;
  }
  return { type, start: offset, headerSize, size };
}

/** Children of a box held entirely in `buffer` between [from, to). */
function children(buffer: Buffer, from: number, to: number): Box[] {
  const boxes: Box[] = [];
  let offset = from;
  while (offset + 8 <= to) {
    const box = boxAt(buffer, offset, to);
    if (box === undefined) break;
    const size = box.size === 0 ? to - offset : box.size;
    if (size < box.headerSize || offset + size > to) throw new UnreadableVideo(`box ${box.type} overruns its parent`);
    boxes.push({ ...box, size });
    offset += size;
  }
  return boxes;
}

const find = (boxes: Box[], type: string): Box | undefined => boxes.find((box) => box.type === type);

function fixed16(value: number): number {
  return value / 65536;
}

function parseMvhd(buffer: Buffer, box: Box): { durationSeconds: number; createdAt?: string } {
  const body = box.start + box.headerSize;
  const version = buffer.readUInt8(body);
  const creation = version === 1 ? Number(buffer.readBigUInt64BE(body + 4)) : buffer.readUInt32BE(body + 4);
  const timescale = version === 1 ? buffer.readUInt32BE(body + 20) : buffer.readUInt32BE(body + 12);
  const duration = version === 1 ? Number(buffer.readBigUInt64BE(body + 24)) : buffer.readUInt32BE(body + 16);
  if (timescale === 0) throw new UnreadableVideo('mvhd timescale is 0');
  const epochSeconds = creation - QUICKTIME_EPOCH_OFFSET;
  // 0 means "unknown"; anything before 1990 is a default, not a capture time.
  const createdAt = creation > 0 && epochSeconds > 631_152_000 ? new Date(epochSeconds * 1000).toISOString() : undefined;
  return { durationSeconds: Math.round((duration / timescale) * 1000) / 1000, ...(createdAt === undefined ? {} : { createdAt }) };
}

function parseTkhd(buffer: Buffer, box: Box): { width: number; height: number; rotated: boolean } {
  const body = box.start + box.headerSize;
  const version = buffer.readUInt8(body);
  const matrix = body + (version === 1 ? 52 : 40);
  const a = buffer.readInt32BE(matrix);
  const b = buffer.readInt32BE(matrix + 4);
  const width = Math.round(fixed16(buffer.readUInt32BE(matrix + 36)));
  const height = Math.round(fixed16(buffer.readUInt32BE(matrix + 40)));
  // A 90° or 270° display matrix (a = 0, |b| = 1.0) shows the picture sideways.
  return { width, height, rotated: a === 0 && Math.abs(b) === 65536 };
}

function handlerType(buffer: Buffer, trak: Box): string | undefined {
  const mdia = find(children(buffer, trak.start + trak.headerSize, trak.start + trak.size), 'mdia');
  if (mdia === undefined) return undefined;
  const hdlr = find(children(buffer, mdia.start + mdia.headerSize, mdia.start + mdia.size), 'hdlr');
  return hdlr === undefined ? undefined : buffer.toString('latin1', hdlr.start + hdlr.headerSize + 8, hdlr.start + hdlr.headerSize + 12);
}

function parseMoov(buffer: Buffer, headerSize: number): VideoInfo {
  const boxes = children(buffer, headerSize, buffer.length);
  const mvhd = find(boxes, 'mvhd');
  if (mvhd === undefined) throw new UnreadableVideo('no mvhd box');
  const { durationSeconds, createdAt } = parseMvhd(buffer, mvhd);
  for (const trak of boxes.filter((box) => box.type === 'trak')) {
    if (handlerType(buffer, trak) !== 'vide') continue;
    const tkhd = find(children(buffer, trak.start + trak.headerSize, trak.start + trak.size), 'tkhd');
    if (tkhd === undefined) continue;
    const { width, height, rotated } = parseTkhd(buffer, tkhd);
    if (width === 0 || height === 0) continue;
    return { width: rotated ? height : width, height: rotated ? width : height, durationSeconds, ...(createdAt === undefined ? {} : { takenAt: createdAt }) };
  }
  throw new UnreadableVideo('no video track');
}

export async function readVideo(source: RangeReader): Promise<VideoInfo> {
  if (source.size < 16) throw new UnreadableVideo('too small');
  // A failing read (S3 throttling, a timeout) is not a broken file: it must not be reported as one.
  const reader = {
    size: source.size,
    read: (start: number, end: number) => source.read(start, end).catch((error: unknown) => Promise.reject(new ReadFailure(error))),
  };
  try {
    const first = await reader.read(0, Math.min(reader.size, FIRST_READ_BYTES) - 1);
    let offset = 0;
    for (let count = 0; offset < reader.size && count < MAX_TOP_LEVEL_BOXES; count++) {
      let box = boxAt(first, offset, first.length);
      if (box === undefined) {
        // Past the first read: fetch just this box's header.
        const header = await reader.read(offset, Math.min(reader.size, offset + 16) - 1);
        box = boxAt(header, 0, header.length);
        if (box === undefined) throw new UnreadableVideo('truncated box header');
        box = { ...box, start: offset };
      }
      const size = box.size === 0 ? reader.size - offset : box.size;
      if (size < box.headerSize) throw new UnreadableVideo(`invalid size of box ${box.type}`);
      if (box.type === 'moov') {
        if (size > MAX_MOOV_BYTES) throw new UnreadableVideo('moov box too large');
        const moov = offset + size <= first.length ? first.subarray(offset, offset + size) : await reader.read(offset, offset + size - 1);
        if (moov.length < size) throw new UnreadableVideo('truncated moov box');
        return parseMoov(moov, box.headerSize);
      }
      offset += size;
    }
  } catch (error) {
    if (error instanceof ReadFailure) throw error.original;
    if (error instanceof UnreadableVideo) throw error;
    // RangeError from a malformed box, and the like.
    throw new UnreadableVideo((error as Error).message);
  }
  throw new UnreadableVideo('no moov box');
}
