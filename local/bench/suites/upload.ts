/**
 * The upload pipeline: processUpload of a 12-megapixel JPEG (time and peak memory, each run in a
 * fresh process), bytes read of a 100 MB MP4, and the throughput of the presigned POST into the
 * S3 stand-in. Test media are made at run time, never stored in the repository.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { serviceConfig } from '../../stack/serviceConfig';
import { runTask } from '../child';
import type { BenchContext } from '../context';
import type { UploadResult } from '../results';
import { summarize } from '../stats';
import type { UploadImageInput, UploadImageOutput } from '../tasks/uploadImage';
import type { UploadPostInput } from '../tasks/uploadPost';
import type { UploadSeedInput } from '../tasks/uploadSeed';
import type { UploadVideoInput } from '../tasks/uploadVideo';

export const PHOTO = { width: 4000, height: 3000 };

/**
 * A 12-megapixel JPEG that compresses like a photo (smooth gradients with sensor-like noise, about
 * 4 MB at quality 88), with camera EXIF. Deterministic: the same bytes on every run.
 */
export async function twelveMegapixelJpeg(): Promise<Buffer> {
  const { width, height } = PHOTO;
  const raw = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const noise = (seed >>> 24) % 24;
      const i = (y * width + x) * 3;
      raw[i] = ((x * 255) / width + 40 * Math.sin(y / 37) + noise) & 255;
      raw[i + 1] = ((y * 255) / height + 30 * Math.cos(x / 53) + noise) & 255;
      raw[i + 2] = (((x + y) * 128) / (width + height) + 60 + noise) & 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 88 })
    .withExif({ IFD0: { Make: 'Bench', Model: 'Twelve MP', DateTime: '2024:06:12 18:15:22' } })
    .toBuffer();
}

export async function upload(context: BenchContext): Promise<UploadResult> {
  const quick = context.options.quick;
  const env = await context.env();
  const bundles = await context.bundles();
  const processBundle = bundles['processUpload'];
  const createBundle = bundles['createMedia'];
  if (processBundle === undefined || createBundle === undefined) throw new Error('serverless.yml has no processUpload or createMedia');
  const result: UploadResult = {};

  const photo = await twelveMegapixelJpeg();
  const photoFile = path.join(context.work, 'photo-12mp.jpg');
  fs.writeFileSync(photoFile, photo);
  const processes = quick ? 1 : 5;
  const perProcess = quick ? 2 : 3;
  context.log(`upload: processUpload of a ${(photo.length / 1024 / 1024).toFixed(1)} MiB 12 MP JPEG, ${processes} fresh processes × ${perProcess}…`);
  const { keys } = await runTask<{ keys: string[] }>('upload-seed', { file: photoFile, contentType: 'image/jpeg', count: processes * perProcess } satisfies UploadSeedInput, env, context.work, 120_000);
  const runs: UploadImageOutput[] = [];
  for (let p = 0; p < processes; p++) {
    const input: UploadImageInput = { bundle: processBundle.built.file, keys: keys.slice(p * perProcess, (p + 1) * perProcess) };
    runs.push(await runTask<UploadImageOutput>('upload-image', input, env, context.work, 180_000));
  }
  const memory = (serviceConfig('prod').functions['processUpload'] as { memorySize?: number } | undefined)?.memorySize ?? 0;
  result.image = {
    ...PHOTO,
    bytes: photo.length,
    processes,
    firstMs: summarize(runs.map((run) => run.ms[0] as number)),
    warmMs: summarize(runs.flatMap((run) => run.ms.slice(1))),
    peakRssMiB: summarize(runs.map((run) => run.peakRssMiB)),
    loadedRssMiB: summarize(runs.map((run) => run.loadedRssMiB)),
    memoryMB: memory,
    outcome: [...new Set(runs.flatMap((run) => run.outcomes))].join(', '),
  };

  context.log('upload: processUpload of a 100 MB MP4 (moov at the end), counting bytes read…');
  result.video = await runTask<NonNullable<UploadResult['video']>>('upload-video', { megabytes: 100, runs: quick ? 1 : 3 } satisfies UploadVideoInput, env, context.work, 180_000);

  context.log('upload: presigned POST of 50 MiB into the S3 stand-in…');
  result.post = await runTask<NonNullable<UploadResult['post']>>('upload-post', { bundle: createBundle.built.file, megabytes: 50, runs: quick ? 1 : 5 } satisfies UploadPostInput, env, context.work, 180_000);
  return result;
}
