import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { mediaStoreContract } from '../../local/test/contracts/mediaStore';
import { pendingMediaRecord } from '../../local/test/records';
import { localStack } from '../../local/test/stack';
import { dynamo } from '../aws/dynamo';
import { requireEnv } from '../config/env';
import { dynamoMediaStore, type MediaRecord } from './media';
import { TOOLING_CREDENTIALS } from '../../local/stack/credentials';

describe('MediaStore contract: DynamoDB (DynamoDB Local)', function () {
  this.timeout(60_000);
  before(async () => {
    await localStack();
  });

  mediaStoreContract(async () => dynamoMediaStore(dynamo, requireEnv('MEDIA_TABLE')));

  describe('interleavings the contract cannot force', () => {
    let base: DynamoDBClient | undefined;
    afterEach(() => {
      base?.destroy();
      base = undefined;
    });

    /** A client of its own whose transactions wait, while `held` is set, until released. */
    function heldClient(): { client: DynamoDBDocumentClient; holding: Promise<void>; release: () => void } {
      base = new DynamoDBClient({ endpoint: requireEnv('DYNAMODB_ENDPOINT'), region: requireEnv('AWS_REGION'), credentials: TOOLING_CREDENTIALS });
      const client = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
      let reached: () => void = () => undefined;
      let release: () => void = () => undefined;
      const holding = new Promise<void>((resolve) => (reached = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      let held = true;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (held && context.commandName === 'TransactWriteItemsCommand') {
            held = false;
            reached();
            await released;
          }
          return next(args);
        },
        { step: 'initialize', name: 'holdFirstTransaction' },
      );
      return { client, holding, release };
    }

    // Regression: a syncTags that read version N used to write entries for N's tags after a
    // syncTags of version N+1 had finished; every tag write now also checks the item's version.
    it('syncTags that read the tags before a newer change cannot undo the newer sync', async () => {
      const table = requireEnv('MEDIA_TABLE');
      const store = dynamoMediaStore(dynamo, table);
      const userId = ulid();
      const now = new Date().toISOString();
      const record = pendingMediaRecord(userId, { filename: 'a.jpg', size: 1, createdAt: now, updatedAt: now });
      await store.createPending(record);
      const tagged = await store.updateMetadata(record, { tags: ['beach'] }, now);

      // Client A starts syncing version 2 (tags [beach]) and stalls before its first write...
      const slow = heldClient();
      const stale = dynamoMediaStore(slow.client, table).syncTags(userId, record.id);
      await slow.holding;
      // ...meanwhile client B removes the tag and syncs version 3 completely...
      await store.updateMetadata(tagged, { tags: [] }, now);
      await store.syncTags(userId, record.id);
      // ...then A's stalled write goes through.
      slow.release();
      await stale;

      const final = await store.get(userId, record.id);
      expect(final?.tags).to.deep.equal([]);
      expect(await store.listTags(userId), 'no item is tagged beach').to.deep.equal([]);
    });
  });

  describe('DynamoDB specifics', () => {
    const store = () => dynamoMediaStore(dynamo, requireEnv('MEDIA_TABLE'));
    const newRecord = (userId: string, overrides: Partial<MediaRecord> = {}): MediaRecord =>
      pendingMediaRecord(userId, { filename: 'a.jpg', size: 1, createdAt: '2001-02-03T04:05:06.000Z', updatedAt: '2001-02-03T04:05:06.000Z', ...overrides });

    it('the sweep\'s pending index holds items written pending only (an item written in another state is never swept)', async () => {
      const userId = ulid();
      const pending = newRecord(userId);
      const ready = newRecord(userId, { status: 'ready', objectETag: '"e"' });
      await store().createPending(pending);
      await store().createPending(ready);
      const listed = await store().listPendingBefore('2001-02-03T04:05:07.000Z', 1000);
      const mine = listed.filter((entry) => entry.userId === userId).map((entry) => entry.mediaId);
      expect(mine).to.deep.equal([pending.id]);
      expect((await store().list(userId, { limit: 10, status: 'ready' })).items.map((item) => item.id), 'listed by its own status').to.deep.equal([ready.id]);
    });

    it('items uploaded without a sha256 are rejected and deleted like others (no claim to release)', async () => {
      const userId = ulid();
      const rejected = newRecord(userId);
      await store().createPending(rejected);
      expect(await store().markRejected(rejected, 'type_mismatch', '2001-02-03T05:00:00.000Z')).to.equal(true);
      expect(await store().get(userId, rejected.id)).to.include({ status: 'rejected', rejectReason: 'type_mismatch' });

      const deleted = newRecord(userId, { tags: [] });
      await store().createPending(deleted);
      await store().beginDelete(deleted);
      await store().syncTags(userId, deleted.id);
      await store().finishDelete((await store().get(userId, deleted.id)) as MediaRecord);
      expect(await store().get(userId, deleted.id)).to.equal(undefined);
      expect((await store().list(userId, { limit: 10 })).items.map((item) => item.id)).to.deep.equal([rejected.id]);
    });
  });
});
