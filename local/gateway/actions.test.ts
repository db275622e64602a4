import { expect } from 'chai';
import {
  connectionsPath,
  deleteObjectKeys,
  dynamodbAuthorizations,
  dynamodbStreamsAuthorizations,
  liveAuthorizations,
  localStreamArn,
  s3Authorizations,
  s3Target,
  snsAuthorizations,
  ssmAuthorizations,
  UnknownOperation,
} from './actions';

const TABLE = 'arn:aws:dynamodb:us-east-1:123456789012:table/t';

describe('what IAM authorises for each AWS request (local/gateway/actions)', () => {
  describe('DynamoDB', () => {
    it('single-item operations: the operation on the table (by name or ARN)', () => {
      for (const operation of ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']) {
        expect(dynamodbAuthorizations(operation, { TableName: 't' })).to.deep.equal([{ action: `dynamodb:${operation}`, resource: TABLE }]);
      }
      expect(dynamodbAuthorizations('GetItem', { TableName: TABLE })).to.deep.equal([{ action: 'dynamodb:GetItem', resource: TABLE }]);
    });

    it('a query or scan of an index needs the index ARN', () => {
      expect(dynamodbAuthorizations('Query', { TableName: 't' })).to.deep.equal([{ action: 'dynamodb:Query', resource: TABLE }]);
      expect(dynamodbAuthorizations('Query', { TableName: 't', IndexName: 'byType' })).to.deep.equal([{ action: 'dynamodb:Query', resource: `${TABLE}/index/byType` }]);
      expect(dynamodbAuthorizations('Scan', { TableName: 't', IndexName: 'x' })).to.deep.equal([{ action: 'dynamodb:Scan', resource: `${TABLE}/index/x` }]);
    });

    it('transactions entry by entry (PutItem, UpdateItem, DeleteItem, ConditionCheckItem; GetItem for reads); batches per table', () => {
      const write = dynamodbAuthorizations('TransactWriteItems', {
        TransactItems: [{ Put: { TableName: 't' } }, { Update: { TableName: 't' } }, { Delete: { TableName: 'u' } }, { ConditionCheck: { TableName: 't' } }],
      });
      expect(write.map((entry) => entry.action)).to.deep.equal(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem']);
      expect(write[2]?.resource).to.equal('arn:aws:dynamodb:us-east-1:123456789012:table/u');
      expect(dynamodbAuthorizations('TransactGetItems', { TransactItems: [{ Get: { TableName: 't' } }] })).to.deep.equal([{ action: 'dynamodb:GetItem', resource: TABLE }]);
      expect(dynamodbAuthorizations('BatchWriteItem', { RequestItems: { t: [], u: [] } }).map((entry) => entry.resource)).to.have.length(2);
      expect(dynamodbAuthorizations('BatchGetItem', { RequestItems: { t: {} } })).to.deep.equal([{ action: 'dynamodb:BatchGetItem', resource: TABLE }]);
    });

    it('refuses to guess an operation it does not know', () => {
      expect(() => dynamodbAuthorizations('ExecuteStatement', {})).to.throw(UnknownOperation);
      expect(() => dynamodbAuthorizations('TransactWriteItems', { TransactItems: [{ Upsert: { TableName: 't' } }] })).to.throw(UnknownOperation);
    });
  });

  describe('S3', () => {
    const call = (method: string, rawPath: string, query = '', headers: Record<string, string> = {}, deleteKeys?: string[]) => ({
      method,
      ...s3Target(rawPath),
      query: new URLSearchParams(query),
      headers,
      ...(deleteKeys === undefined ? {} : { deleteKeys }),
    });

    it('splits a path-style path into bucket and decoded key', () => {
      expect(s3Target('/b/media/a%20b/%E2%9C%93')).to.deep.equal({ bucket: 'b', key: 'media/a b/✓' });
      expect(s3Target('/b')).to.deep.equal({ bucket: 'b', key: undefined });
      expect(s3Target('/')).to.deep.equal({ bucket: undefined, key: undefined });
    });

    it('object reads, writes and deletes on the object ARN; HEAD is GetObject; copies read their source', () => {
      expect(s3Authorizations(call('GET', '/b/k'))).to.deep.equal([{ action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' }]);
      expect(s3Authorizations(call('HEAD', '/b/k'))).to.deep.equal([{ action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' }]);
      expect(s3Authorizations(call('PUT', '/b/k'))).to.deep.equal([{ action: 's3:PutObject', resource: 'arn:aws:s3:::b/k' }]);
      expect(s3Authorizations(call('PUT', '/b/k', '', { 'x-amz-copy-source': '/b/src%20x' }))).to.deep.equal([
        { action: 's3:PutObject', resource: 'arn:aws:s3:::b/k' },
        { action: 's3:GetObject', resource: 'arn:aws:s3:::b/src x' },
      ]);
      expect(s3Authorizations(call('DELETE', '/b/k'))).to.deep.equal([{ action: 's3:DeleteObject', resource: 'arn:aws:s3:::b/k' }]);
    });

    it('multipart uploads: create, parts and complete are PutObject; abort and list parts have their own actions', () => {
      expect(s3Authorizations(call('POST', '/b/k', 'uploads'))[0]?.action).to.equal('s3:PutObject');
      expect(s3Authorizations(call('PUT', '/b/k', 'partNumber=1&uploadId=x'))[0]?.action).to.equal('s3:PutObject');
      expect(s3Authorizations(call('POST', '/b/k', 'uploadId=x'))[0]?.action).to.equal('s3:PutObject');
      expect(s3Authorizations(call('DELETE', '/b/k', 'uploadId=x'))[0]?.action).to.equal('s3:AbortMultipartUpload');
      expect(s3Authorizations(call('GET', '/b/k', 'uploadId=x'))[0]?.action).to.equal('s3:ListMultipartUploadParts');
      expect(s3Authorizations(call('GET', '/b', 'uploads'))[0]).to.deep.equal({ action: 's3:ListBucketMultipartUploads', resource: 'arn:aws:s3:::b' });
    });

    it('listing is ListBucket on the bucket with its condition keys; a multi-object delete is DeleteObject per key', () => {
      expect(s3Authorizations(call('GET', '/b', 'list-type=2&prefix=media%2Fu%2F&max-keys=10'))).to.deep.equal([
        { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', context: { 's3:prefix': 'media/u/', 's3:max-keys': '10' } },
      ]);
      expect(s3Authorizations(call('POST', '/b', 'delete', {}, ['a', 'b/c']))).to.deep.equal([
        { action: 's3:DeleteObject', resource: 'arn:aws:s3:::b/a' },
        { action: 's3:DeleteObject', resource: 'arn:aws:s3:::b/b/c' },
      ]);
      expect(deleteObjectKeys('<Delete><Object><Key>a&amp;b</Key></Object><Object><Key>c&#x2713;</Key></Object></Delete>')).to.deep.equal(['a&b', 'c✓']);
    });

    it('refuses to guess sub-resources it does not know', () => {
      expect(() => s3Authorizations(call('PUT', '/b/k', 'acl'))).to.throw(UnknownOperation);
      expect(() => s3Authorizations(call('GET', '/b', 'policy'))).to.throw(UnknownOperation);
    });
  });

  it('SNS Publish on the topic; SSM GetParameter on the parameter ARN', () => {
    expect(snsAuthorizations(new URLSearchParams('Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At'))).to.deep.equal([{ action: 'sns:Publish', resource: 'arn:aws:sns:us-east-1:1:t' }]);
    expect(() => snsAuthorizations(new URLSearchParams('Action=CreateTopic'))).to.throw(UnknownOperation);
    expect(ssmAuthorizations('GetParameter', { Name: '/a/b' })).to.deep.equal([{ action: 'ssm:GetParameter', resource: 'arn:aws:ssm:us-east-1:123456789012:parameter/a/b' }]);
  });

  describe('DynamoDB Streams', () => {
    const LOCAL_STREAM = 'arn:aws:dynamodb:ddblocal:000000000000:table/media-library-local-media/stream/2026-01-16T10:00:00.000';
    const STREAM = 'arn:aws:dynamodb:us-east-1:123456789012:table/media-library-local-media/stream/2026-01-16T10:00:00.000';

    it("rewrites DynamoDB Local's stream ARNs into the local account and region; leaves any other ARN as it is", () => {
      expect(localStreamArn(LOCAL_STREAM)).to.equal(STREAM);
      expect(localStreamArn(STREAM)).to.equal(STREAM);
      expect(localStreamArn('arn:aws:dynamodb:eu-west-1:999999999999:table/t/stream/x')).to.equal('arn:aws:dynamodb:eu-west-1:999999999999:table/t/stream/x');
    });

    it('DescribeStream and GetShardIterator on the stream ARN they name', () => {
      expect(dynamodbStreamsAuthorizations('DescribeStream', { StreamArn: LOCAL_STREAM })).to.deep.equal([{ action: 'dynamodb:DescribeStream', resource: STREAM }]);
      expect(dynamodbStreamsAuthorizations('GetShardIterator', { StreamArn: LOCAL_STREAM, ShardId: 'shardId-1', ShardIteratorType: 'LATEST' })).to.deep.equal([
        { action: 'dynamodb:GetShardIterator', resource: STREAM },
      ]);
    });

    it("GetRecords on the stream its shard iterator starts with; an iterator that names none is the engine's to refuse", () => {
      expect(dynamodbStreamsAuthorizations('GetRecords', { ShardIterator: `${LOCAL_STREAM}|001|c2hhcmRJZC0w` })).to.deep.equal([{ action: 'dynamodb:GetRecords', resource: STREAM }]);
      expect(dynamodbStreamsAuthorizations('GetRecords', { ShardIterator: 'garbage' })).to.deep.equal([]);
    });

    it('ListStreams on `*`: the service authorization reference gives it no resource type', () => {
      expect(dynamodbStreamsAuthorizations('ListStreams', { TableName: 'media-library-local-media' })).to.deep.equal([{ action: 'dynamodb:ListStreams', resource: '*' }]);
    });

    it('refuses to guess an operation it does not know', () => {
      expect(() => dynamodbStreamsAuthorizations('UpdateStream', {})).to.throw(UnknownOperation);
    });
  });

  describe('API Gateway Management API (live updates)', () => {
    it('finds the connection of a /@connections/{connectionId} path, decoded', () => {
      expect(connectionsPath('/@connections/L0SM9cOFvHcCIhw%3D')).to.deep.equal({ kind: 'connection', connectionId: 'L0SM9cOFvHcCIhw=' });
      expect(connectionsPath('/%40connections/%2B%2F%3D')).to.deep.equal({ kind: 'connection', connectionId: '+/=' });
      expect(connectionsPath('/@connections')).to.deep.equal({ kind: 'other-connections' });
      expect(connectionsPath('/@connections/')).to.deep.equal({ kind: 'other-connections' });
      expect(connectionsPath('/@connections/a/b')).to.deep.equal({ kind: 'other-connections' });
      expect(connectionsPath('/@connections/%E0%A4%A')).to.deep.equal({ kind: 'other-connections' });
      expect(connectionsPath('/')).to.deep.equal({ kind: 'not-connections' });
      expect(connectionsPath('/local')).to.deep.equal({ kind: 'not-connections' });
    });

    it("execute-api:ManageConnections on the API's route of the method, as AWS names it", () => {
      expect(liveAuthorizations('POST')).to.deep.equal([
        { action: 'execute-api:ManageConnections', resource: 'arn:aws:execute-api:us-east-1:123456789012:local-live-api/local/POST/@connections/{connectionId}' },
      ]);
      expect(liveAuthorizations('delete', { accountId: '1', region: 'eu-west-1', partition: 'aws' }, { apiId: 'abc', stage: 'prod' })).to.deep.equal([
        { action: 'execute-api:ManageConnections', resource: 'arn:aws:execute-api:eu-west-1:1:abc/prod/DELETE/@connections/{connectionId}' },
      ]);
    });
  });
});
