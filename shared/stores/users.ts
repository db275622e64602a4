import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ServiceUnavailable } from '../http/errors';
import { credentialsKey, loginThrottleKey, userKey } from './keys';

export interface UserProfile {
  id: string;
  email: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  /** `deleting` once DELETE /users/me has begun: login is already impossible. */
  status: 'active' | 'deleting';
}

export interface Credentials {
  email: string;
  userId: string;
  passwordHash: string;
  /**
   * Counts password changes. A session is written only while the credentials are still at the
   * generation its login verified (sessions.create), so no login that checked the old password
   * can start a session after a change has revoked the others.
   */
  generation: number;
}

export interface LoginThrottleState {
  failures: number;
  windowStartedAt: number;
  lockedUntil: number;
  lockouts: number;
  /** Optimistic-locking counter: concurrent failures must not overwrite each other. */
  version: number;
}

export interface LoginState {
  credentials?: Credentials;
  throttle?: LoginThrottleState;
}

export class EmailTaken extends Error {
  override readonly name = 'EmailTaken';
}

export interface UserStore {
  /** Creates profile and credentials atomically; EmailTaken if the email is registered. */
  create(profile: UserProfile, passwordHash: string): Promise<void>;
  getProfile(userId: string): Promise<UserProfile | undefined>;
  getCredentials(email: string): Promise<Credentials | undefined>;
  /** Credentials and login throttle of an email, in one round trip. */
  getLoginState(email: string): Promise<LoginState>;
  /**
   * Saves the state computed from the one read (`state.version` is the version read; 0: there was
   * none); false when another attempt or a success's clear changed it first (the caller re-reads).
   */
  saveThrottle(email: string, state: LoginThrottleState, ttlEpochSeconds: number): Promise<boolean>;
  clearThrottle(email: string): Promise<void>;
  updateName(userId: string, name: string, updatedAt: string): Promise<UserProfile | undefined>;
  /**
   * Replaces the hash and moves the generation on, only from the generation `verified` was read
   * at; false when another change got there first (the password verified is no longer current).
   */
  changePassword(verified: Credentials, passwordHash: string): Promise<boolean>;
  /** Removes the credentials (no more logins) and marks the profile `deleting`, atomically. */
  beginDeletion(profile: UserProfile): Promise<void>;
  deleteProfile(userId: string): Promise<void>;
}

type ProfileItem = UserProfile & { pk: string; sk: string };
type CredentialsItem = Omit<Credentials, 'generation'> & { generation?: number; pk: string; sk: string };
type ThrottleItem = LoginThrottleState & { pk: string; sk: string; ttl: number };

const toProfile = ({ id, email, name, createdAt, updatedAt, status }: ProfileItem): UserProfile => ({ id, email, name, createdAt, updatedAt, status });
// Credentials written before generations existed are at generation 0.
const toCredentials = ({ email, userId, passwordHash, generation }: CredentialsItem): Credentials => ({ email, userId, passwordHash, generation: generation ?? 0 });

/**
 * The condition "these credentials are still the account's, unchanged since `verified` was read":
 * false once the password changed (generation moved) or the account is being deleted (item gone).
 * Items from before generations existed have no attribute and count as generation 0.
 */
export function credentialsUnchanged(verified: Pick<Credentials, 'userId' | 'generation'>): { ConditionExpression: string; ExpressionAttributeValues: Record<string, unknown> } {
  return {
    ConditionExpression:
      verified.generation === 0 ? 'userId = :userId AND (attribute_not_exists(generation) OR generation = :generation)' : 'userId = :userId AND generation = :generation',
    ExpressionAttributeValues: { ':userId': verified.userId, ':generation': verified.generation },
  };
}

const toThrottle = ({ failures, windowStartedAt, lockedUntil, lockouts, version }: ThrottleItem): LoginThrottleState => ({
  failures,
  windowStartedAt,
  lockedUntil,
  lockouts,
  version,
});

function cancellationCodes(error: unknown): string[] | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  return (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function dynamoUserStore(client: DynamoDBDocumentClient, tableName: string): UserStore {
  return {
    async create(profile, passwordHash) {
      // Uniqueness comes from the condition on the credentials item, inside one transaction
      // with the profile: concurrent sign-ups with one email cannot both succeed.
      const command = new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tableName,
              Item: { ...credentialsKey(profile.email), email: profile.email, userId: profile.id, passwordHash, generation: 0 } satisfies CredentialsItem,
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: tableName,
              Item: { ...userKey(profile.id), ...profile } satisfies ProfileItem,
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      });
      for (let attempt = 1; ; attempt++) {
        try {
          await client.send(command);
          return;
        } catch (error) {
          const codes = cancellationCodes(error);
          if (codes?.[0] === 'ConditionalCheckFailed') throw new EmailTaken();
          // Another transaction on the same email is in flight: once it settles, the
          // condition decides. Retry briefly instead of failing the request.
          if (codes?.includes('TransactionConflict') === true && attempt < 6) {
            await pause(20 * attempt + Math.random() * 30);
            continue;
          }
          if (codes !== undefined) throw new ServiceUnavailable(1);
          throw error;
        }
      }
    },

    async getProfile(userId) {
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: userKey(userId), ConsistentRead: true }));
      return Item === undefined ? undefined : toProfile(Item as ProfileItem);
    },

    async getCredentials(email) {
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: credentialsKey(email), ConsistentRead: true }));
      return Item === undefined ? undefined : toCredentials(Item as CredentialsItem);
    },

    async getLoginState(email) {
      const keys = [credentialsKey(email), loginThrottleKey(email)];
      let pending: Record<string, unknown>[] = keys;
      const found: Record<string, unknown>[] = [];
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= 5) throw new ServiceUnavailable(1);
        if (attempt > 0) await pause(25 * 2 ** attempt);
        const { Responses, UnprocessedKeys } = await client.send(
          new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        found.push(...(Responses?.[tableName] ?? []));
        pending = (UnprocessedKeys?.[tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
      const credentials = found.find((item) => item['sk'] === 'CREDENTIALS') as CredentialsItem | undefined;
      const throttle = found.find((item) => item['sk'] === 'THROTTLE') as ThrottleItem | undefined;
      return {
        ...(credentials === undefined ? {} : { credentials: toCredentials(credentials) }),
        ...(throttle === undefined ? {} : { throttle: toThrottle(throttle) }),
      };
    },

    async saveThrottle(email, state, ttl) {
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...loginThrottleKey(email), ...state, version: state.version + 1, ttl } satisfies ThrottleItem,
            // Not `attribute_not_exists OR version`: a state read before a clear must not be saved over it.
            ...(state.version === 0
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : { ConditionExpression: 'version = :version', ExpressionAttributeValues: { ':version': state.version } }),
          }),
        );
        return true;
      } catch (error) {
        if ((error as Error).name === 'ConditionalCheckFailedException') return false;
        throw error;
      }
    },

    async clearThrottle(email) {
      await client.send(new DeleteCommand({ TableName: tableName, Key: loginThrottleKey(email) }));
    },

    async updateName(userId, name, updatedAt) {
      try {
        const { Attributes } = await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: userKey(userId),
            UpdateExpression: 'SET #name = :name, updatedAt = :updatedAt',
            ConditionExpression: 'attribute_exists(pk) AND #status = :active',
            ExpressionAttributeNames: { '#name': 'name', '#status': 'status' },
            ExpressionAttributeValues: { ':name': name, ':updatedAt': updatedAt, ':active': 'active' },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return toProfile(Attributes as ProfileItem);
      } catch (error) {
        if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
        throw error;
      }
    },

    async changePassword(verified, passwordHash) {
      const unchanged = credentialsUnchanged(verified);
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: credentialsKey(verified.email),
            UpdateExpression: 'SET passwordHash = :hash, generation = :next',
            ConditionExpression: unchanged.ConditionExpression,
            ExpressionAttributeValues: { ...unchanged.ExpressionAttributeValues, ':hash': passwordHash, ':next': verified.generation + 1 },
          }),
        );
        return true;
      } catch (error) {
        if ((error as Error).name === 'ConditionalCheckFailedException') return false;
        throw error;
      }
    },

    async beginDeletion(profile) {
      await client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: tableName,
                Key: credentialsKey(profile.email),
                ConditionExpression: 'attribute_not_exists(pk) OR userId = :userId',
                ExpressionAttributeValues: { ':userId': profile.id },
              },
            },
            {
              Update: {
                TableName: tableName,
                Key: userKey(profile.id),
                UpdateExpression: 'SET #status = :deleting',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':deleting': 'deleting' },
              },
            },
          ],
        }),
      );
    },

    async deleteProfile(userId) {
      await client.send(new DeleteCommand({ TableName: tableName, Key: userKey(userId) }));
    },
  };
}
