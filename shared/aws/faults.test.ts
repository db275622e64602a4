import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { expect } from 'chai';
import { ConfigurationError } from '../config/env';
import { isDependencyFailure, toErrorResponse } from '../http/errorResponse';
import { faultError, faultSettings, injectFaults, type FaultSettings } from './faults';

/** A request handler that answers every DynamoDB call with an empty GetItem result, counting calls. */
function countingHandler() {
  const handler = {
    calls: 0,
    handle: async () => {
      handler.calls += 1;
      return { response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: Readable.from([Buffer.from('{}')]) } };
    },
  };
  return handler;
}

const LOCAL = 'http://127.0.0.1:9';
const dynamoClient = (handler = countingHandler()) =>
  new DynamoDBClient({ endpoint: LOCAL, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3, requestHandler: handler, retryStrategy: undefined });
const getItem = new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } });
const settings = (overrides: Partial<FaultSettings> = {}): FaultSettings => ({ rate: 1, seed: 1, services: ['dynamodb', 's3', 'sns'], kinds: ['server'], ...overrides });

describe('shared/aws/faults (fault injection of the reliability suites)', function () {
  this.timeout(60_000);

  describe('ML_FAULTS', () => {
    it('is off when unset or empty', () => {
      expect(faultSettings(undefined)).to.equal(undefined);
      expect(faultSettings('  ')).to.equal(undefined);
    });

    it('reads rate, seed, services, kinds and log, with every service and kind by default', () => {
      expect(faultSettings('{"rate":0.2}')).to.deep.equal({ rate: 0.2, seed: 1, services: ['dynamodb', 's3', 'sns', 'live'], kinds: ['throttle', 'server', 'timeout'] });
      expect(faultSettings('{"rate":1,"seed":7,"services":["s3"],"kinds":["timeout"],"log":"/tmp/f"}')).to.deep.equal({ rate: 1, seed: 7, services: ['s3'], kinds: ['timeout'], log: '/tmp/f' });
    });

    for (const bad of ['not json', '{}', '{"rate":1.5}', '{"rate":-0.1}', '{"rate":"0.2"}', '{"rate":0.2,"services":["lambda"]}', '{"rate":0.2,"kinds":[]}', '{"rate":0.2,"kinds":["boom"]}']) {
      it(`refuses ${bad}, loudly`, () => {
        expect(() => faultSettings(bad)).to.throw(ConfigurationError);
      });
    }
  });

  describe('the production path', () => {
    it('adds nothing to a client without a local endpoint, whatever ML_FAULTS says', async () => {
      const handler = countingHandler();
      const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, requestHandler: handler });
      expect(injectFaults(client, 'dynamodb', undefined, settings())).to.equal(false);
      await client.send(getItem);
      expect(handler.calls).to.equal(1);
    });

    it('adds nothing when ML_FAULTS is unset or leaves the service out', () => {
      expect(injectFaults(dynamoClient(), 'dynamodb', LOCAL, undefined)).to.equal(false);
      expect(injectFaults(dynamoClient(), 'dynamodb', LOCAL, settings({ services: ['s3'] }))).to.equal(false);
    });
  });

  describe('injected faults', () => {
    it('fail the call below the SDK’s retries: 3 attempts, nothing sent, and the HTTP layer answers 503 + Retry-After', async () => {
      for (const kind of ['throttle', 'server', 'timeout'] as const) {
        const handler = countingHandler();
        const client = dynamoClient(handler);
        expect(injectFaults(client, 'dynamodb', LOCAL, settings({ kinds: [kind] }))).to.equal(true);
        const error = (await client.send(getItem).catch((caught: unknown) => caught)) as Error & { $metadata?: { attempts?: number } };
        expect(error, kind).to.be.instanceOf(Error);
        expect(error.message).to.equal(`injected ${kind} fault (dynamodb GetItem)`);
        expect(error.$metadata?.attempts, `${kind}: the SDK retried it`).to.equal(3);
        expect(handler.calls, `${kind}: nothing reached the service`).to.equal(0);
        expect(isDependencyFailure(error), kind).to.equal(true);
        const answer = toErrorResponse(error, 'req-1');
        expect([answer.status, answer.headers?.['retry-after']], kind).to.deep.equal([503, '1']);
      }
    });

    it('at rate 0 pass every call through', async () => {
      const handler = countingHandler();
      const client = dynamoClient(handler);
      injectFaults(client, 'dynamodb', LOCAL, settings({ rate: 0 }));
      for (let i = 0; i < 20; i++) await client.send(getItem);
      expect(handler.calls).to.equal(20);
    });

    it('at rate 0.5 fail about half the attempts, the same ones for the same seed, and log each fault', async () => {
      const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ml-faults-')), 'faults.jsonl');
      const run = async (seed: number, logFile?: string) => {
        const handler = countingHandler();
        const client = dynamoClient(handler);
        injectFaults(client, 'dynamodb', LOCAL, settings({ rate: 0.5, seed, kinds: ['server', 'timeout'], ...(logFile === undefined ? {} : { log: logFile }) }));
        const outcomes: string[] = [];
        for (let i = 0; i < 20; i++) outcomes.push(await client.send(getItem).then(() => 'ok', () => 'failed'));
        return { outcomes, calls: handler.calls };
      };
      const first = await run(42, log);
      const again = await run(42);
      expect(again.outcomes).to.deep.equal(first.outcomes);
      // Each call is up to 3 attempts; at 50% per attempt most calls succeed within them.
      const failed = first.outcomes.filter((outcome) => outcome === 'failed').length;
      expect(failed, 'calls that failed all 3 attempts').to.be.within(0, 8);
      expect(failed, 'some calls survive their faults').to.be.below(first.outcomes.length);
      const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { service: string; kind: string; operation: string });
      expect(lines.length, 'faults logged').to.be.within(8, 60);
      expect(new Set(lines.map((line) => line.kind))).to.deep.equal(new Set(['server', 'timeout']));
      expect(lines.every((line) => line.service === 'dynamodb' && line.operation === 'GetItem')).to.equal(true);
      fs.rmSync(path.dirname(log), { recursive: true, force: true });
    });

    it('shape S3, SNS and API Gateway Management API errors as those services do', async () => {
      expect(faultError('live', 'throttle', 'PostToConnection')).to.include({ name: 'LimitExceededException' });
      expect(faultError('live', 'server', 'PostToConnection')).to.include({ name: 'InternalServerErrorException' });
      expect(faultError('s3', 'throttle', 'GetObject').name).to.equal('SlowDown');
      expect(faultError('s3', 'server', 'PutObject').name).to.equal('InternalError');
      expect(faultError('sns', 'throttle', 'Publish').name).to.equal('Throttling');
      const client = new SNSClient({ endpoint: LOCAL, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 2, requestHandler: countingHandler() });
      injectFaults(client, 'sns', LOCAL, settings({ kinds: ['server'] }));
      const error = (await client.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: 'm' })).catch((caught: unknown) => caught)) as Error;
      expect(error.name).to.equal('InternalErrorException');
      expect(toErrorResponse(error, 'r').status).to.equal(503);
    });
  });
});
