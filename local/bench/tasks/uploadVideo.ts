/**
 * processUpload of a 100 MB MP4 whose `moov` box comes after the media data (the layout a phone
 * writes, and the worst case for ranged reads): made at run time from the MP4 fixture by growing
 * its `mdat` box with padding (sample offsets stay valid), stored in the S3 stand-in, then
 * processed by the domain code with the real inspector through a content store that counts every
 * byte read (HEAD requests carry none).
 */
import fs from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../../shared/clock';
import { mediaSettings } from '../../../shared/config/media';
import { content } from '../../../shared/content/bucket';
import type { ContentStore } from '../../../shared/content/content';
import { originalKey } from '../../../shared/content/keys';
import { processUpload } from '../../../shared/domain/media';
import { inspector } from '../../../shared/media-info/inspector';
import { media } from '../../../shared/stores/mediaTable';
import { paddedMp4, topLevelBoxes } from '../mp4';
import { summarize } from '../stats';
import type { UploadResult } from '../results';
import { seeder } from './seed';

export interface UploadVideoInput {
  megabytes: number;
  runs: number;
}

export async function run(input: UploadVideoInput): Promise<NonNullable<UploadResult['video']>> {
  const fixture = fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'media', 'clip.mp4'));
  const video = paddedMp4(fixture, input.megabytes * 1024 * 1024);
  const seed = seeder();
  const user = await seed.user('$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g', 'video');
  const times: number[] = [];
  let bytesRead = 0;
  let reads = 0;
  let outcome = '';
  for (let run = 0; run < input.runs; run++) {
    const item = await seed.pending(user.id, { contentType: 'video/mp4', type: 'video', size: video.length, sha256: undefined, filename: 'PXL_20240612_181522.mp4' });
    const key = originalKey(user.id, item.id);
    await content.put(key, video, 'video/mp4');
    let runBytes = 0;
    let runReads = 0;
    const counting: ContentStore = {
      ...content,
      readRange: async (objectKey, start, end) => {
        const chunk = await content.readRange(objectKey, start, end);
        runBytes += chunk.length;
        runReads++;
        return chunk;
      },
      read: async (objectKey) => {
        const all = await content.read(objectKey);
        runBytes += all.length;
        runReads++;
        return all;
      },
    };
    const started = performance.now();
    outcome = await processUpload({ media, content: counting, clock: systemClock, settings: mediaSettings, inspector }, key);
    times.push(performance.now() - started);
    bytesRead = Math.max(bytesRead, runBytes);
    reads = Math.max(reads, runReads);
    await content.delete([key]);
  }
  const layout = topLevelBoxes(video)
    .map((box) => `${box.type} (${box.size >= 1024 * 1024 ? `${(box.size / 1024 / 1024).toFixed(0)} MiB` : `${box.size} bytes`})`)
    .join(', ');
  return { bytes: video.length, layout, bytesRead, reads, ms: summarize(times), outcome };
}
