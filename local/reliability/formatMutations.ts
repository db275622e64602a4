/**
 * Structure-aware mutations of the media fixtures (fast-check arbitraries), for the file-format
 * fuzz suite (formats.test.ts). Each takes a well-formed fixture apart (local/fixtures/mediaFiles.ts),
 * changes what readers trust — sizes and lengths, counts, versions, numeric fields at their
 * extremes, EXIF values of every type, compressed chunks, frame and box storms — and puts it back
 * together, so the result gets past the magic-number check and reaches the decoders.
 */
import fc from 'fast-check';
import {
  allBoxes,
  appSegment,
  exifPayload,
  gifFrom,
  gifParts,
  isoBoxes,
  isoFrom,
  jpegFrom,
  jpegSegments,
  mediaFixture,
  pngChunks,
  pngFrom,
  TAGS,
  TIFF,
  tiffBlock,
  webpChunks,
  webpFrom,
  webpWithMetadata,
  zlibOfZeros,
  type IsoBox,
  type JpegSegment,
  type PngChunk,
  type RiffChunk,
  type TiffEntry,
} from '../fixtures/mediaFiles';

export interface MutatedFile {
  format: 'jpeg' | 'png' | 'webp' | 'gif' | 'mp4' | 'mov';
  contentType: string;
  /** What was done, for the failure report. */
  mutations: string[];
  bytes: Buffer;
}

const MiB = 1024 * 1024;

/** Numbers at the edges where readers break: 0, 1, sign and width boundaries, and a few ordinary ones. */
export const extremeUint32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 7, 8, 15, 16, 0x7f, 0xff, 0x7fff, 0xffff, 0x10000, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);
const extremeUint64 = fc.oneof(
  fc.constantFrom(0n, 1n, 0xffff_ffffn, 0x1_0000_0000n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
const rational = fc.tuple(extremeUint32, extremeUint32);

/** An EXIF (TIFF) block with our tags, each of any type and count, with extreme values. */
export const exifBlock: fc.Arbitrary<{ tiff: Buffer; description: string }> = (() => {
  const value = (tag: number): fc.Arbitrary<TiffEntry> =>
    fc.oneof(
      fc.record({ tag: fc.constant(tag), type: fc.constant<number>(TIFF.ASCII), values: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('9999:12:31 23:59:59', '0000:00:00 00:00:00', '1826:01:01 00:00:00', '2024:02:30 10:00:00', '+14:00', '-99:99', '2024:07:14 18:32:05')) }),
      fc.record({ tag: fc.constant(tag), type: fc.constantFrom<number>(TIFF.RATIONAL, TIFF.SRATIONAL), values: fc.array(rational, { minLength: 1, maxLength: 4 }) }),
      fc.record({ tag: fc.constant(tag), type: fc.constantFrom<number>(TIFF.BYTE, TIFF.SHORT, TIFF.LONG), values: fc.array(extremeUint32, { minLength: 1, maxLength: 4 }) }),
      fc.record({ tag: fc.constant(tag), type: fc.constant<number>(TIFF.DOUBLE), values: fc.array(fc.double(), { minLength: 1, maxLength: 3 }) }),
      // A count that lies: far more values than the block holds.
      fc.record({ tag: fc.constant(tag), type: fc.constantFrom<number>(TIFF.LONG, TIFF.RATIONAL, TIFF.ASCII), count: extremeUint32, values: fc.constant<number[]>([1, 2]) }),
    );
  const some = (tags: number[]): fc.Arbitrary<TiffEntry[]> => fc.subarray(tags).chain((chosen) => fc.tuple(...chosen.map(value)));
  return fc
    .record({
      ifd0: some([TAGS.Make, TAGS.Model, TAGS.Orientation]),
      exif: fc.option(some([TAGS.DateTimeOriginal, TAGS.OffsetTimeOriginal]), { nil: undefined }),
      gps: fc.option(some([TAGS.GPSLatitudeRef, TAGS.GPSLatitude, TAGS.GPSLongitudeRef, TAGS.GPSLongitude, TAGS.GPSAltitudeRef, TAGS.GPSAltitude]), { nil: undefined }),
    })
    .map((ifds) => ({
      tiff: tiffBlock({ ifd0: ifds.ifd0, ...(ifds.exif === undefined ? {} : { exif: ifds.exif }), ...(ifds.gps === undefined ? {} : { gps: ifds.gps }) }),
      description: `EXIF ${JSON.stringify(ifds, (_key, item: unknown) => (typeof item === 'string' && item.length > 40 ? `${item.slice(0, 40)}…` : item))}`,
    }));
})();

/** Raw damage after the structure is put back: flipped bytes, or the file cut short. */
const damage = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('flip' as const), positions: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), fraction: fc.double({ min: 0.05, max: 0.999, noNaN: true }) }),
);

type Damage = { kind: 'none' } | { kind: 'flip'; positions: Array<[number, number]> } | { kind: 'truncate'; fraction: number };

function damaged(bytes: Buffer, how: Damage, mutations: string[]): Buffer {
  if (how.kind === 'flip') {
    const copy = Buffer.from(bytes);
    // Past the first 12 bytes, so the magic numbers (what the sniffer checks) survive.
    for (const [position, value] of how.positions) copy[12 + (position % Math.max(1, copy.length - 12))] = value;
    mutations.push(`flipped ${how.positions.length} bytes`);
    return copy;
  }
  if (how.kind === 'truncate') {
    mutations.push(`cut to ${Math.round(how.fraction * 100)}%`);
    return bytes.subarray(0, Math.max(16, Math.floor(bytes.length * how.fraction)));
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------

const jpegMutation = fc.oneof(
  exifBlock.map((exif) => ({ kind: 'exif' as const, exif })),
  fc.record({ kind: fc.constant('segment-length' as const), index: fc.nat(), length: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ kind: fc.constant('duplicate-segment' as const), index: fc.nat(), times: fc.integer({ min: 2, max: 300 }) }),
  fc.record({ kind: fc.constant('drop-segment' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('sof-size' as const), width: fc.integer({ min: 0, max: 0xffff }), height: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ kind: fc.constant('app-storm' as const), n: fc.integer({ min: 0, max: 15 }), count: fc.integer({ min: 1, max: 200 }), size: fc.integer({ min: 0, max: 65_533 }) }),
);

export const mutatedJpeg: fc.Arbitrary<MutatedFile> = fc
  .record({ base: fc.constantFrom('photo-exif.jpg', 'photo-other.jpg'), steps: fc.array(jpegMutation, { minLength: 1, maxLength: 3 }), damage })
  .map(({ base, steps, damage: how }) => {
    let segments: JpegSegment[] = jpegSegments(mediaFixture(base));
    const mutations: string[] = [base];
    const at = (index: number): number => index % segments.length;
    for (const step of steps) {
      if (step.kind === 'exif') {
        segments = [appSegment(1, exifPayload(step.exif.tiff)), ...segments.filter((segment) => !(segment.marker === 0xe1 && segment.data.subarray(0, 4).toString('latin1') === 'Exif'))];
        mutations.push(step.exif.description);
      } else if (step.kind === 'segment-length') {
        const index = at(step.index);
        segments[index] = { ...(segments[index] as JpegSegment), declaredLength: step.length };
        mutations.push(`segment ${index} length ${step.length}`);
      } else if (step.kind === 'duplicate-segment') {
        const index = at(step.index);
        if ((segments[index] as JpegSegment).marker !== 0xda) segments.splice(index, 0, ...Array.from({ length: step.times - 1 }, () => segments[index] as JpegSegment));
        mutations.push(`segment ${index} ×${step.times}`);
      } else if (step.kind === 'drop-segment') {
        const index = at(step.index);
        segments.splice(index, 1);
        mutations.push(`segment ${index} dropped`);
        if (segments.length === 0) segments = jpegSegments(mediaFixture(base));
      } else if (step.kind === 'sof-size') {
        segments = segments.map((segment) => {
          if (segment.marker !== 0xc0 && segment.marker !== 0xc2) return segment;
          const data = Buffer.from(segment.data);
          data.writeUInt16BE(step.height, 1);
          data.writeUInt16BE(step.width, 3);
          return { ...segment, data };
        });
        mutations.push(`SOF ${step.width}×${step.height}`);
      } else {
        segments = [...Array.from({ length: step.count }, () => appSegment(step.n, Buffer.alloc(step.size, 0x41))), ...segments];
        mutations.push(`${step.count} APP${step.n} of ${step.size} bytes`);
      }
    }
    return { format: 'jpeg' as const, contentType: 'image/jpeg', mutations, bytes: damaged(jpegFrom(segments), how, mutations) };
  });

// ---------------------------------------------------------------------------------------------

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
const compressedChunk = fc.record({
  type: fc.constantFrom('iCCP', 'zTXt', 'iTXt'),
  inflatesTo: fc.constantFrom(0, 1024, MiB, 16 * MiB, 64 * MiB),
  copies: fc.integer({ min: 1, max: 20 }),
});

const pngMutation = fc.oneof(
  exifBlock.map((exif) => ({ kind: 'exif' as const, exif })),
  compressedChunk.map((chunk) => ({ kind: 'compressed' as const, chunk })),
  fc.record({ kind: fc.constant('chunk-length' as const), index: fc.nat(), length: extremeUint32 }),
  fc.record({ kind: fc.constant('bad-crc' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('ihdr' as const), width: extremeUint32, height: extremeUint32, depth: fc.constantFrom(1, 2, 4, 8, 16, 3, 0, 255), colour: fc.constantFrom(0, 2, 3, 4, 6, 1, 7), interlace: fc.constantFrom(0, 1, 2) }),
  fc.record({ kind: fc.constant('duplicate-chunk' as const), index: fc.nat(), times: fc.integer({ min: 2, max: 500 }) }),
  fc.record({ kind: fc.constant('text-storm' as const), count: fc.integer({ min: 1, max: 5000 }), size: fc.integer({ min: 0, max: 4096 }) }),
);

export const mutatedPng: fc.Arbitrary<MutatedFile> = fc.record({ steps: fc.array(pngMutation, { minLength: 1, maxLength: 3 }), damage }).map(({ steps, damage: how }) => {
  const chunks: PngChunk[] = pngChunks(mediaFixture('graphic.png'));
  const mutations = ['graphic.png'];
  const afterIhdr = (...extra: PngChunk[]): void => void chunks.splice(1, 0, ...extra);
  for (const step of steps) {
    const index = step.kind === 'chunk-length' || step.kind === 'bad-crc' || step.kind === 'duplicate-chunk' ? step.index % chunks.length : 0;
    if (step.kind === 'exif') {
      afterIhdr({ type: 'eXIf', data: step.exif.tiff });
      mutations.push(step.exif.description);
    } else if (step.kind === 'compressed') {
      const { type, inflatesTo, copies } = step.chunk;
      const head = type === 'iCCP' ? 'icc\0\0' : type === 'zTXt' ? 'Comment\0\0' : 'XML:com.adobe.xmp\0\x01\x00\0\0';
      const chunk = { type, data: Buffer.concat([latin1(head), zlibOfZeros(inflatesTo)]) };
      afterIhdr(...Array.from({ length: copies }, () => chunk));
      mutations.push(`${copies} ${type} inflating to ${inflatesTo} bytes`);
    } else if (step.kind === 'chunk-length') {
      chunks[index] = { ...(chunks[index] as PngChunk), declaredLength: step.length };
      mutations.push(`chunk ${index} length ${step.length}`);
    } else if (step.kind === 'bad-crc') {
      chunks[index] = { ...(chunks[index] as PngChunk), crc: 0 };
      mutations.push(`chunk ${index} CRC 0`);
    } else if (step.kind === 'ihdr') {
      const data = Buffer.from((chunks[0] as PngChunk).data);
      data.writeUInt32BE(step.width, 0);
      data.writeUInt32BE(step.height, 4);
      data[8] = step.depth;
      data[9] = step.colour;
      data[12] = step.interlace;
      chunks[0] = { type: 'IHDR', data };
      mutations.push(`IHDR ${step.width}×${step.height} depth ${step.depth} colour ${step.colour} interlace ${step.interlace}`);
    } else if (step.kind === 'duplicate-chunk') {
      chunks.splice(index, 0, ...Array.from({ length: step.times - 1 }, () => chunks[index] as PngChunk));
      mutations.push(`chunk ${index} ×${step.times}`);
    } else {
      afterIhdr(...Array.from({ length: step.count }, (_, n) => ({ type: 'tEXt', data: Buffer.concat([latin1(`k${n}\0`), Buffer.alloc(step.size, 0x61)]) })));
      mutations.push(`${step.count} tEXt of ${step.size} bytes`);
    }
  }
  return { format: 'png' as const, contentType: 'image/png', mutations, bytes: damaged(pngFrom(chunks), how, mutations) };
});

// ---------------------------------------------------------------------------------------------

const webpMutation = fc.oneof(
  exifBlock.map((exif) => ({ kind: 'exif' as const, exif })),
  fc.record({ kind: fc.constant('metadata' as const), icc: fc.integer({ min: 0, max: 8 * MiB }), xmp: fc.integer({ min: 0, max: 8 * MiB }) }),
  fc.record({ kind: fc.constant('chunk-length' as const), index: fc.nat(), length: extremeUint32 }),
  fc.record({ kind: fc.constant('riff-size' as const), size: extremeUint32 }),
  fc.record({ kind: fc.constant('canvas' as const), width: fc.integer({ min: 1, max: 1 << 24 }), height: fc.integer({ min: 1, max: 1 << 24 }), flags: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('frames' as const), count: fc.integer({ min: 1, max: 3000 }) }),
);

export const mutatedWebp: fc.Arbitrary<MutatedFile> = fc.record({ steps: fc.array(webpMutation, { minLength: 1, maxLength: 3 }), damage }).map(({ steps, damage: how }) => {
  const simple = mediaFixture('bars.webp');
  const image = webpChunks(simple)[0] as RiffChunk;
  let chunks: RiffChunk[] = webpChunks(simple);
  let riffSize: number | undefined;
  const mutations = ['bars.webp'];
  const extended = (): void => {
    if (chunks[0]?.fourcc !== 'VP8X') chunks = webpChunks(webpWithMetadata(simple, {}));
  };
  for (const step of steps) {
    if (step.kind === 'exif') {
      extended();
      (chunks[0] as RiffChunk).data[0] = ((chunks[0] as RiffChunk).data[0] as number) | 0x08;
      chunks.push({ fourcc: 'EXIF', data: exifPayload(step.exif.tiff) });
      mutations.push(step.exif.description);
    } else if (step.kind === 'metadata') {
      extended();
      (chunks[0] as RiffChunk).data[0] = ((chunks[0] as RiffChunk).data[0] as number) | 0x24;
      chunks.splice(1, 0, { fourcc: 'ICCP', data: Buffer.alloc(step.icc, 7) });
      chunks.push({ fourcc: 'XMP ', data: Buffer.alloc(step.xmp, 0x20) });
      mutations.push(`ICCP ${step.icc} bytes, XMP ${step.xmp} bytes`);
    } else if (step.kind === 'chunk-length') {
      const index = step.index % chunks.length;
      chunks[index] = { ...(chunks[index] as RiffChunk), declaredLength: step.length };
      mutations.push(`chunk ${index} length ${step.length}`);
    } else if (step.kind === 'riff-size') {
      riffSize = step.size;
      mutations.push(`RIFF size ${step.size}`);
    } else if (step.kind === 'canvas') {
      extended();
      const data = Buffer.from((chunks[0] as RiffChunk).data);
      data[0] = step.flags;
      data.writeUIntLE(step.width - 1, 4, 3);
      data.writeUIntLE(step.height - 1, 7, 3);
      chunks[0] = { fourcc: 'VP8X', data };
      mutations.push(`VP8X flags ${step.flags} canvas ${step.width}×${step.height}`);
    } else {
      extended();
      const frameHead = Buffer.alloc(16);
      frameHead.writeUIntLE(299, 6, 3);
      frameHead.writeUIntLE(299, 9, 3);
      const anmf = { fourcc: 'ANMF', data: Buffer.concat([frameHead, webpFrom([image]).subarray(12)]) };
      (chunks[0] as RiffChunk).data[0] = ((chunks[0] as RiffChunk).data[0] as number) | 0x02;
      chunks = [chunks[0] as RiffChunk, { fourcc: 'ANIM', data: Buffer.alloc(6) }, ...Array.from({ length: step.count }, () => anmf)];
      mutations.push(`${step.count} animation frames`);
    }
  }
  return { format: 'webp' as const, contentType: 'image/webp', mutations, bytes: damaged(webpFrom(chunks, riffSize), how, mutations) };
});

// ---------------------------------------------------------------------------------------------

const gifMutation = fc.oneof(
  fc.record({ kind: fc.constant('screen' as const), width: fc.integer({ min: 0, max: 0xffff }), height: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ kind: fc.constant('repeat-blocks' as const), times: fc.integer({ min: 2, max: 2000 }) }),
  fc.record({ kind: fc.constant('frame-origin' as const), index: fc.nat(), x: fc.integer({ min: 0, max: 0xffff }), y: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ kind: fc.constant('drop-block' as const), index: fc.nat() }),
);

export const mutatedGif: fc.Arbitrary<MutatedFile> = fc.record({ steps: fc.array(gifMutation, { minLength: 1, maxLength: 3 }), damage }).map(({ steps, damage: how }) => {
  const parts = gifParts(mediaFixture('anim.gif'));
  let head = Buffer.from(parts.head);
  let blocks = [...parts.blocks];
  const mutations = ['anim.gif'];
  for (const step of steps) {
    if (step.kind === 'screen') {
      head = Buffer.from(head);
      head.writeUInt16LE(step.width, 6);
      head.writeUInt16LE(step.height, 8);
      mutations.push(`screen ${step.width}×${step.height}`);
    } else if (step.kind === 'repeat-blocks') {
      // Up to about 40 MiB in all: a larger file is only refused as too large.
      const bytes = blocks.reduce((sum, block) => sum + block.length, 0);
      const times = Math.max(1, Math.min(step.times, Math.floor((40 * MiB) / Math.max(1, bytes))));
      blocks = Array.from({ length: times }, () => blocks).flat();
      mutations.push(`blocks ×${times}`);
    } else if (step.kind === 'frame-origin') {
      const images = blocks.map((block, index) => [block, index] as const).filter(([block]) => block[0] === 0x2c);
      const [image, index] = images[step.index % Math.max(1, images.length)] ?? [undefined, -1];
      if (image !== undefined) {
        const copy = Buffer.from(image);
        copy.writeUInt16LE(step.x, 1);
        copy.writeUInt16LE(step.y, 3);
        blocks[index] = copy;
      }
      mutations.push(`frame at ${step.x},${step.y}`);
    } else if (blocks.length > 1) {
      blocks.splice(step.index % blocks.length, 1);
      mutations.push('block dropped');
    }
  }
  return { format: 'gif' as const, contentType: 'image/gif', mutations, bytes: damaged(gifFrom({ head, blocks }), how, mutations) };
});

// ---------------------------------------------------------------------------------------------

const boxMutation = fc.oneof(
  fc.record({ kind: fc.constant('size' as const), index: fc.nat(), size: fc.oneof(extremeUint32, fc.constantFrom(0, 1, 7, 8, 9, 16)), large: fc.boolean() }),
  fc.record({ kind: fc.constant('large-size' as const), index: fc.nat(), size: extremeUint64 }),
  fc.record({ kind: fc.constant('version' as const), type: fc.constantFrom('mvhd', 'tkhd', 'mdhd', 'hdlr'), version: fc.constantFrom(0, 1, 2, 255) }),
  fc.record({ kind: fc.constant('mvhd-values' as const), version: fc.constantFrom(0, 1), creation: extremeUint64, timescale: extremeUint32, duration: extremeUint64 }),
  fc.record({ kind: fc.constant('tkhd-values' as const), width: extremeUint32, height: extremeUint32, a: extremeUint32, b: extremeUint32 }),
  fc.record({ kind: fc.constant('duplicate' as const), index: fc.nat(), times: fc.integer({ min: 2, max: 3000 }) }),
  fc.record({ kind: fc.constant('drop' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('top-level-storm' as const), count: fc.integer({ min: 1, max: 20_000 }), size: fc.constantFrom(8, 16, 4096, 65_544, 1 << 20) }),
  fc.record({ kind: fc.constant('moov-first' as const) }),
);

function fullBoxBody(box: IsoBox, version: number): Buffer {
  const body = Buffer.from(box.body ?? Buffer.alloc(4));
  if (body.length > 0) body[0] = version;
  return body;
}

/** A version 0 or 1 mvhd with the given fields (the rest as a real one: rate 1.0, volume 1.0, identity matrix). */
function mvhdBody(version: number, creation: bigint, timescale: number, duration: bigint): Buffer {
  const times = version === 1 ? Buffer.alloc(28) : Buffer.alloc(16);
  if (version === 1) {
    times.writeBigUInt64BE(creation, 0);
    times.writeBigUInt64BE(creation, 8);
    times.writeUInt32BE(timescale, 16);
    times.writeBigUInt64BE(duration, 20);
  } else {
    times.writeUInt32BE(Number(creation & 0xffff_ffffn), 0);
    times.writeUInt32BE(Number(creation & 0xffff_ffffn), 4);
    times.writeUInt32BE(timescale, 8);
    times.writeUInt32BE(Number(duration & 0xffff_ffffn), 12);
  }
  const rest = Buffer.alloc(80);
  rest.writeUInt32BE(0x0001_0000, 0);
  rest.writeUInt16BE(0x0100, 4);
  rest.writeUInt32BE(0x0001_0000, 16);
  rest.writeUInt32BE(0x0001_0000, 32);
  rest.writeUInt32BE(0x4000_0000, 48);
  rest.writeUInt32BE(2, 76);
  return Buffer.concat([Buffer.from([version, 0, 0, 0]), times, rest]);
}

export const mutatedVideo: fc.Arbitrary<MutatedFile> = fc
  .record({ base: fc.constantFrom('clip.mp4', 'clip.mov'), steps: fc.array(boxMutation, { minLength: 1, maxLength: 4 }), damage })
  .map(({ base, steps, damage: how }) => {
    let top: IsoBox[] = isoBoxes(mediaFixture(base));
    const mutations: string[] = [base];
    for (const step of steps) {
      const boxes = allBoxes(top);
      if (step.kind === 'size' || step.kind === 'large-size') {
        const box = boxes[step.index % boxes.length] as IsoBox;
        if (step.kind === 'size') Object.assign(box, { declaredSize: step.size, large: step.large });
        else Object.assign(box, { declaredSize: step.size, large: true });
        mutations.push(`${box.type} size ${String(step.size)}${step.kind === 'large-size' || step.large ? ' (64-bit)' : ''}`);
      } else if (step.kind === 'version') {
        for (const box of boxes.filter((candidate) => candidate.type === step.type)) box.body = fullBoxBody(box, step.version);
        mutations.push(`${step.type} version ${step.version}`);
      } else if (step.kind === 'mvhd-values') {
        for (const box of boxes.filter((candidate) => candidate.type === 'mvhd')) box.body = mvhdBody(step.version, step.creation, step.timescale, step.duration);
        mutations.push(`mvhd v${step.version} creation ${step.creation} timescale ${step.timescale} duration ${step.duration}`);
      } else if (step.kind === 'tkhd-values') {
        for (const box of boxes.filter((candidate) => candidate.type === 'tkhd')) {
          const body = Buffer.from(box.body ?? Buffer.alloc(0));
          const matrix = body[0] === 1 ? 52 : 40;
          if (body.length >= matrix + 44) {
            body.writeUInt32BE(step.a, matrix);
            body.writeUInt32BE(step.b, matrix + 4);
            body.writeUInt32BE(step.width, matrix + 36);
            body.writeUInt32BE(step.height, matrix + 40);
          }
          box.body = body;
        }
        mutations.push(`tkhd ${step.width}×${step.height} (16.16) matrix a=${step.a} b=${step.b}`);
      } else if (step.kind === 'duplicate' || step.kind === 'drop') {
        // Within the box's parent: find it there.
        const target = boxes[step.index % boxes.length] as IsoBox;
        const parent = [{ children: top } as IsoBox, ...boxes].find((candidate) => candidate.children?.includes(target));
        const siblings = parent?.children as IsoBox[];
        const at = siblings.indexOf(target);
        if (step.kind === 'duplicate') siblings.splice(at, 0, ...Array.from({ length: step.times - 1 }, () => target));
        else if (siblings.length > 1) siblings.splice(at, 1);
        mutations.push(`${target.type} ${step.kind === 'duplicate' ? `×${step.times}` : 'dropped'}`);
        if (parent?.children === siblings && parent.type === undefined) top = siblings;
      } else if (step.kind === 'top-level-storm') {
        const moovAt = top.findIndex((box) => box.type === 'moov');
        const filler: IsoBox = { type: 'free', body: Buffer.alloc(0), declaredSize: step.size };
        // Declared sizes past their bodies: the file is laid out as if each box were that long only when it is 8 bytes.
        const storm = step.size === 8 ? Array.from({ length: step.count }, () => filler) : [{ type: 'free', body: Buffer.alloc(Math.min(step.count * step.size, 8 * MiB) - 8) }];
        top.splice(Math.max(0, moovAt), 0, ...storm);
        mutations.push(`${step.count} top-level boxes of ${step.size} bytes before moov`);
      } else {
        top = [...top.filter((box) => box.type === 'moov'), ...top.filter((box) => box.type !== 'moov')];
        mutations.push('moov first');
      }
    }
    const format = base === 'clip.mp4' ? ('mp4' as const) : ('mov' as const);
    return { format, contentType: format === 'mp4' ? 'video/mp4' : 'video/quicktime', mutations, bytes: damaged(isoFrom(top), how, mutations) };
  });

export const MUTATED_FILES: Record<MutatedFile['format'] | 'video', fc.Arbitrary<MutatedFile>> = {
  jpeg: mutatedJpeg,
  png: mutatedPng,
  webp: mutatedWebp,
  gif: mutatedGif,
  mp4: mutatedVideo.filter((file) => file.format === 'mp4'),
  mov: mutatedVideo.filter((file) => file.format === 'mov'),
  video: mutatedVideo,
};
