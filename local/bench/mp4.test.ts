/**
 * The large MP4 of the upload benchmark (./mp4.ts) is a valid file: the service's own MP4 reader
 * finds the fixture's picture size and duration in it, past the padded media data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { readVideo } from '../../shared/media-info/video';
import { paddedMp4, topLevelBoxes } from './mp4';

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'media', 'clip.mp4'));

describe('bench MP4 synthesis', () => {
  it('grows mdat to the size asked for and keeps every other box, moov last', () => {
    const total = FIXTURE.length + 3 * 1024 * 1024;
    const grown = paddedMp4(FIXTURE, total);
    expect(grown.length).to.equal(total);
    const before = topLevelBoxes(FIXTURE);
    const after = topLevelBoxes(grown);
    expect(after.map((box) => box.type)).to.deep.equal(before.map((box) => box.type));
    expect(after.at(-1)?.type).to.equal('moov');
    const mdatBefore = before.find((box) => box.type === 'mdat');
    const mdatAfter = after.find((box) => box.type === 'mdat');
    expect((mdatAfter?.size ?? 0) - (mdatBefore?.size ?? 0)).to.equal(3 * 1024 * 1024);
    const moov = after.at(-1);
    expect(grown.subarray(moov?.start, total).equals(FIXTURE.subarray(before.at(-1)?.start))).to.equal(true);
  });

  it('is read by the service as the fixture is, with the media data skipped', async () => {
    const grown = paddedMp4(FIXTURE, FIXTURE.length + 5 * 1024 * 1024);
    let bytesRead = 0;
    const info = await readVideo({
      size: grown.length,
      read: async (start, end) => {
        bytesRead += end - start + 1;
        return grown.subarray(start, end + 1);
      },
    });
    expect(info).to.include({ width: 320, height: 240, durationSeconds: 2 });
    expect(bytesRead).to.be.lessThan(128 * 1024);
  });

  it('refuses what it cannot grow', () => {
    expect(() => paddedMp4(FIXTURE, FIXTURE.length - 1)).to.throw(/cannot pad/);
    const moovAt = topLevelBoxes(FIXTURE).find((box) => box.type === 'moov')?.start ?? 0;
    const moovFirst = Buffer.concat([FIXTURE.subarray(moovAt), FIXTURE.subarray(0, moovAt)]);
    expect(() => paddedMp4(moovFirst, moovFirst.length + 10)).to.throw(/mdat before moov/);
    expect(() => topLevelBoxes(Buffer.alloc(16))).to.throw(/32-bit/);
  });
});
