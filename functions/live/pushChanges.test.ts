/**
 * pushChanges in process, as the function (the local AWS gateway holds its DynamoDB calls to its
 * role), fed DynamoDB Streams batches in Lambda's shape; connections on the run's DynamoDB Local;
 * the WebSocket API's Management API a loopback stand-in that answers 200, 410 (gone) or 500.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { expect } from 'chai';
import sinon from 'sinon';
import { ulid } from 'ulid';
import { capturedMetrics } from '../../local/test/metrics';
import { connectionOf } from '../../local/test/contracts/connectionStore';
import { lambdaContext, streamRecord } from '../../local/test/events';
import { asFunction } from '../../local/test/identity';
import { loadLiveModule, startManagementApi, type ManagementApiStandIn } from '../../local/test/managementApi';
import { pendingMediaRecord } from '../../local/test/records';
import { localStack } from '../../local/test/stack';
import { dynamo } from '../../shared/aws/dynamo';
import { requireEnv } from '../../shared/config/env';
import { LiveEvent } from '../../shared/schemas/live';
import { dynamoConnectionStore, type ConnectionRecord } from '../../shared/stores/connections';
import { sessionKey } from '../../shared/stores/keys';
import { dynamoMediaStore } from '../../shared/stores/media';
import { mediaKey } from '../../shared/stores/mediaKeys';
import type { changeOf as ChangeOf } from './pushChanges';

type Handler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;
type Item = Record<string, unknown>;

describe('pushChanges (DynamoDB Streams -> WebSocket connections; DynamoDB Local)', function () {
  this.timeout(60_000);
  const MEDIA_TABLE = requireEnv('MEDIA_TABLE');
  const ANALYSES_TABLE = requireEnv('ANALYSES_TABLE');
  const SESSIONS_TABLE = requireEnv('SESSIONS_TABLE');
  const connections = dynamoConnectionStore(dynamo, requireEnv('CONNECTIONS_TABLE'));
  const media = dynamoMediaStore(dynamo, MEDIA_TABLE);
  let managementApi: ManagementApiStandIn;
  let handler: Handler;
  let changeOf: typeof ChangeOf;

  before(async () => {
    await localStack();
    managementApi = await startManagementApi();
    ({ handler, changeOf } = loadLiveModule<{ handler: Handler; changeOf: typeof ChangeOf }>('functions/live/pushChanges', managementApi.endpoint));
  });
  after(async () => {
    await managementApi.stop();
  });
  beforeEach(() => managementApi.reset());
  afterEach(() => sinon.restore());

  const push = (...records: DynamoDBRecord[]): Promise<DynamoDBBatchResponse> => asFunction('pushChanges', () => handler({ Records: records }, lambdaContext('pushChanges')));

  /** An open connection of `userId` on the stand-in's API. */
  async function opened(userId: string, overrides: Partial<ConnectionRecord> = {}): Promise<ConnectionRecord> {
    const connection = connectionOf(userId, new Date(), 1000, { endpoint: managementApi.endpoint, ...overrides });
    await connections.add(connection, 10);
    return connection;
  }
  const rawItem = async (key: Record<string, string>): Promise<Item> =>
    (await dynamo.send(new GetCommand({ TableName: MEDIA_TABLE, Key: key, ConsistentRead: true }))).Item as Item;

  /** An abandoned upload of `userId` swept away: media.deleted. */
  const swept = (userId: string): DynamoDBRecord => {
    const record = pendingMediaRecord(userId);
    return streamRecord(MEDIA_TABLE, 'REMOVE', { oldImage: { ...mediaKey(userId, record.id), ...record } });
  };
  const analysisFinished = (userId: string): DynamoDBRecord => {
    const analysisId = ulid();
    const job = { pk: `USER#${userId}`, sk: `ANALYSIS#${analysisId}`, id: analysisId, userId, mediaId: ulid(), createdAt: new Date().toISOString(), attempts: 1 };
    return streamRecord(ANALYSES_TABLE, 'MODIFY', { oldImage: { ...job, status: 'running', runId: 'r' }, newImage: { ...job, status: 'succeeded' } });
  };
  const events = (connectionId: string): LiveEvent[] => managementApi.received(connectionId).map((message) => LiveEvent.parse(message));

  it('pushes an item that became ready to every connection of its owner (the item as lists show it), and to nobody else', async () => {
    const [ann, bob] = [ulid(), ulid()];
    const [a1, a2, b1] = [await opened(ann), await opened(ann), await opened(bob)];
    const pending = pendingMediaRecord(ann, { title: 'Eiffel', tags: ['paris'] });
    await media.createPending(pending);
    const before = await rawItem(mediaKey(ann, pending.id));
    const thumbnails = { small: `media/${ann}/${pending.id}/thumb-small.webp`, large: `media/${ann}/${pending.id}/thumb-large.webp` };
    const fields = { width: 640, height: 480, thumbnails, perceptualHash: '0123456789abcdef', dominantColors: [{ hex: '#ff0000', ratio: 1 }] };
    expect(await media.markReady(pending, fields, '"etag-1"', new Date().toISOString())).to.equal(true);
    const after = await rawItem(mediaKey(ann, pending.id));
    const record = streamRecord(MEDIA_TABLE, 'MODIFY', { oldImage: before, newImage: after });

    expect(await push(record)).to.deep.equal({ batchItemFailures: [] });

    for (const connection of [a1, a2]) {
      const [event, ...more] = events(connection.id);
      expect(more).to.deep.equal([]);
      expect(event).to.include({ type: 'media.ready', id: record.eventID });
      const ready = (event as Extract<LiveEvent, { type: 'media.ready' }>).media;
      expect(ready).to.include({ id: pending.id, status: 'ready', title: 'Eiffel', width: 640, height: 480 });
      expect(ready.tags).to.deep.equal(['paris']);
      expect(ready.thumbnails?.small).to.contain('thumb-small.webp');
      expect(ready).not.to.have.any.keys('userId', 'objectETag', 'perceptualHash', 'dominantColors');
    }
    expect(managementApi.calls.filter((call) => call.connectionId === b1.id)).to.deep.equal([]);
    expect(new Set(managementApi.calls.map((call) => call.accessKeyId)), 'signed as pushChanges').to.deep.equal(new Set(['media-library-local-pushChanges']));
  });

  it('handles a batch of several tables in order: each event to its own user', async () => {
    const [ann, bob] = [ulid(), ulid()];
    const [a1, b1] = [await opened(ann), await opened(bob)];
    const [deleted, finished] = [swept(ann), analysisFinished(bob)];
    expect(await push(deleted, finished)).to.deep.equal({ batchItemFailures: [] });
    expect(events(a1.id).map((event) => [event.type, event.id])).to.deep.equal([['media.deleted', deleted.eventID]]);
    expect(events(b1.id).map((event) => [event.type, event.id])).to.deep.equal([['analysis.finished', finished.eventID]]);
  });

  it('forgets a connection the Management API says is gone (410), without failing the batch or retrying it', async () => {
    const ann = ulid();
    const [kept, gone] = [await opened(ann), await opened(ann)];
    managementApi.answer(gone.id, 410);
    let result: unknown;
    const emitted = await capturedMetrics(async () => {
      result = await push(swept(ann), swept(ann));
    });
    expect(result).to.deep.equal({ batchItemFailures: [] });
    expect(emitted.map(({ name, value, dimensions }) => [name, value, dimensions.outcome])).to.deep.equal([
      ['Pushes', 2, 'delivered'],
      ['Pushes', 1, 'gone'],
    ]);
    expect(events(kept.id)).to.have.length(2);
    expect(managementApi.calls.filter((call) => call.connectionId === gone.id), 'tried once: gone is gone').to.have.length(1);
    expect(await connections.ofUser(ann, new Date())).to.deep.equal([kept]);
    expect(await connections.remove(gone.id), 'its owner record went too').to.equal(undefined);
  });

  it('reports the first change it could not push (its SequenceNumber) and stops there, for Lambda to deliver it and the rest again', async () => {
    const [ann, bob] = [ulid(), ulid()];
    const [a1, b1] = [await opened(ann), await opened(bob)];
    managementApi.answer(b1.id, 500);
    const [first, failing, later] = [swept(ann), swept(bob), swept(ann)];
    expect(await push(first, failing, later)).to.deep.equal({ batchItemFailures: [{ itemIdentifier: failing.dynamodb?.SequenceNumber }] });
    expect(events(a1.id).map((event) => event.id), 'nothing after the failure was pushed').to.deep.equal([first.eventID]);
    expect(managementApi.calls.filter((call) => call.connectionId === b1.id).length, 'the SDK retried before giving up').to.equal(3);
    expect(await connections.ofUser(bob, new Date()), 'a connection that failed is kept').to.deep.equal([b1]);
  });

  it('reports the change when DynamoDB fails to list the connections', async () => {
    const ann = ulid();
    await opened(ann);
    sinon.stub(dynamo, 'send').rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    const record = swept(ann);
    expect(await push(record)).to.deep.equal({ batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber }] });
    expect(managementApi.calls).to.deep.equal([]);
  });

  it('a session removed by TTL: every connection of the user is told (expired), then that session’s connections are closed and forgotten', async () => {
    const ann = ulid();
    const ending = ulid();
    const [e1, other] = [await opened(ann, { sessionId: ending }), await opened(ann)];
    const session = { ...sessionKey(ann, ending), id: ending, userId: ann, expiresAt: new Date(Date.now() - 1000).toISOString(), ttl: Math.floor(Date.now() / 1000) };
    const record = streamRecord(SESSIONS_TABLE, 'REMOVE', { oldImage: session }, { expired: true });

    expect(await push(record)).to.deep.equal({ batchItemFailures: [] });

    for (const connection of [e1, other]) {
      expect(events(connection.id)).to.have.length(1);
      expect(events(connection.id)[0]).to.include({ type: 'session.revoked', id: record.eventID, sessionId: ending, reason: 'expired' });
    }
    const ended = managementApi.calls.filter((call) => call.connectionId === e1.id).map((call) => call.method);
    expect(ended, 'told, then closed').to.deep.equal(['POST', 'DELETE']);
    expect(managementApi.calls.filter((call) => call.method === 'DELETE').map((call) => call.connectionId)).to.deep.equal([e1.id]);
    expect(await connections.ofUser(ann, new Date())).to.deep.equal([other]);
  });

  it('a session deleted by a request (logout): session.revoked, revoked', async () => {
    const ann = ulid();
    const sessionId = ulid();
    const connection = await opened(ann, { sessionId });
    const session = { ...sessionKey(ann, sessionId), id: sessionId, userId: ann };
    await push(streamRecord(SESSIONS_TABLE, 'REMOVE', { oldImage: session }));
    expect(events(connection.id)).to.have.length(1);
    expect(events(connection.id)[0]).to.include({ type: 'session.revoked', reason: 'revoked' });
    expect(await connections.ofUser(ann, new Date())).to.deep.equal([]);
  });

  it('skips records of tables it does not read (another table, another stage), and records without a change', async () => {
    const ann = ulid();
    const connection = await opened(ann);
    const item = (table: string) => {
      const record = swept(ann);
      return { ...record, eventSourceARN: record.eventSourceARN?.replace(MEDIA_TABLE, table) };
    };
    const known = swept(ann);
    const { eventSourceARN: _arn, ...withoutArn } = swept(ann);
    const { eventName: _name, ...withoutName } = swept(ann);
    const { dynamodb: _change, ...withoutChange } = swept(ann);
    const records: DynamoDBRecord[] = [item(requireEnv('USERS_TABLE')), item(MEDIA_TABLE.replace('-local-', '-dev-')), item(requireEnv('CONNECTIONS_TABLE')), withoutArn, withoutName, withoutChange, known];
    expect(await push(...records)).to.deep.equal({ batchItemFailures: [] });
    expect(events(connection.id).map((event) => event.id)).to.deep.equal([known.eventID]);
  });

  it('an event without records pushes nothing and reports nothing', async () => {
    expect(await asFunction('pushChanges', () => handler({} as DynamoDBStreamEvent, lambdaContext('pushChanges')))).to.deep.equal({ batchItemFailures: [] });
    expect(managementApi.calls).to.deep.equal([]);
  });

  it('reports a failed record that carries no sequence number with an empty identifier (Lambda then retries the whole batch)', async () => {
    const ann = ulid();
    const connection = await opened(ann);
    managementApi.answer(connection.id, 500);
    const record = swept(ann);
    delete record.eventID;
    delete record.dynamodb?.SequenceNumber;
    expect(await push(record)).to.deep.equal({ batchItemFailures: [{ itemIdentifier: '' }] });
  });

  it('pushes only to connections of its own WebSocket API (another local stack’s connections share the table)', async () => {
    const ann = ulid();
    const mine = await opened(ann);
    await opened(ann, { endpoint: 'http://127.0.0.1:9/another-stack' });
    await push(swept(ann));
    expect(managementApi.calls.map((call) => call.connectionId)).to.deep.equal([mine.id]);
  });

  describe('changeOf (a stream record as a change)', () => {
    it('reads the table, kind, time and images; the record’s eventID is the event’s id', () => {
      const at = new Date('2026-11-21T10:00:00.000Z');
      const record = streamRecord(MEDIA_TABLE, 'MODIFY', { oldImage: { pk: 'USER#a', sk: 'MEDIA#b', views: 1 }, newImage: { pk: 'USER#a', sk: 'MEDIA#b', views: 2 } }, { at });
      expect(changeOf(record)).to.deep.equal({
        table: 'media',
        eventId: record.eventID,
        kind: 'MODIFY',
        at,
        oldImage: { pk: 'USER#a', sk: 'MEDIA#b', views: 1 },
        newImage: { pk: 'USER#a', sk: 'MEDIA#b', views: 2 },
        expired: false,
      });
    });

    it('falls back to the sequence number for an id, and to now for the time', () => {
      const record = streamRecord(ANALYSES_TABLE, 'INSERT', { newImage: { pk: 'USER#a', sk: 'ANALYSIS#b' } });
      delete record.eventID;
      delete record.dynamodb?.ApproximateCreationDateTime;
      const change = changeOf(record);
      expect(change).to.include({ table: 'analyses', eventId: record.dynamodb?.SequenceNumber, expired: false });
      expect(Math.abs((change?.at.getTime() ?? 0) - Date.now())).to.be.lessThan(5000);
      expect(change?.oldImage).to.equal(undefined);
    });

    it('marks a removal by DynamoDB’s TTL as expired; a removal by anyone else is not', () => {
      const image = { oldImage: { pk: 'USER#a', sk: 'SESSION#b' } };
      expect(changeOf(streamRecord(SESSIONS_TABLE, 'REMOVE', image, { expired: true }))?.expired).to.equal(true);
      expect(changeOf(streamRecord(SESSIONS_TABLE, 'REMOVE', image))?.expired).to.equal(false);
      expect(changeOf({ ...streamRecord(SESSIONS_TABLE, 'REMOVE', image), userIdentity: { type: 'Service', principalId: 'someone.amazonaws.com' } })?.expired).to.equal(false);
      expect(changeOf({ ...streamRecord(SESSIONS_TABLE, 'REMOVE', image), userIdentity: { type: 'User', principalId: 'dynamodb.amazonaws.com' } })?.expired).to.equal(false);
    });
  });
});
