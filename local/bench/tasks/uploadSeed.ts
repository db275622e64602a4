/**
 * Pending upload items whose original is already in the S3 stand-in: what processUpload finds
 * when S3 reports an upload. Run in its own process, so the processing process (./uploadImage.ts)
 * holds no copy of the file and its peak memory is processing's alone.
 */
import fs from 'node:fs';
import { content } from '../../../shared/content/bucket';
import { originalKey } from '../../../shared/content/keys';
import { seeder } from './seed';

export interface UploadSeedInput {
  file: string;
  contentType: string;
  count: number;
}

export async function run(input: UploadSeedInput): Promise<{ keys: string[] }> {
  const bytes = fs.readFileSync(input.file);
  const seed = seeder();
  const user = await seed.user('$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g', 'upload');
  const keys: string[] = [];
  for (let i = 0; i < input.count; i++) {
    const item = await seed.pending(user.id, { contentType: input.contentType, size: bytes.length, sha256: undefined, filename: 'PXL_20240612_181522.jpg' });
    const key = originalKey(user.id, item.id);
    await content.put(key, bytes, input.contentType);
    keys.push(key);
  }
  return { keys };
}
