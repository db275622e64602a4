/**
 * The media store when DynamoDB does not cooperate: transaction conflicts, throttled batches,
 * unexpected errors. The client is a stub; the behaviour with a cooperating DynamoDB is the
 * contract suite (media.int.test.ts).
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient, type GetCommand, type QueryCommand, type UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import sinon from 'sinon';
import { type HttpError } from '../http/errors';
import { probeKeys } from '../analysis/similarity';
import { DuplicateMedia, dynamoMediaStore, VersionConflict, type MediaRecord } from './media';

const record: MediaRecord = {
  id: '01JD8X5Q2W4K6M8N0P2R4T6V9A',
  userId: '01JD8X5Q2W4K6M8N0P2R4T6V8X',
  filename: 'a.jpg',
  contentType: 'image/jpeg',
  size: 1,
  status: 'pending',
  type: 'image',
  createdAt: '2026-11-21T10:00:00.000Z',
  updatedAt: '2026-11-21T10:00:00.000Z',
  title: '',
  description: '',
  tags: ['beach'],
  views: 0,
  version: 3,
  dirtyTags: ['beach'],
};
const item = { ...record, pk: `USER#${record.userId}`, sk: `MEDIA#${record.id}` };

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: codes.map((Code) => ({ Code })) });
const boom = () => Object.assign(new Error('internal'), { name: 'InternalServerError' });
const conditionFailed = () => Object.assign(new Error('condition'), { name: 'ConditionalCheckFailedException' });

function stubbed() {
  const send = sinon.stub();
  return { store: dynamoMediaStore({ send } as unknown as DynamoDBDocumentClient, 'media'), send };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/** Runs a call whose retries back off, with the clock fast-forwarded instead of waited on. */
async function withoutWaiting<T>(call: () => Promise<T>): Promise<T> {
  const clock = sinon.useFakeTimers({ toFake: ['setTimeout'] });
  try {
    const settled = call().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await clock.runAllAsync();
    const result = await settled;
    if ('error' in result) throw result.error;
    return result.value;
  } finally {
    clock.restore();
  }
}

describe('DynamoDB media store under faults', () => {
  it('retries transaction conflicts, then gives up with 503; other cancellations are 503 at once', async () => {
    const { store, send } = stubbed();
    send.onFirstCall().rejects(cancelled('TransactionConflict')).onSecondCall().resolves({});
    await store.createPending({ ...record, tags: [] });
    expect(send.callCount).to.equal(2);

    send.reset();
    send.rejects(cancelled('TransactionConflict'));
    expect(((await failure(withoutWaiting(() => store.createPending(record)))) as HttpError).status).to.equal(503);

    send.reset();
    send.rejects(cancelled('ThrottlingError'));
    expect(((await failure(store.createPending(record))) as HttpError).status).to.equal(503);

    send.reset();
    send.rejects(cancelled('ConditionalCheckFailed'));
    expect(((await failure(store.createPending(record))) as Error).message, 'an id collision is a bug, not a duplicate').to.contain('already exists');
  });

  it('passes unexpected errors of single writes through, and turns condition failures into the documented answers', async () => {
    const { store, send } = stubbed();
    send.rejects(boom());
    for (const call of [
      () => store.view(record.userId, record.id),
      () => store.markReady(record, {}, '"e"', 'now'),
      () => store.updateMetadata(record, { title: 'x' }, 'now'),
      () => store.beginDelete(record),
      () => store.deleteUserData(record.userId),
      () => store.deletePending(record),
    ]) {
      expect(((await failure(call())) as Error).name).to.equal('InternalServerError');
    }
    send.reset();
    send.rejects(conditionFailed());
    expect(await store.view(record.userId, record.id)).to.equal(undefined);
    send.rejects(cancelled('ConditionalCheckFailed'));
    expect(await store.markReady(record, {}, '"e"', 'now'), 'markReady is a transaction with the similarity index').to.equal(false);
    send.rejects(conditionFailed());
    expect(await failure(store.updateMetadata(record, { title: 'x' }, 'now'))).to.be.instanceOf(VersionConflict);
    expect(await failure(store.beginDelete(record))).to.be.instanceOf(VersionConflict);
    expect(await store.deletePending(record)).to.equal(false);
  });

  it('re-reads keys a batch read left unprocessed (list by status), then 503 if they never come', async () => {
    const { store, send } = stubbed();
    send.onCall(0).resolves({ Items: [{ pk: item.pk, sk: item.sk, gsi2pk: 'x', gsi2sk: record.id }] });
    send.onCall(1).resolves({ Responses: { media: [] }, UnprocessedKeys: { media: { Keys: [{ pk: item.pk, sk: item.sk }] } } });
    send.onCall(2).resolves({ Responses: { media: [item] } });
    const page = await store.list(record.userId, { limit: 5, status: 'pending' });
    expect(page.items.map((found) => found.id)).to.deep.equal([record.id]);

    send.reset();
    send.onCall(0).resolves({ Items: [{ pk: item.pk, sk: item.sk }] });
    send.resolves({ Responses: { media: [] }, UnprocessedKeys: { media: { Keys: [{ pk: item.pk, sk: item.sk }] } } });
    expect(((await failure(withoutWaiting(() => store.list(record.userId, { limit: 5, type: 'image' })))) as HttpError).status).to.equal(503);
  });

  it('re-sends batch deletes left unprocessed (account deletion), then 503 if they never go', async () => {
    const { store, send } = stubbed();
    send.onCall(0).resolves({ Items: [{ pk: item.pk, sk: item.sk }] });
    send.onCall(1).resolves({ UnprocessedItems: { media: [{ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } }] } });
    send.onCall(2).resolves({});
    expect(await store.deleteUserData(record.userId)).to.equal(1);

    send.reset();
    send.onCall(0).resolves({ Items: [{ pk: item.pk, sk: item.sk }] });
    send.resolves({ UnprocessedItems: { media: [{ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } }] } });
    expect(((await failure(withoutWaiting(() => store.deleteUserData(record.userId)))) as HttpError).status).to.equal(503);
  });

  it('syncTags starts over when a tag write finds the item changed, and gives up after repeated changes', async () => {
    const { store, send } = stubbed();
    const changed = { ...item, version: 4, tags: [], dirtyTags: ['beach'] };
    send.onCall(0).resolves({ Item: item }); // read version 3
    send.onCall(1).rejects(cancelled('None', 'None', 'ConditionalCheckFailed')); // the item moved on
    send.onCall(2).resolves({ Item: changed }); // read version 4
    send.onCall(3).resolves({}); // entry removed, count decremented
    send.onCall(4).resolves({}); // zero count dropped
    send.onCall(5).resolves({}); // dirtyTags cleared
    await store.syncTags(record.userId, record.id);
    expect(send.callCount).to.equal(6);

    send.reset();
    send.callsFake((command: { input: { UpdateExpression?: string } }) =>
      command.input.UpdateExpression === 'REMOVE dirtyTags' ? Promise.reject(conditionFailed()) : Promise.resolve({ Item: item }),
    );
    expect(((await failure(store.syncTags(record.userId, record.id))) as HttpError).status).to.equal(503);
  });

  it('a zero-count tag that someone re-added meanwhile is kept, and other errors of that cleanup surface', async () => {
    const { store, send } = stubbed();
    const removal = { ...item, tags: [], dirtyTags: ['beach'] };
    send.onCall(0).resolves({ Item: removal });
    send.onCall(1).resolves({});
    send.onCall(2).rejects(conditionFailed()); // count is no longer <= 0
    send.onCall(3).resolves({});
    await store.syncTags(record.userId, record.id);

    send.reset();
    send.onCall(0).resolves({ Item: removal });
    send.onCall(1).resolves({});
    send.onCall(2).rejects(boom());
    expect(((await failure(store.syncTags(record.userId, record.id))) as Error).name).to.equal('InternalServerError');
  });

  it('answers DuplicateMedia even when the claim it lost to is gone by the time it looks (existingId unknown)', async () => {
    const { store, send } = stubbed();
    send.onCall(0).rejects(cancelled('None', 'ConditionalCheckFailed')); // the hash was claimed...
    send.onCall(1).resolves({}); // ...and released again before the claim could be read
    const error = await failure(store.createPending({ ...record, sha256: 'c'.repeat(64) }));
    expect(error).to.be.instanceOf(DuplicateMedia);
    expect((error as DuplicateMedia).existingId).to.equal('unknown');
    expect((send.args[1]?.[0] as GetCommand).input.Key).to.deep.equal({ pk: item.pk, sk: `SHA256#${'c'.repeat(64)}` });
  });

  it('a cancellation whose reasons carry no code (or no reasons at all) counts as conditions failing, not as an outage', async () => {
    const { store, send } = stubbed();
    send.rejects(new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: [{}, { Code: 'ConditionalCheckFailed' }] }));
    expect(await store.markRejected(record, 'unreadable', 'now')).to.equal(false);
    send.rejects(new TransactionCanceledException({ message: 'cancelled', $metadata: {} }));
    expect(await store.markRejected(record, 'unreadable', 'now')).to.equal(false);
    send.rejects(new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: [{}, { Code: 'ThrottlingError' }] }));
    expect(((await failure(store.markRejected(record, 'unreadable', 'now'))) as HttpError).status).to.equal(503);
  });

  it('reads answers without Items or Responses as empty pages', async () => {
    const { store, send } = stubbed();
    send.resolves({});
    expect(await store.list(record.userId, { limit: 5 })).to.deep.equal({ items: [], nextCursor: null });
    expect(await store.listTags(record.userId)).to.deep.equal([]);
    expect(await store.deleteUserData(record.userId)).to.equal(0);

    send.reset();
    send.onCall(0).resolves({ Items: [{ pk: item.pk, sk: item.sk, gsi2pk: 'x', gsi2sk: record.id }] });
    send.onCall(1).resolves({ UnprocessedKeys: { media: { Keys: [{ pk: item.pk, sk: item.sk }] } } }); // nothing served yet
    send.onCall(2).resolves({ Responses: { media: [item] } });
    const page = await withoutWaiting(() => store.list(record.userId, { limit: 5, status: 'pending' }));
    expect(page.items.map((found) => found.id)).to.deep.equal([record.id]);
  });

  it('listTags reads every page of counts, keeping only counts above zero', async () => {
    const { store, send } = stubbed();
    const more = { pk: item.pk, sk: 'TAG#gone' };
    send.onCall(0).resolves({ Items: [{ tag: 'sea', count: 1 }, { tag: 'gone', count: 0 }], LastEvaluatedKey: more });
    send.onCall(1).resolves({ Items: [{ tag: 'beach', count: 3 }] });
    expect(await store.listTags(record.userId)).to.deep.equal([
      { tag: 'beach', count: 3 },
      { tag: 'sea', count: 1 },
    ]);
    expect((send.args[1]?.[0] as QueryCommand).input.ExclusiveStartKey).to.deep.equal(more);
  });

  it('listPendingBefore pages through a shard within the limit, then moves to the next; rows that are not media items are skipped', async () => {
    const { store, send } = stubbed();
    const row = (userId: string, mediaId: string) => ({ pk: `USER#${userId}`, sk: `MEDIA#${mediaId}`, gsi3pk: 'x', gsi3sk: 'y' });
    const more = { pk: 'USER#u1', sk: 'MEDIA#m1', gsi3pk: 'PENDING#0', gsi3sk: '2026#m1' };
    send.onCall(0).resolves({ Items: [row('u1', 'm1'), { pk: 'USER#u1', sk: 'TAGGED#x#m1' }], LastEvaluatedKey: more });
    send.onCall(1).resolves({});
    send.onCall(2).resolves({ Items: [row('u2', 'm2'), row('u3', 'm3')], LastEvaluatedKey: { pk: 'USER#u3', sk: 'MEDIA#m3', gsi3pk: 'PENDING#1', gsi3sk: 'z' } });
    expect(await store.listPendingBefore('2026-11-20T10:00:00.000Z', 3)).to.deep.equal([
      { userId: 'u1', mediaId: 'm1' },
      { userId: 'u2', mediaId: 'm2' },
      { userId: 'u3', mediaId: 'm3' },
    ]);
    const inputs = send.args.map(([command]) => (command as QueryCommand).input);
    expect(inputs.map((input) => [input.ExpressionAttributeValues?.[':shard'] as unknown, input.Limit, input.ExclusiveStartKey as unknown])).to.deep.equal([
      ['PENDING#0', 3, undefined],
      ['PENDING#0', 2, more],
      ['PENDING#1', 2, undefined],
    ]);
  });

  it('findSimilar pages through each band, never lists the item itself, and orders equal distances by id', async () => {
    const { store, send } = stubbed();
    const probe = '0000000000000000';
    const band = `PHASH#${probeKeys(probe)[0] as string}#`;
    const more = { pk: item.pk, sk: `${band}x` };
    send.callsFake(async (command: QueryCommand) => {
      if (command.input.ExpressionAttributeValues?.[':prefix'] !== band) return {};
      if (command.input.ExclusiveStartKey === undefined) return { Items: [{ mediaId: 'B', hash: '0000000000000003' }, { mediaId: 'SELF', hash: probe }], LastEvaluatedKey: more };
      return { Items: [{ mediaId: 'A', hash: '0000000000000300' }, { mediaId: 'FAR', hash: 'ffffffffffffffff' }] };
    });
    expect(await store.findSimilar(record.userId, probe, 'SELF')).to.deep.equal([
      { mediaId: 'A', distance: 2 },
      { mediaId: 'B', distance: 2 },
    ]);
    const resumed = send.args.map(([command]) => (command as QueryCommand).input).filter((input) => input.ExclusiveStartKey !== undefined);
    expect(resumed.map((input) => input.ExclusiveStartKey)).to.deep.equal([more]);
  });

  it('deleteUserData deletes page after page and counts only the media items', async () => {
    const { store, send } = stubbed();
    const more = { pk: item.pk, sk: 'TAG#beach' };
    send.callsFake(async (command: QueryCommand | BatchWriteCommand) => {
      if (command instanceof BatchWriteCommand) return {};
      return command.input.ExclusiveStartKey === undefined ? { Items: [{ pk: item.pk, sk: item.sk }, more], LastEvaluatedKey: more } : { Items: [{ pk: item.pk, sk: 'MEDIA#01JD8X5Q2W4K6M8N0P2R4T6V9B' }] };
    });
    expect(await store.deleteUserData(record.userId)).to.equal(2);
    const deleted = send.args
      .map(([command]) => command as BatchWriteCommand)
      .filter((command) => command instanceof BatchWriteCommand)
      .flatMap((command) => command.input.RequestItems?.['media']?.map((request) => request.DeleteRequest?.Key?.['sk'] as unknown) ?? []);
    expect(deleted).to.deep.equal([item.sk, 'TAG#beach', 'MEDIA#01JD8X5Q2W4K6M8N0P2R4T6V9B']);
  });

  it('syncTags lets other failures of its final write through', async () => {
    const { store, send } = stubbed();
    send.onCall(0).resolves({ Item: item }); // tags [beach], dirty [beach]
    send.onCall(1).resolves({}); // entry and count written
    send.onCall(2).rejects(boom()); // REMOVE dirtyTags
    expect(((await failure(store.syncTags(record.userId, record.id))) as Error).name).to.equal('InternalServerError');
    expect((send.args[2]?.[0] as UpdateCommand).input.UpdateExpression).to.equal('REMOVE dirtyTags');
  });
});
