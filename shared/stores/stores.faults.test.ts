/**
 * How the DynamoDB stores behave when DynamoDB does not cooperate: transaction conflicts,
 * throttled batches, unexpected errors. The client is a stub; the happy paths are covered
 * against DynamoDB Local in *.int.test.ts.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import sinon from 'sinon';
import { type HttpError } from '../http/errors';
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
  });
});
