import zlib from 'node:zlib';
import { expect } from 'chai';
import sharp from 'sharp';
import { mediaFixture, pngChunks, pngWith } from '../../local/fixtures/mediaFiles';
import { readImage } from './image';
import { isPng, MAX_ICC_CHUNK_BYTES, withoutUnreadChunks } from './png';

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
const compressedZeros = (bytes: number): Buffer => zlib.deflateSync(Buffer.alloc(bytes));

describe('media-info/png: chunks we never read are not decoded', () => {
  const png = mediaFixture('graphic.png');

  it('drops every text chunk (tEXt, zTXt, iTXt), however many, before the decoder sees them; the image decodes the same', async () => {
    const text = { type: 'zTXt', data: Buffer.concat([latin1('Comment\0\0'), compressedZeros(8 * 1024 * 1024)]) };
    const bomb = pngWith(png, ...Array.from({ length: 20 }, () => text), { type: 'tEXt', data: latin1('Title\0x') }, { type: 'iTXt', data: latin1('XML\0\0\0\0\0<x/>') });
    const stripped = withoutUnreadChunks(bomb);
    expect(pngChunks(stripped).map((chunk) => chunk.type)).to.deep.equal(pngChunks(png).map((chunk) => chunk.type));
    expect(stripped.length).to.equal(png.length);
    expect(await sharp(stripped).raw().toBuffer()).to.deep.equal(await sharp(png).raw().toBuffer());
    expect(await readImage(bomb)).to.deep.equal(await readImage(png));
  });

  it('keeps a real ICC profile and drops one no real profile comes near in size', () => {
    const small = { type: 'iCCP', data: Buffer.concat([latin1('sRGB\0\0'), compressedZeros(4096)]) };
    expect(pngChunks(withoutUnreadChunks(pngWith(png, small))).map((chunk) => chunk.type)).to.include('iCCP');
    const huge = { type: 'iCCP', data: Buffer.concat([latin1('icc\0\0'), Buffer.alloc(MAX_ICC_CHUNK_BYTES + 1)]) };
    expect(pngChunks(withoutUnreadChunks(pngWith(png, huge))).map((chunk) => chunk.type)).not.to.include('iCCP');
  });

  it('leaves alone what is not a PNG, a PNG with nothing to drop, and chunks that do not parse (the decoder judges those)', () => {
    const jpeg = mediaFixture('photo-exif.jpg');
    expect(isPng(jpeg)).to.equal(false);
    expect(withoutUnreadChunks(jpeg)).to.equal(jpeg);
    expect(withoutUnreadChunks(png)).to.equal(png);
    const lying = Buffer.concat([pngWith(png, { type: 'tEXt', data: latin1('a\0b') }).subarray(0, 40)]);
    expect(withoutUnreadChunks(lying)).to.equal(lying);
  });
});
