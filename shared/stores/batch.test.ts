import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import sinon from 'sinon';
import type { HttpError } from '../http/errors';
import { transactWrite } from './batch';

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: codes.map((Code) => ({ Code })) });

function stubClient(): { client: DynamoDBDocumentClient; send: sinon.SinonStub } {
  const send = sinon.stub();
  return { client: { send } as unknown as DynamoDBDocumentClient, send };
}

const items = [{ ConditionCheck: { TableName: 't', Key: { pk: 'a', sk: 'b' }, ConditionExpression: 'attribute_exists(pk)' } }];

describe('transactWrite', () => {
  it('retries while the transaction conflicts with another, then lets the conditions decide', async () => {
    const { client, send } = stubClient();
    send.onCall(0).rejects(cancelled('TransactionConflict')).onCall(1).rejects(cancelled('TransactionConflict')).onCall(2).resolves({});
    expect(await transactWrite(client, items)).to.equal(undefined);
    send.reset();
    send.onCall(0).rejects(cancelled('TransactionConflict')).onCall(1).rejects(cancelled('None', 'ConditionalCheckFailed'));
    expect(await transactWrite(client, items)).to.deep.equal(['None', 'ConditionalCheckFailed']);
  });

  it('503 when the conflicts do not end, or for a cancellation that is not a condition (throttling)', async () => {
    const { client, send } = stubClient();
    send.rejects(cancelled('TransactionConflict'));
    expect(((await transactWrite(client, items).catch((error: unknown) => error)) as HttpError).status).to.equal(503);
    expect(send.callCount).to.equal(6);
    send.reset();
    send.rejects(cancelled('ThrottlingError', 'None'));
    expect(((await transactWrite(client, items).catch((error: unknown) => error)) as HttpError).status).to.equal(503);
  });

  it('passes other errors through untouched', async () => {
    const { client, send } = stubClient();
    const boom = Object.assign(new Error('boom'), { name: 'InternalServerError' });
    send.rejects(boom);
    expect(await transactWrite(client, items).catch((error: unknown) => error)).to.equal(boom);
  });
});
