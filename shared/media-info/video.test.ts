import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import type { RangeReader, VideoInfo } from './types';
import { FIRST_READ_BYTES, HEADER_WINDOW_BYTES, MAX_BYTES_READ, MAX_CHILD_BOXES, MAX_MOOV_BYTES, MAX_RANGED_READS, MAX_TOP_LEVEL_BOXES, readVideo, UnreadableVideo } from './video';

const fixture = (name: string): Buffer => fs.readFileSync(path.join(__dirname, '../../local/fixtures/media', name));

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

interface Piece {
  at: number;
  bytes: Buffer;
}

interface RecordingReader extends RangeReader {
  /** Every read as [start, end] as asked for. */
  calls: Array<[number, number]>;
  /** Bytes actually served. */
  bytes: number;
}

/**
 * A file of `size` bytes that exists only as a few pieces at given offsets; everything between
 * them reads as zeros, so a "100 MB" file costs nothing. Ranges behave as S3's do: `end` is
 * clamped to the last byte, a range starting past the end is an error. A read larger than
 * 40 MB is refused outright, so a reader that tries to fetch a huge box fails the test
 * instead of allocating it.
 */
function virtualFile(size: number, pieces: Piece[]): RecordingReader {
  const reader: RecordingReader = {
    size,
    calls: [],
    bytes: 0,
    async read(start, end) {
      reader.calls.push([start, end]);
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start >= size || end < start) {
        throw new Error(`invalid range ${start}-${end} of ${size}`);
      }
      const last = Math.min(end, size - 1);
      const length = last - start + 1;
      if (length > 40 * MiB) throw new Error(`refusing to serve ${length} bytes`);
      const out = Buffer.alloc(length);
      for (const piece of pieces) {
        const from = Math.max(start, piece.at);
        const to = Math.min(last + 1, piece.at + piece.bytes.length);
        if (from < to) piece.bytes.copy(out, from - start, from - piece.at, to - piece.at);
      }
      reader.bytes += length;
      return out;
    },
  };
  return reader;
}

const memoryFile = (bytes: Buffer): RecordingReader => virtualFile(bytes.length, [{ at: 0, bytes }]);

/** Lays pieces end to end from offset 0; a number is that many bytes of zeros (not allocated). */
function layout(...parts: Array<Buffer | number>): RecordingReader {
  const pieces: Piece[] = [];
  let at = 0;
  for (const part of parts) {
    if (typeof part !== 'number') pieces.push({ at, bytes: part });
    at += typeof part === 'number' ? part : part.length;
  }
  return virtualFile(at, pieces);
}

interface TopBox {
  type: string;
  start: number;
  size: number;
  bytes: Buffer;
}

/** Top-level boxes of a small, well-formed file (32-bit sizes only). */
function topLevelBoxes(file: Buffer): TopBox[] {
  const boxes: TopBox[] = [];
  for (let offset = 0; offset < file.length; ) {
    const size = file.readUInt32BE(offset);
    expect(size, 'fixture box size').to.be.at.least(8);
    boxes.push({ type: file.toString('latin1', offset + 4, offset + 8), start: offset, size, bytes: file.subarray(offset, offset + size) });
    offset += size;
  }
  return boxes;
}

const boxOf = (boxes: TopBox[], type: string): Buffer => {
  const box = boxes.find((candidate) => candidate.type === type);
  if (box === undefined) throw new Error(`no ${type} box`);
  return box.bytes;
};

/** Just a box header: 32-bit size and type (the body is laid out separately, or virtual). */
function header(type: string, size: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32BE(size, 0);
  out.write(type, 4, 'latin1');
  return out;
}

/** A box header with size 1 and a 64-bit largesize. */
function largeHeader(type: string, size: number): Buffer {
  const out = Buffer.alloc(16);
  out.writeUInt32BE(1, 0);
  out.write(type, 4, 'latin1');
  out.writeBigUInt64BE(BigInt(size), 8);
  return out;
}

interface ChildBox {
  type: string;
  start: number;
  size: number;
}

function childBoxes(file: Buffer, from: number, to: number): ChildBox[] {
  const boxes: ChildBox[] = [];
  for (let offset = from; offset + 8 <= to; ) {
    const size = file.readUInt32BE(offset);
    boxes.push({ type: file.toString('latin1', offset + 4, offset + 8), start: offset, size });
    offset += size;
  }
  return boxes;
}

const inside = (file: Buffer, box: ChildBox): ChildBox[] => childBoxes(file, box.start + 8, box.start + box.size);

/** The `tkhd` of the video track (moov > trak > tkhd, where trak > mdia > hdlr says 'vide'). */
function videoTkhd(file: Buffer): ChildBox {
  const moov = childBoxes(file, 0, file.length).find((box) => box.type === 'moov');
  if (moov === undefined) throw new Error('no moov');
  for (const trak of inside(file, moov).filter((box) => box.type === 'trak')) {
    const mdia = inside(file, trak).find((box) => box.type === 'mdia');
    const hdlr = mdia === undefined ? undefined : inside(file, mdia).find((box) => box.type === 'hdlr');
    if (hdlr === undefined || file.toString('latin1', hdlr.start + 16, hdlr.start + 20) !== 'vide') continue;
    const tkhd = inside(file, trak).find((box) => box.type === 'tkhd');
    if (tkhd !== undefined) return tkhd;
  }
  throw new Error('no video tkhd');
}

/** A copy of the file with the video track's display matrix {a, b, c, d} (16.16 fixed point) replaced. */
function withMatrix(file: Buffer, [a, b, c, d]: [number, number, number, number]): Buffer {
  const copy = Buffer.from(file);
  const tkhd = videoTkhd(copy);
  const version = copy.readUInt8(tkhd.start + 8);
  const matrix = tkhd.start + 8 + (version === 1 ? 52 : 40);
  copy.writeInt32BE(a, matrix);
  copy.writeInt32BE(b, matrix + 4);
  copy.writeInt32BE(c, matrix + 12);
  copy.writeInt32BE(d, matrix + 16);
  return copy;
}

/** A box around `parts` (32-bit size). */
function box(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([header(type, 8 + body.length), body]);
}

/** The children of a box held in `bytes` (its own header first), as their bytes. */
function childrenOf(bytes: Buffer): Array<{ type: string; bytes: Buffer }> {
  return childBoxes(bytes, 8, bytes.length).map((child) => ({ type: child.type, bytes: bytes.subarray(child.start, child.start + child.size) }));
}

/** Seconds since 1904-01-01 (QuickTime time) of an ISO instant. */
const quickTime = (iso: string): number => Date.parse(iso) / 1000 + 2_082_844_800;

/** A version 1 mvhd (64-bit times and duration) with the given creation time, timescale and duration. */
function mvhdV1(mvhdV0: Buffer, creation: number, timescale: number, duration: number): Buffer {
  const times = Buffer.alloc(28);
  times.writeBigUInt64BE(BigInt(creation), 0);
  times.writeBigUInt64BE(BigInt(creation), 8);
  times.writeUInt32BE(timescale, 16);
  times.writeBigUInt64BE(BigInt(duration), 20);
  // v0 body: version/flags 4, creation 4, modification 4, timescale 4, duration 4, then the rest.
  return box('mvhd', Buffer.from([1, 0, 0, 0]), times, mvhdV0.subarray(8 + 20));
}

/** The same tkhd as version 1 (64-bit times and duration), so its matrix and size sit 12 bytes further. */
function tkhdV1(tkhdV0: Buffer): Buffer {
  const fields = Buffer.alloc(32);
  fields.writeBigUInt64BE(BigInt(tkhdV0.readUInt32BE(8 + 4)), 0);
  fields.writeBigUInt64BE(BigInt(tkhdV0.readUInt32BE(8 + 8)), 8);
  fields.writeUInt32BE(tkhdV0.readUInt32BE(8 + 12), 16); // track id
  fields.writeUInt32BE(0, 20); // reserved
  fields.writeBigUInt64BE(BigInt(tkhdV0.readUInt32BE(8 + 20)), 24);
  // v0 body: version/flags 4, creation 4, modification 4, track id 4, reserved 4, duration 4, then the rest.
  return box('tkhd', Buffer.from([1, 0, 0, 0]), fields, tkhdV0.subarray(8 + 24));
}

/** A copy of a tkhd (version 0) declaring another picture width. */
function tkhdWithWidth(tkhd: Buffer, width: number): Buffer {
  const copy = Buffer.from(tkhd);
  copy.writeUInt32BE(width * 65536, 8 + 40 + 36);
  return copy;
}

async function unreadable(reader: RangeReader): Promise<UnreadableVideo> {
  try {
    const info = await readVideo(reader);
    throw new Error(`expected UnreadableVideo, got ${JSON.stringify(info)}`);
  } catch (error) {
    expect(error).to.be.instanceOf(UnreadableVideo);
    expect((error as Error).name).to.equal('UnreadableVideo');
    return error as UnreadableVideo;
  }
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MP4_INFO: VideoInfo = { width: 320, height: 240, durationSeconds: 2, takenAt: '2024-07-14T16:32:05.000Z' };
const MOV_INFO: VideoInfo = { width: 160, height: 120, durationSeconds: 1.52, takenAt: '2023-01-02T03:04:05.000Z' };

describe('media-info/video', () => {
  const mp4 = fixture('clip.mp4');
  const boxes = topLevelBoxes(mp4);
  const ftyp = boxOf(boxes, 'ftyp');
  const moov = boxOf(boxes, 'moov');
  const mdat = boxOf(boxes, 'mdat');
  /** Every top-level box but ftyp and moov (free, mdat), in file order. */
  const middle = Buffer.concat(boxes.filter((box) => box.type !== 'ftyp' && box.type !== 'moov').map((box) => box.bytes));

  it('clip.mp4 has the layout these tests assume: ftyp first, moov last', () => {
    expect(boxes.map((box) => box.type)).to.deep.equal(['ftyp', 'free', 'mdat', 'moov']);
    expect(moov.length).to.be.below(FIRST_READ_BYTES);
  });

  describe('the fixtures', () => {
    it('clip.mp4 (moov at the end): 320x240, 2 s, its creation time; one read of the whole small file', async () => {
      const reader = memoryFile(mp4);
      expect(await readVideo(reader)).to.deep.equal(MP4_INFO);
      expect(reader.calls).to.deep.equal([[0, mp4.length - 1]]);
      expect(reader.bytes).to.equal(mp4.length);
    });

    it('clip.mov (QuickTime): 160x120, 1.52 s, its creation time', async () => {
      const mov = fixture('clip.mov');
      const reader = memoryFile(mov);
      expect(await readVideo(reader)).to.deep.equal(MOV_INFO);
      expect(reader.calls).to.have.length(1);
    });
  });

  describe('bounded reads', () => {
    it('a 100 MB MP4 with moov at the end: the first read, a few header windows and the moov, < 1 MB in all', async () => {
      const freeSize = 100 * MiB;
      const moovStart = ftyp.length + freeSize + middle.length;
      const reader = layout(ftyp, header('free', freeSize), freeSize - 8, middle, moov);
      expect(reader.size).to.be.above(100 * MiB);
      expect(await readVideo(reader)).to.deep.equal(MP4_INFO);
      expect(reader.bytes).to.be.below(MiB);
      expect(reader.calls.length).to.be.below(10);
      expect(reader.calls[0]).to.deep.equal([0, FIRST_READ_BYTES - 1]);
      // The window read at the box after the free space reaches the end of the file: it holds the whole moov.
      const [lastStart, lastEnd] = reader.calls.at(-1) as [number, number];
      expect(lastStart).to.be.at.most(moovStart);
      expect(lastEnd).to.be.at.least(moovStart + moov.length - 1);
      // Between the first read and the moov, only header windows.
      for (const [start, end] of reader.calls.slice(1)) expect(end - start + 1).to.be.at.most(HEADER_WINDOW_BYTES);
    });

    it('a 2 GB MP4 with moov at the end costs the same few reads', async () => {
      const mdatSize = 2 * GiB;
      const reader = layout(ftyp, header('mdat', mdatSize), mdatSize - 8, moov);
      expect(await readVideo(reader)).to.deep.equal(MP4_INFO);
      expect(reader.bytes).to.be.below(FIRST_READ_BYTES + moov.length + 100);
      expect(reader.calls).to.have.length(2); // first read, then the window at the moov header, which holds the whole moov
    });

    it('a "faststart" file (moov before a huge mdat): a single read', async () => {
      const mdatSize = 500 * MiB;
      const reader = layout(ftyp, moov, header('mdat', mdatSize), mdatSize - 8);
      expect(await readVideo(reader)).to.deep.equal(MP4_INFO);
      expect(reader.calls).to.deep.equal([[0, FIRST_READ_BYTES - 1]]);
    });

    it('a box header straddling the end of the first read is fetched with the window after it', async () => {
      // ftyp, then a free box ending 4 bytes before FIRST_READ_BYTES, so the mdat header is cut in two.
      const freeSize = FIRST_READ_BYTES - 4 - ftyp.length;
      const mdatSize = 10 * MiB;
      const mdatStart = ftyp.length + freeSize;
      const reader = layout(ftyp, header('free', freeSize), freeSize - 8, header('mdat', mdatSize), mdatSize - 8, moov);
      expect(await readVideo(reader)).to.deep.equal(MP4_INFO);
      expect(reader.calls[1]).to.deep.equal([mdatStart, mdatStart + HEADER_WINDOW_BYTES - 1]);
      expect(reader.bytes).to.be.below(MiB);
    });

    it('a 64-bit box header straddling the end of the first read (size field in, largesize out) is fetched with the window after it', async () => {
      // The mdat's 16-byte header starts 12 bytes before FIRST_READ_BYTES: its 32-bit size (1) and type are in the first read.
      const freeSize = FIRST_READ_BYTES - 12 - ftyp.length;
      const mdatSize = 6 * GiB;
      const mdatStart = ftyp.length + freeSize;
      const reader = layout(ftyp, header('free', freeSize), freeSize - 8, largeHeader('mdat', mdatSize), mdatSize - 16, moov);
      expect(await readVideo(reader)).to.deep.equal(MP4_INFO);
      expect(reader.calls[1]).to.deep.equal([mdatStart, mdatStart + HEADER_WINDOW_BYTES - 1]);
      const moovStart = mdatStart + mdatSize;
      expect(reader.calls.at(-1)?.[0]).to.equal(moovStart);
    });

    it('a 64-bit largesize box (size field 1) of 5 GB before the moov is skipped by its 64-bit size', async () => {
      const mdatSize = 5 * GiB; // needs the 64-bit field: more than 2^32
      const reader = layout(ftyp, largeHeader('mdat', mdatSize), mdatSize - 16, moov);
      expect(await readVideo(reader)).to.deep.equal(MP4_INFO);
      const moovStart = ftyp.length + mdatSize;
      expect(reader.calls.at(-1)?.[0]).to.equal(moovStart);
      expect(reader.bytes).to.be.below(MiB);
      expect(reader.calls.length).to.be.below(10);
    });

    it('a largesize box inside the first read is skipped too', async () => {
      const file = Buffer.concat([ftyp, largeHeader('free', 24), Buffer.alloc(8), middle, moov]);
      const reader = memoryFile(file);
      expect(await readVideo(reader)).to.deep.equal(MP4_INFO);
      expect(reader.calls).to.have.length(1);
    });

    it('a last box of size 0 ("to the end of the file") is accepted for moov', async () => {
      const lastMoov = Buffer.from(moov);
      lastMoov.writeUInt32BE(0, 0);
      expect(await readVideo(memoryFile(Buffer.concat([ftyp, middle, lastMoov])))).to.deep.equal(MP4_INFO);
    });

    // Regression: a moov written with a 64-bit largesize header (size field 1, 16-byte header;
    // legal ISO BMFF) used to be parsed from offset 8 and rejected ('no mvhd box').
    it('a moov with a 64-bit largesize header is read', async () => {
      const largeMoov = Buffer.concat([largeHeader('moov', moov.length + 8), moov.subarray(8)]);
      expect(await readVideo(memoryFile(Buffer.concat([ftyp, middle, largeMoov])))).to.deep.equal(MP4_INFO);
    });

    it(`a moov declaring more than MAX_MOOV_BYTES (${MAX_MOOV_BYTES}) is refused without being read`, async () => {
      const moovSize = MAX_MOOV_BYTES + 8;
      const reader = layout(ftyp, header('moov', moovSize), moov.subarray(8), moovSize - moov.length);
      expect((await unreadable(reader)).message).to.match(/too large/);
      expect(reader.calls).to.deep.equal([[0, FIRST_READ_BYTES - 1]]);
    });

    it('an oversized moov after a huge mdat: refused after reading only its header', async () => {
      const mdatSize = 3 * GiB;
      const moovSize = 200 * MiB;
      const reader = layout(ftyp, header('mdat', mdatSize), mdatSize - 8, header('moov', moovSize), moovSize - 8);
      expect((await unreadable(reader)).message).to.match(/too large/);
      expect(reader.bytes).to.be.below(FIRST_READ_BYTES + HEADER_WINDOW_BYTES + 100);
      expect(reader.calls).to.have.length(2);
    });
  });

  describe('box variants', () => {
    const [mvhd, trak, udta] = childrenOf(moov) as [{ type: string; bytes: Buffer }, { type: string; bytes: Buffer }, { type: string; bytes: Buffer }];
    const trakParts = childrenOf(trak.bytes);
    const withTkhd = (tkhd: Buffer): Buffer => box('trak', ...trakParts.map((part) => (part.type === 'tkhd' ? tkhd : part.bytes)));
    const tkhd = trakParts.find((part) => part.type === 'tkhd')?.bytes as Buffer;
    const file = (newMoov: Buffer): Buffer => Buffer.concat([ftyp, middle, newMoov]);

    it('the fixture moov is mvhd, one video trak, udta', () => {
      expect([mvhd.type, trak.type, udta.type, childrenOf(moov).length]).to.deep.equal(['mvhd', 'trak', 'udta', 3]);
      expect([mvhd.bytes.readUInt8(8), tkhd.readUInt8(8)], 'both version 0').to.deep.equal([0, 0]);
    });

    it('version 1 mvhd and tkhd (64-bit times and duration): a duration past 2^32 ticks', async () => {
      const created = '2025-01-02T03:04:05.000Z';
      const longMoov = box('moov', mvhdV1(mvhd.bytes, quickTime(created), 90_000, 90_000 * 20 * 3600), withTkhd(tkhdV1(tkhd)), udta.bytes);
      expect(await readVideo(memoryFile(file(longMoov)))).to.deep.equal({ width: 320, height: 240, durationSeconds: 20 * 3600, takenAt: created });
    });

    it('a version 1 mvhd whose creation time is unknown (0) gives no capture time', async () => {
      const unknown = box('moov', mvhdV1(mvhd.bytes, 0, 1000, 2000), trak.bytes, udta.bytes);
      expect(await readVideo(memoryFile(file(unknown)))).to.deep.equal({ width: 320, height: 240, durationSeconds: 2 });
    });

    it('a video track without a picture size (0 wide) is passed over for the next video track', async () => {
      const twoTracks = box('moov', mvhd.bytes, withTkhd(tkhdWithWidth(tkhd, 0)), withTkhd(tkhdWithWidth(tkhd, 640)), udta.bytes);
      expect(await readVideo(memoryFile(file(twoTracks)))).to.deep.equal({ ...MP4_INFO, width: 640 });
      const onlyEmpty = box('moov', mvhd.bytes, withTkhd(tkhdWithWidth(tkhd, 0)), udta.bytes);
      expect((await unreadable(memoryFile(file(onlyEmpty)))).message).to.match(/no video track/);
    });

    it('a last child of size 0 extends to the end of its parent', async () => {
      const open = Buffer.from(udta.bytes);
      open.writeUInt32BE(0, 0);
      expect(await readVideo(memoryFile(file(box('moov', mvhd.bytes, trak.bytes, open))))).to.deep.equal(MP4_INFO);
    });

    it('bytes after the last child too few for a box header (even a cut-off 64-bit one) are ignored', async () => {
      const cutLarge = largeHeader('free', 64).subarray(0, 12);
      expect(await readVideo(memoryFile(file(box('moov', mvhd.bytes, trak.bytes, udta.bytes, cutLarge))))).to.deep.equal(MP4_INFO);
      expect(await readVideo(memoryFile(file(box('moov', mvhd.bytes, trak.bytes, udta.bytes, Buffer.alloc(7)))))).to.deep.equal(MP4_INFO);
    });
  });

  describe('rotation', () => {
    it('a 90° display matrix (a=0, b=1, c=-1, d=0) swaps width and height', async () => {
      const rotated = withMatrix(mp4, [0, 0x00010000, 0xffff0000 | 0, 0]);
      expect(await readVideo(memoryFile(rotated))).to.deep.equal({ ...MP4_INFO, width: 240, height: 320 });
    });

    it('a 270° matrix (b=-1, c=1) swaps them too', async () => {
      const rotated = withMatrix(mp4, [0, -0x00010000, 0x00010000, 0]);
      expect(await readVideo(memoryFile(rotated))).to.deep.equal({ ...MP4_INFO, width: 240, height: 320 });
    });

    it('a 180° matrix (a=-1, d=-1) does not', async () => {
      const flipped = withMatrix(mp4, [-0x00010000, 0, 0, -0x00010000]);
      expect(await readVideo(memoryFile(flipped))).to.deep.equal(MP4_INFO);
    });

    it('the fixture’s matrix is the identity: writing it back changes nothing', async () => {
      const identity = withMatrix(mp4, [0x00010000, 0, 0, 0x00010000]);
      expect(identity.equals(mp4)).to.equal(true);
    });
  });

  describe('unreadable files', () => {
    it('a file smaller than 16 bytes, without reading it', async () => {
      for (const size of [0, 1, 8, 15]) {
        const reader = memoryFile(mp4.subarray(0, size));
        await unreadable(reader);
        expect(reader.calls).to.deep.equal([]);
      }
    });

    it('no moov box (ftyp + free + mdat)', async () => {
      expect((await unreadable(memoryFile(Buffer.concat([ftyp, middle])))).message).to.match(/no moov/);
    });

    it('no moov box in a large file: still only headers are read', async () => {
      const mdatSize = 4 * GiB;
      const reader = layout(ftyp, largeHeader('mdat', mdatSize), mdatSize - 16);
      await unreadable(reader);
      expect(reader.bytes).to.be.below(MiB);
    });

    it('images and text are not videos', async () => {
      for (const name of ['photo-exif.jpg', 'graphic.png', 'bars.webp', 'anim.gif', 'not-an-image.jpg']) {
        await unreadable(memoryFile(fixture(name)));
      }
    });

    it('a truncated moov (the file cut short)', async () => {
      for (const cut of [1, 100, moov.length - 9]) {
        expect((await unreadable(memoryFile(mp4.subarray(0, mp4.length - cut)))).message, `cut ${cut}`).to.match(/truncated/);
      }
    });

    it('a truncated moov after a large mdat (the file ends inside it)', async () => {
      const mdatSize = 300 * MiB;
      const reader = layout(ftyp, header('mdat', mdatSize), mdatSize - 8, moov.subarray(0, moov.length - 200));
      expect((await unreadable(reader)).message).to.match(/truncated/);
    });

    it('a moov whose first child overruns it', async () => {
      const corrupt = Buffer.from(mp4);
      const moovStart = mp4.length - moov.length;
      corrupt.writeUInt32BE(moov.length, moovStart + 8); // the mvhd claims the whole moov, header included
      expect((await unreadable(memoryFile(corrupt))).message).to.match(/overruns/);
    });

    it('a moov with a child of size < 8', async () => {
      const corrupt = Buffer.from(mp4);
      corrupt.writeUInt32BE(4, mp4.length - moov.length + 8);
      await unreadable(memoryFile(corrupt));
    });

    it('a moov without an mvhd', async () => {
      const corrupt = Buffer.from(mp4);
      corrupt.write('xxxx', mp4.length - moov.length + 12, 'latin1');
      expect((await unreadable(memoryFile(corrupt))).message).to.match(/mvhd/);
    });

    it('a moov without a video track (its handler says "soun")', async () => {
      const corrupt = Buffer.from(mp4);
      const hdlrType = corrupt.indexOf('vide', mp4.length - moov.length, 'latin1');
      expect(hdlrType).to.be.above(0);
      corrupt.write('soun', hdlrType, 'latin1');
      expect((await unreadable(memoryFile(corrupt))).message).to.match(/no video track/);
    });

    it('an mvhd timescale of 0: the duration is unknown, the video is still read', async () => {
      const corrupt = Buffer.from(mp4);
      const mvhd = mp4.length - moov.length + 8;
      expect(corrupt.toString('latin1', mvhd + 4, mvhd + 8)).to.equal('mvhd');
      expect(corrupt.readUInt8(mvhd + 8), 'mvhd version').to.equal(0);
      corrupt.writeUInt32BE(0, mvhd + 8 + 12);
      expect(await readVideo(memoryFile(corrupt))).to.deep.equal({ width: 320, height: 240, takenAt: MP4_INFO.takenAt });
    });

    it('garbage in place of the moov body', async () => {
      const next = random(42);
      const garbage = Buffer.from(Array.from({ length: moov.length - 8 }, () => Math.floor(next() * 256)));
      await unreadable(memoryFile(Buffer.concat([ftyp, middle, moov.subarray(0, 8), garbage])));
    });

    it('any random corruption of the moov gives a result or UnreadableVideo, never another error', async () => {
      const next = random(7);
      const moovStart = mp4.length - moov.length;
      for (let round = 0; round < 400; round++) {
        const corrupt = Buffer.from(mp4);
        for (let flips = 1 + Math.floor(next() * 8); flips > 0; flips--) {
          corrupt[moovStart + Math.floor(next() * moov.length)] = Math.floor(next() * 256);
        }
        try {
          const info = await readVideo(memoryFile(corrupt));
          expect(info.width, `round ${round}`).to.be.a('number');
        } catch (error) {
          expect(error, `round ${round}: ${(error as Error).message}`).to.be.instanceOf(UnreadableVideo);
        }
      }
    });

    it('a top-level box of size 2-7 (in the first read)', async () => {
      for (const size of [2, 4, 7]) {
        const file = Buffer.concat([ftyp, header('free', size), Buffer.alloc(8), moov]);
        expect((await unreadable(memoryFile(file))).message, `size ${size}`).to.match(/invalid size/);
      }
    });

    it('a top-level box of size < 8 past the first read', async () => {
      const mdatSize = 200 * MiB;
      const reader = layout(ftyp, header('mdat', mdatSize), mdatSize - 8, header('free', 3), moov);
      expect((await unreadable(reader)).message).to.match(/invalid size/);
      expect(reader.bytes).to.be.below(MiB);
    });

    it('a largesize smaller than its 16-byte header', async () => {
      const file = Buffer.concat([ftyp, largeHeader('mdat', 12), mdat, moov]);
      expect((await unreadable(memoryFile(file))).message).to.match(/invalid size/);
    });

    it('a box header cut off by the end of the file', async () => {
      const mdatSize = 100 * MiB;
      const reader = layout(ftyp, header('mdat', mdatSize), mdatSize - 8, Buffer.from([0, 0, 0]));
      expect((await unreadable(reader)).message).to.match(/truncated box header/);
    });

    // Regression: errors of the RangeReader (an S3 timeout, throttling) used to be rewrapped as
    // UnreadableVideo, so processUpload rejected and deleted a good upload instead of letting
    // Lambda retry.
    it('a failing read propagates the reader’s own error, not UnreadableVideo', async () => {
      const failure = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      const reader: RangeReader = { size: 10 * MiB, read: () => Promise.reject(failure) };
      let caught: unknown;
      try {
        await readVideo(reader);
      } catch (error) {
        caught = error;
      }
      expect(caught).to.equal(failure);
    });
  });

  // The black-box audit of processUpload: request storms and values that could not be stored or
  // read back. Each test builds the file the audit sent, or its kin.
  describe('hostile structures: reads and work are capped', () => {
    it('9 000 eight-byte boxes past the first 64 KB cost a few reads, not one each (the audit: 9 000 GETs, 29 s)', async () => {
      const storm = Buffer.concat(Array.from({ length: 9_000 }, () => header('free', 8)));
      const reader = layout(ftyp, header('free', FIRST_READ_BYTES), FIRST_READ_BYTES - 8, storm, middle, moov);
      expect(await readVideo(reader)).to.deep.equal(MP4_INFO);
      expect(reader.calls.length).to.be.at.most(4);
    });

    it(`a file needing more than MAX_RANGED_READS (${MAX_RANGED_READS}) reads is unreadable after exactly that many`, async () => {
      // 100 boxes each just larger than a window: every header needs a read of its own.
      const step = HEADER_WINDOW_BYTES + 8;
      const parts = Array.from({ length: 100 }, () => [header('free', step), step - 8] as const).flat();
      const reader = layout(ftyp, ...parts, moov);
      expect((await unreadable(reader)).message).to.match(/more than 32 reads/);
      expect(reader.calls).to.have.length(MAX_RANGED_READS);
      expect(reader.bytes).to.be.at.most(MAX_BYTES_READ);
    });

    it(`more than MAX_TOP_LEVEL_BOXES (${MAX_TOP_LEVEL_BOXES}) top-level boxes is unreadable, in a few reads`, async () => {
      const storm = Buffer.concat(Array.from({ length: MAX_TOP_LEVEL_BOXES + 1 }, () => header('free', 8)));
      const reader = layout(ftyp, storm, moov);
      expect((await unreadable(reader)).message).to.match(/top-level boxes/);
      expect(reader.calls.length).to.be.at.most(3);
    });

    it(`a 30 MB moov of four million empty boxes is unreadable at MAX_CHILD_BOXES (${MAX_CHILD_BOXES}), without listing them all`, async () => {
      const filler = Buffer.alloc(30 * MiB);
      for (let at = 0; at < filler.length; at += 8) filler.writeUInt32BE(8, at), filler.write('free', at + 4, 'latin1');
      const started = Date.now();
      const error = await unreadable(memoryFile(Buffer.concat([ftyp, middle, box('moov', moov.subarray(8), filler)])));
      expect(error.message).to.match(/more than 1000 boxes/);
      expect(Date.now() - started).to.be.below(1_000);
    });
  });

  describe('hostile values: dropped, the video still read', () => {
    const [mvhd, trak, udta] = childrenOf(moov).map((child) => child.bytes) as [Buffer, Buffer, Buffer];
    const withMvhd = (newMvhd: Buffer): Buffer => Buffer.concat([ftyp, middle, box('moov', newMvhd, trak, udta)]);
    const dimensions = { width: 320, height: 240 };

    it('an mvhd creation time of 2^64 − 1 seconds (year 584 554 051 053): no capture time', async () => {
      const file = withMvhd(mvhdV1(mvhd, 0, 600, 1200));
      const maxed = Buffer.from(file);
      maxed.writeBigUInt64BE(0xffff_ffff_ffff_ffffn, ftyp.length + middle.length + 8 + 8 + 4);
      expect(await readVideo(memoryFile(maxed))).to.deep.equal({ ...dimensions, durationSeconds: 2 });
    });

    it('an mvhd creation time past 9999 (the audit: stored as "+010000-…", every read then 500): no capture time', async () => {
      const year10000 = quickTime('9999-12-31T23:59:59Z') + 3600;
      expect(await readVideo(memoryFile(withMvhd(mvhdV1(mvhd, year10000, 600, 1200))))).to.deep.equal({ ...dimensions, durationSeconds: 2 });
    });

    it('a creation time later than tomorrow, or before 1990, is no capture time; today is one', async () => {
      const inTwoDays = Math.floor(quickTime(new Date(Date.now() + 2 * 86_400_000).toISOString()));
      expect(await readVideo(memoryFile(withMvhd(mvhdV1(mvhd, inTwoDays, 600, 1200))))).to.deep.equal({ ...dimensions, durationSeconds: 2 });
      expect(await readVideo(memoryFile(withMvhd(mvhdV1(mvhd, quickTime('1989-12-31T23:59:59Z'), 600, 1200))))).to.deep.equal({ ...dimensions, durationSeconds: 2 });
      const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
      expect(await readVideo(memoryFile(withMvhd(mvhdV1(mvhd, quickTime(now), 600, 1200))))).to.deep.equal({ ...dimensions, durationSeconds: 2, takenAt: now });
    });

    it('an mvhd duration of 2^64 − 1 (the audit: processUpload crashed writing it to DynamoDB): no duration', async () => {
      const created = quickTime(MP4_INFO.takenAt as string);
      const file = withMvhd(mvhdV1(mvhd, created, 1, 0));
      const maxed = Buffer.from(file);
      maxed.writeBigUInt64BE(0xffff_ffff_ffff_ffffn, ftyp.length + middle.length + 8 + 8 + 24);
      const info = await readVideo(memoryFile(maxed));
      expect(info).to.deep.equal({ ...dimensions, takenAt: MP4_INFO.takenAt });
    });

    it('durations of 2^63 ticks a second, or 32 days, are not believable; 31 days is', async () => {
      const created = quickTime(MP4_INFO.takenAt as string);
      for (const [timescale, duration] of [
        [1, 2 ** 63],
        [1, 32 * 86_400],
        [0xffff_ffff, 0xffff_fffe * 40 * 86_400],
      ] as const) {
        expect(await readVideo(memoryFile(withMvhd(mvhdV1(mvhd, created, timescale, duration)))), `${duration}/${timescale}`).to.deep.equal({ ...dimensions, takenAt: MP4_INFO.takenAt });
      }
      expect((await readVideo(memoryFile(withMvhd(mvhdV1(mvhd, created, 1, 31 * 86_400))))).durationSeconds).to.equal(31 * 86_400);
    });

    it('a version 0 duration of all ones means "unknown": no duration', async () => {
      const unknown = Buffer.from(mvhd);
      unknown.writeUInt32BE(0xffff_ffff, 8 + 16);
      expect(await readVideo(memoryFile(withMvhd(unknown)))).to.deep.equal({ ...dimensions, takenAt: MP4_INFO.takenAt });
    });

    it('an mvhd too short for its fields gives neither duration nor time; a tkhd too short for its size is passed over', async () => {
      expect(await readVideo(memoryFile(withMvhd(box('mvhd', Buffer.from([0, 0, 0, 0]), Buffer.alloc(8)))))).to.deep.equal(dimensions);
      const trakParts = childrenOf(trak);
      const shortTkhd = box('trak', ...trakParts.map((part) => (part.type === 'tkhd' ? part.bytes.subarray(0, 60) : part.bytes)));
      const shortened = Buffer.concat([ftyp, middle, box('moov', mvhd, Buffer.from(shortTkhd.subarray(0, 8)), shortTkhd.subarray(8), udta)]);
      expect((await unreadable(memoryFile(shortened))).message).to.match(/no video track|overruns/);
    });
  });
});
