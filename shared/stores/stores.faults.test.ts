/**
 * How the DynamoDB stores behave when DynamoDB does not cooperate: transaction conflicts,
 * throttled batches, unexpected errors. The client is a stub; the happy paths are covered
 * against DynamoDB Local in *.int.test.ts.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient, type QueryCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import sinon from 'sinon';
import { type HttpError } from '../http/errors';
import { dynamoAnalysisStore } from './analyses';
import { dynamoSessionStore } from './sessions';
import { dynamoUserStore, EmailTaken, type UserProfile } from './users';

const profile: UserProfile = {
  id: '01JD8X5Q2W4K6M8N0P2R4T6V8X',
  email: 'ann@example.com',
  name: 'Ann',
  createdAt: '2026-11-21T10:00:00.000Z',
  updatedAt: '2026-11-21T10:00:00.000Z',
  status: 'active',
};

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: codes.map((Code) => ({ Code })) });

function stubClient(): { client: DynamoDBDocumentClient; send: sinon.SinonStub } {
  const send = sinon.stub();
  return { client: { send } as unknown as DynamoDBDocumentClient, send };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('DynamoDB stores under faults', () => {
  describe('users', () => {
    it('retries a sign-up that hit a transaction conflict, then succeeds', async () => {
      const { client, send } = stubClient();
      send.onFirstCall().rejects(cancelled('TransactionConflict', 'None')).onSecondCall().resolves({});
      await dynamoUserStore(client, 'users').create(profile, 'hash');
      expect(send.callCount).to.equal(2);
    });

    it('turns a conflict that resolves into a taken email into EmailTaken', async () => {
      const { client, send } = stubClient();
      send.onFirstCall().rejects(cancelled('TransactionConflict', 'None')).onSecondCall().rejects(cancelled('ConditionalCheckFailed', 'None'));
      expect(await failure(dynamoUserStore(client, 'users').create(profile, 'hash'))).to.be.instanceOf(EmailTaken);
    });

    it('gives up on endless conflicts with 503, and answers other cancellations with 503', async () => {
      const { client, send } = stubClient();
      send.rejects(cancelled('TransactionConflict', 'TransactionConflict'));
      const endless = (await failure(dynamoUserStore(client, 'users').create(profile, 'hash'))) as HttpError;
      expect(endless.status).to.equal(503);
      expect(send.callCount).to.equal(6);

      send.reset();
      send.rejects(cancelled('None', 'ThrottlingError'));
      expect(((await failure(dynamoUserStore(client, 'users').create(profile, 'hash'))) as HttpError).status).to.equal(503);
    });

    it('answers a cancellation that names no reason with 503, never EmailTaken', async () => {
      const { client, send } = stubClient();
      send.rejects(new TransactionCanceledException({ message: 'cancelled', $metadata: {} }));
      expect(((await failure(dynamoUserStore(client, 'users').create(profile, 'hash'))) as HttpError).status).to.equal(503);
      send.rejects(new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: [{}, {}] }));
      expect(((await failure(dynamoUserStore(client, 'users').create(profile, 'hash'))) as HttpError).status).to.equal(503);
      expect(send.callCount, 'not retried').to.equal(2);
    });

    it('passes other errors through untouched (the HTTP layer maps them)', async () => {
      const { client, send } = stubClient();
      const boom = Object.assign(new Error('boom'), { name: 'InternalServerError' });
      send.rejects(boom);
      const store = dynamoUserStore(client, 'users');
      expect(await failure(store.create(profile, 'hash'))).to.equal(boom);
      expect(await failure(store.saveThrottle('a@example.com', { failures: 1, windowStartedAt: 0, lockedUntil: 0, lockouts: 0, version: 0 }, 1))).to.equal(boom);
      expect(await failure(store.updateName(profile.id, 'x', 'now'))).to.equal(boom);
    });

    it('re-asks for keys a batch read left unprocessed, and gives up with 503 if DynamoDB never serves them', async () => {
      const { client, send } = stubClient();
      const credentials = { pk: 'EMAIL#ann@example.com', sk: 'CREDENTIALS', email: 'ann@example.com', userId: profile.id, passwordHash: 'h' };
      send
        .onFirstCall()
        .resolves({ Responses: { users: [] }, UnprocessedKeys: { users: { Keys: [{ pk: credentials.pk, sk: credentials.sk }] } } })
        .onSecondCall()
        .resolves({ Responses: { users: [credentials] } });
      const state = await dynamoUserStore(client, 'users').getLoginState('ann@example.com');
      expect(state.credentials?.userId).to.equal(profile.id);

      send.reset();
      send.resolves({ Responses: {}, UnprocessedKeys: { users: { Keys: [{ pk: 'x', sk: 'y' }] } } });
      expect(((await failure(dynamoUserStore(client, 'users').getLoginState('ann@example.com'))) as HttpError).status).to.equal(503);
    });
  });

  describe('sessions', () => {
    const session = {
      id: '01JD8X5Q2W4K6M8N0P2R4T6V9A',
      userId: profile.id,
      createdAt: '2026-11-21T10:00:00.000Z',
      lastUsedAt: '2026-11-21T10:00:00.000Z',
      expiresAt: '2099-01-01T00:00:00.000Z',
      remember: false,
      userAgent: '',
      currentHash: 'a'.repeat(64),
      previousHashes: [],
    };

    it('passes unexpected errors of conditional writes through', async () => {
      const { client, send } = stubClient();
      const boom = Object.assign(new Error('boom'), { name: 'InternalServerError' });
      send.rejects(boom);
      const store = dynamoSessionStore(client, 'sessions');
      expect(await failure(store.rotate(session, 'b'.repeat(64), 'now'))).to.equal(boom);
      expect(await failure(store.touch(session.userId, session.id, new Date(), 1))).to.equal(boom);
      expect(await failure(store.delete(session.userId, session.id))).to.equal(boom);
    });

    it('re-sends batch deletes DynamoDB left unprocessed, and gives up with 503 if they never go through', async () => {
      const { client, send } = stubClient();
      const keys = [{ pk: 'USER#u', sk: 'SESSION#1' }, { pk: 'USER#u', sk: 'SESSION#2' }];
      send.onCall(0).resolves({ Items: keys });
      send.onCall(1).resolves({ UnprocessedItems: { sessions: [{ DeleteRequest: { Key: keys[1] } }] } });
      send.onCall(2).resolves({});
      expect(await dynamoSessionStore(client, 'sessions').deleteAll('u')).to.equal(2);
      expect(send.callCount).to.equal(3);

      send.reset();
      send.onCall(0).resolves({ Items: keys });
      send.resolves({ UnprocessedItems: { sessions: [{ DeleteRequest: { Key: keys[1] } }] } });
      expect(((await failure(dynamoSessionStore(client, 'sessions').deleteAll('u'))) as HttpError).status).to.equal(503);
    });
  

    it('reads a session item without previousHashes (written before reuse detection) as remembering none', async () => {
      const { client, send } = stubClient();
      const { previousHashes: _none, ...legacy } = session;
      send.resolves({ Item: { pk: `USER#${session.userId}`, sk: `SESSION#${session.id}`, ttl: 1, ...legacy } });
      expect(await dynamoSessionStore(client, 'sessions').get(session.userId, session.id)).to.deep.equal({ ...legacy, previousHashes: [] });
    });

    it('reads answers without Items as empty pages', async () => {
      const { client, send } = stubClient();
      send.resolves({});
      const store = dynamoSessionStore(client, 'sessions');
      expect(await store.list(session.userId, 10, undefined, new Date())).to.deep.equal({ items: [], nextCursor: null });
      expect(await store.deleteAll(session.userId)).to.equal(0);
    });

    it('deleteAll goes through every page of the user\'s sessions, sparing the one to keep', async () => {
      const { client, send } = stubClient();
      const more = { pk: 'USER#u', sk: 'SESSION#2' };
      send.callsFake(async (command: QueryCommand | BatchWriteCommand) => {
        if (command instanceof BatchWriteCommand) return {};
        return command.input.ExclusiveStartKey === undefined
          ? { Items: [{ pk: 'USER#u', sk: 'SESSION#1' }, more], LastEvaluatedKey: more }
          : { Items: [{ pk: 'USER#u', sk: 'SESSION#3' }] };
      });
      expect(await dynamoSessionStore(client, 'sessions').deleteAll('u', '2')).to.equal(2);
      const deleted = send.args
        .map(([command]) => command as BatchWriteCommand)
        .filter((command) => command instanceof BatchWriteCommand)
        .flatMap((command) => command.input.RequestItems?.['sessions']?.map((request) => request.DeleteRequest?.Key?.['sk'] as unknown) ?? []);
      expect(deleted).to.deep.equal(['SESSION#1', 'SESSION#3']);
      const queries = send.args.map(([command]) => command as QueryCommand).filter((command) => !(command instanceof BatchWriteCommand));
      expect(queries.map((command) => command.input.ExclusiveStartKey)).to.deep.equal([undefined, more]);
    });
  });

  describe('analyses', () => {
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

    const job = (sk: string) => ({ pk: 'USER#u', sk });

    it('deleteUserData deletes page after page, re-sending what DynamoDB left unprocessed', async () => {
      const { client, send } = stubClient();
      const more = job('ANALYSIS#2');
      let writes = 0;
      send.callsFake(async (command: QueryCommand | BatchWriteCommand) => {
        if (command instanceof BatchWriteCommand) {
          writes++;
          return writes === 1 ? { UnprocessedItems: { analyses: [{ DeleteRequest: { Key: more } }] } } : {};
        }
        return command.input.ExclusiveStartKey === undefined ? { Items: [job('ANALYSIS#1'), more], LastEvaluatedKey: more } : {};
      });
      expect(await withoutWaiting(() => dynamoAnalysisStore(client, 'analyses').deleteUserData('u'))).to.equal(2);
      const batches = send.args
        .map(([command]) => command as BatchWriteCommand)
        .filter((command) => command instanceof BatchWriteCommand)
        .map((command) => command.input.RequestItems?.['analyses']?.map((request) => request.DeleteRequest?.Key?.['sk'] as unknown));
      expect(batches).to.deep.equal([['ANALYSIS#1', 'ANALYSIS#2'], ['ANALYSIS#2']]);
    });

    it('deleteUserData gives up with 503 when DynamoDB never processes a delete', async () => {
      const { client, send } = stubClient();
      send.callsFake(async (command: QueryCommand | BatchWriteCommand) =>
        command instanceof BatchWriteCommand ? { UnprocessedItems: { analyses: [{ DeleteRequest: { Key: job('ANALYSIS#1') } }] } } : { Items: [job('ANALYSIS#1')] },
      );
      const error = (await failure(withoutWaiting(() => dynamoAnalysisStore(client, 'analyses').deleteUserData('u')))) as HttpError;
      expect(error.status).to.equal(503);
      expect(send.callCount, 'one query, 8 attempts').to.equal(9);
    });
  });
});
