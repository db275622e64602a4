/**
 * The local event source mapping of DynamoDB streams (./streams.ts) against a real DynamoDB Local
 * table with a stream and a fake Lambda Invoke endpoint: what a function sees (order, batches,
 * Lambda's record shape) and what happens when it fails (retries, ReportBatchItemFailures,
 * records set aside), as Lambda does it on AWS. A small proxy stands in front of DynamoDB Local
 * where the local AWS gateway would be: it shows who signed each call, lets DynamoDB Local accept
 * the function's access key, and can make an iterator expire.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  PutItemCommand,
  UpdateItemCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { expect } from 'chai';
import { createHook } from 'node:async_hooks';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ulid } from 'ulid';
import { LOCAL_TOOLING_ACCESS_KEY } from '../../shared/aws/localCredentials';
import type { CfnResource, PackagedTemplate } from '../gateway/template';
import { packagedTemplate } from '../gateway/template';
import { localStack } from '../test/stack';
import { localDynamoClient } from './dynamodb';
import { startStreamPollers, streamMappings, type StreamPollers } from './streams';

const FUNCTION = 'media-library-local-streamsTest';
const QUEUE = 'media-library-local-streams-test-dlq';

const readBody = (stream: http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk)).once('end', () => resolve(Buffer.concat(chunks))).once('error', reject);
  });

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** How many connections the server has open. */
const connectionsTo = (server: http.Server): Promise<number> => new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/**
 * Where the local AWS gateway would be: records who signed each call and what it asked, and passes
 * it on to DynamoDB Local signed with a key it accepts (letters and digits only; it checks no
 * signature). Armed, it answers the next read that found records with ExpiredIteratorException.
 */
class EngineProxy {
  readonly calls: Array<{ accessKeyId: string; operation: string; body: Record<string, unknown> }> = [];
  expireNextRead = false;
  expired = 0;
  readonly server = http.createServer((request, response) => void this.handle(request, response));
  endpoint = '';

  constructor(private readonly backend: string) {}

  async start(): Promise<this> {
    this.endpoint = await listen(this.server);
    return this;
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  operations(accessKeyId?: string): string[] {
    return this.calls.filter((call) => accessKeyId === undefined || call.accessKeyId === accessKeyId).map((call) => call.operation);
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const body = await readBody(request);
    const authorization = String(request.headers.authorization ?? '');
    const operation = String(request.headers['x-amz-target'] ?? '');
    if (process.env["STREAMS_DEBUG"]) console.log("CALL", operation, body.toString("utf8").slice(0, 200));
    this.calls.push({ accessKeyId: /Credential=([^/]+)\//.exec(authorization)?.[1] ?? '', operation, body: JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown> });
    const backend = new URL(this.backend);
    const upstream = http.request(
      {
        host: backend.hostname,
        port: backend.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: backend.host, authorization: authorization.replace(/Credential=[^/]+\//, 'Credential=local/') },
        // A connection per call: no pooled socket (and its idle timer) outlives the pollers.
        agent: false,
      },
      (answer) => {
        void readBody(answer).then((answered) => {
          if (this.expireNextRead && operation.endsWith('.GetRecords') && answer.statusCode === 200 && ((JSON.parse(answered.toString('utf8')) as { Records?: unknown[] }).Records ?? []).length > 0) {
            this.expireNextRead = false;
            this.expired += 1;
            response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
            response.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ExpiredIteratorException', message: 'Iterator expired' }));
            return;
          }
          response.writeHead(answer.statusCode ?? 500, answer.headers);
          response.end(answered);
        });
      },
    );
    upstream.once('error', (error) => {
      response.writeHead(502);
      response.end(error.message);
    });
    upstream.end(body);
  }
}

type Answer = { error: string } | { payload: unknown } | undefined;

/** Lambda's Invoke API as serverless-offline serves it: every invocation recorded, answered as the test says. */
class FakeLambda {
  readonly invocations: Array<{ functionName: string; event: DynamoDBStreamEvent }> = [];
  answer: (event: DynamoDBStreamEvent, invocation: number) => Answer | Promise<Answer> = () => undefined;
  readonly server = http.createServer((request, response) => void this.handle(request, response));
  endpoint = '';

  async start(): Promise<this> {
    this.endpoint = await listen(this.server);
    return this;
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  /** The keys (pk) of each invocation's records, in order. */
  batches(): string[][] {
    return this.invocations.map(({ event }) => event.Records.map(keyOf));
  }

  delivered(): string[] {
    return this.batches().flat();
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const body = await readBody(request);
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(request.url ?? '');
    if (request.method !== 'POST' || match === null) {
      response.writeHead(404).end();
      return;
    }
    const event = JSON.parse(body.toString('utf8')) as DynamoDBStreamEvent;
    this.invocations.push({ functionName: decodeURIComponent(match[1] as string), event });
    const answer = await this.answer(event, this.invocations.length - 1);
    if (answer !== undefined && 'error' in answer) {
      // serverless-offline's answer when the handler throws (X-Amz-Function-Error, status 200).
      response.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
      response.end(JSON.stringify({ errorType: 'Error', errorMessage: answer.error, trace: [] }));
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(answer === undefined ? '' : JSON.stringify(answer.payload));
  }
}

const keyOf = (record: DynamoDBRecord): string => String(record.dynamodb?.Keys?.['pk']?.S);
const sequenceOf = (record: DynamoDBRecord): string => String(record.dynamodb?.SequenceNumber);

/** Resolves when `condition` holds (checked every 10 ms), or fails after `ms`. */
async function until(condition: () => boolean, ms = 10_000, what = 'the condition'): Promise<void> {
  for (const deadline = Date.now() + ms; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Timers made from now on by the pollers or the AWS clients (not by the test's own servers or
 * mocha) that are still pending when asked. Asking ends the watch.
 */
function timersFromNowOn(): { pending(): Promise<string[]> } {
  const live = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 50;
      // Where it was made (the first two lines are this hook's).
      const where = (new Error().stack ?? '').split('\n').slice(2).join('\n');
      Error.stackTraceLimit = limit;
      if (/local\/stack\/streams\.ts|node_modules\/@smithy\/|node_modules\/@aws-sdk\/|_http_agent/.test(where)) live.set(id, where);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return {
    pending: async () => {
      // A cleared timer's destroy hook runs a little later.
      for (let turn = 0; turn < 3; turn += 1) await new Promise((resolve) => setImmediate(resolve));
      hook.disable();
      return [...live.values()];
    },
  };
}

/** A packaged template with one table and one function reading its stream, as serverless packages a `stream` event. */
function templateFor(table: string, mapping: Record<string, unknown>): PackagedTemplate {
  const resources: Record<string, CfnResource> = {
    StreamsTestTable: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: table, StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } } },
    StreamsTestLambdaFunction: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: FUNCTION, Timeout: 5 } },
    StreamsTestDeadLetterQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: QUEUE } },
    StreamsTestEventSourceMappingDynamodbStreamsTestTable: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['StreamsTestTable', 'StreamArn'] },
        FunctionName: { 'Fn::GetAtt': ['StreamsTestLambdaFunction', 'Arn'] },
        StartingPosition: 'LATEST',
        BatchSize: 10,
        Enabled: true,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['StreamsTestDeadLetterQueue', 'Arn'] } } },
        ...mapping,
      },
    },
  };
  return { Resources: resources };
}

describe('local event source mapping of DynamoDB streams (local/stack/streams)', function () {
  this.timeout(60_000);
  let engine: DynamoDBClient;
  let proxy: EngineProxy;
  let lambda: FakeLambda;
  let table: string;
  let pollers: StreamPollers | undefined;
  let lines: string[];
  // Every problem the poller reports and recovers from (local/stack/streams.ts report/recovered).
  const READ_HICCUP = /: (cannot (get an iterator for shard|read shard|describe the stream|invoke) |reading shard \S+ again$)/;
  let clock: number;

  before(async () => {
    const stack = await localStack();
    engine = localDynamoClient(stack.backends.dynamodb);
    proxy = await new EngineProxy(stack.backends.dynamodb).start();
  });

  after(async () => {
    await proxy?.stop();
    engine?.destroy();
  });

  beforeEach(async () => {
    table = `streams-test-${ulid().toLowerCase()}`;
    await engine.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    lambda = await new FakeLambda().start();
    lines = [];
    clock = 0;
    proxy.calls.length = 0;
  });

  afterEach(async () => {
    await pollers?.stop();
    pollers = undefined;
    await lambda.stop();
    await engine.send(new DeleteTableCommand({ TableName: table }));
  });

  function start(mapping: Record<string, unknown> = {}, pollIntervalMs = 20): Promise<StreamPollers> {
    return startStreamPollers({
      template: templateFor(table, mapping),
      dynamodbEndpoint: proxy.endpoint,
      lambdaEndpoint: lambda.endpoint,
      // A read or an invocation that fails on a busy machine (DynamoDB Local or the fake Lambda slow to
      // answer) is said and retried, and the batch is what it was: not what these tests are about.
      onLine: (line) => {
        if (!READ_HICCUP.test(line)) lines.push(line);
      },
      pollIntervalMs,
      now: () => Date.now() + clock,
    }).then((started) => (pollers = started));
  }

  const put = (pk: string, attributes: Record<string, AttributeValue> = {}): Promise<unknown> => engine.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, ...attributes } }));

  /**
   * Writes while the function is busy with a first record, so that the changes wait in the stream
   * together and arrive as batches (as on AWS when a function is slower than the writes): `keys`
   * put, or whatever `keys` does.
   */
  async function writeWhileBusy(keys: string[] | (() => Promise<void>), answer: FakeLambda['answer']): Promise<void> {
    let release = (): void => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    lambda.answer = async (event, invocation) => {
      if (event.Records.some((record) => keyOf(record) === 'busy')) {
        await released;
        return undefined;
      }
      return answer(event, invocation);
    };
    await put('busy');
    await until(() => lambda.delivered().includes('busy'), 10_000, 'the first invocation');
    if (typeof keys === 'function') await keys();
    else for (const key of keys) await put(key);
    release();
  }

  /**
   * What the poller said about the function's answers (a failure and what it does next), without
   * lines about the stream itself that a busy machine can add (a shard closing, a slow read).
   */
  const failureLines = (): string[] => lines.filter((line) => line.includes(`${FUNCTION} failed with`));

  /** The invocations after the `busy` one, as record keys. */
  const batchesAfterBusy = (): string[][] => lambda.batches().filter((batch) => !batch.includes('busy'));

  it('reads only what is written after it starts, in order, in batches of at most BatchSize, as Lambda shapes records, signed as the function', async () => {
    await put('written-before', { n: { N: '0' } });
    await start({ BatchSize: 3 });
    const written = Date.now();
    await writeWhileBusy(async () => {
      for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) await put(key);
      await engine.send(new UpdateItemCommand({ TableName: table, Key: { pk: { S: 'k1' } }, UpdateExpression: 'SET n = :n, bin = :b', ExpressionAttributeValues: { ':n': { N: '2' }, ':b': { B: Buffer.from('hi') } } }));
      await engine.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'k2' } } }));
    }, () => undefined);
    await pollers?.idle();

    expect(lambda.delivered()).to.deep.equal(['busy', 'k1', 'k2', 'k3', 'k4', 'k5', 'k1', 'k2']);
    expect(lambda.invocations.flatMap(({ event }) => event.Records.map((record) => record.eventName))).to.deep.equal(['INSERT', 'INSERT', 'INSERT', 'INSERT', 'INSERT', 'INSERT', 'MODIFY', 'REMOVE']);
    // Batched: the seven changes made while the function was busy arrive by three (BatchSize 3).
    expect(batchesAfterBusy()).to.deep.equal([
      ['k1', 'k2', 'k3'],
      ['k4', 'k5', 'k1'],
      ['k2'],
    ]);
    const records = lambda.invocations.flatMap(({ event }) => event.Records);
    const sequences = records.map((record) => BigInt(sequenceOf(record)));
    expect(sequences).to.deep.equal([...sequences].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(lambda.invocations.map((invocation) => invocation.functionName))).to.deep.equal(new Set([FUNCTION]));

    // Lambda's record: the stream's ARN in the account and region the functions live in.
    const { Table } = await engine.send(new DescribeTableCommand({ TableName: table }));
    const arn = `arn:aws:dynamodb:us-east-1:123456789012:table/${table}/stream/${Table?.LatestStreamLabel}`;
    const [inserted, modified, removed] = [records[1], records[6], records[7]] as [DynamoDBRecord, DynamoDBRecord, DynamoDBRecord];
    expect(inserted).to.deep.include({ eventName: 'INSERT', eventVersion: '1.1', eventSource: 'aws:dynamodb', awsRegion: 'us-east-1', eventSourceARN: arn });
    expect(inserted.eventID).to.be.a('string').and.not.equal('');
    expect(inserted).to.not.have.property('userIdentity');
    expect(inserted.dynamodb).to.deep.include({ Keys: { pk: { S: 'k1' } }, NewImage: { pk: { S: 'k1' } }, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(inserted.dynamodb?.SizeBytes).to.be.a('number').above(0);
    expect(inserted.dynamodb?.SequenceNumber).to.match(/^\d+$/);
    // Seconds since the epoch, rounded down to the second as DynamoDB does (DynamoDB Local: to the minute).
    expect(inserted.dynamodb?.ApproximateCreationDateTime).to.be.a('number').within(Math.floor(written / 1000) - 1, Date.now() / 1000);
    expect(Number.isInteger(inserted.dynamodb?.ApproximateCreationDateTime)).to.equal(true);
    expect(modified.dynamodb).to.deep.include({ OldImage: { pk: { S: 'k1' } }, NewImage: { pk: { S: 'k1' }, n: { N: '2' }, bin: { B: 'aGk=' } } });
    expect(removed.dynamodb).to.deep.include({ Keys: { pk: { S: 'k2' } }, OldImage: { pk: { S: 'k2' } } });
    expect(removed.dynamodb).to.not.have.property('NewImage');
    expect(removed).to.not.have.property('userIdentity');

    // The stream is read as the function (its role), the table's stream ARN found as tooling.
    const streamCalls = proxy.calls.filter((call) => call.operation.startsWith('DynamoDBStreams_'));
    expect(new Set(streamCalls.map((call) => call.accessKeyId))).to.deep.equal(new Set([FUNCTION]));
    expect(new Set(streamCalls.map((call) => call.operation))).to.deep.equal(new Set(['DynamoDBStreams_20120810.DescribeStream', 'DynamoDBStreams_20120810.GetShardIterator', 'DynamoDBStreams_20120810.GetRecords']));
    expect(proxy.operations(LOCAL_TOOLING_ACCESS_KEY)).to.deep.equal(['DynamoDB_20120810.DescribeTable']);
    expect(lines).to.deep.equal([]);
  });

  it('invokes the function again with the same batch when it fails', async () => {
    await start({ MaximumRetryAttempts: 5 });
    let failures = 2;
    await writeWhileBusy(['a', 'b', 'c'], (event) => (event.Records.some((record) => keyOf(record) === 'a') && failures-- > 0 ? { error: 'boom' } : undefined));
    await pollers?.idle();
    await put('d');
    await pollers?.idle();

    expect(batchesAfterBusy()).to.deep.equal([['a', 'b', 'c'], ['a', 'b', 'c'], ['a', 'b', 'c'], ['d']]);
    const said = failureLines();
    expect(said, JSON.stringify(lines)).to.have.length(2);
    expect(said[0]).to.include(`${FUNCTION} failed with 3 records`).and.include('Error: boom').and.include('retry 1 of 5');
    expect(said[1]).to.include('retry 2 of 5');
  });

  it('with ReportBatchItemFailures, restarts at the lowest reported record: the records before it are not delivered again', async () => {
    await start({ FunctionResponseTypes: ['ReportBatchItemFailures'] });
    let reported = false;
    await writeWhileBusy(['r1', 'r2', 'r3', 'r4'], (event) => {
      if (reported) return { payload: { batchItemFailures: [] } };
      reported = true;
      const [, , third, fourth] = event.Records as [DynamoDBRecord, DynamoDBRecord, DynamoDBRecord, DynamoDBRecord];
      return { payload: { batchItemFailures: [{ itemIdentifier: sequenceOf(fourth) }, { itemIdentifier: sequenceOf(third) }] } };
    });
    await pollers?.idle();

    expect(batchesAfterBusy()).to.deep.equal([
      ['r1', 'r2', 'r3', 'r4'],
      ['r3', 'r4'],
    ]);
    const failures = failureLines();
    expect(failures, JSON.stringify(lines)).to.have.length(1);
    expect(failures[0]).to.include('failed with 2 records').and.include('reported 2 failed records');
  });

  it('with ReportBatchItemFailures, an empty itemIdentifier fails the whole batch', async () => {
    await start({ FunctionResponseTypes: ['ReportBatchItemFailures'] });
    let reported = false;
    await writeWhileBusy(['e1', 'e2', 'e3'], () => {
      if (reported) return undefined;
      reported = true;
      return { payload: { batchItemFailures: [{ itemIdentifier: '' }] } };
    });
    await pollers?.idle();

    expect(batchesAfterBusy()).to.deep.equal([
      ['e1', 'e2', 'e3'],
      ['e1', 'e2', 'e3'],
    ]);
    const failures = failureLines();
    expect(failures, JSON.stringify(lines)).to.have.length(1);
    expect(failures[0]).to.include('reported itemIdentifier ""').and.include('the whole batch failed');
  });

  it('without ReportBatchItemFailures, a reported failure is not read: the batch is done', async () => {
    await start();
    await writeWhileBusy(['n1', 'n2'], (event) => ({ payload: { batchItemFailures: [{ itemIdentifier: sequenceOf(event.Records[0] as DynamoDBRecord) }] } }));
    await pollers?.idle();

    expect(batchesAfterBusy()).to.deep.equal([['n1', 'n2']]);
    expect(lines).to.deep.equal([]);
  });

  it('after MaximumRetryAttempts retries, sets the failed records aside, says so, and moves on', async () => {
    await start({ MaximumRetryAttempts: 2, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    // As pushChanges answers: the first record it cannot handle, and every one after it, again.
    await writeWhileBusy(['ok', 'poison', 'later'], (event) => {
      const poison = event.Records.find((record) => keyOf(record) === 'poison');
      return { payload: { batchItemFailures: poison === undefined ? [] : [{ itemIdentifier: sequenceOf(poison) }] } };
    });
    await pollers?.idle();
    await put('after');
    await pollers?.idle();

    // One invocation and two retries of the records from `poison` on, then the next record.
    expect(batchesAfterBusy()).to.deep.equal([['ok', 'poison', 'later'], ['poison', 'later'], ['poison', 'later'], ['after']]);
    const records = lambda.invocations.flatMap(({ event }) => event.Records);
    const [poison, later] = ['poison', 'later'].map((key) => sequenceOf(records.find((record) => keyOf(record) === key) as DynamoDBRecord));
    const setAside = lines.filter((line) => line.includes('set aside'));
    expect(setAside).to.have.length(1);
    expect(setAside[0])
      .to.include(FUNCTION)
      .and.include(`2 records of table ${table} set aside to the on-failure destination arn:aws:sqs:us-east-1:123456789012:${QUEUE}`)
      .and.include(`sequence numbers ${poison}–${later}`)
      .and.include('after 2 retries (MaximumRetryAttempts 2)');
  });

  it('with BisectBatchOnFunctionError, splits a failing batch in two and tries each half on its own, without counting a retry', async () => {
    await start({ BisectBatchOnFunctionError: true, MaximumRetryAttempts: 0 });
    await writeWhileBusy(['b1', 'bad', 'b3', 'b4'], (event) => (event.Records.some((record) => keyOf(record) === 'bad') ? { error: 'bad record' } : undefined));
    await pollers?.idle();

    expect(batchesAfterBusy()).to.deep.equal([['b1', 'bad', 'b3', 'b4'], ['b1', 'bad'], ['b1'], ['bad'], ['b3', 'b4']]);
    expect(lines.filter((line) => line.includes('split in two (BisectBatchOnFunctionError)'))).to.have.length(2);
    const setAside = lines.filter((line) => line.includes('set aside'));
    expect(setAside).to.have.length(1);
    expect(setAside[0]).to.include('1 record of table').and.include('after 0 retries (MaximumRetryAttempts 0): Error: bad record');
  });

  it('sets aside records older than MaximumRecordAgeInSeconds instead of retrying them for ever', async () => {
    await start({ MaximumRecordAgeInSeconds: 60 });
    lambda.answer = (event) => (event.Records.some((record) => keyOf(record) === 'stale') ? { error: 'still failing' } : undefined);
    await put('stale');
    await until(() => lambda.invocations.length >= 3, 10_000, 'retries of the stale record');
    clock = 2 * 3600 * 1000;
    await pollers?.idle();
    clock = 0;
    await put('fresh');
    await pollers?.idle();

    expect(lambda.batches().at(-1)).to.deep.equal(['fresh']);
    const setAside = lines.filter((line) => line.includes('set aside'));
    expect(setAside).to.have.length(1);
    expect(setAside[0]).to.include('1 record of table').and.include('older than MaximumRecordAgeInSeconds (60 s)');
    expect(lines.filter((line) => line.includes('retrying until they expire')).length).to.be.at.least(2);
  });

  it('replaces an expired iterator with one after the last record handled: nothing lost, nothing repeated', async () => {
    await start();
    await put('x1');
    await pollers?.idle();
    proxy.expireNextRead = true;
    await put('x2');
    await put('x3');
    await until(() => proxy.expired === 1, 10_000, 'the expired iterator');
    await pollers?.idle();

    expect(lambda.delivered()).to.deep.equal(['x1', 'x2', 'x3']);
    const x1 = sequenceOf(lambda.invocations[0]?.event.Records[0] as DynamoDBRecord);
    const renewed = proxy.calls.filter((call) => call.operation.endsWith('.GetShardIterator')).at(-1);
    expect(renewed?.body).to.deep.include({ ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: x1 });
  });

  it('reads a shard that closes (the stream turned off) to its end, then leaves it', async () => {
    await start();
    lambda.answer = async () => {
      // Slow enough that the stream is off before everything is read.
      await new Promise((resolve) => setTimeout(resolve, 100));
      return undefined;
    };
    await put('c1');
    await put('c2');
    await engine.send(new UpdateTableCommand({ TableName: table, StreamSpecification: { StreamEnabled: false } }));
    // DynamoDB Local closes the shard a moment after UpdateTable answers (the stream is DISABLING meanwhile).
    const ended = (): string[] => lines.filter((line) => /shard shardId-\S+ is closed and read to its end, and the stream is DISABLED: nothing more to read/.test(line));
    await until(() => ended().length > 0, 10_000, 'the end of the shard');
    await pollers?.idle();

    expect(lambda.delivered()).to.deep.equal(['c1', 'c2']);
    // Said once (a busy machine may add a line about the stream before it: a fresh-clone run did).
    expect(ended(), JSON.stringify(lines)).to.have.length(1);
    const calls = proxy.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(proxy.calls.length, 'calls after the shard ended').to.equal(calls);
  });

  it("hands TTL deletions to the function as REMOVE by the DynamoDB service, as DynamoDB does (DynamoDB Local's record names neither)", async () => {
    await engine.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }));
    await start();
    await put('expired', { expiresAt: { N: String(Math.floor(Date.now() / 1000) - 60) } });
    await until(() => lambda.invocations.some(({ event }) => event.Records.some((record) => record.eventName !== 'INSERT')), 40_000, "DynamoDB Local's TTL deletion");

    const deletion = lambda.invocations.flatMap(({ event }) => event.Records).find((record) => record.eventName !== 'INSERT') as DynamoDBRecord;
    expect(deletion.eventName).to.equal('REMOVE');
    expect(deletion.userIdentity).to.deep.equal({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(deletion.dynamodb).to.deep.include({ Keys: { pk: { S: 'expired' } } });
    expect(deletion.dynamodb?.OldImage?.['expiresAt']).to.have.property('N');
  });

  it('stop() waits for the invocation under way, then nothing runs: no read, no invocation, no timer, no connection', async () => {
    const timers = timersFromNowOn();
    await start();
    let release = (): void => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    lambda.answer = async () => {
      await released;
      return undefined;
    };
    await put('s1');
    await until(() => lambda.invocations.length === 1, 10_000, 'the invocation');
    let stopped = false;
    const stopping = (pollers as StreamPollers).stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stopped, 'stopped while the function still runs').to.equal(false);
    release();
    await stopping;
    await put('s2');
    const [calls, invocations] = [proxy.calls.length, lambda.invocations.length];
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(proxy.calls.length, 'reads after stop').to.equal(calls);
    expect(lambda.invocations.length, 'invocations after stop').to.equal(invocations);
    expect(await timers.pending(), 'timers left').to.deep.equal([]);
    expect(await connectionsTo(lambda.server), 'connections to the Lambda endpoint').to.equal(0);
    expect(await connectionsTo(proxy.server), 'connections to the DynamoDB endpoint').to.equal(0);
    pollers = undefined;
  });

  it('stop() between two reads returns at once, leaving no timer', async () => {
    const timers = timersFromNowOn();
    const started = await start({}, 10_000);
    await until(() => proxy.operations().includes('DynamoDBStreams_20120810.GetRecords'), 10_000, 'the first read');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stopping = Date.now();
    await started.stop();
    expect(Date.now() - stopping, 'ms to stop').to.be.below(1000);
    expect(await timers.pending(), 'timers left').to.deep.equal([]);
    pollers = undefined;
  });

  describe('with the packaged template and the local AWS gateway', () => {
    let template: PackagedTemplate;
    let gateway: string;

    before(async function () {
      this.timeout(120_000);
      template = await packagedTemplate('local');
      gateway = (await localStack()).dynamodbEndpoint;
    });

    it("reads pushChanges' three mappings as serverless.yml declares them", () => {
      const { mappings } = streamMappings(template);
      expect(mappings.map((mapping) => mapping.tableName).sort()).to.deep.equal(['media-library-local-analyses', 'media-library-local-media', 'media-library-local-sessions']);
      for (const mapping of mappings) {
        expect(mapping).to.deep.include({
          functionName: 'media-library-local-pushChanges',
          enabled: true,
          batchSize: 100,
          startingPosition: 'LATEST',
          maximumRetryAttempts: 10,
          maximumRecordAgeInSeconds: 3600,
          reportBatchItemFailures: true,
          bisectBatchOnFunctionError: false,
          onFailure: 'arn:aws:sqs:us-east-1:123456789012:media-library-local-live-dlq',
        });
      }
    });

    it("reads the tables' streams through the gateway with pushChanges' role", async () => {
      pollers = await startStreamPollers({ template, dynamodbEndpoint: gateway, lambdaEndpoint: lambda.endpoint, onLine: (line) => lines.push(line), pollIntervalMs: 20 });
      await pollers.idle();
      expect(lines).to.deep.equal([]);
    });

    it('refuses to start a mapping whose function’s role cannot read the stream, as AWS refuses to create it', async () => {
      const withoutStreamPermissions = Object.entries(template.Resources).find(
        ([id, resource]) => resource.Type === 'AWS::Lambda::Function' && id !== 'PushChangesLambdaFunction' && !JSON.stringify(template.Resources[id.replace(/LambdaFunction$/, 'IamRoleLambdaExecution')] ?? {}).includes('dynamodb:GetRecords'),
      );
      expect(withoutStreamPermissions, 'a function without stream permissions').to.not.equal(undefined);
      const [logicalId, resource] = withoutStreamPermissions as [string, CfnResource];
      const unreadable: PackagedTemplate = {
        Resources: {
          MediaTable: template.Resources['MediaTable'] as CfnResource,
          [logicalId]: resource,
          UnreadableEventSourceMapping: {
            Type: 'AWS::Lambda::EventSourceMapping',
            Properties: { EventSourceArn: { 'Fn::GetAtt': ['MediaTable', 'StreamArn'] }, FunctionName: { 'Fn::GetAtt': [logicalId, 'Arn'] }, StartingPosition: 'LATEST' },
          },
        },
      };
      const failure = await startStreamPollers({ template: unreadable, dynamodbEndpoint: gateway, lambdaEndpoint: lambda.endpoint, onLine: (line) => lines.push(line) }).then(
        async (started) => {
          await started.stop();
          return undefined;
        },
        (error: Error) => error,
      );
      expect(failure?.message).to.match(new RegExp(`UnreadableEventSourceMapping: ${String(resource.Properties?.['FunctionName'])} cannot read the stream of table media-library-local-media \\(AccessDenied`));
    });
  });
});
