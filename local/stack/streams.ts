/**
 * Lambda's event source mapping for DynamoDB streams, locally. serverless-offline does not run
 * `stream` events, so this reads every `AWS::Lambda::EventSourceMapping` of the packaged template
 * whose source is a table's stream and does what Lambda's poller does on AWS:
 *
 * - reads each shard about 4 times a second, signed as the function (Lambda reads the stream with
 *   the function's execution role: a role without the stream permissions fails here as there;
 *   only the stream's ARN is looked up as tooling, as CloudFormation resolves it at deploy time);
 * - invokes the function synchronously (RequestResponse) through serverless-offline's Invoke API
 *   with batches of at most BatchSize records (and 6 MB), in order per shard, in Lambda's shape:
 *   the stream's ARN in the local account and region, ApproximateCreationDateTime to the second,
 *   TTL deletions as REMOVE by the DynamoDB service (DynamoDB Local gives neither: see below);
 * - on a function error retries the batch; with ReportBatchItemFailures it restarts from the
 *   lowest reported sequence number (the records before it are done); after MaximumRetryAttempts
 *   retries, or for records older than MaximumRecordAgeInSeconds, it sets the batch aside (says
 *   so in one line: there is no SQS stand-in to send the on-failure record to) and moves on. A
 *   function that cannot be invoked at all (serverless-offline down) counts no retry: the batch
 *   waits, as on AWS, until it is invoked or its records are too old;
 * - starts at LATEST (the end of each shard when it starts) or TRIM_HORIZON, follows a closed
 *   shard's children (DynamoDB Local, like DynamoDB, rolls a stream's shard over every 4 hours),
 *   and replaces an expired iterator (15 minutes) by one after the last record it handled.
 *
 * AWS: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type _Record as EngineRecord,
  type AttributeValue as EngineAttributeValue,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { AttributeValue as LambdaAttributeValue, DynamoDBRecord } from 'aws-lambda';
import { LOCAL_SECRET_ACCESS_KEY } from '../../shared/aws/localCredentials';
import { localStreamArn } from '../gateway/actions';
import { IntrinsicResolver, LOCAL_ACCOUNT } from '../gateway/roles';
import type { PackagedTemplate } from '../gateway/template';
import { TOOLING_CREDENTIALS } from './credentials';

export interface StreamPollers {
  /** Ends every poller: no new read or invocation starts; waits for the ones under way. */
  stop(): Promise<void>;
  /**
   * Resolves once every shard has been read to its end since the call, each record read handled
   * (delivered, or set aside): what was written before the call has reached the function (tests).
   */
  idle(): Promise<void>;
}

export interface StreamPollersOptions {
  /** The packaged template (packagedTemplate('local') in local/gateway/template.ts). */
  template: PackagedTemplate;
  /** DynamoDB (and its Streams API): the local AWS gateway in front of DynamoDB Local. */
  dynamodbEndpoint: string;
  /** serverless-offline's Lambda Invoke endpoint, http://127.0.0.1:<port>. */
  lambdaEndpoint: string;
  /** What the pollers say: failed invocations, records set aside, problems reading a stream. */
  onLine?: (line: string) => void;
  /** How often a drained shard is read again: Lambda polls each shard about 4 times a second. */
  pollIntervalMs?: number;
  /** The clock records' age is measured by (MaximumRecordAgeInSeconds); tests move it on. */
  now?: () => number;
}

/** An event source mapping of a table's stream, read from the packaged template. */
export interface StreamMapping {
  logicalId: string;
  /** The deployed function name (`media-library-local-pushChanges`): what is invoked, and who reads the stream. */
  functionName: string;
  tableLogicalId: string;
  tableName: string;
  enabled: boolean;
  batchSize: number;
  startingPosition: 'LATEST' | 'TRIM_HORIZON';
  /** -1: retried until the records expire. */
  maximumRetryAttempts: number;
  /** -1: no age limit. */
  maximumRecordAgeInSeconds: number;
  reportBatchItemFailures: boolean;
  bisectBatchOnFunctionError: boolean;
  /** The on-failure destination's ARN, if any. */
  onFailure: string | undefined;
  /** The function's timeout in seconds (bounds how long an invocation can take). */
  functionTimeoutSeconds: number;
}

type Json = unknown;
const isRecord = (value: Json): value is Record<string, Json> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** `Fn::GetAtt [X, Attr]` or `Fn::GetAtt: X.Attr` as [X, Attr]. */
function getAtt(value: Json): [string, string] | undefined {
  if (!isRecord(value)) return undefined;
  const target = value['Fn::GetAtt'];
  if (Array.isArray(target) && typeof target[0] === 'string' && typeof target[1] === 'string') return [target[0], target[1]];
  if (typeof target === 'string' && target.includes('.')) return [target.slice(0, target.indexOf('.')), target.slice(target.indexOf('.') + 1)];
  return undefined;
}

const numberOr = (value: Json, fallback: number): number => (typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : fallback);

/** The deployed name of the function an event source mapping names (GetAtt Arn, Ref, a name or an ARN). */
function functionNameOf(template: PackagedTemplate, value: Json): { name: string; resource?: string } {
  const logicalId = getAtt(value)?.[0] ?? (isRecord(value) && typeof value['Ref'] === 'string' ? value['Ref'] : undefined);
  if (logicalId !== undefined) {
    const name = template.Resources[logicalId]?.Properties?.['FunctionName'];
    if (typeof name !== 'string') throw new Error(`function ${logicalId} has no FunctionName in the packaged template`);
    return { name, resource: logicalId };
  }
  if (typeof value === 'string') return { name: value.includes(':function:') ? (value.split(':function:')[1]?.split(':')[0] ?? value) : value };
  throw new Error(`cannot tell which function ${JSON.stringify(value)} names`);
}

/**
 * The event source mappings of the template that read a table's stream of the same template
 * (`EventSourceArn: Fn::GetAtt [<Table>, StreamArn]`), with AWS's defaults for what they omit.
 * `skipped` names the other mappings (not polled locally).
 */
export function streamMappings(template: PackagedTemplate): { mappings: StreamMapping[]; skipped: string[] } {
  const mappings: StreamMapping[] = [];
  const skipped: string[] = [];
  const resolver = new IntrinsicResolver(template);
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const properties = resource.Properties ?? {};
    const source = getAtt(properties['EventSourceArn']);
    const table = source === undefined ? undefined : template.Resources[source[0]];
    if (source?.[1] !== 'StreamArn' || table?.Type !== 'AWS::DynamoDB::Table') {
      skipped.push(logicalId);
      continue;
    }
    const tableName = table.Properties?.['TableName'];
    if (typeof tableName !== 'string') throw new Error(`table ${source[0]} has no TableName in the packaged template`);
    const fn = functionNameOf(template, properties['FunctionName']);
    const startingPosition = properties['StartingPosition'];
    if (startingPosition !== 'LATEST' && startingPosition !== 'TRIM_HORIZON') {
      throw new Error(`${logicalId}: StartingPosition ${JSON.stringify(startingPosition)} (a DynamoDB stream starts at LATEST or TRIM_HORIZON)`);
    }
    const destination = isRecord(properties['DestinationConfig']) && isRecord(properties['DestinationConfig']['OnFailure']) ? properties['DestinationConfig']['OnFailure']['Destination'] : undefined;
    let onFailure: string | undefined;
    if (destination !== undefined) {
      try {
        onFailure = resolver.resolveString(destination);
      } catch {
        onFailure = JSON.stringify(destination);
      }
    }
    const responseTypes = properties['FunctionResponseTypes'];
    mappings.push({
      logicalId,
      functionName: fn.name,
      tableLogicalId: source[0],
      tableName,
      enabled: properties['Enabled'] !== false && properties['Enabled'] !== 'false',
      batchSize: numberOr(properties['BatchSize'], 100),
      startingPosition,
      maximumRetryAttempts: numberOr(properties['MaximumRetryAttempts'], -1),
      maximumRecordAgeInSeconds: numberOr(properties['MaximumRecordAgeInSeconds'], -1),
      reportBatchItemFailures: Array.isArray(responseTypes) && responseTypes.includes('ReportBatchItemFailures'),
      bisectBatchOnFunctionError: properties['BisectBatchOnFunctionError'] === true || properties['BisectBatchOnFunctionError'] === 'true',
      onFailure,
      functionTimeoutSeconds: numberOr(fn.resource === undefined ? undefined : template.Resources[fn.resource]?.Properties?.['Timeout'], 900),
    });
  }
  return { mappings, skipped };
}

/** Lambda's limit on a synchronous invocation's request: a batch is cut to fit it. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** GetRecords returns at most 1,000 records. */
const MAX_RECORDS_PER_READ = 1000;
/**
 * DynamoDB Local (2026-01-16) names a TTL deletion this way: its Java SDK's placeholder for an
 * operation type the SDK does not know, with no userIdentity. DynamoDB sends a REMOVE by the
 * DynamoDB service principal: Lambda's functions see that, so the poller restores it.
 */
const ENGINE_TTL_EVENT_NAME = 'UNKNOWN_TO_SDK_VERSION';
const TTL_IDENTITY = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** An attribute value as Lambda's JSON carries it (binary as base64). */
function lambdaValue(value: EngineAttributeValue): LambdaAttributeValue {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: lambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(lambdaValue) };
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  throw new Error(`unknown attribute value ${JSON.stringify(value)}`);
}

function lambdaImage(image: Record<string, EngineAttributeValue>): Record<string, LambdaAttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, lambdaValue(value)]));
}

const sequenceOf = (record: EngineRecord): string => record.dynamodb?.SequenceNumber ?? '';

/**
 * A stream record as Lambda hands it to the function (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html);
 * `createdAt` (epoch ms) in place of the engine's ApproximateCreationDateTime.
 */
export function lambdaRecord(record: EngineRecord, eventSourceARN: string, createdAt?: number): DynamoDBRecord {
  const stream = record.dynamodb ?? {};
  const expired = (record.eventName as string | undefined) === ENGINE_TTL_EVENT_NAME;
  const identity = record.userIdentity !== undefined ? { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId } : expired ? TTL_IDENTITY : undefined;
  return {
    eventID: record.eventID,
    eventName: expired ? 'REMOVE' : record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: LOCAL_ACCOUNT.region,
    dynamodb: {
      ...(stream.ApproximateCreationDateTime === undefined ? {} : { ApproximateCreationDateTime: Math.floor((createdAt ?? stream.ApproximateCreationDateTime.getTime()) / 1000) }),
      ...(stream.Keys === undefined ? {} : { Keys: lambdaImage(stream.Keys) }),
      ...(stream.NewImage === undefined ? {} : { NewImage: lambdaImage(stream.NewImage) }),
      ...(stream.OldImage === undefined ? {} : { OldImage: lambdaImage(stream.OldImage) }),
      SequenceNumber: stream.SequenceNumber,
      SizeBytes: stream.SizeBytes,
      StreamViewType: stream.StreamViewType,
    },
    eventSourceARN,
    ...(identity === undefined ? {} : { userIdentity: { ...identity } }),
  };
}

const messageOf = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
const range = (records: EngineRecord[]): string => {
  const first = sequenceOf(records[0] as EngineRecord);
  const last = sequenceOf(records[records.length - 1] as EngineRecord);
  return first === last ? first : `${first}–${last}`;
};
const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** Where a shard is read from, and what of it is handled. */
interface ShardCursor {
  shardId: string;
  /** Where to get an iterator before the next read (start, an expired iterator, a trimmed position). */
  position: { type: ShardIteratorType; sequenceNumber?: string } | undefined;
  iterator: string | undefined;
  /** The shard is closed and every record of it has been read (GetRecords gave no next iterator). */
  ended: boolean;
  /** Records read, not yet handled. */
  buffer: EngineRecord[];
  /** When each record not yet handled was first read (epoch ms), by sequence number. */
  firstRead: Map<string, number>;
  /** The sequence number of the last record handled (delivered or set aside). */
  checkpoint: string | undefined;
  /** Failed invocations of the batch at the head of the buffer. */
  failures: number;
  /**
   * The sizes of the next batches when a failed batch was split in two (BisectBatchOnFunctionError),
   * each half handled on its own, the first first; empty: batches of up to BatchSize.
   */
  splits: number[];
  /** The poll tick of the last read that found the shard drained with nothing left to handle. */
  drainedAt: number;
  /** The last problem said (not said again until it changes). */
  problem: string | undefined;
}

/** What the pollers of all mappings share: the poll clock idle() measures against, and stopping. */
class Shared {
  tick = 0;
  stopping = false;
  readonly cursors = new Set<ShardCursor>();
  private readonly waiters: Array<{ since: number; resolve: () => void }> = [];
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  readonly running = new Set<Promise<void>>();

  constructor(
    readonly say: (line: string) => void,
    readonly pollIntervalMs: number,
    readonly now: () => number,
  ) {}

  idle(): Promise<void> {
    const since = this.tick;
    return new Promise((resolve) => {
      this.waiters.push({ since, resolve });
      this.checkIdle();
    });
  }

  checkIdle(): void {
    for (const waiter of [...this.waiters]) {
      if (this.stopping || [...this.cursors].every((cursor) => cursor.drainedAt > waiter.since)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  /** Waits `ms`, or less if the pollers stop meanwhile. */
  sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleepers.delete(sleeper);
          resolve();
        }, ms),
        resolve,
      };
      this.sleepers.add(sleeper);
    });
  }

  run(work: Promise<void>): void {
    const tracked = work
      .catch((error: unknown) => this.say(`a stream poller failed: ${messageOf(error)}`))
      .finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const sleeper of this.sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.resolve();
    }
    this.sleepers.clear();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    this.checkIdle();
  }
}

/** One event source mapping: its stream's shards, read and handed to its function. */
class MappingPoller {
  private streamArn = '';
  private eventSourceArn = '';
  /** The shards read or being read (or passed over: closed before LATEST), and those read to their end. */
  private readonly known = new Set<string>();
  private readonly finished = new Set<string>();
  private readonly retryDelayMs: number;

  constructor(
    private readonly mapping: StreamMapping,
    private readonly shared: Shared,
    private readonly streams: DynamoDBStreamsClient,
    private readonly lambda: LambdaClient,
  ) {
    this.retryDelayMs = Math.max(shared.pollIntervalMs, 1000);
  }

  private get name(): string {
    return `${this.mapping.functionName} ← ${this.mapping.tableName}`;
  }

  /**
   * Finds the stream and where each shard is read from: with LATEST, the end of every open shard
   * now (before anything the caller writes next). Throws if the function's role cannot read it,
   * as CreateEventSourceMapping refuses a role without the stream permissions.
   */
  async start(tables: DynamoDBClient): Promise<void> {
    // CloudFormation resolves `Fn::GetAtt [Table, StreamArn]` at deploy time, not the role: so does local tooling.
    const { Table } = await tables.send(new DescribeTableCommand({ TableName: this.mapping.tableName })).catch((error: unknown) => {
      throw new Error(`${this.mapping.logicalId}: cannot find the stream of table ${this.mapping.tableName}: ${messageOf(error)}`, { cause: error });
    });
    if (Table?.LatestStreamArn === undefined || Table.StreamSpecification?.StreamEnabled !== true) {
      throw new Error(`${this.mapping.logicalId}: table ${this.mapping.tableName} has no stream`);
    }
    this.streamArn = Table.LatestStreamArn;
    this.eventSourceArn = localStreamArn(this.streamArn);
    let shards: Shard[];
    const cursors: ShardCursor[] = [];
    try {
      ({ shards } = await this.describe());
      if (this.mapping.startingPosition === 'LATEST') {
        for (const shard of shards) {
          if (shard.SequenceNumberRange?.EndingSequenceNumber !== undefined) {
            // Closed before the mapping started: everything in it is before LATEST.
            this.known.add(shard.ShardId as string);
            this.finished.add(shard.ShardId as string);
            continue;
          }
          const cursor = this.cursor(shard.ShardId as string, undefined);
          const { ShardIterator } = await this.streams.send(new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: cursor.shardId, ShardIteratorType: 'LATEST' }));
          cursor.iterator = ShardIterator;
          cursors.push(cursor);
        }
      } else {
        cursors.push(...this.startable(shards).map((shard) => this.cursor(shard.ShardId as string, { type: 'TRIM_HORIZON' })));
      }
    } catch (error) {
      throw new Error(
        `${this.mapping.logicalId}: ${this.mapping.functionName} cannot read the stream of table ${this.mapping.tableName} (${messageOf(error)}). ` +
          'Lambda reads a stream with the function’s execution role: it needs dynamodb:DescribeStream, dynamodb:GetShardIterator and dynamodb:GetRecords on the table’s StreamArn.',
        { cause: error },
      );
    }
    if (cursors.length === 0) this.shared.say(`${this.name}: the stream has no open shard (disabled?): nothing to read`);
    for (const cursor of cursors) this.begin(cursor);
  }

  private cursor(shardId: string, position: ShardCursor['position']): ShardCursor {
    return { shardId, position, iterator: undefined, ended: false, buffer: [], firstRead: new Map(), checkpoint: undefined, failures: 0, splits: [], drainedAt: -1, problem: undefined };
  }

  private begin(cursor: ShardCursor): void {
    this.known.add(cursor.shardId);
    this.shared.cursors.add(cursor);
    const { shared } = this;
    shared.run(
      (async () => {
        while (!shared.stopping) {
          try {
            await this.read(cursor);
            return;
          } catch (error) {
            // Not a failure of AWS's making: say it, and carry on from where the shard stands.
            shared.say(`${this.name}: unexpected error reading shard ${cursor.shardId}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
            await shared.sleep(this.retryDelayMs);
          }
        }
      })(),
    );
  }

  private async describe(): Promise<{ shards: Shard[]; status: string | undefined }> {
    const shards: Shard[] = [];
    let status: string | undefined;
    let start: string | undefined;
    do {
      const { StreamDescription } = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn, ...(start === undefined ? {} : { ExclusiveStartShardId: start }) }));
      shards.push(...(StreamDescription?.Shards ?? []));
      status = StreamDescription?.StreamStatus;
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start !== undefined);
    return { shards, status };
  }

  /** Shards not read yet whose parent is read to its end (or gone): Lambda reads a parent before its children. */
  private startable(shards: Shard[]): Shard[] {
    const listed = new Set(shards.map((shard) => shard.ShardId));
    return shards.filter((shard) => {
      if (shard.ShardId === undefined || this.shared.stopping) return false;
      const parent = shard.ParentShardId;
      return !this.known.has(shard.ShardId) && (parent === undefined || !listed.has(parent) || this.finished.has(parent));
    });
  }

  private report(cursor: ShardCursor, problem: string): void {
    if (cursor.problem === problem) return;
    cursor.problem = problem;
    this.shared.say(`${this.name}: ${problem}`);
  }

  private recovered(cursor: ShardCursor): void {
    if (cursor.problem === undefined) return;
    cursor.problem = undefined;
    this.shared.say(`${this.name}: reading shard ${cursor.shardId} again`);
  }

  /** One shard, read in order until it ends (then its children take over) or the pollers stop. */
  private async read(cursor: ShardCursor): Promise<void> {
    const { shared, mapping } = this;
    while (!shared.stopping) {
      if (cursor.position !== undefined) {
        try {
          const { type, sequenceNumber } = cursor.position;
          const { ShardIterator } = await this.streams.send(
            new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: cursor.shardId, ShardIteratorType: type, ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber }) }),
          );
          cursor.iterator = ShardIterator;
          cursor.ended = ShardIterator === undefined;
          cursor.position = undefined;
        } catch (error) {
          if (error instanceof TrimmedDataAccessException) {
            this.trimmed(cursor);
            continue;
          }
          this.report(cursor, `cannot get an iterator for shard ${cursor.shardId}: ${messageOf(error)}`);
          await shared.sleep(this.retryDelayMs);
          continue;
        }
      }
      if (!cursor.ended && cursor.iterator !== undefined && cursor.buffer.length < this.limit(cursor)) {
        const started = ++shared.tick;
        try {
          const { Records, NextShardIterator } = await this.streams.send(
            new GetRecordsCommand({ ShardIterator: cursor.iterator, Limit: Math.min(MAX_RECORDS_PER_READ, Math.max(1, mapping.batchSize - cursor.buffer.length)) }),
          );
          this.recovered(cursor);
          const readAt = shared.now();
          for (const record of Records ?? []) if (!cursor.firstRead.has(sequenceOf(record))) cursor.firstRead.set(sequenceOf(record), readAt);
          cursor.buffer.push(...(Records ?? []));
          cursor.iterator = NextShardIterator;
          cursor.ended = NextShardIterator === undefined;
          if ((Records ?? []).length === 0 && cursor.buffer.length === 0) {
            cursor.drainedAt = started;
            shared.checkIdle();
          }
        } catch (error) {
          if (error instanceof ExpiredIteratorException) {
            // Iterators last 15 minutes: read on after the last record handled (what was read past it is read again).
            cursor.position =
              cursor.checkpoint !== undefined
                ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: cursor.checkpoint }
                : cursor.buffer[0] !== undefined
                  ? { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: sequenceOf(cursor.buffer[0]) }
                  : { type: 'LATEST' };
            cursor.buffer = [];
            cursor.iterator = undefined;
            continue;
          }
          if (error instanceof TrimmedDataAccessException) {
            this.trimmed(cursor);
            continue;
          }
          this.report(cursor, `cannot read shard ${cursor.shardId}: ${messageOf(error)}`);
          if (cursor.buffer.length === 0) {
            await shared.sleep(this.retryDelayMs);
            continue;
          }
        }
      }
      if (shared.stopping) break;
      if (cursor.buffer.length > 0) {
        await this.deliver(cursor);
        continue;
      }
      if (cursor.ended) {
        await this.ended(cursor);
        return;
      }
      await shared.sleep(shared.pollIntervalMs);
    }
  }

  /** Records past the stream's 24-hour retention are gone: read on from the oldest there is. */
  private trimmed(cursor: ShardCursor): void {
    this.shared.say(`${this.name}: records of shard ${cursor.shardId} after ${cursor.checkpoint ?? 'the start'} were trimmed (24-hour retention) before they were handled; reading on from the oldest left`);
    cursor.position = { type: 'TRIM_HORIZON' };
    cursor.buffer = [];
    cursor.iterator = undefined;
  }

  /** A closed shard read to its end: its children (rollover) or nothing (stream disabled) come next. */
  private async ended(cursor: ShardCursor): Promise<void> {
    const { shared } = this;
    this.finished.add(cursor.shardId);
    while (!shared.stopping) {
      const started = ++shared.tick;
      try {
        const { shards, status } = await this.describe();
        const next = this.startable(shards);
        for (const shard of next) this.begin(this.cursor(shard.ShardId as string, { type: 'TRIM_HORIZON' }));
        if (next.length > 0) break;
        if (status === 'DISABLED' || status === 'DISABLING') {
          shared.say(`${this.name}: shard ${cursor.shardId} is closed and read to its end, and the stream is ${status}: nothing more to read`);
          break;
        }
        // Another open shard is being read already: this one's children, if any, come after it.
        if (shards.some((shard) => !this.finished.has(shard.ShardId as string))) break;
      } catch (error) {
        this.report(cursor, `cannot describe the stream after shard ${cursor.shardId} closed: ${messageOf(error)}`);
      }
      // The stream is on and its next shard is not listed yet: look again (nothing to read meanwhile).
      cursor.drainedAt = started;
      shared.checkIdle();
      await shared.sleep(this.retryDelayMs);
    }
    shared.cursors.delete(cursor);
    shared.checkIdle();
  }

  /** Invokes the function with the batch at the head of the shard, and acts on the outcome. */
  private async deliver(cursor: ShardCursor): Promise<void> {
    const { mapping, shared } = this;
    if (mapping.maximumRecordAgeInSeconds >= 0) {
      const now = shared.now();
      const tooOld = (record: EngineRecord): boolean => now - (this.createdAt(cursor, record) ?? now) > mapping.maximumRecordAgeInSeconds * 1000;
      let expired = 0;
      while (expired < Math.min(this.limit(cursor), cursor.buffer.length) && tooOld(cursor.buffer[expired] as EngineRecord)) expired += 1;
      if (expired > 0) {
        this.setAside(cursor, expired, `they are older than MaximumRecordAgeInSeconds (${mapping.maximumRecordAgeInSeconds} s)`);
        return;
      }
    }
    const { records, event } = this.batch(cursor);
    let output: InvokeCommandOutput;
    try {
      output = await this.lambda.send(new InvokeCommand({ FunctionName: mapping.functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(event) }));
    } catch (error) {
      // The function was not invoked at all (missing, throttled, the local runtime down): no retry
      // is counted; Lambda tries again until the records expire (MaximumRecordAgeInSeconds).
      this.report(cursor, `cannot invoke ${mapping.functionName}: ${messageOf(error)}`);
      await shared.sleep(this.retryDelayMs);
      return;
    }
    this.recovered(cursor);
    const outcome = this.outcome(output, records);
    if (outcome.failedFrom === records.length) {
      this.handled(cursor, records.length);
      return;
    }
    if (outcome.failedFrom > 0) this.handled(cursor, outcome.failedFrom);
    const failed = records.slice(outcome.failedFrom);
    if (outcome.functionError && mapping.bisectBatchOnFunctionError && failed.length > 1) {
      // Each half is tried on its own, the first first; splitting does not count as a retry.
      cursor.splits = [Math.ceil(failed.length / 2), Math.floor(failed.length / 2), ...cursor.splits.slice(1)];
      shared.say(`${this.name}: ${mapping.functionName} failed with ${plural(failed.length, 'record')} (${range(failed)}): ${outcome.reason}; split in two (BisectBatchOnFunctionError)`);
      return;
    }
    cursor.failures += 1;
    const retries = cursor.failures - 1;
    if (mapping.maximumRetryAttempts >= 0 && retries >= mapping.maximumRetryAttempts) {
      this.setAside(cursor, failed.length, `${mapping.functionName} failed with them after ${retries === 1 ? '1 retry' : `${retries} retries`} (MaximumRetryAttempts ${mapping.maximumRetryAttempts}): ${outcome.reason}`);
      return;
    }
    const budget = mapping.maximumRetryAttempts < 0 ? 'retrying until they expire' : `retry ${retries + 1} of ${mapping.maximumRetryAttempts}`;
    shared.say(`${this.name}: ${mapping.functionName} failed with ${plural(failed.length, 'record')} (${range(failed)}): ${outcome.reason}; ${budget}`);
    await shared.sleep(shared.pollIntervalMs);
  }

  /**
   * When the record was made (epoch ms). DynamoDB gives it to the second; DynamoDB Local rounds it
   * down to the minute: within that minute, the time the poller first read it (a poll or so after
   * the write) stands in for the second.
   */
  private createdAt(cursor: ShardCursor, record: EngineRecord): number | undefined {
    const engine = record.dynamodb?.ApproximateCreationDateTime?.getTime();
    const firstRead = cursor.firstRead.get(sequenceOf(record));
    if (engine === undefined || firstRead === undefined || engine % 60_000 !== 0) return engine;
    return Math.min(Math.max(firstRead, engine), engine + 59_999);
  }

  /** The size of the next batch: BatchSize, or the half of a split batch tried next. */
  private limit(cursor: ShardCursor): number {
    return cursor.splits[0] ?? this.mapping.batchSize;
  }

  /** The records to invoke with (at most the cursor's limit, within Lambda's payload limit) and the event. */
  private batch(cursor: ShardCursor): { records: EngineRecord[]; event: string } {
    const records: EngineRecord[] = [];
    const parts: string[] = [];
    let size = '{"Records":[]}'.length;
    for (const record of cursor.buffer.slice(0, this.limit(cursor))) {
      const part = JSON.stringify(lambdaRecord(record, this.eventSourceArn, this.createdAt(cursor, record)));
      const grown = size + Buffer.byteLength(part) + (parts.length > 0 ? 1 : 0);
      if (grown > MAX_PAYLOAD_BYTES && parts.length > 0) break;
      records.push(record);
      parts.push(part);
      size = grown;
    }
    return { records, event: `{"Records":[${parts.join(',')}]}` };
  }

  /**
   * Where the batch failed: `failedFrom` is the index of the first record to deliver again
   * (records.length: none). A function error fails the whole batch. With ReportBatchItemFailures,
   * an empty or null list (or response) is a success; an empty, null or unknown itemIdentifier
   * fails the whole batch; otherwise the lowest sequence number reported is where it restarts.
   */
  private outcome(output: InvokeCommandOutput, records: EngineRecord[]): { failedFrom: number; functionError: boolean; reason: string } {
    const text = output.Payload == null ? '' : Buffer.from(output.Payload).toString('utf8');
    if (output.FunctionError !== undefined) {
      let reason = `${output.FunctionError} error`;
      try {
        const body = JSON.parse(text) as Json;
        if (isRecord(body)) reason = `${typeof body['errorType'] === 'string' ? body['errorType'] : 'Error'}: ${typeof body['errorMessage'] === 'string' ? body['errorMessage'] : text}`;
      } catch {
        if (text !== '') reason = text.slice(0, 300);
      }
      return { failedFrom: 0, functionError: true, reason };
    }
    const success = { failedFrom: records.length, functionError: false, reason: '' };
    if (!this.mapping.reportBatchItemFailures) return success;
    let body: Json;
    try {
      body = text.trim() === '' ? null : JSON.parse(text);
    } catch {
      return success;
    }
    const failures = isRecord(body) ? body['batchItemFailures'] : undefined;
    if (failures === undefined || failures === null || (Array.isArray(failures) && failures.length === 0)) return success;
    const whole = (reason: string): { failedFrom: number; functionError: boolean; reason: string } => ({ failedFrom: 0, functionError: false, reason: `${reason}: the whole batch failed` });
    if (!Array.isArray(failures)) return whole('batchItemFailures is not a list');
    let lowest = records.length;
    for (const failure of failures) {
      const identifier = isRecord(failure) ? failure['itemIdentifier'] : undefined;
      if (typeof identifier !== 'string' || identifier === '') return whole(`reported itemIdentifier ${JSON.stringify(identifier ?? null)}`);
      const index = records.findIndex((record) => sequenceOf(record) === identifier);
      if (index === -1) return whole(`reported itemIdentifier ${identifier}, not a sequence number of the batch`);
      lowest = Math.min(lowest, index);
    }
    return { failedFrom: lowest, functionError: false, reason: `reported ${plural(failures.length, 'failed record')} (ReportBatchItemFailures)` };
  }

  /** The first `count` records are done: the shard's checkpoint moves past them. */
  private handled(cursor: ShardCursor, count: number): void {
    const done = cursor.buffer.splice(0, count);
    for (const record of done) cursor.firstRead.delete(sequenceOf(record));
    if (done.length > 0) cursor.checkpoint = sequenceOf(done[done.length - 1] as EngineRecord);
    cursor.failures = 0;
    if (cursor.splits[0] !== undefined) {
      cursor.splits[0] -= done.length;
      if (cursor.splits[0] <= 0) cursor.splits.shift();
    }
  }

  /** Records Lambda gives up on: they go to the on-failure destination (said here), and reading moves on. */
  private setAside(cursor: ShardCursor, count: number, why: string): void {
    const records = cursor.buffer.slice(0, count);
    this.handled(cursor, count);
    const where = this.mapping.onFailure === undefined ? 'discarded (no on-failure destination)' : `set aside to the on-failure destination ${this.mapping.onFailure}`;
    this.shared.say(`${this.name}: ${plural(records.length, 'record')} of table ${this.mapping.tableName} ${where}: shard ${cursor.shardId}, sequence numbers ${range(records)}, because ${why}`);
  }
}

/**
 * Starts a poller for every stream event source mapping of the template; resolves once each
 * knows where it starts reading (so with LATEST, what is written after this resolves is read).
 * Rejects if a mapping's function cannot read its stream (its role lacks the stream permissions).
 */
export async function startStreamPollers(options: StreamPollersOptions): Promise<StreamPollers> {
  const say = options.onLine ?? ((line: string) => console.log(`[streams] ${line}`));
  const shared = new Shared(say, options.pollIntervalMs ?? 250, options.now ?? Date.now);
  const { mappings, skipped } = streamMappings(options.template);
  for (const logicalId of skipped) say(`${logicalId}: not a DynamoDB stream of this template; not polled locally`);
  const region = LOCAL_ACCOUNT.region;
  const lambda = new LambdaClient({
    endpoint: options.lambdaEndpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // One invocation per attempt: the poller decides about retries (an SDK retry would invoke twice).
    maxAttempts: 1,
    requestHandler: { requestTimeout: (Math.max(0, ...mappings.map((mapping) => mapping.functionTimeoutSeconds)) + 30) * 1000 },
  });
  const tables = new DynamoDBClient({ endpoint: options.dynamodbEndpoint, region, credentials: TOOLING_CREDENTIALS, maxAttempts: 2, requestHandler: { requestTimeout: 10_000 } });
  const streamClients: DynamoDBStreamsClient[] = [];
  const stop = async (): Promise<void> => {
    await shared.stop();
    lambda.destroy();
    for (const client of streamClients) client.destroy();
  };
  try {
    for (const mapping of mappings) {
      if (!mapping.enabled) {
        say(`${mapping.logicalId}: disabled (Enabled: false); not polled`);
        continue;
      }
      // Read as the function: the local AWS gateway authorises it against the function's own role.
      const streams = new DynamoDBStreamsClient({
        endpoint: options.dynamodbEndpoint,
        region,
        credentials: { accessKeyId: mapping.functionName, secretAccessKey: LOCAL_SECRET_ACCESS_KEY },
        maxAttempts: 2,
        requestHandler: { requestTimeout: 10_000 },
      });
      streamClients.push(streams);
      await new MappingPoller(mapping, shared, streams, lambda).start(tables);
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    tables.destroy();
  }
  let stopping: Promise<void> | undefined;
  return {
    stop: () => (stopping ??= stop()),
    idle: () => shared.idle(),
  };
}
