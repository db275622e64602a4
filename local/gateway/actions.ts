/**
 * What IAM authorises for each AWS request the functions make: the action(s) and resource ARN(s)
 * AWS itself checks, which are not always the API operation's name. A TransactWriteItems is
 * authorised entry by entry (PutItem, UpdateItem, DeleteItem, ConditionCheckItem), a query on an
 * index needs the index's ARN, a multi-object delete needs s3:DeleteObject on every key, a
 * presigned request is authorised as its signer when it is used. An operation this table does
 * not know is refused loudly rather than guessed.
 */
import type { AuthorizationRequest } from './authorize';
import { LOCAL_ACCOUNT, LOCAL_LIVE_API_ID, LOCAL_STAGE, type Account } from './roles';

export class UnknownOperation extends Error {}

type Json = Record<string, unknown>;
/** A request field that must be a string; anything else is not a request AWS would accept. */
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

const tableArn = (name: unknown, account: Account): string => {
  const table = text(name);
  return table.startsWith('arn:') ? table : `arn:${account.partition}:dynamodb:${account.region}:${account.accountId}:table/${table}`;
};

/** DynamoDB (JSON 1.0 protocol): `X-Amz-Target: DynamoDB_20120810.<Operation>` and its body. */
export function dynamodbAuthorizations(operation: string, body: Json, account: Account = LOCAL_ACCOUNT): AuthorizationRequest[] {
  const action = (name: string, table: unknown, index?: unknown): AuthorizationRequest => ({
    action: `dynamodb:${name}`,
    resource: index === undefined || index === null ? tableArn(table, account) : `${tableArn(table, account)}/index/${text(index)}`,
  });
  switch (operation) {
    case 'GetItem':
    case 'PutItem':
    case 'UpdateItem':
    case 'DeleteItem':
    case 'DescribeTable':
    case 'DescribeTimeToLive':
      return [action(operation, body['TableName'])];
    case 'Query':
    case 'Scan':
      return [action(operation, body['TableName'], body['IndexName'])];
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys((body['RequestItems'] as Json | undefined) ?? {}).map((table) => action(operation, table));
    case 'TransactGetItems':
      return ((body['TransactItems'] as Json[] | undefined) ?? []).map((item) => action('GetItem', (item['Get'] as Json | undefined)?.['TableName']));
    case 'TransactWriteItems': {
      const perEntry: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' };
      return ((body['TransactItems'] as Json[] | undefined) ?? []).flatMap((item) =>
        Object.entries(item).map(([kind, entry]) => {
          const name = perEntry[kind];
          if (name === undefined) throw new UnknownOperation(`TransactWriteItems entry ${kind}`);
          return action(name, (entry as Json)['TableName']);
        }),
      );
    }
    case 'ListTables':
      return [{ action: 'dynamodb:ListTables', resource: '*' }];
    default:
      throw new UnknownOperation(`DynamoDB ${operation}`);
  }
}

/**
 * DynamoDB Local names its streams in its own account and region
 * (`arn:aws:dynamodb:ddblocal:000000000000:table/<name>/stream/<label>`); IAM sees them in the
 * local account and region, as the roles name them (roles.ts resolves `Fn::GetAtt [T, StreamArn]`).
 * Any other ARN is authorised as it is.
 */
export function localStreamArn(arn: string, account: Account = LOCAL_ACCOUNT): string {
  const match = /^arn:([^:]+):dynamodb:ddblocal:000000000000:(table\/.*)$/.exec(arn);
  return match === null ? arn : `arn:${match[1] as string}:dynamodb:${account.region}:${account.accountId}:${match[2] as string}`;
}

/**
 * DynamoDB Streams (JSON 1.0 protocol, served by DynamoDB Local on the same port):
 * `X-Amz-Target: DynamoDBStreams_20120810.<Operation>`. Lambda's event source mapping reads a
 * stream with the function's execution role, so the local stream poller signs as the function.
 */
export function dynamodbStreamsAuthorizations(operation: string, body: Json, account: Account = LOCAL_ACCOUNT): AuthorizationRequest[] {
  const onStream = (name: string, arn: string): AuthorizationRequest[] =>
    // Not an ARN at all: nothing IAM could name; the engine refuses it (ValidationException), as AWS does.
    arn.startsWith('arn:') ? [{ action: `dynamodb:${name}`, resource: localStreamArn(arn, account) }] : [];
  switch (operation) {
    case 'ListStreams':
      // The service authorization reference gives ListStreams no resource type: it is authorised
      // on `*` only, so a grant on stream ARNs (what serverless adds for a stream event) never allows it.
      return [{ action: 'dynamodb:ListStreams', resource: '*' }];
    case 'DescribeStream':
    case 'GetShardIterator':
      return onStream(operation, text(body['StreamArn']));
    case 'GetRecords': {
      // A shard iterator starts with its stream's ARN: `<stream arn>|<sequence>|<opaque>` (AWS and DynamoDB Local alike).
      const iterator = text(body['ShardIterator']);
      const bar = iterator.indexOf('|');
      return onStream(operation, bar === -1 ? '' : iterator.slice(0, bar));
    }
    default:
      throw new UnknownOperation(`DynamoDB Streams ${operation}`);
  }
}

/** The API Gateway Management API of a WebSocket API: `/@connections/{connectionId}`, as the path arrives on the wire. */
export type ConnectionsPath = { kind: 'connection'; connectionId: string } | { kind: 'other-connections' } | { kind: 'not-connections' };

export function connectionsPath(rawPath: string): ConnectionsPath {
  const decode = (segment: string): string | undefined => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return undefined;
    }
  };
  const segments = rawPath.split('/').slice(1).map(decode);
  if (segments[0] !== '@connections') return { kind: 'not-connections' };
  const connectionId = segments[1];
  return segments.length === 2 && connectionId !== undefined && connectionId !== '' ? { kind: 'connection', connectionId } : { kind: 'other-connections' };
}

/**
 * What IAM authorises for a call of the Management API (PostToConnection, DeleteConnection,
 * GetConnection): `execute-api:ManageConnections` on
 * `arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/@connections/{connectionId}`.
 * The last segment is the route's own `{connectionId}`, not the connection's id: that is the
 * resource AWS names when it refuses the call (e.g. "… is not authorized to perform:
 * execute-api:ManageConnections on resource:
 * arn:aws:execute-api:us-east-1:********8512:uuhovneo02/Prod/POST/@connections/{connectionId}"),
 * and the one the documented `…/POST/@connections` ARN format extends
 * (docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html).
 */
export function liveAuthorizations(method: string, account: Account = LOCAL_ACCOUNT, api: { apiId: string; stage: string } = { apiId: LOCAL_LIVE_API_ID, stage: LOCAL_STAGE }): AuthorizationRequest[] {
  return [{ action: 'execute-api:ManageConnections', resource: `arn:${account.partition}:execute-api:${account.region}:${account.accountId}:${api.apiId}/${api.stage}/${method.toUpperCase()}/@connections/{connectionId}` }];
}

/** SNS (query protocol): the form parameters of the request. */
export function snsAuthorizations(parameters: URLSearchParams): AuthorizationRequest[] {
  const operation = parameters.get('Action');
  if (operation === 'Publish') return [{ action: 'sns:Publish', resource: parameters.get('TopicArn') ?? parameters.get('TargetArn') ?? '' }];
  throw new UnknownOperation(`SNS ${operation ?? '(no Action)'}`);
}

/** SSM (JSON 1.1 protocol): `X-Amz-Target: AmazonSSM.<Operation>`. */
export function ssmAuthorizations(operation: string, body: Json, account: Account = LOCAL_ACCOUNT): AuthorizationRequest[] {
  if (operation !== 'GetParameter') throw new UnknownOperation(`SSM ${operation}`);
  const name = text(body['Name']);
  return [{ action: 'ssm:GetParameter', resource: `arn:${account.partition}:ssm:${account.region}:${account.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}` }];
}

/** An S3 REST request, path-style: `/<bucket>/<key>?<subresources>`, with its (decoded) bucket and key. */
export interface S3Call {
  method: string;
  bucket: string | undefined;
  key: string | undefined;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** Keys named in a multi-object delete body (POST ?delete). */
  deleteKeys?: string[];
}

const header = (headers: S3Call['headers'], name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Splits `/bucket/some/key` (percent-encoded, as on the wire) into bucket and key. */
export function s3Target(rawPath: string): { bucket: string | undefined; key: string | undefined } {
  const [, bucket, ...rest] = rawPath.split('/');
  const decode = (part: string): string => decodeURIComponent(part);
  return { bucket: bucket === undefined || bucket === '' ? undefined : decode(bucket), key: rest.length === 0 || rest.join('/') === '' ? undefined : rest.map(decode).join('/') };
}

/** The object keys of a DeleteObjects request body. */
export function deleteObjectKeys(xml: string): string[] {
  const unescape = (text: string): string =>
    text.replace(/&(lt|gt|amp|quot|apos|#x([0-9a-fA-F]+)|#([0-9]+));/g, (entity: string, name: string, hex?: string, decimal?: string) => {
      if (hex !== undefined) return String.fromCodePoint(parseInt(hex, 16));
      if (decimal !== undefined) return String.fromCodePoint(parseInt(decimal, 10));
      return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[name] ?? entity;
    });
  return [...xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((match) => unescape(match[1] as string));
}

export function s3Authorizations(call: S3Call, account: Account = LOCAL_ACCOUNT): AuthorizationRequest[] {
  const { method, bucket, key, query } = call;
  if (bucket === undefined) {
    if (method === 'GET') return [{ action: 's3:ListAllMyBuckets', resource: '*' }];
    throw new UnknownOperation(`S3 ${method} /`);
  }
  const bucketArn = `arn:${account.partition}:s3:::${bucket}`;
  const objectArn = (objectKey: string): string => `${bucketArn}/${objectKey}`;
  const on = (action: string, resource: string, context?: Record<string, string>): AuthorizationRequest => ({ action: `s3:${action}`, resource, ...(context === undefined ? {} : { context }) });

  if (key === undefined) {
    if (method === 'GET' && query.has('uploads')) return [on('ListBucketMultipartUploads', bucketArn)];
    if (method === 'GET' && [...query.keys()].every((name) => ['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'marker', 'encoding-type', 'fetch-owner'].includes(name) || name.startsWith('x-amz-'))) {
      const context: Record<string, string> = {};
      for (const name of ['prefix', 'delimiter', 'max-keys']) {
        const value = query.get(name);
        if (value !== null) context[`s3:${name}`] = value;
      }
      return [on('ListBucket', bucketArn, context)];
    }
    if (method === 'POST' && query.has('delete')) return (call.deleteKeys ?? []).map((objectKey) => on('DeleteObject', objectArn(objectKey)));
    if (method === 'HEAD' && [...query.keys()].length === 0) return [on('ListBucket', bucketArn)];
    throw new UnknownOperation(`S3 ${method} bucket ?${[...query.keys()].join('&')}`);
  }

  const copySource = header(call.headers, 'x-amz-copy-source');
  const copy = (): AuthorizationRequest[] => {
    if (copySource === undefined) return [];
    const [sourcePath] = decodeURIComponent(copySource).replace(/^\//, '').split('?') as [string];
    return [on('GetObject', `arn:${account.partition}:s3:::${sourcePath}`)];
  };
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (query.has('uploadId')) return [on('ListMultipartUploadParts', objectArn(key))];
      if (query.has('tagging') || query.has('acl') || query.has('attributes')) throw new UnknownOperation(`S3 ${method} object ?${[...query.keys()].join('&')}`);
      return [on('GetObject', objectArn(key))];
    case 'PUT':
      if (query.has('tagging') || query.has('acl') || query.has('retention') || query.has('legal-hold')) throw new UnknownOperation(`S3 PUT object ?${[...query.keys()].join('&')}`);
      // PutObject, CopyObject, UploadPart and UploadPartCopy are all authorised as s3:PutObject (+ read of a copy source).
      return [on('PutObject', objectArn(key)), ...copy()];
    case 'POST':
      if (query.has('uploads') || query.has('uploadId')) return [on('PutObject', objectArn(key))];
      throw new UnknownOperation(`S3 POST object ?${[...query.keys()].join('&')}`);
    case 'DELETE':
      return query.has('uploadId') ? [on('AbortMultipartUpload', objectArn(key))] : [on('DeleteObject', objectArn(key))];
    default:
      throw new UnknownOperation(`S3 ${method} object`);
  }
}
