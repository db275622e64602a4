/**
 * The local AWS gateway in front of the real stand-ins (DynamoDB Local, s3rver), with small roles
 * made for each case: what IAM allows reaches the stand-in, what it does not comes back as the
 * SDK raises it on AWS (error name, status, message), however the call is made (SDK call,
 * transaction entry, index query, presigned URL, presigned POST).
 */
import { DescribeTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, ListStreamsCommand } from '@aws-sdk/client-dynamodb-streams';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ulid } from 'ulid';
import { LOCAL_SECRET_ACCESS_KEY, LOCAL_TOOLING_ACCESS_KEY } from '../../shared/aws/localCredentials';
import { localStack } from '../test/stack';
import { EvidenceLog, readEvidence } from './evidence';
import type { FunctionRole } from './roles';
import { startGateway, type RunningGateway } from './server';
import { testRole } from '../test/roles';

const TABLE = 'media-library-local-media';
const TABLE_ARN = `arn:aws:dynamodb:us-east-1:123456789012:table/${TABLE}`;
const BUCKET = 'media-library-local-media';

const role = testRole;

const reader = role('reader', [
  { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: TABLE_ARN },
  { Effect: 'Allow', Action: ['s3:GetObject'], Resource: `arn:aws:s3:::${BUCKET}/media/*` },
  { Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: 'arn:aws:ssm:us-east-1:123456789012:parameter/media-library/local/jwt/public' },
]);
const lister = role('lister', [
  { Effect: 'Allow', Action: ['s3:GetObject'], Resource: `arn:aws:s3:::${BUCKET}/media/*` },
  { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: `arn:aws:s3:::${BUCKET}` },
]);
const writer = role('writer', [
  { Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: `arn:aws:s3:::${BUCKET}/media/*` },
  { Effect: 'Allow', Action: ['dynamodb:PutItem'], Resource: TABLE_ARN },
  { Effect: 'Deny', Action: ['s3:DeleteObject'], Resource: `arn:aws:s3:::${BUCKET}/media/protected/*` },
]);
// As serverless writes the role of a function with a stream event (pushChanges).
const streamReader = role('streamReader', [
  {
    Effect: 'Allow',
    Action: ['dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream', 'dynamodb:ListStreams'],
    Resource: [`${TABLE_ARN}/stream/*`],
  },
]);
const roles = new Map([reader, lister, writer, streamReader].map((r) => [r.functionName, r]));

const as = (r: FunctionRole | string, secret = LOCAL_SECRET_ACCESS_KEY) => ({ accessKeyId: typeof r === 'string' ? r : r.functionName, secretAccessKey: secret });

async function failure(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number }; Code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('local AWS gateway', function () {
  this.timeout(30_000);
  let dynamodb: RunningGateway;
  let s3: RunningGateway;
  let ssm: RunningGateway;
  let evidenceFile: string;

  before(async () => {
    const stack = await localStack();
    evidenceFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ml-evidence-')), 'evidence.jsonl');
    fs.writeFileSync(evidenceFile, '');
    const evidence = new EvidenceLog(evidenceFile);
    dynamodb = await startGateway({ service: 'dynamodb', backend: stack.backends.dynamodb, roles, evidence });
    s3 = await startGateway({ service: 's3', backend: stack.backends.s3, roles, evidence });
    ssm = await startGateway({
      service: 'ssm',
      roles,
      evidence,
      parameters: () =>
        new Map([
          ['/media-library/local/jwt/public', { value: '{"keys":[]}', type: 'String' as const }],
          ['/media-library/local/jwt/private', { value: 'secret', type: 'SecureString' as const }],
        ]),
    });
  });
  after(async () => {
    await Promise.all([dynamodb?.stop(), s3?.stop(), ssm?.stop()]);
    fs.rmSync(path.dirname(evidenceFile), { recursive: true, force: true });
  });

  const dynamoAs = (credentials: { accessKeyId: string; secretAccessKey: string }) => new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  const s3As = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials, maxAttempts: 1, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const key = { pk: { S: `GATEWAY#${ulid()}` }, sk: { S: 'ITEM' } };

  describe('DynamoDB', () => {
    it('lets through what the role allows, and records it as evidence', async () => {
      const answer = await dynamoAs(as(reader)).send(new GetItemCommand({ TableName: TABLE, Key: key }));
      expect(answer.Item).to.equal(undefined);
      expect(readEvidence(evidenceFile)).to.deep.include({ fn: 'reader', action: 'dynamodb:GetItem', resource: TABLE_ARN });
    });

    it('refuses what it does not, as DynamoDB does: AccessDeniedException, 400, naming the session, action and table', async () => {
      const error = await failure(dynamoAs(as(reader)).send(new PutItemCommand({ TableName: TABLE, Item: key })));
      expect(error.name).to.equal('AccessDeniedException');
      expect(error.$metadata?.httpStatusCode).to.equal(400);
      expect(error.message).to.equal(
        `User: ${reader.sessionArn} is not authorized to perform: dynamodb:PutItem on resource: ${TABLE_ARN} because no identity-based policy allows the dynamodb:PutItem action`,
      );
      expect(readEvidence(evidenceFile).some((line) => line.fn === 'reader' && line.action === 'dynamodb:PutItem')).to.equal(false);
    });

    it('authorises a transaction entry by entry: a Put needs dynamodb:PutItem even when Update is allowed', async () => {
      const error = await failure(
        dynamoAs(as(reader)).send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Update: { TableName: TABLE, Key: key, UpdateExpression: 'SET #a = :a', ExpressionAttributeNames: { '#a': 'a' }, ExpressionAttributeValues: { ':a': { S: 'x' } } } },
              { Put: { TableName: TABLE, Item: { pk: { S: 'other' }, sk: { S: 'x' } } } },
            ],
          }),
        ),
      );
      expect(error.name).to.equal('AccessDeniedException');
      expect(error.message).to.contain('dynamodb:PutItem');
    });

    it('needs the index ARN for a query on an index', async () => {
      const error = await failure(
        dynamoAs(as(reader)).send(new QueryCommand({ TableName: TABLE, IndexName: 'byType', KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': { S: 'x' } } })),
      );
      expect(error.name).to.equal('AccessDeniedException');
      expect(error.message).to.contain(`dynamodb:Query on resource: ${TABLE_ARN}/index/byType`);
    });

    it('refuses an access key nobody issued, a wrong secret and an unsigned request as DynamoDB does', async () => {
      expect((await failure(dynamoAs(as('media-library-local-nobody')).send(new GetItemCommand({ TableName: TABLE, Key: key })))).name).to.equal('UnrecognizedClientException');
      expect((await failure(dynamoAs(as(reader, 'wrong-secret')).send(new GetItemCommand({ TableName: TABLE, Key: key })))).name).to.equal('InvalidSignatureException');
      const unsigned = await fetch(dynamodb.endpoint, { method: 'POST', headers: { 'x-amz-target': 'DynamoDB_20120810.GetItem', 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify({ TableName: TABLE, Key: key }) });
      expect(unsigned.status).to.equal(400);
      expect(((await unsigned.json()) as { __type: string }).__type).to.match(/MissingAuthenticationTokenException$/);
    });

    it('local tooling is bound by no role', async () => {
      await dynamoAs(as(LOCAL_TOOLING_ACCESS_KEY)).send(new PutItemCommand({ TableName: TABLE, Item: key }));
      expect((await dynamoAs(as(reader)).send(new GetItemCommand({ TableName: TABLE, Key: key }))).Item).to.deep.equal(key);
    });
  });

  describe('DynamoDB Streams (DynamoDB Local serves them on the same port)', () => {
    const streamsAs = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
      new DynamoDBStreamsClient({ endpoint: dynamodb.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    let streamArn: string;
    before(async () => {
      // Lambda's event source mapping is given the stream's ARN; here local tooling looks it up.
      streamArn = (await dynamoAs(as(LOCAL_TOOLING_ACCESS_KEY)).send(new DescribeTableCommand({ TableName: TABLE }))).Table?.LatestStreamArn as string;
      expect(streamArn).to.match(/^arn:aws:dynamodb:ddblocal:000000000000:table\/media-library-local-media\/stream\//);
    });
    const authorisedArn = (): string => streamArn.replace('arn:aws:dynamodb:ddblocal:000000000000:', 'arn:aws:dynamodb:us-east-1:123456789012:');

    it("lets a role with the stream actions read the stream, authorised on the stream's ARN in the local account", async () => {
      const client = streamsAs(as(streamReader));
      const shards = (await client.send(new DescribeStreamCommand({ StreamArn: streamArn }))).StreamDescription?.Shards ?? [];
      const open = shards.find((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined) ?? shards.at(-1);
      let iterator = (await client.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: open?.ShardId, ShardIteratorType: 'LATEST' }))).ShardIterator;
      const item = { pk: { S: `STREAM#${ulid()}` }, sk: { S: 'ITEM' } };
      await dynamoAs(as(LOCAL_TOOLING_ACCESS_KEY)).send(new PutItemCommand({ TableName: TABLE, Item: item }));
      const seen: string[] = [];
      for (let attempt = 0; attempt < 20 && !seen.includes(item.pk.S) && iterator !== undefined; attempt += 1) {
        const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
        seen.push(...(page.Records ?? []).map((record) => record.dynamodb?.Keys?.['pk']?.S ?? ''));
        iterator = page.NextShardIterator;
      }
      expect(seen).to.include(item.pk.S);
      const evidence = readEvidence(evidenceFile);
      for (const action of ['dynamodb:DescribeStream', 'dynamodb:GetShardIterator', 'dynamodb:GetRecords']) {
        expect(evidence).to.deep.include({ fn: 'streamReader', action, resource: authorisedArn() });
      }
    });

    it('refuses ListStreams to a role that has it on the stream ARNs only: IAM authorises it on `*`', async () => {
      const error = await failure(streamsAs(as(streamReader)).send(new ListStreamsCommand({ TableName: TABLE })));
      expect([error.name, error.$metadata?.httpStatusCode]).to.deep.equal(['AccessDeniedException', 400]);
      expect(error.message).to.contain('dynamodb:ListStreams on resource: *');
    });

    it('refuses a role without the stream actions, naming the stream as IAM sees it', async () => {
      const error = await failure(streamsAs(as(reader)).send(new DescribeStreamCommand({ StreamArn: streamArn })));
      expect(error.name).to.equal('AccessDeniedException');
      expect(error.message).to.contain(`dynamodb:DescribeStream on resource: ${authorisedArn()} because`);
      const records = await failure(streamsAs(as(reader)).send(new GetRecordsCommand({ ShardIterator: `${streamArn}|001|AAAA` })));
      expect(records.message).to.contain(`dynamodb:GetRecords on resource: ${authorisedArn()} because`);
    });

    it('leaves an iterator that names no stream to the engine, which refuses it as DynamoDB does', async () => {
      const error = await failure(streamsAs(as(streamReader)).send(new GetRecordsCommand({ ShardIterator: 'not-an-iterator' })));
      expect(error.name).to.equal('ValidationException');
    });
  });

  describe('S3', () => {
    const objectKey = `media/${ulid()}/${ulid()}/original`;
    before(async () => {
      await s3As(as(writer)).send(new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: 'hello', ContentType: 'text/plain' }));
    });

    it('refuses an object call outside the role: AccessDenied, 403, the resource quoted', async () => {
      const error = await failure(s3As(as(reader)).send(new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: 'x' })));
      expect(error.name).to.equal('AccessDenied');
      expect(error.$metadata?.httpStatusCode).to.equal(403);
      expect(error.message).to.equal(
        `User: ${reader.sessionArn} is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::${BUCKET}/${objectKey}" because no identity-based policy allows the s3:PutObject action`,
      );
    });

    it('an explicit deny wins over an allow', async () => {
      const error = await failure(s3As(as(writer)).send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'media/protected/a' }] } })));
      expect(error.name).to.equal('AccessDenied');
      expect(error.message).to.contain('with an explicit deny in an identity-based policy');
    });

    it('answers a read of a missing object with 403 unless the role may list the bucket, as S3 does', async () => {
      const missing = `media/${ulid()}/missing`;
      const forbidden = await failure(s3As(as(reader)).send(new HeadObjectCommand({ Bucket: BUCKET, Key: missing })));
      expect(forbidden.$metadata?.httpStatusCode).to.equal(403);
      const getForbidden = await failure(s3As(as(reader)).send(new GetObjectCommand({ Bucket: BUCKET, Key: missing })));
      expect(getForbidden.name).to.equal('AccessDenied');
      expect(getForbidden.message).to.contain('s3:ListBucket');
      const notFound = await failure(s3As(as(lister)).send(new HeadObjectCommand({ Bucket: BUCKET, Key: missing })));
      expect([notFound.name, notFound.$metadata?.httpStatusCode]).to.deep.equal(['NotFound', 404]);
      expect((await failure(s3As(as(lister)).send(new GetObjectCommand({ Bucket: BUCKET, Key: missing })))).name).to.equal('NoSuchKey');
    });

    it('a presigned GET acts as its signer when used: the signer\'s role decides; a changed URL or an expired one is refused', async () => {
      const good = await getSignedUrl(s3As(as(reader)), new GetObjectCommand({ Bucket: BUCKET, Key: objectKey, ResponseContentDisposition: 'attachment; filename="a.txt"' }), { expiresIn: 60 });
      const fetched = await fetch(good);
      expect(fetched.status).to.equal(200);
      expect(await fetched.text()).to.equal('hello');
      expect(fetched.headers.get('content-disposition')).to.equal('attachment; filename="a.txt"');

      const bySomeoneWithout = await getSignedUrl(s3As(as(writer)), new GetObjectCommand({ Bucket: BUCKET, Key: objectKey }), { expiresIn: 60 });
      const refused = await fetch(bySomeoneWithout);
      expect(refused.status).to.equal(403);
      expect(await refused.text()).to.contain('<Code>AccessDenied</Code>');

      const otherKey = good.replace(encodeURI(objectKey), encodeURI(`${objectKey}x`));
      expect(await (await fetch(otherKey)).text()).to.contain('<Code>SignatureDoesNotMatch</Code>');
      const otherDisposition = good.replace('attachment', 'inline');
      expect(await (await fetch(otherDisposition)).text()).to.contain('<Code>SignatureDoesNotMatch</Code>');

      const expired = await getSignedUrl(s3As(as(reader)), new GetObjectCommand({ Bucket: BUCKET, Key: objectKey }), { expiresIn: 1, signingDate: new Date(Date.now() - 10_000) });
      const late = await fetch(expired);
      expect(late.status).to.equal(403);
      expect(await late.text()).to.contain('Request has expired');
    });

    it('a presigned POST acts as its signer when used: a signer without s3:PutObject cannot upload', async () => {
      const uploadKey = `media/${ulid()}/${ulid()}/original`;
      const post = async (signer: FunctionRole): Promise<Response> => {
        const { url, fields } = await createPresignedPost(s3As(as(signer)), { Bucket: BUCKET, Key: uploadKey, Conditions: [['content-length-range', 5, 5]], Expires: 60 });
        const form = new FormData();
        for (const [name, value] of Object.entries(fields)) form.append(name, value);
        form.append('file', new Blob(['12345']), 'f');
        return fetch(url, { method: 'POST', body: form });
      };
      const refused = await post(reader);
      expect(refused.status).to.equal(403);
      expect(await refused.text()).to.contain(`is not authorized to perform: s3:PutObject on resource: &quot;arn:aws:s3:::${BUCKET}/${uploadKey}&quot;`);
      expect((await post(writer)).status).to.equal(204);
      expect(readEvidence(evidenceFile)).to.deep.include({ fn: 'writer', action: 's3:PutObject', resource: `arn:aws:s3:::${BUCKET}/${uploadKey}` });
    });
  });

  describe('SNS and SSM', () => {
    it('SNS refuses a publish outside the role as AuthorizationError (AuthorizationErrorException in the SDK), 403', async () => {
      // No backend is needed to be refused: the gateway decides before forwarding.
      const sns = await startGateway({ service: 'sns', backend: 'http://127.0.0.1:9', roles });
      try {
        const client = new SNSClient({ endpoint: sns.endpoint, region: 'us-east-1', credentials: as(reader), maxAttempts: 1 });
        const error = await failure(client.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:media-library-local-analysis-requests', Message: '{}' })));
        // The SDK names the modelled exception of the AuthorizationError code, as on AWS.
        expect([error.name, error.$metadata?.httpStatusCode]).to.deep.equal(['AuthorizationErrorException', 403]);
        expect(error.message).to.contain('is not authorized to perform: SNS:Publish on resource: arn:aws:sns:us-east-1:123456789012:media-library-local-analysis-requests');
      } finally {
        await sns.stop();
      }
    });

    it('SSM serves the parameters a role may read, and refuses the others', async () => {
      const client = new SSMClient({ endpoint: ssm.endpoint, region: 'us-east-1', credentials: as(reader), maxAttempts: 1 });
      expect((await client.send(new GetParameterCommand({ Name: '/media-library/local/jwt/public' }))).Parameter?.Value).to.equal('{"keys":[]}');
      const error = await failure(client.send(new GetParameterCommand({ Name: '/media-library/local/jwt/private', WithDecryption: true })));
      expect(error.name).to.equal('AccessDeniedException');
      expect(error.message).to.contain('ssm:GetParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter/media-library/local/jwt/private');
    });
  });

  it('records no evidence for local tooling, and each allowed (function, action, resource) once', () => {
    const lines = readEvidence(evidenceFile);
    expect(lines.every((line) => roles.has(`media-library-local-${line.fn}`))).to.equal(true);
    expect(new Set(lines.map((line) => JSON.stringify(line))).size).to.equal(lines.length);
  });

  it('never creates the evidence file: once the run that asked for it removed it, nothing is left behind', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-evidence-'));
    const file = path.join(dir, 'evidence.jsonl');
    fs.writeFileSync(file, '');
    const log = new EvidenceLog(file);
    log.record({ fn: 'reader', action: 'dynamodb:GetItem', resource: TABLE_ARN });
    expect(readEvidence(file)).to.deep.equal([{ fn: 'reader', action: 'dynamodb:GetItem', resource: TABLE_ARN }]);
    fs.rmSync(file);
    log.record({ fn: 'reader', action: 'dynamodb:Query', resource: TABLE_ARN });
    expect(fs.existsSync(file)).to.equal(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('rewrites the Location of a stored object to the address the client used', async () => {
    // s3rver names itself in the Location header of a POST upload; clients must see the gateway.
    const backend = http.createServer((_request, response) => response.writeHead(204, { location: `http://127.0.0.1:${(backend.address() as AddressInfo).port}/b/k` }).end());
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const gateway = await startGateway({ service: 's3', backend: `http://127.0.0.1:${(backend.address() as AddressInfo).port}`, roles });
    try {
      const response = await fetch(`${gateway.endpoint}/${BUCKET}`, { method: 'OPTIONS' });
      expect(response.headers.get('location')).to.equal(`${gateway.endpoint}/b/k`);
    } finally {
      await gateway.stop();
      backend.close();
    }
  });
});
