import { expect } from 'chai';
import { ulid } from 'ulid';
import { lambdaContext } from '../../local/test/events';
import { pendingMediaRecord } from '../../local/test/records';
import { localStack } from '../../local/test/stack';
import { dynamo } from '../../shared/aws/dynamo';
import { s3 } from '../../shared/aws/s3';
import { requireEnv } from '../../shared/config/env';
import { originalKey } from '../../shared/content/keys';
import { s3ContentStore } from '../../shared/content/s3Content';
import { dynamoMediaStore, type MediaRecord } from '../../shared/stores/media';
import { asFunction } from '../../local/test/identity';
import { handler } from './sweepUploads';

describe('sweepUploads (DynamoDB Local + S3 stand-in)', function () {
  this.timeout(60_000);
  const media = dynamoMediaStore(dynamo, requireEnv('MEDIA_TABLE'));
  const content = s3ContentStore(s3, requireEnv('MEDIA_BUCKET'));

  before(async () => {
    await localStack();
  });

  async function pending(createdAt: string, withObject: boolean, sha256?: string): Promise<MediaRecord> {
    const record = pendingMediaRecord(ulid(), {
      filename: 'f.png',
      contentType: 'image/png',
      size: 3,
      ...(sha256 === undefined ? {} : { sha256 }),
      createdAt,
      updatedAt: createdAt,
    });
    await media.createPending(record);
    if (withObject) await content.put(originalKey(record.userId, record.id), Buffer.from('abc'), 'image/png');
    return record;
  }

  it('removes pending items older than 24 hours with their bytes and hash claim; keeps recent ones', async () => {
    const sha = 'a'.repeat(63) + 'b';
    const stale = await pending(new Date(Date.now() - 25 * 3600_000).toISOString(), true, sha);
    const neverUploaded = await pending(new Date(Date.now() - 48 * 3600_000).toISOString(), false);
    const recent = await pending(new Date(Date.now() - 3600_000).toISOString(), true);

    const result = await asFunction('sweepUploads', () => (handler as unknown as (event: unknown, context: unknown) => Promise<{ swept: number }>)({}, lambdaContext('sweepUploads')));
    expect(result.swept).to.be.at.least(2);
    expect(await media.get(stale.userId, stale.id)).to.equal(undefined);
    expect(await content.head(originalKey(stale.userId, stale.id))).to.equal(undefined);
    expect(await media.get(neverUploaded.userId, neverUploaded.id)).to.equal(undefined);
    expect((await media.get(recent.userId, recent.id))?.status).to.equal('pending');
    expect(await content.head(originalKey(recent.userId, recent.id))).to.not.equal(undefined);
    // The hash claim went with the stale item: the same content can be uploaded again.
    await pending(new Date().toISOString(), false, sha);
  });
});
