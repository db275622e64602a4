import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { connectionOf, connectionStoreContract } from '../../local/test/contracts/connectionStore';
import { localStack } from '../../local/test/stack';
import { dynamo } from '../aws/dynamo';
import { requireEnv } from '../config/env';
import { dynamoConnectionStore } from './connections';
import { connectionOwnerKey, userConnectionKey } from './keys';

describe('ConnectionStore contract: DynamoDB (DynamoDB Local)', function () {
  this.timeout(60_000);
  before(async () => {
    await localStack();
  });

  connectionStoreContract(async () => dynamoConnectionStore(dynamo, requireEnv('CONNECTIONS_TABLE')));

  describe('items', () => {
    const table = requireEnv('CONNECTIONS_TABLE');
    const item = async (key: Record<string, string>) => (await dynamo.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;

    it('writes the connection under its user and an owner record under its id, both expiring with it (TTL)', async () => {
      const store = dynamoConnectionStore(dynamo, table);
      const connection = connectionOf(ulid(), new Date());
      await store.add(connection, 10);
      const ttl = Math.ceil(Date.parse(connection.expiresAt) / 1000);
      expect(await item(userConnectionKey(connection.userId, connection.id))).to.deep.equal({ ...userConnectionKey(connection.userId, connection.id), ...connection, ttl });
      expect(await item(connectionOwnerKey(connection.id))).to.deep.equal({ ...connectionOwnerKey(connection.id), userId: connection.userId, ttl });

      await store.remove(connection.id);
      expect(await item(userConnectionKey(connection.userId, connection.id))).to.equal(undefined);
      expect(await item(connectionOwnerKey(connection.id))).to.equal(undefined);
    });

    it('forgets an owner record left without its connection (TTL removed one before the other): remove answers undefined', async () => {
      const store = dynamoConnectionStore(dynamo, table);
      const connection = connectionOf(ulid(), new Date());
      await dynamo.send(new PutCommand({ TableName: table, Item: { ...connectionOwnerKey(connection.id), userId: connection.userId, ttl: 1 } }));
      expect(await store.remove(connection.id)).to.equal(undefined);
      expect(await item(connectionOwnerKey(connection.id))).to.equal(undefined);
    });
  });
});
