import { expect } from 'chai';
import exifr from 'exifr';
import fs from 'node:fs';
import path from 'node:path';
import proxyquire from 'proxyquire';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { appSegment, exifPayload, jpegWith, mediaFixture, pngChunks, pngFrom, pngWith, TAGS, TIFF, tiffBlock, webpWithMetadata, withExif, zlibOfZeros, type PngChunk, type TiffEntry } from '../../local/fixtures/mediaFiles';
import { bufferedDecodeBytes, exifTimestamp, makeThumbnails, MAX_BUFFERED_DECODE_BYTES, MAX_EXIF_BYTES, MAX_INPUT_PIXELS, readImage, UnreadableImage } from './image';
import type * as ImageModule from './image';

const fixture = (name: string): Buffer => fs.readFileSync(path.join(__dirname, '../../local/fixtures/media', name));

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

async function webpSize(buffer: Buffer): Promise<{ format: string | undefined; width: number | undefined; height: number | undefined }> {
  const { format, width, height } = await sharp(buffer).metadata();
  return { format, width, height };
}

/** A copy of a PNG whose IHDR declares other dimensions (CRC fixed, pixel data left as is). */
function pngDeclaring(png: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(png);
  expect(copy.toString('latin1', 12, 16)).to.equal('IHDR');
  copy.writeUInt32BE(width, 16);
  copy.writeUInt32BE(height, 20);
  copy.writeUInt32BE(zlib.crc32(copy.subarray(12, 29)), 29);
  return copy;
}

/** 200x100 stored: left half red, right half blue; EXIF orientation 6 (shown rotated 90° clockwise). */
function sidewaysJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 200, height: 100, channels: 3, background: '#ff0000' } })
    .composite([{ input: { create: { width: 100, height: 100, channels: 3, background: '#0000ff' } }, left: 100, top: 0 }])
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

describe('media-info/image', () => {
  describe('readImage', () => {
    it('photo-exif.jpg: displayed size, orientation, capture time, camera and location exactly', async () => {
      expect(await readImage(fixture('photo-exif.jpg'))).to.deep.equal({
        width: 480,
        height: 640,
        orientation: 6,
        takenAt: '2024-07-14T16:32:05.000Z',
        camera: { make: 'Canon', model: 'Canon EOS R6' },
        location: { latitude: 48.85837, longitude: 2.294481, altitude: 35 },
      });
    });

    for (const [name, width, height] of [
      ['graphic.png', 320, 200],
      ['bars.webp', 300, 300],
      ['anim.gif', 120, 90],
    ] as const) {
      it(`${name}: dimensions only, no EXIF fields`, async () => {
        expect(await readImage(fixture(name))).to.deep.equal({ width, height });
      });
    }

    it('an EXIF image without an offset is read as UTC; camera strings are trimmed, blank ones dropped', async () => {
      const image = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#336699' } })
        .jpeg()
        .withExif({ IFD0: { Make: '  Nikon  ', Model: '   ' }, IFD2: { DateTimeOriginal: '2021:01:02 03:04:05' } })
        .toBuffer();
      const info = await readImage(image);
      expect(info.takenAt).to.equal('2021-01-02T03:04:05.000Z');
      expect(info.camera).to.deep.equal({ make: 'Nikon' });
      expect(info.location).to.equal(undefined);
      expect([info.width, info.height]).to.deep.equal([40, 30]);
    });

    it('camera strings are capped at 100 characters', async () => {
      const image = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000000' } })
        .jpeg()
        .withExif({ IFD0: { Make: 'M'.repeat(150), Model: 'Short' } })
        .toBuffer();
      expect((await readImage(image)).camera).to.deep.equal({ make: 'M'.repeat(100), model: 'Short' });
    });

    it('southern latitude is negative; GPSAltitudeRef 1 (below sea level) makes the altitude negative', async () => {
      const image = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000000' } })
        .jpeg()
        .withExif({
          IFD3: { GPSLatitudeRef: 'S', GPSLatitude: '33/1 52/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '151/1 12/1 36/1', GPSAltitudeRef: '0', GPSAltitude: '12/1' },
        })
        .toBuffer();
      expect((await readImage(image)).location).to.deep.equal({ latitude: -33.866667, longitude: 151.21, altitude: 12 });

      // libvips writes GPSAltitudeRef as 0 whatever it is given: patch the BYTE in the GPS IFD entry
      // (tag 5, type BYTE, count 1) to 1, in whichever byte order the TIFF header uses.
      const head = image.subarray(0, 2000);
      const entries = [Buffer.from([5, 0, 1, 0, 1, 0, 0, 0]), Buffer.from([0, 5, 0, 1, 0, 0, 0, 1])].map((entry) => head.indexOf(entry)).filter((at) => at >= 0);
      expect(entries).to.have.length(1);
      const belowSeaLevel = Buffer.from(image);
      belowSeaLevel[(entries[0] as number) + 8] = 1;
      expect((await readImage(belowSeaLevel)).location).to.deep.equal({ latitude: -33.866667, longitude: 151.21, altitude: -12 });
    });

    it('a camera model without a make is kept on its own', async () => {
      const image = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000000' } })
        .jpeg()
        .withExif({ IFD0: { Model: 'Pixel 8' } })
        .toBuffer();
      expect((await readImage(image)).camera).to.deep.equal({ model: 'Pixel 8' });
    });

    it('a GPS position without an altitude has no altitude', async () => {
      const image = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000000' } })
        .jpeg()
        .withExif({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 3024/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 4020/100' } })
        .toBuffer();
      expect((await readImage(image)).location).to.deep.equal({ latitude: 48.8584, longitude: 2.2945 });
    });

    it('an image the decoder opens but cannot size is an UnreadableImage', async () => {
      const sizeless = Object.assign(() => ({ metadata: async () => ({ format: 'svg' }) }), { cache: () => undefined, '@noCallThru': true });
      const image = proxyquire<typeof ImageModule>('./image', { sharp: sizeless });
      const error = await rejection(image.readImage(Buffer.from('<svg/>')));
      expect(error).to.be.instanceOf(image.UnreadableImage);
      expect(error.message).to.equal('no dimensions');
    });

    it('orientation 5-8 swap width and height; 1 does not', async () => {
      const sideways = await sidewaysJpeg();
      expect(await readImage(sideways)).to.deep.equal({ width: 100, height: 200, orientation: 6 });
      const upright = await sharp(sideways).rotate().jpeg().withMetadata({ orientation: 1 }).toBuffer();
      expect(await readImage(upright)).to.deep.equal({ width: 100, height: 200, orientation: 1 });
    });

    it('garbage is an UnreadableImage', async () => {
      for (const garbage of [fixture('not-an-image.jpg'), Buffer.alloc(0), Buffer.alloc(4096, 0xab), fixture('clip.mp4')]) {
        const error = await rejection(readImage(garbage));
        expect(error).to.be.instanceOf(UnreadableImage);
        expect(error.name).to.equal('UnreadableImage');
      }
    });

    it('a truncated JPEG (its first 200 bytes) is an UnreadableImage', async () => {
      expect(await rejection(readImage(fixture('photo-exif.jpg').subarray(0, 200)))).to.be.instanceOf(UnreadableImage);
    });

    it(`refuses a PNG declaring more than MAX_INPUT_PIXELS (${MAX_INPUT_PIXELS}), accepts one declaring exactly that`, async () => {
      const png = fixture('graphic.png');
      const error = await rejection(readImage(pngDeclaring(png, 10_001, 10_000)));
      expect(error).to.be.instanceOf(UnreadableImage);
      expect(error.message).to.match(/pixel limit/i);
      // Only the header is read: the same lie at the limit is accepted (control for the check above).
      expect(await readImage(pngDeclaring(png, 10_000, 10_000))).to.deep.equal({ width: 10_000, height: 10_000 });
    });
  });

  // The black-box audit of processUpload sent EXIF values that could not be stored (NaN and
  // Infinity fail the DynamoDB write: the item stayed pending) or read back (a year past 9999 is
  // no ISO timestamp: every read of the owner's items answered 500). Each is dropped now, in
  // every container that carries EXIF, and the rest of the image is kept.
  describe('readImage: EXIF values out of range are dropped, the image kept', () => {
    const formats = ['jpeg', 'png', 'webp'] as const;
    const gps = (latitude: Array<[number, number]>, longitude: Array<[number, number]>, altitude?: [number, number]): TiffEntry[] => [
      { tag: TAGS.GPSLatitudeRef, type: TIFF.ASCII, values: 'N' },
      { tag: TAGS.GPSLatitude, type: TIFF.RATIONAL, values: latitude },
      { tag: TAGS.GPSLongitudeRef, type: TIFF.ASCII, values: 'E' },
      { tag: TAGS.GPSLongitude, type: TIFF.RATIONAL, values: longitude },
      ...(altitude === undefined ? [] : [{ tag: TAGS.GPSAltitude, type: TIFF.RATIONAL, values: [altitude] }]),
    ];
    const paris = { lat: [[48, 1], [51, 1], [3012, 100]] as Array<[number, number]>, long: [[2, 1], [17, 1], [4020, 100]] as Array<[number, number]> };
    const dimensionsOf = { jpeg: { width: 640, height: 480 }, png: { width: 320, height: 200 }, webp: { width: 300, height: 300 } };

    for (const format of formats) {
      it(`${format}: DateTimeOriginal 9999:12:31 23:59:59 at -01:00 (year 10000 in UTC) gives no capture time`, async () => {
        const tiff = tiffBlock({ ifd0: [{ tag: TAGS.Make, type: TIFF.ASCII, values: 'Canon' }], exif: [{ tag: TAGS.DateTimeOriginal, type: TIFF.ASCII, values: '9999:12:31 23:59:59' }, { tag: TAGS.OffsetTimeOriginal, type: TIFF.ASCII, values: '-01:00' }] });
        expect(await readImage(withExif(format, tiff))).to.deep.equal({ ...dimensionsOf[format], camera: { make: 'Canon' } });
      });

      it(`${format}: GPSAltitude 1/0 and 0/0 are dropped, the position kept`, async () => {
        for (const altitude of [[1, 0], [0, 0]] as Array<[number, number]>) {
          const info = await readImage(withExif(format, tiffBlock({ gps: gps(paris.lat, paris.long, altitude) })));
          expect(info.location, altitude.join('/')).to.deep.equal({ latitude: 48.858367, longitude: 2.2945 });
        }
      });

      it(`${format}: a latitude of 4294967295°, or of 1/0, 0/0 or 95°, drops the position`, async () => {
        for (const latitude of [[[4294967295, 1], [0, 1], [0, 1]], [[1, 0], [0, 1], [0, 1]], [[0, 0], [0, 0], [0, 0]], [[95, 1], [0, 1], [0, 1]]] as Array<Array<[number, number]>>) {
          const info = await readImage(withExif(format, tiffBlock({ gps: gps(latitude, paris.long, [35, 1]) })));
          expect(info, JSON.stringify(latitude)).to.deep.equal(dimensionsOf[format]);
        }
      });
    }

    it('a longitude past 180° drops the position; an altitude deeper than the ocean or higher than space drops the altitude', async () => {
      expect((await readImage(withExif('jpeg', tiffBlock({ gps: gps(paris.lat, [[181, 1], [0, 1], [0, 1]]) })))).location).to.equal(undefined);
      for (const altitude of [[100_001, 1], [4294967295, 1]] as Array<[number, number]>) {
        expect((await readImage(withExif('jpeg', tiffBlock({ gps: gps(paris.lat, paris.long, altitude) })))).location).to.deep.equal({ latitude: 48.858367, longitude: 2.2945 });
      }
    });

    it('camera strings of control characters and bidi overrides are cleaned; a camera of nothing but those is dropped', async () => {
      const tiff = tiffBlock({ ifd0: [{ tag: TAGS.Make, type: TIFF.ASCII, values: '\u202eCanon\u0007' }, { tag: TAGS.Model, type: TIFF.ASCII, values: '\u0001\u0002' }] });
      expect((await readImage(withExif('jpeg', tiff))).camera).to.deep.equal({ make: 'Canon' });
    });

    it('EXIF values of the wrong type (a date as a number, a make as numbers) are ignored', async () => {
      const tiff = tiffBlock({ ifd0: [{ tag: TAGS.Make, type: TIFF.LONG, values: [1, 2, 3] }], exif: [{ tag: TAGS.DateTimeOriginal, type: TIFF.LONG, values: [20240714] }] });
      expect(await readImage(withExif('jpeg', tiff))).to.deep.equal(dimensionsOf.jpeg);
    });
  });

  // exifr given a whole file parses whatever it finds: a PNG's iCCP chunk is inflated with no
  // limit (the audit: a 1 MB PNG, 2 GB of memory). It is given only the EXIF block libvips found.
  describe('readImage: exifr sees the EXIF block, never the file', () => {
    function spiedImageModule(): { module: typeof ImageModule; inputs: Buffer[] } {
      const inputs: Buffer[] = [];
      const parse = (input: Buffer, options: unknown): Promise<unknown> => (inputs.push(input), exifr.parse(input, options as Parameters<typeof exifr.parse>[1]));
      const spy = { parse, '@noCallThru': true };
      return { module: proxyquire<typeof ImageModule>('./image', { exifr: spy }), inputs };
    }

    it('a PNG whose iCCP chunk inflates to 1 GiB: exifr gets only the eXIf chunk’s TIFF block', async () => {
      const { module, inputs } = spiedImageModule();
      const tiff = tiffBlock({ ifd0: [{ tag: TAGS.Make, type: TIFF.ASCII, values: 'Canon' }] });
      const png = pngWith(mediaFixture('graphic.png'), { type: 'iCCP', data: Buffer.concat([Buffer.from('icc\0\0', 'latin1'), zlibOfZeros(1024 * 1024 * 1024)]) }, { type: 'eXIf', data: tiff });
      expect((await module.readImage(png)).camera).to.deep.equal({ make: 'Canon' });
      expect(inputs).to.have.length(1);
      expect(Buffer.compare(inputs[0] as Buffer, tiff)).to.equal(0);
    });

    it('a JPEG with 16 MiB of ICC and XMP segments: exifr gets the APP1 EXIF block only, without its "Exif" header', async () => {
      const { module, inputs } = spiedImageModule();
      const tiff = tiffBlock({ ifd0: [{ tag: TAGS.Model, type: TIFF.ASCII, values: 'R6' }] });
      const icc = Array.from({ length: 255 }, (_, index) => appSegment(2, Buffer.concat([Buffer.from('ICC_PROFILE\0', 'latin1'), Buffer.from([index + 1, 255]), Buffer.alloc(65_519, 1)])));
      const jpeg = jpegWith(mediaFixture('photo-other.jpg'), appSegment(1, exifPayload(tiff)), ...icc, appSegment(1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.alloc(60_000, 0x20)])));
      expect((await module.readImage(jpeg)).camera).to.deep.equal({ model: 'R6' });
      expect(inputs.map((input) => input.length)).to.deep.equal([tiff.length]);
    });

    it(`a WebP with a 20 MiB EXIF chunk: exifr gets its first MAX_EXIF_BYTES (${MAX_EXIF_BYTES}) only; an image without EXIF never calls it`, async () => {
      const { module, inputs } = spiedImageModule();
      const tiff = tiffBlock({ ifd0: [{ tag: TAGS.Make, type: TIFF.ASCII, values: 'Big' }] });
      await module.readImage(webpWithMetadata(mediaFixture('bars.webp'), { exif: exifPayload(Buffer.concat([tiff, Buffer.alloc(20 * 1024 * 1024)])), xmp: Buffer.alloc(1024, 0x20) }));
      expect(inputs.map((input) => input.length)).to.deep.equal([MAX_EXIF_BYTES]);
      await module.readImage(mediaFixture('graphic.png'));
      await module.readImage(mediaFixture('anim.gif'));
      expect(inputs).to.have.length(1);
    });
  });

  describe('exifTimestamp', () => {
    it('keeps capture times from 1826 (the first photograph) to a day from now, and drops the rest', () => {
      const now = Date.parse('2026-11-21T10:00:00Z');
      expect(exifTimestamp('1826:01:01 00:00:00', undefined, now)).to.equal('1826-01-01T00:00:00.000Z');
      expect(exifTimestamp('1825:12:31 23:59:59', undefined, now)).to.equal(undefined);
      expect(exifTimestamp('2026:11:22 10:00:00', undefined, now), 'a day ahead (a fast clock, UTC+14 read as UTC)').to.equal('2026-11-22T10:00:00.000Z');
      expect(exifTimestamp('2026:11:22 10:00:01', undefined, now)).to.equal(undefined);
      expect(exifTimestamp('9999:12:31 23:59:59', '-01:00', now), 'the audit: year 10000 in UTC').to.equal(undefined);
      expect(exifTimestamp('0001:01:01 00:00:00', undefined, now)).to.equal(undefined);
    });

    it('ignores values that are not strings', () => {
      expect(exifTimestamp(20240714, undefined)).to.equal(undefined);
      expect(exifTimestamp('2024:07:14 18:32:05', 2)).to.equal('2024-07-14T18:32:05.000Z');
    });

    it('applies the recorded offset', () => {
      expect(exifTimestamp('2024:07:14 18:32:05', '+02:00')).to.equal('2024-07-14T16:32:05.000Z');
      expect(exifTimestamp('2024:07:14 18:32:05', '-05:30')).to.equal('2024-07-15T00:02:05.000Z');
      expect(exifTimestamp('2024:07:14 18:32:05', '+00:00')).to.equal('2024-07-14T18:32:05.000Z');
    });

    it('assumes UTC without an offset, or with a malformed one', () => {
      expect(exifTimestamp('2024:07:14 18:32:05', undefined)).to.equal('2024-07-14T18:32:05.000Z');
      for (const offset of ['', '+2:00', 'CET', '+0200', '+02:00 ']) {
        expect(exifTimestamp('2024:07:14 18:32:05', offset), JSON.stringify(offset)).to.equal('2024-07-14T18:32:05.000Z');
      }
    });

    it('drops the time when its offset is well-formed but out of range (no such instant)', () => {
      for (const offset of ['+24:00', '+99:99', '-12:60']) {
        expect(exifTimestamp('2024:07:14 18:32:05', offset), offset).to.equal(undefined);
      }
    });

    it('accepts a T separator and ignores trailing sub-seconds', () => {
      expect(exifTimestamp('2024:07:14T18:32:05', undefined)).to.equal('2024-07-14T18:32:05.000Z');
      expect(exifTimestamp('2024:07:14 18:32:05.123', '+02:00')).to.equal('2024-07-14T16:32:05.000Z');
    });

    it('rejects missing and malformed timestamps', () => {
      for (const value of [undefined, '', 'not a date', '2024-07-14 18:32:05', '2024:07:14', '24:07:14 18:32:05', ' 2024:07:14 18:32:05', '0000:00:00 00:00:00', '    :  :     :  :  ', '2024:13:01 10:00:00', '2024:07:14 25:00:00', '2024:07:14 18:60:00']) {
        expect(exifTimestamp(value, '+02:00'), JSON.stringify(value)).to.equal(undefined);
        expect(exifTimestamp(value, undefined), JSON.stringify(value)).to.equal(undefined);
      }
    });

    // Regression: Date accepts day 29-31 in any month and rolls it over ('2024:02:30' used to
    // become 2024-03-01); an impossible calendar date must give no capture time at all.
    it('rejects impossible calendar dates instead of rolling them over', () => {
      expect(exifTimestamp('2024:02:30 10:00:00', undefined)).to.equal(undefined);
      expect(exifTimestamp('2023:02:29 10:00:00', undefined)).to.equal(undefined);
      expect(exifTimestamp('2024:04:31 10:00:00', undefined)).to.equal(undefined);
    });

    it('accepts a real leap day', () => {
      expect(exifTimestamp('2024:02:29 10:00:00', undefined)).to.equal('2024-02-29T10:00:00.000Z');
    });
  });

  describe('makeThumbnails', () => {
    it('a large landscape image: WebP thumbnails that fit in 256x256 and 1024x1024, aspect kept', async () => {
      const big = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#808080' } }).jpeg().toBuffer();
      const { small, large } = await makeThumbnails(big);
      expect(await webpSize(small)).to.deep.equal({ format: 'webp', width: 256, height: 171 });
      expect(await webpSize(large)).to.deep.equal({ format: 'webp', width: 1024, height: 683 });
    });

    it('a large portrait image fits by its height', async () => {
      const big = await sharp({ create: { width: 1500, height: 3000, channels: 3, background: '#808080' } }).png().toBuffer();
      const { small, large } = await makeThumbnails(big);
      expect(await webpSize(small)).to.deep.equal({ format: 'webp', width: 128, height: 256 });
      expect(await webpSize(large)).to.deep.equal({ format: 'webp', width: 512, height: 1024 });
    });

    it('photo-exif.jpg: upright (EXIF orientation applied), never enlarged', async () => {
      const { small, large } = await makeThumbnails(fixture('photo-exif.jpg'));
      expect(await webpSize(small)).to.deep.equal({ format: 'webp', width: 192, height: 256 });
      expect(await webpSize(large)).to.deep.equal({ format: 'webp', width: 480, height: 640 });
      // Rotated pixels, not a rotation flag left for the viewer.
      expect((await sharp(small).metadata()).orientation ?? 1).to.equal(1);
    });

    it('rotates the pixels clockwise for orientation 6 (stored left half ends up on top)', async () => {
      const { small } = await makeThumbnails(await sidewaysJpeg());
      const { data, info } = await sharp(small).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).to.deep.equal([100, 200]);
      const pixel = (x: number, y: number): number[] => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
      const [topR, , topB] = pixel(50, 20) as [number, number, number];
      const [bottomR, , bottomB] = pixel(50, 180) as [number, number, number];
      expect(topR).to.be.above(200);
      expect(topB).to.be.below(60);
      expect(bottomB).to.be.above(200);
      expect(bottomR).to.be.below(60);
    });

    for (const [name, small, large] of [
      ['graphic.png', [256, 160], [320, 200]],
      ['bars.webp', [256, 256], [300, 300]],
      ['anim.gif', [120, 90], [120, 90]],
    ] as const) {
      it(`${name}: small ${small.join('x')}, large ${large.join('x')} (never enlarged)`, async () => {
        const thumbnails = await makeThumbnails(fixture(name));
        expect(await webpSize(thumbnails.small)).to.deep.equal({ format: 'webp', width: small[0], height: small[1] });
        expect(await webpSize(thumbnails.large)).to.deep.equal({ format: 'webp', width: large[0], height: large[1] });
      });
    }

    it('garbage and truncated images are UnreadableImage', async () => {
      const photo = fixture('photo-exif.jpg');
      for (const input of [fixture('not-an-image.jpg'), Buffer.alloc(0), photo.subarray(0, 200), photo.subarray(0, photo.length / 2)]) {
        const error = await rejection(makeThumbnails(input));
        expect(error).to.be.instanceOf(UnreadableImage);
      }
    });

    it('refuses a decompression bomb: a real PNG of 120 megapixels (small file, huge decode)', async function () {
      this.timeout(30_000);
      // 20000x6000 = 120 Mpx > MAX_INPUT_PIXELS, yet a few hundred KB as a PNG (about 1 s to make).
      const bomb = await sharp({ create: { width: 20_000, height: 6_000, channels: 3, background: '#000000' } }).png({ compressionLevel: 9 }).toBuffer();
      expect(bomb.length).to.be.below(2 * 1024 * 1024);
      expect(20_000 * 6_000).to.be.above(MAX_INPUT_PIXELS);
      const started = Date.now();
      const error = await rejection(makeThumbnails(bomb));
      expect(error).to.be.instanceOf(UnreadableImage);
      expect(error.message).to.match(/pixel limit/i);
      expect(Date.now() - started, 'refused before decoding').to.be.below(2_000);
      expect(await rejection(readImage(bomb))).to.be.instanceOf(UnreadableImage);
    });

    it(`refuses a picture the decoder would have to hold whole beyond MAX_BUFFERED_DECODE_BYTES (${MAX_BUFFERED_DECODE_BYTES}), from its header alone`, async () => {
      // 100 megapixels, interlaced (Adam7): 16-bit RGBA needs 800 MB at once, 8-bit RGBA 400 MB.
      const interlaced = (depth: number): Buffer => {
        const [ihdr, ...rest] = pngChunks(fixture('graphic.png'));
        const data = Buffer.from((ihdr as PngChunk).data);
        data.writeUInt32BE(10_000, 0);
        data.writeUInt32BE(10_000, 4);
        data[8] = depth;
        data[9] = 6;
        data[12] = 1;
        return pngFrom([{ type: 'IHDR', data }, ...rest]);
      };
      const started = Date.now();
      for (const refuse of [readImage(interlaced(16)), makeThumbnails(interlaced(16))]) expect((await rejection(refuse)).message).to.match(/decoding needs 763 MiB/);
      expect(Date.now() - started, 'refused before decoding').to.be.below(1_000);
      expect(await readImage(interlaced(8))).to.deep.equal({ width: 10_000, height: 10_000 });
      expect(bufferedDecodeBytes({ format: 'jpeg', isProgressive: true, width: 10_000, height: 10_000, channels: 4, depth: 'uchar' }), 'progressive CMYK JPEG').to.equal(800_000_000);
      expect(bufferedDecodeBytes({ format: 'jpeg', isProgressive: false, width: 10_000, height: 10_000, channels: 4, depth: 'uchar' }), 'baseline JPEG streams').to.equal(0);
    });

    it('refuses a PNG whose header alone declares more than MAX_INPUT_PIXELS', async () => {
      const error = await rejection(makeThumbnails(pngDeclaring(fixture('graphic.png'), 10_001, 10_000)));
      expect(error).to.be.instanceOf(UnreadableImage);
      expect(error.message).to.match(/pixel limit/i);
    });
  });
});
