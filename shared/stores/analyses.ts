import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CallbackOutcome } from '../analysis/callback';
import type { DominantColor } from '../analysis/perceptualHash';
import type { Label } from '../analysis/labels';
import { batchDeleteKeys, partitionKeyPages, transactWrite } from './batch';
import { userPartition } from './keys';
import { mediaKey } from './mediaKeys';

/**
 * Analysis jobs. Table `media-library-<stage>-analyses`: pk = USER#<userId>, sk = ANALYSIS#<id>,
 * `ttl` 90 days after creation. Every state change is a conditional write, so duplicate
 * deliveries and racing workers cannot do anything twice:
 *   queued -> running (claim; or a takeover once the running worker's lease has expired)
 *   running -> succeeded | failed (only by the worker holding the lease, `runId`)
 *   running -> queued (the worker hit a passing failure and hands the job back)
 */
export type AnalysisStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface SimilarMedia {
  mediaId: string;
  distance: number;
}

export interface AnalysisResult {
  perceptualHash: string;
  dominantColors: DominantColor[];
  similarMedia: SimilarMedia[];
  labels: Label[] | null;
  labelsSource: 'rekognition' | 'disabled' | 'unsupported';
}

export interface AnalysisError {
  code: string;
  message: string;
}

export interface AnalysisRecord {
  id: string;
  userId: string;
  mediaId: string;
  status: AnalysisStatus;
  createdAt: string;
  updatedAt: string;
  callbackUrl?: string;
  /** How many times a worker has started it. */
  attempts: number;
  runId?: string;
  leaseExpiresAt?: string;
  result?: AnalysisResult;
  error?: AnalysisError;
  callback?: CallbackOutcome;
}

export const ANALYSIS_RETENTION_DAYS = 90;

/** The job's media item is gone, being deleted or no longer ready: the job was not written. */
export class MediaNoLongerReady extends Error {
  override readonly name = 'MediaNoLongerReady';
}

export interface AnalysisStore {
  /**
   * Writes a queued job. Where the store knows the media table, only while the job's media item
   * exists, is ready and is not being deleted, in the same transaction (MediaNoLongerReady
   * otherwise): an account deletion, which deletes the media items before the jobs, then finds
   * every job that was written.
   */
  create(record: AnalysisRecord): Promise<void>;
  get(userId: string, id: string): Promise<AnalysisRecord | undefined>;
  delete(userId: string, id: string): Promise<void>;
  /**
   * Takes the job for a run: from `queued`, or from `running` when that run's lease has
   * expired. Undefined when someone else holds it (or it is finished).
   */
  claim(record: AnalysisRecord, runId: string, leaseExpiresAt: string, now: string): Promise<AnalysisRecord | undefined>;
  /** Hands a claimed job back to `queued` (a passing failure; the retry claims it again). */
  release(record: AnalysisRecord, runId: string, now: string): Promise<void>;
  /** Ends a claimed run; false when this run no longer holds the job. */
  complete(record: AnalysisRecord, runId: string, outcome: { result: AnalysisResult } | { error: AnalysisError }, now: string): Promise<AnalysisRecord | undefined>;
  /** Marks a job failed if it is still in the state `record` shows (a stuck job found by a reader). */
  failIfUnchanged(record: AnalysisRecord, error: AnalysisError, now: string): Promise<AnalysisRecord | undefined>;
  /** Records how the callback went (nothing if the job was deleted meanwhile). */
  recordCallback(record: AnalysisRecord, outcome: CallbackOutcome): Promise<void>;
  /** Every job of a user, gone (account deletion). Returns how many. */
  deleteUserData(userId: string): Promise<number>;
}

type Item = Record<string, unknown>;

const key = (userId: string, id: string) => ({ pk: userPartition(userId), sk: `ANALYSIS#${id}` });

const FIELDS = ['id', 'userId', 'mediaId', 'status', 'createdAt', 'updatedAt', 'callbackUrl', 'attempts', 'runId', 'leaseExpiresAt', 'result', 'error', 'callback'] as const;

function toRecord(item: Item): AnalysisRecord {
  const record: Item = {};
  for (const field of FIELDS) if (item[field] !== undefined) record[field] = item[field];
  return record as unknown as AnalysisRecord;
}

const isConditionFailure = (error: unknown): boolean => (error as Error).name === 'ConditionalCheckFailedException';

/** `mediaTable`: where the jobs' media items live, checked by create. */
export function dynamoAnalysisStore(client: DynamoDBDocumentClient, tableName: string, options: { mediaTable?: string } = {}): AnalysisStore {
  async function conditionalUpdate(input: ConstructorParameters<typeof UpdateCommand>[0]): Promise<AnalysisRecord | undefined> {
    try {
      const { Attributes } = await client.send(new UpdateCommand({ ...input, ReturnValues: 'ALL_NEW' }));
      return toRecord(Attributes as Item);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  return {
    async create(record) {
      const ttl = Math.ceil(Date.parse(record.createdAt) / 1000) + ANALYSIS_RETENTION_DAYS * 86400;
      const put = { TableName: tableName, Item: { ...key(record.userId, record.id), ...record, ttl }, ConditionExpression: 'attribute_not_exists(pk)' };
      if (options.mediaTable === undefined) {
        await client.send(new PutCommand(put));
        return;
      }
      const codes = await transactWrite(client, [
        { Put: put },
        {
          ConditionCheck: {
            TableName: options.mediaTable,
            Key: mediaKey(record.userId, record.mediaId),
            ConditionExpression: '#status = :ready AND attribute_not_exists(deleting)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':ready': 'ready' },
          },
        },
      ]);
      if (codes?.[1] === 'ConditionalCheckFailed') throw new MediaNoLongerReady();
      if (codes !== undefined) throw new Error(`analysis ${record.id} already exists`);
    },

    async get(userId, id) {
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: key(userId, id), ConsistentRead: true }));
      return Item === undefined ? undefined : toRecord(Item);
    },

    async delete(userId, id) {
      await client.send(new DeleteCommand({ TableName: tableName, Key: key(userId, id) }));
    },

    claim(record, runId, leaseExpiresAt, now) {
      return conditionalUpdate({
        TableName: tableName,
        Key: key(record.userId, record.id),
        UpdateExpression: 'SET #status = :running, runId = :runId, leaseExpiresAt = :lease, updatedAt = :now ADD attempts :one',
        ConditionExpression: '#status = :queued OR (#status = :running AND leaseExpiresAt < :now)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':running': 'running', ':queued': 'queued', ':runId': runId, ':lease': leaseExpiresAt, ':now': now, ':one': 1 },
      });
    },

    async release(record, runId, now) {
      await conditionalUpdate({
        TableName: tableName,
        Key: key(record.userId, record.id),
        UpdateExpression: 'SET #status = :queued, updatedAt = :now REMOVE runId, leaseExpiresAt',
        ConditionExpression: '#status = :running AND runId = :runId',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':queued': 'queued', ':running': 'running', ':runId': runId, ':now': now },
      });
    },

    complete(record, runId, outcome, now) {
      const succeeded = 'result' in outcome;
      return conditionalUpdate({
        TableName: tableName,
        Key: key(record.userId, record.id),
        UpdateExpression: `SET #status = :status, ${succeeded ? '#result = :value' : '#error = :value'}, updatedAt = :now REMOVE runId, leaseExpiresAt`,
        ConditionExpression: '#status = :running AND runId = :runId',
        ExpressionAttributeNames: { '#status': 'status', [succeeded ? '#result' : '#error']: succeeded ? 'result' : 'error' },
        ExpressionAttributeValues: {
          ':status': succeeded ? 'succeeded' : 'failed',
          ':value': succeeded ? outcome.result : outcome.error,
          ':running': 'running',
          ':runId': runId,
          ':now': now,
        },
      });
    },

    failIfUnchanged(record, error, now) {
      return conditionalUpdate({
        TableName: tableName,
        Key: key(record.userId, record.id),
        UpdateExpression: 'SET #status = :failed, #error = :error, updatedAt = :now REMOVE runId, leaseExpiresAt',
        ConditionExpression: '#status = :status AND updatedAt = :updatedAt',
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
        ExpressionAttributeValues: { ':failed': 'failed', ':error': error, ':now': now, ':status': record.status, ':updatedAt': record.updatedAt },
      });
    },

    async recordCallback(record, outcome) {
      await conditionalUpdate({
        TableName: tableName,
        Key: key(record.userId, record.id),
        UpdateExpression: 'SET #callback = :outcome',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#callback': 'callback' },
        ExpressionAttributeValues: { ':outcome': outcome },
      });
    },

    async deleteUserData(userId) {
      let deleted = 0;
      for await (const keys of partitionKeyPages(client, tableName, userPartition(userId))) {
        await batchDeleteKeys(client, tableName, keys);
        deleted += keys.length;
      }
      return deleted;
    },
  };
}
