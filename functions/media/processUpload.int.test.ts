/**
 * processUpload in-process against DynamoDB Local and the S3 stand-in: at-least-once delivery,
 * and ranged reads of a large video.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { S3Event } from 'aws-lambda';
import { expect } from 'chai';
import sinon from 'sinon';
import { ulid } from 'ulid';
import { lambdaContext, s3Event as s3EventOf } from '../../local/test/events';
import { asFunction } from '../../local/test/identity';
import { pendingMediaRecord } from '../../local/test/records';
import { localStack } from '../../local/test/stack';
import { dynamo } from '../../shared/aws/dynamo';
import { s3 } from '../../shared/aws/s3';
import { systemClock } from '../../shared/clock';
import { requireEnv } from '../../shared/config/env';
import { mediaSettings } from '../../shared/config/media';
import { originalKey } from '../../shared/content/keys';
import { s3ContentStore } from '../../shared/content/s3Content';
import { processUpload, updateMetadata } from '../../shared/domain/media';
import { inspector } from '../../shared/media-info/inspector';
import { dynamoMediaStore, type MediaRecord } from '../../shared/stores/media';
import { handler } from './processUpload';

const FIXTURES = path.resolve(__dirname, '..', '..', 'local', 'fixtures', 'media');

const s3Event = (key: string): S3Event => s3EventOf([key], { bucket: requireEnv('MEDIA_BUCKET') });

describe('processUpload (DynamoDB Local + S3 stand-in)', function () {
  this.timeout(120_000);
  const media = dynamoMediaStore(dynamo, requireEnv('MEDIA_TABLE'));
  const content = s3ContentStore(s3, requireEnv('MEDIA_BUCKET'));
  // The handler runs as processUpload: its calls are authorised against processUpload's role.
  const invoke = (event: S3Event, context: unknown): Promise<void> => asFunction('processUpload', () => (handler as unknown as (e: S3Event, c: unknown) => Promise<void>)(event, context));

  before(async () => {
    await localStack();
  });

  async function pendingWith(bytes: Buffer, contentType: string): Promise<MediaRecord> {
    const record = pendingMediaRecord(ulid(), { filename: 'f', contentType, size: bytes.length, type: contentType.startsWith('image/') ? 'image' : 'video' });
    await media.createPending(record);
    await content.put(originalKey(record.userId, record.id), bytes, contentType);
    return record;
  }

  it('the same event delivered twice (and concurrently) ends in one result: no extra thumbnails, tag counts unchanged', async () => {
    const record = await pendingWith(fs.readFileSync(path.join(FIXTURES, 'photo-exif.jpg')), 'image/jpeg');
    await updateMetadata({ media, clock: systemClock }, { userId: record.userId }, record.id, { tags: ['eiffel'] });
    const key = originalKey(record.userId, record.id);

    await Promise.all([invoke(s3Event(key), lambdaContext('processUpload')), invoke(s3Event(key), lambdaContext('processUpload'))]);
    const first = await media.get(record.userId, record.id);
    const objectsAfterFirst = await content.list(`media/${record.userId}/`);
    await invoke(s3Event(key), lambdaContext('processUpload'));
    const second = await media.get(record.userId, record.id);

    expect(first?.status).to.equal('ready');
    expect(second).to.deep.equal(first);
    expect(await content.list(`media/${record.userId}/`)).to.deep.equal(objectsAfterFirst);
    expect(objectsAfterFirst).to.have.length(3);
    expect(await media.listTags(record.userId)).to.deep.equal([{ tag: 'eiffel', count: 1 }]);
  });

  it('a rejected upload redelivered stays rejected, with nothing stored', async () => {
    const record = await pendingWith(Buffer.from('text, not a picture'), 'image/png');
    const key = originalKey(record.userId, record.id);
    await invoke(s3Event(key), lambdaContext('processUpload'));
    await invoke(s3Event(key), lambdaContext('processUpload'));
    expect((await media.get(record.userId, record.id))?.rejectReason).to.equal('type_mismatch');
    expect(await content.list(`media/${record.userId}/`)).to.deep.equal([]);
  });

  it('reads a bounded number of bytes of a large MP4 (moov at the end, 40 MB of media data before it)', async () => {
    const clip = fs.readFileSync(path.join(FIXTURES, 'clip.mp4'));
    // ftyp, then a 40 MB `free` box, then the clip's other top-level boxes (mdat, moov at the end).
    const ftypSize = clip.readUInt32BE(0);
    const filler = Buffer.alloc(40 * 1024 * 1024);
    filler.writeUInt32BE(filler.length, 0);
    filler.write('free', 4, 'latin1');
    const large = Buffer.concat([clip.subarray(0, ftypSize), filler, clip.subarray(ftypSize)]);
    const record = await pendingWith(large, 'video/mp4');
    const key = originalKey(record.userId, record.id);

    let bytesRead = 0;
    const counting = {
      ...content,
      readRange: async (k: string, start: number, end: number) => {
        const chunk = await content.readRange(k, start, end);
        bytesRead += chunk.length;
        return chunk;
      },
      read: async (k: string) => {
        const all = await content.read(k);
        bytesRead += all.length;
        return all;
      },
    };
    const outcome = await processUpload({ media, content: counting, clock: systemClock, settings: mediaSettings, inspector }, key);
    expect(outcome).to.equal('ready');
    expect(await media.get(record.userId, record.id)).to.include({ width: 320, height: 240, durationSeconds: 2 });
    expect(bytesRead, `read ${bytesRead} of ${large.length} bytes`).to.be.lessThan(1024 * 1024);
    await content.delete([key]);
  });

  it('deletes bytes uploaded for an item that no longer exists (deleted or swept)', async () => {
    const userId = ulid();
    const key = originalKey(userId, ulid());
    await content.put(key, fs.readFileSync(path.join(FIXTURES, 'graphic.png')), 'image/png');
    await invoke(s3Event(key), lambdaContext('processUpload'));
    expect(await content.head(key)).to.equal(undefined);
  });

  it('ignores keys that are not originals, and fails the invocation (for Lambda to retry) when S3 fails', async () => {
    await invoke(s3Event('media/not-a-ulid/x/thumb-small.webp'), lambdaContext('processUpload'));
    const record = await pendingWith(fs.readFileSync(path.join(FIXTURES, 'graphic.png')), 'image/png');
    const send = sinon.stub(s3, 'send').rejects(Object.assign(new Error('slow down'), { name: 'SlowDown' }));
    let error: unknown;
    try {
      await invoke(s3Event(originalKey(record.userId, record.id)), lambdaContext('processUpload'));
    } catch (caught) {
      error = caught;
    } finally {
      send.restore();
    }
    expect(error).to.be.instanceOf(AggregateError);
    expect((await media.get(record.userId, record.id))?.status, 'left pending for the retry').to.equal('pending');
    await invoke(s3Event(originalKey(record.userId, record.id)), lambdaContext('processUpload'));
    expect((await media.get(record.userId, record.id))?.status, 'the retry succeeds').to.equal('ready');
  });
});
