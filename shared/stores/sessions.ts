import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchDeleteKeys, partitionKeyPages, transactWrite } from './batch';
import { decodeCursor, encodeCursor } from './cursor';
import { credentialsKey, SESSION_PREFIX, sessionKey, userPartition } from './keys';
import { credentialsUnchanged, type Credentials } from './users';

export interface SessionRecord {
  id: string;
  userId: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  remember: boolean;
  userAgent: string;
  /** SHA-256 of the refresh-token secret currently valid for this session. */
  currentHash: string;
  /** Hashes of the last rotated-away secrets: presenting one of them is token reuse. */
  previousHashes: string[];
}

export interface SessionPage {
  items: SessionRecord[];
  nextCursor: string | null;
}

/** How many rotated-away hashes a session remembers for reuse detection. */
export const REMEMBERED_HASHES = 20;

/** The credentials a login verified the password against. */
export type VerifiedCredentials = Pick<Credentials, 'email' | 'userId' | 'generation'>;

/**
 * The credentials a login verified changed (a password change) or went (account deletion)
 * before its session was written: the session was not written.
 */
export class CredentialsChanged extends Error {
  override readonly name = 'CredentialsChanged';
}

export interface SessionStore {
  /**
   * Writes a new session. With `verified`, only while those credentials are unchanged, in one
   * transaction (CredentialsChanged otherwise): a password change or an account deletion then
   * either sees the session (and revokes it) or makes its write fail, whatever the interleaving.
   */
  create(session: SessionRecord, verified?: VerifiedCredentials): Promise<void>;
  get(userId: string, sessionId: string): Promise<SessionRecord | undefined>;
  /** Replaces the refresh hash if it is still `expectedHash`; false when another refresh won. */
  rotate(session: SessionRecord, newHash: string, lastUsedAt: string): Promise<boolean>;
  /** Records use of the session, at most once per `minIntervalMs` (a conditional write). */
  touch(userId: string, sessionId: string, now: Date, minIntervalMs: number): Promise<void>;
  /** The user's unexpired sessions, newest first. */
  list(userId: string, limit: number, cursor: string | undefined, now: Date): Promise<SessionPage>;
  /** True if the session existed. */
  delete(userId: string, sessionId: string): Promise<boolean>;
  /** Deletes every session of the user except `keep`; returns how many went. */
  deleteAll(userId: string, keep?: string): Promise<number>;
}

type SessionItem = SessionRecord & { pk: string; sk: string; ttl: number };

const toRecord = ({ id, userId, createdAt, lastUsedAt, expiresAt, remember, userAgent, currentHash, previousHashes }: SessionItem): SessionRecord => ({
  id,
  userId,
  createdAt,
  lastUsedAt,
  expiresAt,
  remember,
  userAgent,
  currentHash,
  previousHashes: previousHashes ?? [],
});

const isConditionFailure = (error: unknown): boolean => (error as Error).name === 'ConditionalCheckFailedException';

/** `usersTable`: where the credentials live, for sessions created against verified credentials. */
export function dynamoSessionStore(client: DynamoDBDocumentClient, tableName: string, options: { usersTable?: string } = {}): SessionStore {
  return {
    async create(session, verified) {
      // The TTL lets DynamoDB remove expired sessions; readers still check expiresAt, since
      // TTL deletion can lag behind by up to a couple of days.
      const item: SessionItem = { ...sessionKey(session.userId, session.id), ...session, ttl: Math.ceil(Date.parse(session.expiresAt) / 1000) };
      if (verified === undefined) {
        await client.send(new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
        return;
      }
      if (options.usersTable === undefined) throw new Error('dynamoSessionStore needs usersTable to check credentials');
      const codes = await transactWrite(client, [
        { Put: { TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
        { ConditionCheck: { TableName: options.usersTable, Key: credentialsKey(verified.email), ...credentialsUnchanged(verified) } },
      ]);
      if (codes?.[1] === 'ConditionalCheckFailed') throw new CredentialsChanged();
      if (codes !== undefined) throw new Error(`session ${session.id} already exists`);
    },

    async get(userId, sessionId) {
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: sessionKey(userId, sessionId), ConsistentRead: true }));
      return Item === undefined ? undefined : toRecord(Item as SessionItem);
    },

    async rotate(session, newHash, lastUsedAt) {
      const previousHashes = [session.currentHash, ...session.previousHashes].slice(0, REMEMBERED_HASHES);
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: sessionKey(session.userId, session.id),
            UpdateExpression: 'SET currentHash = :new, previousHashes = :previous, lastUsedAt = :lastUsedAt',
            ConditionExpression: 'currentHash = :expected',
            ExpressionAttributeValues: { ':new': newHash, ':previous': previousHashes, ':lastUsedAt': lastUsedAt, ':expected': session.currentHash },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async touch(userId, sessionId, now, minIntervalMs) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: sessionKey(userId, sessionId),
            UpdateExpression: 'SET lastUsedAt = :now',
            ConditionExpression: 'attribute_exists(pk) AND lastUsedAt < :stale',
            ExpressionAttributeValues: { ':now': now.toISOString(), ':stale': new Date(now.getTime() - minIntervalMs).toISOString() },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },

    async list(userId, limit, cursor, now) {
      const partition = userPartition(userId);
      const startKey = decodeCursor(cursor, ['pk', 'sk'], (key) => key['pk'] === partition && key['sk']?.startsWith(SESSION_PREFIX) === true);
      const { Items, LastEvaluatedKey } = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          FilterExpression: 'expiresAt > :now',
          ExpressionAttributeValues: { ':pk': partition, ':prefix': SESSION_PREFIX, ':now': now.toISOString() },
          ScanIndexForward: false,
          Limit: limit,
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      return { items: (Items ?? []).map((item) => toRecord(item as SessionItem)), nextCursor: encodeCursor(LastEvaluatedKey) };
    },

    async delete(userId, sessionId) {
      try {
        await client.send(new DeleteCommand({ TableName: tableName, Key: sessionKey(userId, sessionId), ConditionExpression: 'attribute_exists(pk)' }));
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async deleteAll(userId, keep) {
      let deleted = 0;
      for await (const page of partitionKeyPages(client, tableName, userPartition(userId), SESSION_PREFIX)) {
        const keys = page.filter((key) => key.sk !== (keep === undefined ? undefined : `${SESSION_PREFIX}${keep}`));
        await batchDeleteKeys(client, tableName, keys, { maxAttempts: 6 });
        deleted += keys.length;
      }
      return deleted;
    },
  };
}
