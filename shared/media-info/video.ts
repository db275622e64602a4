import { captureTimeOf, plausibleDimension, plausibleDuration } from './ranges';
import { UnreadableMedia, type RangeReader, type VideoInfo } from './types';

/**
 * MP4 / QuickTime metadata by ranged reads: walk the top-level box headers (skipping the media
 * data however large), fetch only the `moov` box, and read duration and creation time from
 * `mvhd` and the picture size from the video track's `tkhd`. A 2 GB video costs a few kilobytes
 * of reads plus its `moov` (typically well under 1 MB), never the file.
 *
 * Every cost is capped, whatever the file says: box headers past the first read are read in
 * windows of HEADER_WINDOW_BYTES (9 000 tiny boxes are two reads, not 9 000), at most
 * MAX_RANGED_READS reads and MAX_BYTES_READ bytes a file, at most MAX_TOP_LEVEL_BOXES top-level
 * boxes and MAX_CHILD_BOXES children of a box. Past a cap the file is `unreadable`: on S3 each
 * read is a GET with its own latency, and a file that needs thousands of them would time the
 * function out, be retried twice and end in the dead-letter queue.
 */

/** The first read: enough for `ftyp` and, in "faststart" files, usually the whole `moov`. */
export const FIRST_READ_BYTES = 64 * 1024;
/** Top-level box headers past the first read are read this much at a time. */
export const HEADER_WINDOW_BYTES = 64 * 1024;
/** A `moov` larger than this is not something this service accepts (hours of 4K video stay far below). */
export const MAX_MOOV_BYTES = 32 * 1024 * 1024;
/**
 * Reads a file may cost, the first and the `moov` included. Real files need two or three (ftyp
 * and mdat, then moov); a file with a few dozen large boxes before its moov is already odd.
 */
export const MAX_RANGED_READS = 32;
/** Bytes a file may cost: the first read, a window per other read, and the largest moov. */
export const MAX_BYTES_READ = FIRST_READ_BYTES + (MAX_RANGED_READS - 2) * HEADER_WINDOW_BYTES + MAX_MOOV_BYTES;
export const MAX_TOP_LEVEL_BOXES = 10_000;
/** Children of one box (moov, trak, mdia): real files have a handful; a 32 MB moov of empty boxes has four million. */
export const MAX_CHILD_BOXES = 1_000;
/** Seconds between 1904-01-01 (QuickTime epoch) and 1970-01-01. */
const QUICKTIME_EPOCH_OFFSET = 2_082_844_800;
/** QuickTime appeared in 1991: an earlier creation time is a camera's default clock, not a capture time. */
const EARLIEST_VIDEO_MS = Date.UTC(1990, 0, 1);

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
    if (boxes.length >= MAX_CHILD_BOXES) throw new UnreadableVideo(`more than ${MAX_CHILD_BOXES} boxes in one box`);
    boxes.push({ ...box, size });
    offset += size;
  }
  return boxes;
}

const find = (boxes: Box[], type: string): Box | undefined => boxes.find((box) => box.type === type);

function fixed16(value: number): number {
  return value / 65536;
}

/**
 * Duration and creation time, each dropped when it is not believable: a timescale of 0, a
 * duration of all ones ("unknown", says the standard) or past MAX_DURATION_SECONDS, a creation
 * time before 1990 or after tomorrow (2^64 − 1 seconds is year 584 554 051 053).
 */
function parseMvhd(buffer: Buffer, box: Box): { durationSeconds?: number; createdAt?: string } {
  const body = box.start + box.headerSize;
  const version = buffer.readUInt8(body);
  // version/flags 4, then 32- or 64-bit creation and modification times, timescale 4, duration 4 or 8.
  if (box.size - box.headerSize < (version === 1 ? 32 : 20)) return {};
  const creation = version === 1 ? Number(buffer.readBigUInt64BE(body + 4)) : buffer.readUInt32BE(body + 4);
  const timescale = version === 1 ? buffer.readUInt32BE(body + 20) : buffer.readUInt32BE(body + 12);
  const unknownDuration = version === 1 ? buffer.readBigUInt64BE(body + 24) === 0xffff_ffff_ffff_ffffn : buffer.readUInt32BE(body + 16) === 0xffff_ffff;
  const duration = version === 1 ? Number(buffer.readBigUInt64BE(body + 24)) : buffer.readUInt32BE(body + 16);
  const durationSeconds = timescale === 0 || unknownDuration ? undefined : plausibleDuration(duration / timescale);
  // 0 means "unknown".
  const epochMs = (creation - QUICKTIME_EPOCH_OFFSET) * 1000;
  const createdAt = creation === 0 || epochMs < EARLIEST_VIDEO_MS ? undefined : captureTimeOf(epochMs);
  return { ...(durationSeconds === undefined ? {} : { durationSeconds }), ...(createdAt === undefined ? {} : { createdAt }) };
}

function parseTkhd(buffer: Buffer, box: Box): { width: number; height: number; rotated: boolean } | undefined {
  const body = box.start + box.headerSize;
  const version = buffer.readUInt8(body);
  const matrix = body + (version === 1 ? 52 : 40);
  // The matrix (36 bytes), then width and height (4 each) end the box.
  if (box.start + box.size < matrix + 44) return undefined;
  const a = buffer.readInt32BE(matrix);
  const b = buffer.readInt32BE(matrix + 4);
  const width = plausibleDimension(Math.round(fixed16(buffer.readUInt32BE(matrix + 36))));
  const height = plausibleDimension(Math.round(fixed16(buffer.readUInt32BE(matrix + 40))));
  if (width === undefined || height === undefined) return undefined;
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
    const picture = tkhd === undefined ? undefined : parseTkhd(buffer, tkhd);
    // A video track without a believable picture size is passed over for the next one.
    if (picture === undefined) continue;
    const { width, height, rotated } = picture;
    return {
      width: rotated ? height : width,
      height: rotated ? width : height,
      ...(durationSeconds === undefined ? {} : { durationSeconds }),
      ...(createdAt === undefined ? {} : { takenAt: createdAt }),
    };
  }
  throw new UnreadableVideo('no video track');
}

/** A window of the file: `bytes` from offset `start`. */
interface Window {
  start: number;
  bytes: Buffer;
}

export async function readVideo(source: RangeReader): Promise<VideoInfo> {
  if (source.size < 16) throw new UnreadableVideo('too small');
  let reads = 0;
  let bytesRead = 0;
  // A failing read (S3 throttling, a timeout) is not a broken file: it must not be reported as one.
  const read = async (start: number, end: number): Promise<Window> => {
    reads++;
    bytesRead += end - start + 1;
    if (reads > MAX_RANGED_READS) throw new UnreadableVideo(`needs more than ${MAX_RANGED_READS} reads`);
    if (bytesRead > MAX_BYTES_READ) throw new UnreadableVideo(`needs more than ${MAX_BYTES_READ} bytes of reads`);
    const bytes = await source.read(start, end).catch((error: unknown) => Promise.reject(new ReadFailure(error)));
    return { start, bytes };
  };
  try {
    let window = await read(0, Math.min(source.size, FIRST_READ_BYTES) - 1);
    let offset = 0;
    for (let count = 0; offset < source.size; count++) {
      if (count >= MAX_TOP_LEVEL_BOXES) throw new UnreadableVideo(`more than ${MAX_TOP_LEVEL_BOXES} top-level boxes`);
      let box = offset >= window.start ? boxAt(window.bytes, offset - window.start, window.bytes.length) : undefined;
      if (box === undefined) {
        // Past the current window: read the next one from this header on.
        window = await read(offset, Math.min(source.size, offset + HEADER_WINDOW_BYTES) - 1);
        box = boxAt(window.bytes, 0, window.bytes.length);
        if (box === undefined) throw new UnreadableVideo('truncated box header');
      }
      const size = box.size === 0 ? source.size - offset : box.size;
      if (size < box.headerSize) throw new UnreadableVideo(`invalid size of box ${box.type}`);
      if (box.type === 'moov') {
        if (size > MAX_MOOV_BYTES) throw new UnreadableVideo('moov box too large');
        const within = offset - window.start;
        const moov = within + size <= window.bytes.length ? window.bytes.subarray(within, within + size) : (await read(offset, offset + size - 1)).bytes;
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
