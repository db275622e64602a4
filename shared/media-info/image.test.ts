import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import proxyquire from 'proxyquire';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { exifTimestamp, makeThumbnails, MAX_INPUT_PIXELS, readImage, UnreadableImage } from './image';
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
      const sizeless = Object.assign(() => ({ metadata: async () => ({ format: 'svg' }) }), { '@noCallThru': true });
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

  describe('exifTimestamp', () => {
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

    it('refuses a PNG whose header alone declares more than MAX_INPUT_PIXELS', async () => {
      const error = await rejection(makeThumbnails(pngDeclaring(fixture('graphic.png'), 10_001, 10_000)));
      expect(error).to.be.instanceOf(UnreadableImage);
      expect(error.message).to.match(/pixel limit/i);
    });
  });
});
