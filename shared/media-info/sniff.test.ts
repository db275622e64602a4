import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { SNIFF_BYTES, sniffType, typesAgree } from './sniff';

const fixture = (name: string): Buffer => fs.readFileSync(path.join(__dirname, '../../local/fixtures/media', name));

describe('media-info/sniff', () => {
  describe('sniffType', () => {
    const cases: Array<[string, string]> = [
      ['photo-exif.jpg', 'image/jpeg'],
      ['graphic.png', 'image/png'],
      ['bars.webp', 'image/webp'],
      ['anim.gif', 'image/gif'],
      ['clip.mp4', 'video/mp4'],
      ['clip.mov', 'video/quicktime'],
    ];

    for (const [name, mime] of cases) {
      it(`${name} sniffs as ${mime}`, async () => {
        expect(await sniffType(fixture(name))).to.equal(mime);
      });

      it(`${name} sniffs as ${mime} from its first SNIFF_BYTES only`, async () => {
        expect(await sniffType(fixture(name).subarray(0, SNIFF_BYTES))).to.equal(mime);
      });
    }

    it('text named .jpg sniffs as nothing', async () => {
      expect(await sniffType(fixture('not-an-image.jpg'))).to.equal(undefined);
    });

    it('an empty buffer and a buffer of zeros sniff as nothing', async () => {
      expect(await sniffType(Buffer.alloc(0))).to.equal(undefined);
      expect(await sniffType(Buffer.alloc(SNIFF_BYTES))).to.equal(undefined);
    });
  });

  describe('typesAgree', () => {
    it('an exact match agrees', () => {
      for (const mime of ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'video/mp4', 'video/quicktime']) {
        expect(typesAgree(mime, mime), mime).to.equal(true);
      }
    });

    it('MP4 and QuickTime are interchangeable both ways', () => {
      expect(typesAgree('video/mp4', 'video/quicktime')).to.equal(true);
      expect(typesAgree('video/quicktime', 'video/mp4')).to.equal(true);
    });

    it('different image types disagree', () => {
      expect(typesAgree('image/jpeg', 'image/png')).to.equal(false);
      expect(typesAgree('image/png', 'image/jpeg')).to.equal(false);
      expect(typesAgree('image/gif', 'image/webp')).to.equal(false);
    });

    it('an image declared as a video (and vice versa) disagrees', () => {
      expect(typesAgree('video/mp4', 'image/jpeg')).to.equal(false);
      expect(typesAgree('image/jpeg', 'video/mp4')).to.equal(false);
      expect(typesAgree('image/png', 'video/quicktime')).to.equal(false);
    });

    it('the ISO BMFF leniency does not extend to other video types', () => {
      expect(typesAgree('video/mp4', 'video/webm')).to.equal(false);
      expect(typesAgree('video/x-matroska', 'video/quicktime')).to.equal(false);
    });

    it('an unknown sniffed type never agrees', () => {
      expect(typesAgree('image/jpeg', undefined)).to.equal(false);
      expect(typesAgree('video/mp4', undefined)).to.equal(false);
      expect(typesAgree('', undefined)).to.equal(false);
    });

    it('matching is exact (no case folding or parameters)', () => {
      expect(typesAgree('IMAGE/JPEG', 'image/jpeg')).to.equal(false);
      expect(typesAgree('image/jpeg; charset=binary', 'image/jpeg')).to.equal(false);
    });
  });
});
