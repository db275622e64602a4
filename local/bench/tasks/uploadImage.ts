/**
 * processUpload of a large photo: the deployed bundle invoked in process with the S3 event of
 * each prepared upload (./uploadSeed.ts), against DynamoDB Local and the S3 stand-in. Reports
 * each invocation's time, the item's outcome and the process's peak resident memory.
 */
import type { Context, S3Event } from 'aws-lambda';
import { parseOriginalKey } from '../../../shared/content/keys';
import { dynamoMediaStore } from '../../../shared/stores/media';
import { lambdaContext } from '../../test/events';
import { s3Event } from './events';
import { seedingClient } from './seed';

type Handler = (event: S3Event, context: Context) => Promise<void>;

export interface UploadImageInput {
  bundle: string;
  keys: string[];
}

export interface UploadImageOutput {
  ms: number[];
  outcomes: string[];
  loadedRssMiB: number;
  peakRssMiB: number;
}


export async function run(input: UploadImageInput): Promise<UploadImageOutput> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const handler = (require(input.bundle) as { handler: Handler }).handler;
  const media = dynamoMediaStore(seedingClient(), process.env['MEDIA_TABLE'] as string);
  const loadedRssMiB = process.memoryUsage.rss() / 1024 / 1024;
  const ms: number[] = [];
  const outcomes: string[] = [];
  for (const key of input.keys) {
    const started = performance.now();
    await handler(s3Event(key), lambdaContext('processUpload'));
    ms.push(performance.now() - started);
    const ids = parseOriginalKey(key);
    const item = ids === undefined ? undefined : await media.get(ids.userId, ids.mediaId);
    outcomes.push(item === undefined ? 'missing' : `${item.status}${item.rejectReason === undefined ? '' : ` (${item.rejectReason})`}`);
  }
  // ru_maxrss, in KiB on Linux.
  return { ms, outcomes, loadedRssMiB, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}
