import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { differenceHash, dominantColors } from './perceptualHash';
import { hammingDistance, isHash, MAX_SIMILAR_DISTANCE } from './similarity';

const fixture = (name: string): Buffer => fs.readFileSync(path.join(__dirname, '../../local/fixtures/media', name));

const solid = (width: number, height: number, background: string): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background } }).png().toBuffer();

/** Left half red, right half blue. */
const redBlue = (width: number, height: number): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: '#ff0000' } })
    .composite([{ input: { create: { width: width / 2, height, channels: 3, background: '#0000ff' } }, left: width / 2, top: 0 }])
    .png()
    .toBuffer();

describe('analysis/perceptualHash', () => {
  const photo = fixture('photo-exif.jpg');

  describe('differenceHash', () => {
    it('is 16 lower-case hex digits', async () => {
      for (const name of ['photo-exif.jpg', 'photo-other.jpg', 'graphic.png', 'bars.webp']) {
        const hash = await differenceHash(fixture(name));
        expect(hash, name).to.match(/^[0-9a-f]{16}$/);
        expect(isHash(hash)).to.equal(true);
      }
    });

    it('is deterministic', async () => {
      const first = await differenceHash(photo);
      expect(await differenceHash(photo)).to.equal(first);
      expect(await differenceHash(Buffer.from(photo))).to.equal(first);
    });

    it('a flat image hashes to all zeros (no pixel brighter than its right neighbour)', async () => {
      expect(await differenceHash(await solid(50, 40, '#808080'))).to.equal('0000000000000000');
    });

    it('a horizontal gradient getting darker to the right sets every bit', async () => {
      const width = 90;
      const height = 8;
      const pixels = Buffer.alloc(width * height);
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels[y * width + x] = 255 - x * 2;
      const png = await sharp(pixels, { raw: { width, height, channels: 1 } }).png().toBuffer();
      expect(await differenceHash(png)).to.equal('ffffffffffffffff');
    });

    it('resized and re-encoded copies of photo-exif.jpg are within MAX_SIMILAR_DISTANCE', async () => {
      const original = await differenceHash(photo);
      const copies: Record<string, Buffer> = {
        'JPEG q60, 300 px wide': await sharp(photo).rotate().resize({ width: 300 }).jpeg({ quality: 60 }).toBuffer(),
        'WebP, 200 px wide': await sharp(photo).rotate().resize({ width: 200 }).webp().toBuffer(),
        'PNG, 123 px wide': await sharp(photo).rotate().resize({ width: 123 }).png().toBuffer(),
      };
      for (const [name, copy] of Object.entries(copies)) {
        expect((await sharp(copy).metadata()).orientation, name).to.equal(undefined);
        expect(hammingDistance(original, await differenceHash(copy)), name).to.be.at.most(MAX_SIMILAR_DISTANCE);
      }
    });

    it('unrelated images are further than MAX_SIMILAR_DISTANCE from photo-exif.jpg', async () => {
      const original = await differenceHash(photo);
      for (const name of ['photo-other.jpg', 'graphic.png', 'bars.webp']) {
        expect(hammingDistance(original, await differenceHash(fixture(name))), name).to.be.above(MAX_SIMILAR_DISTANCE);
      }
    });

    it('the EXIF-oriented original equals its auto-oriented copy', async () => {
      expect((await sharp(photo).metadata()).orientation).to.equal(6);
      const upright = await sharp(photo).rotate().jpeg({ quality: 90 }).toBuffer();
      const meta = await sharp(upright).metadata();
      expect(meta.orientation).to.equal(undefined);
      expect([meta.width, meta.height]).to.deep.equal([480, 640]);
      expect(hammingDistance(await differenceHash(photo), await differenceHash(upright))).to.be.at.most(2);
    });

    it('the orientation is honoured: stored pixels without EXIF hash differently from the upright photo', async () => {
      // The same stored pixels with the EXIF dropped (shown 640x480, sideways).
      const sideways = await sharp(await sharp(photo).raw().toBuffer(), { raw: { width: 640, height: 480, channels: 3 } }).png().toBuffer();
      expect(hammingDistance(await differenceHash(photo), await differenceHash(sideways))).to.be.above(MAX_SIMILAR_DISTANCE);
    });

    it('an image and its 90°-rotated pixels-only copy (no EXIF) differ a lot', async () => {
      const upright = await sharp(photo).rotate().png().toBuffer();
      const rotated = await sharp(upright).rotate(90).png().toBuffer();
      expect((await sharp(rotated).metadata()).orientation).to.equal(undefined);
      expect(hammingDistance(await differenceHash(upright), await differenceHash(rotated))).to.be.above(MAX_SIMILAR_DISTANCE);
    });

    it('rejects what is not an image', async () => {
      let caught: unknown;
      try {
        await differenceHash(fixture('not-an-image.jpg'));
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(Error);
    });
  });

  describe('dominantColors', () => {
    it('a solid red image is exactly one colour, #ff0000, ratio 1', async () => {
      expect(await dominantColors(await solid(100, 100, '#ff0000'))).to.deep.equal([{ hex: '#ff0000', ratio: 1 }]);
    });

    it('a half red, half blue image is two colours of ratio 0.5', async () => {
      const colors = await dominantColors(await redBlue(100, 100));
      expect(colors).to.have.length(2);
      expect(colors.map((color) => color.ratio)).to.deep.equal([0.5, 0.5]);
      expect(colors.map((color) => color.hex).sort()).to.deep.equal(['#0000ff', '#ff0000']);
    });

    it('a colour that is not a box centre is reported as the mean of its pixels', async () => {
      expect(await dominantColors(await solid(30, 20, '#123456'))).to.deep.equal([{ hex: '#123456', ratio: 1 }]);
    });

    it('biggest share first', async () => {
      // 64x64: already the analysis size, so no resampling blurs the edge between the colours.
      const image = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#00ff00' } })
        .composite([{ input: { create: { width: 64, height: 16, channels: 3, background: '#000000' } }, left: 0, top: 0 }])
        .png()
        .toBuffer();
      expect(await dominantColors(image)).to.deep.equal([
        { hex: '#00ff00', ratio: 0.75 },
        { hex: '#000000', ratio: 0.25 },
      ]);
    });

    it('at most 5 colours (or `count`), ratios in (0, 1], sorted, summing to at most 1', async () => {
      for (const name of ['photo-exif.jpg', 'photo-other.jpg', 'graphic.png', 'bars.webp']) {
        const colors = await dominantColors(fixture(name));
        expect(colors.length, name).to.be.within(1, 5);
        for (const color of colors) {
          expect(color.hex).to.match(/^#[0-9a-f]{6}$/);
          expect(color.ratio).to.be.above(0).and.at.most(1);
        }
        const ratios = colors.map((color) => color.ratio);
        expect(ratios).to.deep.equal([...ratios].sort((a, b) => b - a));
        expect(ratios.reduce((sum, ratio) => sum + ratio, 0)).to.be.at.most(1);
      }
      expect(await dominantColors(fixture('bars.webp'))).to.have.length(5);
      expect(await dominantColors(fixture('bars.webp'), 2)).to.have.length(2);
    });

    it('an image with an alpha channel works', async () => {
      const rgba = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.5 } } })
        .composite([{ input: { create: { width: 32, height: 64, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } }, left: 0, top: 0 }])
        .png()
        .toBuffer();
      expect((await sharp(rgba).metadata()).hasAlpha).to.equal(true);
      const colors = await dominantColors(rgba);
      expect(colors.map((color) => color.ratio)).to.deep.equal([0.5, 0.5]);
      expect(colors.map((color) => color.hex).sort()).to.deep.equal(['#0000ff', '#ff0000']);
    });

    it('a greyscale image is reported in sRGB', async () => {
      const grey = await sharp(Buffer.alloc(32 * 32, 0x80), { raw: { width: 32, height: 32, channels: 1 } }).toColourspace('b-w').png().toBuffer();
      expect((await sharp(grey).metadata()).channels).to.equal(1);
      expect(await dominantColors(grey)).to.deep.equal([{ hex: '#808080', ratio: 1 }]);
    });
  });
});
