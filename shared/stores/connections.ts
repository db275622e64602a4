import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { transactWrite } from './batch';
import { CONNECTION_PREFIX, connectionOwnerKey, userConnectionKey, userPartition } from './keys';

/** An open WebSocket connection of the live-updates API (docs/live.md). */
export interface ConnectionRecord {
  id: string;
  userId: string;
  /** The session whose access token opened it: it closes when that session ends. */
  sessionId: string;
  connectedAt: string;
  /** API Gateway ends every connection after 2 hours; DynamoDB's TTL removes what was left behind. */
  expiresAt: string;
  /**
   * The WebSocket API that holds it (its Management API endpoint, LIVE_ENDPOINT). One per stage
   * on AWS; locally several serverless-offline stacks share one DynamoDB, each with its own API.
   */
  endpoint: string;
}

export interface ConnectionStore {
  /**
   * Records a new connection. A user holds at most `cap`: the oldest beyond it are removed here
   * and returned, for the caller to close (a tab long gone is the likeliest to be the oldest).
   */
  add(connection: ConnectionRecord, cap: number): Promise<ConnectionRecord[]>;
  /** Forgets a connection by its id alone ($disconnect); the record it was, if it was known. */
  remove(connectionId: string): Promise<ConnectionRecord | undefined>;
  /** Forgets a connection whose owner is known (a push found it gone). */
  removeOf(userId: string, connectionId: string): Promise<void>;
  /** The user's connections that have not expired, oldest first. */
  ofUser(userId: string, now: Date): Promise<ConnectionRecord[]>;
}

type ConnectionItem = ConnectionRecord & { pk: string; sk: string; ttl: number };

const toRecord = ({ id, userId, sessionId, connectedAt, expiresAt, endpoint }: ConnectionItem): ConnectionRecord => ({ id, userId, sessionId, connectedAt, expiresAt, endpoint });

export function dynamoConnectionStore(client: DynamoDBDocumentClient, tableName: string): ConnectionStore {
  const forget = async (userId: string, connectionId: string): Promise<void> => {
    await transactWrite(client, [
      { Delete: { TableName: tableName, Key: userConnectionKey(userId, connectionId) } },
      { Delete: { TableName: tableName, Key: connectionOwnerKey(connectionId) } },
    ]);
  };

  const store: ConnectionStore = {
    async add(connection, cap) {
      const ttl = Math.ceil(Date.parse(connection.expiresAt) / 1000);
      const codes = await transactWrite(client, [
        { Put: { TableName: tableName, Item: { ...userConnectionKey(connection.userId, connection.id), ...connection, ttl }, ConditionExpression: 'attribute_not_exists(pk)' } },
        { Put: { TableName: tableName, Item: { ...connectionOwnerKey(connection.id), userId: connection.userId, ttl }, ConditionExpression: 'attribute_not_exists(pk)' } },
      ]);
      if (codes !== undefined) throw new Error(`connection ${connection.id} is already recorded`);
      const open = await store.ofUser(connection.userId, new Date(connection.connectedAt));
      const evicted = open.filter((record) => record.id !== connection.id).slice(0, Math.max(0, open.length - cap));
      for (const record of evicted) await forget(record.userId, record.id);
      return evicted;
    },

    async remove(connectionId) {
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: connectionOwnerKey(connectionId), ConsistentRead: true }));
      if (Item === undefined) return undefined;
      const userId = Item['userId'] as string;
      const { Item: connection } = await client.send(new GetCommand({ TableName: tableName, Key: userConnectionKey(userId, connectionId), ConsistentRead: true }));
      await forget(userId, connectionId);
      return connection === undefined ? undefined : toRecord(connection as ConnectionItem);
    },

    async removeOf(userId, connectionId) {
      await forget(userId, connectionId);
    },

    async ofUser(userId, now) {
      const records: ConnectionRecord[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            FilterExpression: 'expiresAt > :now',
            ExpressionAttributeValues: { ':pk': userPartition(userId), ':prefix': CONNECTION_PREFIX, ':now': now.toISOString() },
            ConsistentRead: true,
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
        records.push(...(page.Items ?? []).map((item) => toRecord(item as ConnectionItem)));
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
      return records.sort((a, b) => (a.connectedAt < b.connectedAt ? -1 : a.connectedAt > b.connectedAt ? 1 : a.id < b.id ? -1 : 1));
    },
  };
  return store;
}
