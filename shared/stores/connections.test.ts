import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { connectionOf, connectionStoreContract } from '../../local/test/contracts/connectionStore';
import { memoryConnectionStore } from '../../local/test/fakes';
import { dynamoConnectionStore } from './connections';

describe('ConnectionStore contract: in-memory fake used by unit tests', () => connectionStoreContract(async () => memoryConnectionStore()));

describe('dynamoConnectionStore.ofUser (pages)', () => {
  it('reads every page of the user’s connections (a page may hold none after the expiry filter) and lists them oldest first (ties by id)', async () => {
    const userId = ulid();
    const now = new Date();
    const [oldest, middle, newest] = [connectionOf(userId, now, 3000), connectionOf(userId, now, 2000, { id: `B${ulid().slice(-14)}=` }), connectionOf(userId, now, 1000)];
    const tie = connectionOf(userId, now, 2000, { id: `A${ulid().slice(-14)}=` });
    const item = (connection: typeof oldest) => ({ pk: `USER#${userId}`, sk: `CONNECTION#${connection.id}`, ...connection, ttl: 1 });
    const pages = [
      { Items: [item(newest), item(oldest)], LastEvaluatedKey: { pk: `USER#${userId}`, sk: `CONNECTION#${oldest.id}` } },
      { LastEvaluatedKey: { pk: `USER#${userId}`, sk: 'CONNECTION#~' } },
      { Items: [item(middle), item(tie)] },
    ];
    const queries: Array<Record<string, unknown>> = [];
    const client = {
      send: async (command: { input: Record<string, unknown> }) => {
        queries.push(command.input);
        return pages[queries.length - 1];
      },
    } as unknown as DynamoDBDocumentClient;

    expect(await dynamoConnectionStore(client, 'connections').ofUser(userId, now)).to.deep.equal([oldest, tie, middle, newest]);
    expect(queries.map((query) => query['ExclusiveStartKey'])).to.deep.equal([undefined, pages[0]?.LastEvaluatedKey, pages[1]?.LastEvaluatedKey]);
    expect(queries.every((query) => query['ConsistentRead'] === true), 'a connection just opened is listed').to.equal(true);
  });
});
