/**
 * SigV4 verification against signatures made by the real signers: the SDK clients of every
 * service the functions call (their requests captured as they arrive on a loopback socket, byte
 * for byte what the gateway will see), getSignedUrl's presigned URLs, and @smithy/signature-v4
 * for the shapes our clients never produce (double-encoded paths, session tokens).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import http from 'node:http';
import { type AddressInfo } from 'node:net';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import { expect } from 'chai';
import { claimedAccessKey, signingKey, verifySignature, type SignatureResult, type WireRequest } from './sigv4';

const ACCESS_KEY_ID = 'media-library-local-createMedia';
const SECRET = 'local-secret';
const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET };
const secretFor = (accessKeyId: string): string | undefined => (accessKeyId === ACCESS_KEY_ID ? SECRET : undefined);
const MINUTE = 60_000;

/** Keys a user's file names turn into: spaces, non-ASCII, and the characters form encoding mangles. */
const AWKWARD_KEY = 'media/ü 1/Été 2026 (copy) + draft=v2 & ~final! 😀.jpg';
/** RFC 6266: an ASCII fallback plus the UTF-8 name (as shared/content/s3Content.ts builds it). */
const DISPOSITION = `inline; filename="_t_ 2026 (copy).jpg"; filename*=UTF-8''%C3%89t%C3%A9%202026%20%28copy%29.jpg`;

/** The chunk hashes @smithy/signature-v4 asks for, from node:crypto. */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const key = typeof this.secret === 'string' ? this.secret : ArrayBuffer.isView(this.secret) ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength) : Buffer.from(this.secret);
    return createHmac('sha256', key);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

type SmithyRequest = Parameters<SignatureV4['presign']>[0];

/** A loopback server that keeps every request exactly as it arrived. */
class CapturingServer {
  readonly requests: WireRequest[] = [];
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '/';
      const query = url.indexOf('?');
      this.requests.push({
        method: request.method ?? 'GET',
        rawPath: query === -1 ? url : url.slice(0, query),
        rawQuery: query === -1 ? '' : url.slice(query + 1),
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      // Enough for the clients to finish; what they make of it does not matter here.
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The request `send` made, whatever the client then made of the answer. */
  async capture(send: () => Promise<unknown>): Promise<WireRequest> {
    const before = this.requests.length;
    await send().catch(() => undefined);
    expect(this.requests.length, 'one request reached the server').to.equal(before + 1);
    return this.requests[before]!;
  }
}

function wireFromUrl(url: string, method = 'GET', headers: Record<string, string> = {}): WireRequest {
  const parsed = new URL(url);
  return { method, rawPath: parsed.pathname, rawQuery: parsed.search.slice(1), headers: { host: parsed.host, ...headers } };
}

/** The same request with its query parameter `name` set to `value` (added when missing), encoded as the SDK encodes. */
function withQueryParam(request: WireRequest, name: string, value: string): WireRequest {
  const params = new URLSearchParams(request.rawQuery);
  params.set(name, value);
  return { ...request, rawQuery: params.toString().replace(/\+/g, '%20') };
}

function refusal(result: SignatureResult): { status: number; code: string; message: string } {
  expect(result.ok, JSON.stringify(result)).to.equal(false);
  const { status, code, message } = result as Extract<SignatureResult, { ok: false }>;
  return { status, code, message };
}

function expectSignatureMismatch(result: SignatureResult): void {
  expect(refusal(result)).to.deep.include({ status: 403, code: 'SignatureDoesNotMatch' });
}

describe('local gateway: SigV4 verification', function () {
  const server = new CapturingServer();
  let endpoint: string;
  const clientConfig = (): { region: string; endpoint: string; credentials: typeof credentials; maxAttempts: number } => ({
    region: 'us-east-1',
    endpoint,
    credentials,
    maxAttempts: 1,
  });

  before(async () => {
    endpoint = await server.start();
  });
  after(async () => {
    await server.stop();
  });

  describe('signingKey', () => {
    it('derives the key of AWS’s documented example', () => {
      // docs.aws.amazon.com, "Examples of how to derive a signing key for Signature Version 4".
      const key = signingKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam');
      expect(key.toString('hex')).to.equal('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
    });
  });

  describe('AWS’s own Signature Version 4 test suite', () => {
    it('get-vanilla verifies, at its date; a day later it is too skewed', () => {
      const request: WireRequest = {
        method: 'GET',
        rawPath: '/',
        rawQuery: '',
        headers: {
          host: 'example.amazonaws.com',
          'x-amz-date': '20150830T123600Z',
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
        },
      };
      const secret = (id: string): string | undefined => (id === 'AKIDEXAMPLE' ? 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' : undefined);
      expect(verifySignature(request, secret, new Date('2015-08-30T12:36:00Z'))).to.deep.equal({
        ok: true,
        accessKeyId: 'AKIDEXAMPLE',
        region: 'us-east-1',
        service: 'service',
        mechanism: 'header',
        signedAt: new Date('2015-08-30T12:36:00Z'),
      });
      expect(refusal(verifySignature(request, secret, new Date('2015-08-31T12:36:00Z'))).code).to.equal('RequestTimeTooSkewed');
    });
  });

  describe('header-signed requests from the SDK clients', () => {
    it('DynamoDB (JSON body, hashed): passes, naming the key, region and service', async () => {
      const request = await server.capture(() =>
        new DynamoDBClient(clientConfig()).send(
          new PutItemCommand({ TableName: 'media-library-local-media', Item: { pk: { S: 'USER#ü' }, title: { S: 'Été  2026 "quoted"' } } }),
        ),
      );
      const result = verifySignature(request, secretFor, new Date());
      expect(result).to.deep.include({ ok: true, accessKeyId: ACCESS_KEY_ID, region: 'us-east-1', service: 'dynamodb', mechanism: 'header' });
      expect(claimedAccessKey(request)).to.equal(ACCESS_KEY_ID);
    });

    it('DynamoDB: another body, another method, another secret, another key each fail', async () => {
      const request = await server.capture(() =>
        new DynamoDBClient(clientConfig()).send(new PutItemCommand({ TableName: 'media-library-local-media', Item: { pk: { S: 'USER#1' } } })),
      );
      const body = Buffer.from(request.body!.toString('utf8').replace('USER#1', 'USER#2'));
      expectSignatureMismatch(verifySignature({ ...request, body }, secretFor, new Date()));
      expectSignatureMismatch(verifySignature({ ...request, body: undefined }, secretFor, new Date()));
      expectSignatureMismatch(verifySignature({ ...request, method: 'PUT' }, secretFor, new Date()));
      expectSignatureMismatch(verifySignature(request, () => 'another-secret', new Date()));
      // Claiming another function's key (with its own secret) with this signature.
      const otherKey = String(request.headers['authorization']).replace(ACCESS_KEY_ID, 'media-library-local-deleteMedia');
      const claimingOther = { ...request, headers: { ...request.headers, authorization: otherKey } };
      const secrets: Record<string, string> = { [ACCESS_KEY_ID]: SECRET, 'media-library-local-deleteMedia': 'delete-secret' };
      expectSignatureMismatch(verifySignature(claimingOther, (id) => secrets[id], new Date()));
    });

    it('S3 PutObject with an awkward key: passes; another path or another signed header fails', async () => {
      const request = await server.capture(() =>
        new S3Client({ ...clientConfig(), forcePathStyle: true }).send(
          new PutObjectCommand({ Bucket: 'media-library-local-content', Key: AWKWARD_KEY, Body: 'hello', ContentType: 'image/jpeg', Metadata: { owner: 'u1' } }),
        ),
      );
      expect(request.rawPath, 'the SDK encodes the key once').to.contain('%C3%BC%201/');
      expect(verifySignature(request, secretFor, new Date())).to.deep.include({ ok: true, service: 's3', mechanism: 'header' });

      expectSignatureMismatch(verifySignature({ ...request, rawPath: request.rawPath.replace('draft', 'final') }, secretFor, new Date()));
      // The same path spelled differently on the wire is another path to S3 (it signs the path as sent).
      expectSignatureMismatch(verifySignature({ ...request, rawPath: request.rawPath.replace('%20', '+') }, secretFor, new Date()));
      expectSignatureMismatch(verifySignature({ ...request, headers: { ...request.headers, 'content-type': 'image/png' } }, secretFor, new Date()));
      expectSignatureMismatch(verifySignature({ ...request, headers: { ...request.headers, 'x-amz-meta-owner': 'u2' } }, secretFor, new Date()));
      expectSignatureMismatch(verifySignature({ ...request, headers: { ...request.headers, host: 'localhost:4569' } }, secretFor, new Date()));
    });

    it('S3: a body other than the one x-amz-content-sha256 announces is refused as S3 refuses it', async () => {
      const request = await server.capture(() =>
        new S3Client({ ...clientConfig(), forcePathStyle: true }).send(new PutObjectCommand({ Bucket: 'media-library-local-content', Key: 'a.txt', Body: 'hello' })),
      );
      const announced = String(request.headers['x-amz-content-sha256']);
      expect(announced).to.equal(createHash('sha256').update('hello').digest('hex'));
      // Without the body (a gateway streaming it on) the signature alone is checked.
      expect(verifySignature({ ...request, body: undefined }, secretFor, new Date()).ok).to.equal(true);
      const result = verifySignature({ ...request, body: Buffer.from('hellO') }, secretFor, new Date());
      expect(refusal(result)).to.deep.equal({
        status: 400,
        code: 'XAmzContentSHA256Mismatch',
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
      });
    });

    it('S3 ListObjectsV2 (signed query): passes; another query value, an added or a removed parameter fails', async () => {
      const request = await server.capture(() =>
        new S3Client({ ...clientConfig(), forcePathStyle: true }).send(
          new ListObjectsV2Command({ Bucket: 'media-library-local-content', Prefix: 'media/ü 1/a+b=c&d', MaxKeys: 5 }),
        ),
      );
      expect(request.rawQuery).to.contain('prefix=');
      expect(verifySignature(request, secretFor, new Date()).ok).to.equal(true);
      expectSignatureMismatch(verifySignature(withQueryParam(request, 'max-keys', '6'), secretFor, new Date()));
      expectSignatureMismatch(verifySignature(withQueryParam(request, 'prefix', 'media/'), secretFor, new Date()));
      expectSignatureMismatch(verifySignature({ ...request, rawQuery: `${request.rawQuery}&fetch-owner=true` }, secretFor, new Date()));
      expectSignatureMismatch(verifySignature({ ...request, rawQuery: request.rawQuery.replace(/&?max-keys=5/, '') }, secretFor, new Date()));
    });

    it('S3: an x-amz-* header added after signing is refused (HeadersNotSigned), as S3 does', async () => {
      const request = await server.capture(() =>
        new S3Client({ ...clientConfig(), forcePathStyle: true }).send(new GetObjectCommand({ Bucket: 'media-library-local-content', Key: 'a.txt' })),
      );
      expect(verifySignature(request, secretFor, new Date()).ok).to.equal(true);
      const result = verifySignature({ ...request, headers: { ...request.headers, 'x-amz-acl': 'public-read' } }, secretFor, new Date());
      expect(result).to.deep.include({ ok: false, status: 403, code: 'AccessDenied', message: 'There were headers present in the request which were not signed' });
      expect((result as { details?: Record<string, string> }).details).to.deep.equal({ HeadersNotSigned: 'x-amz-acl' });
    });

    it('SNS Publish (form body) and SSM GetParameter (JSON body): pass; a changed body fails', async () => {
      const sns = await server.capture(() =>
        new SNSClient(clientConfig()).send(
          new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:media-library-local-uploads', Message: 'ü & = + %20 ~!*()' }),
        ),
      );
      expect(verifySignature(sns, secretFor, new Date())).to.deep.include({ ok: true, service: 'sns' });
      expectSignatureMismatch(verifySignature({ ...sns, body: Buffer.from(`${sns.body!.toString('utf8')}&x=1`) }, secretFor, new Date()));

      const ssm = await server.capture(() => new SSMClient(clientConfig()).send(new GetParameterCommand({ Name: '/media-library/local/jwt', WithDecryption: true })));
      expect(verifySignature(ssm, secretFor, new Date())).to.deep.include({ ok: true, service: 'ssm' });
      expectSignatureMismatch(verifySignature({ ...ssm, body: Buffer.from(ssm.body!.toString('utf8').replace('jwt', 'jwk')) }, secretFor, new Date()));
    });

    it('an unknown access key is InvalidAccessKeyId (403), before anything else is looked at', async () => {
      const request = await server.capture(() =>
        new DynamoDBClient({ ...clientConfig(), credentials: { accessKeyId: 'media-library-local-nobody', secretAccessKey: 'x' } }).send(
          new PutItemCommand({ TableName: 't', Item: { pk: { S: '1' } } }),
        ),
      );
      const result = verifySignature(request, secretFor, new Date());
      expect(result).to.deep.include({
        ok: false,
        status: 403,
        code: 'InvalidAccessKeyId',
        message: 'The AWS Access Key Id you provided does not exist in our records.',
        accessKeyId: 'media-library-local-nobody',
      });
    });

    it('a request dated more than 15 minutes from now, either way, is RequestTimeTooSkewed (403)', async () => {
      const request = await server.capture(() =>
        new DynamoDBClient(clientConfig()).send(new PutItemCommand({ TableName: 't', Item: { pk: { S: '1' } } })),
      );
      const signedAt = (verifySignature(request, secretFor, new Date()) as { signedAt: Date }).signedAt;
      const at = (offset: number): SignatureResult => verifySignature(request, secretFor, new Date(signedAt.getTime() + offset));
      expect(at(14 * MINUTE).ok).to.equal(true);
      expect(at(-14 * MINUTE).ok).to.equal(true);
      for (const offset of [16 * MINUTE, -16 * MINUTE]) {
        expect(refusal(at(offset))).to.deep.equal({
          status: 403,
          code: 'RequestTimeTooSkewed',
          message: 'The difference between the request time and the current time is too large.',
        });
      }
    });
  });

  describe('presigned URLs from getSignedUrl', () => {
    const presigner = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4569', forcePathStyle: true, credentials });
    const presignedGet = (expiresIn = 900): Promise<string> =>
      getSignedUrl(
        presigner,
        new GetObjectCommand({ Bucket: 'media-library-local-content', Key: AWKWARD_KEY, ResponseContentDisposition: DISPOSITION, ResponseContentType: 'image/jpeg' }),
        { expiresIn },
      );

    it('a GET with response-content-disposition (RFC 6266, UTF-8) and an awkward key passes, until it expires', async () => {
      const before = new Date();
      const url = await presignedGet(900);
      const request = wireFromUrl(url);
      expect(request.rawQuery).to.contain('response-content-disposition=').and.to.contain('X-Amz-Signature=');
      const result = verifySignature(request, secretFor, new Date());
      expect(result).to.deep.include({ ok: true, accessKeyId: ACCESS_KEY_ID, service: 's3', mechanism: 'query' });
      const { signedAt, expiresAt } = result as { signedAt: Date; expiresAt: Date };
      expect(signedAt.getTime()).to.be.within(before.getTime() - 1000, Date.now());
      expect(expiresAt.getTime() - signedAt.getTime()).to.equal(900_000);
      expect(claimedAccessKey(request)).to.equal(ACCESS_KEY_ID);

      expect(verifySignature(request, secretFor, expiresAt).ok, 'valid through its last second').to.equal(true);
      const expired = verifySignature(request, secretFor, new Date(expiresAt.getTime() + 1000));
      expect(refusal(expired)).to.deep.equal({ status: 403, code: 'AccessDenied', message: 'Request has expired' });
    });

    it('passes as it arrives on the wire after fetch() sent it', async () => {
      const local = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
      const url = await getSignedUrl(local, new GetObjectCommand({ Bucket: 'media-library-local-content', Key: AWKWARD_KEY, ResponseContentDisposition: DISPOSITION }), {
        expiresIn: 60,
      });
      const request = await server.capture(() => fetch(url).then((response) => response.arrayBuffer()));
      expect(verifySignature(request, secretFor, new Date()).ok).to.equal(true);
    });

    it('another key, another response parameter, an added parameter, a longer life, another method each fail', async () => {
      const request = wireFromUrl(await presignedGet());
      const now = new Date();
      expectSignatureMismatch(verifySignature({ ...request, rawPath: request.rawPath.replace('draft', 'final') }, secretFor, now));
      expectSignatureMismatch(verifySignature(withQueryParam(request, 'response-content-type', 'text/html'), secretFor, now));
      expectSignatureMismatch(verifySignature(withQueryParam(request, 'response-content-disposition', 'attachment'), secretFor, now));
      expectSignatureMismatch(verifySignature(withQueryParam(request, 'versionId', '1'), secretFor, now));
      expectSignatureMismatch(verifySignature(withQueryParam(request, 'X-Amz-Expires', '3600'), secretFor, now));
      expectSignatureMismatch(verifySignature({ ...request, method: 'DELETE' }, secretFor, now));
      expectSignatureMismatch(verifySignature({ ...request, headers: { host: '127.0.0.1:4570' } }, secretFor, now));
      const signature = new URLSearchParams(request.rawQuery).get('X-Amz-Signature')!;
      const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
      expectSignatureMismatch(verifySignature(withQueryParam(request, 'X-Amz-Signature', flipped), secretFor, now));
    });

    it('encodes the query however the client spelled it: the signature covers the decoded parameters', async () => {
      const request = wireFromUrl(await presignedGet());
      // Parameters in another order, unreserved characters escaped: the same request to AWS.
      const reordered = request.rawQuery.split('&').reverse().join('&').replace(/-/g, '%2D');
      expect(verifySignature({ ...request, rawQuery: reordered }, secretFor, new Date()).ok).to.equal(true);
    });

    it('a PUT URL passes for a PUT with its content type; an unsigned x-amz-* header is refused', async () => {
      const url = await getSignedUrl(presigner, new PutObjectCommand({ Bucket: 'media-library-local-content', Key: AWKWARD_KEY, ContentType: 'video/mp4' }), {
        expiresIn: 300,
      });
      const request = wireFromUrl(url, 'PUT', { 'content-type': 'video/mp4', 'content-length': '3' });
      expect(verifySignature(request, secretFor, new Date())).to.deep.include({ ok: true, mechanism: 'query' });
      expectSignatureMismatch(verifySignature({ ...request, method: 'GET' }, secretFor, new Date()));
      const withAcl = verifySignature({ ...request, headers: { ...request.headers, 'x-amz-acl': 'public-read' } }, secretFor, new Date());
      expect(refusal(withAcl)).to.deep.equal({ status: 403, code: 'AccessDenied', message: 'There were headers present in the request which were not signed' });
    });

    it('an unknown access key is InvalidAccessKeyId (403)', async () => {
      const stranger = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4569', forcePathStyle: true, credentials: { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'x' } });
      const url = await getSignedUrl(stranger, new GetObjectCommand({ Bucket: 'b', Key: 'k' }));
      expect(refusal(verifySignature(wireFromUrl(url), secretFor, new Date()))).to.deep.include({ status: 403, code: 'InvalidAccessKeyId' });
    });

    it('X-Amz-Expires over a week, or missing, or not a number, or a malformed credential is AuthorizationQueryParametersError (400)', async () => {
      const request = wireFromUrl(await presignedGet());
      const now = new Date();
      expect(refusal(verifySignature(withQueryParam(request, 'X-Amz-Expires', '604801'), secretFor, now))).to.deep.equal({
        status: 400,
        code: 'AuthorizationQueryParametersError',
        message: 'X-Amz-Expires must be less than a week (in seconds) that is 604800',
      });
      // A week exactly is allowed (and the signature then fails, because the URL said 900).
      expectSignatureMismatch(verifySignature(withQueryParam(request, 'X-Amz-Expires', '604800'), secretFor, now));
      expect(refusal(verifySignature(withQueryParam(request, 'X-Amz-Expires', 'soon'), secretFor, now))).to.deep.include({ status: 400, message: 'X-Amz-Expires should be a number' });
      const withoutDate = { ...request, rawQuery: request.rawQuery.replace(/&?X-Amz-Date=[^&]*/, '') };
      expect(refusal(verifySignature(withoutDate, secretFor, now))).to.deep.include({ status: 400, code: 'AuthorizationQueryParametersError' });
      const badCredential = withQueryParam(request, 'X-Amz-Credential', `${ACCESS_KEY_ID}/20261207/us-east-1/s3`);
      expect(refusal(verifySignature(badCredential, secretFor, now))).to.deep.include({ status: 400, code: 'AuthorizationQueryParametersError' });
      expect(claimedAccessKey(badCredential)).to.equal(ACCESS_KEY_ID);
    });

    it('a URL dated (by a clock running ahead) more than 15 minutes in the future is not valid yet', async () => {
      const request = wireFromUrl(await presignedGet(3600));
      const signedAt = (verifySignature(request, secretFor, new Date()) as { signedAt: Date }).signedAt;
      expect(verifySignature(request, secretFor, new Date(signedAt.getTime() - 14 * MINUTE)).ok).to.equal(true);
      expect(refusal(verifySignature(request, secretFor, new Date(signedAt.getTime() - 16 * MINUTE)))).to.deep.equal({
        status: 403,
        code: 'AccessDenied',
        message: 'Request is not valid yet',
      });
    });

    it('both an Authorization header and query authentication is InvalidArgument (400)', async () => {
      const request = wireFromUrl(await presignedGet());
      const both = { ...request, headers: { ...request.headers, authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/20261207/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00` } };
      expect(refusal(verifySignature(both, secretFor, new Date()))).to.deep.equal({
        status: 400,
        code: 'InvalidArgument',
        message:
          'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      });
    });
  });

  describe('shapes our clients never send, signed by @smithy/signature-v4', () => {
    const signer = (service: string, uriEscapePath: boolean, sessionToken?: string): SignatureV4 =>
      new SignatureV4({ service, region: 'eu-west-1', sha256: NodeSha256, uriEscapePath, credentials: { ...credentials, ...(sessionToken ? { sessionToken } : {}) } });
    const toWire = (signed: SmithyRequest): WireRequest => {
      const query = Object.entries(signed.query ?? {}).flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((one) => `${encodeURIComponent(name)}=${encodeURIComponent(one ?? '')}`));
      const headers = Object.fromEntries(Object.entries(signed.headers).map(([name, value]) => [name.toLowerCase(), value]));
      return { method: signed.method, rawPath: signed.path, rawQuery: query.join('&'), headers, ...(typeof signed.body === 'string' ? { body: Buffer.from(signed.body) } : {}) };
    };
    const request = (path: string, extra: Partial<SmithyRequest> = {}): SmithyRequest => ({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4000,
      path,
      query: {},
      headers: { host: '127.0.0.1:4000', 'content-type': 'application/json' },
      body: '{"a":1}',
      ...extra,
    });

    it('a service other than S3 signs the path encoded twice (each segment once more)', async () => {
      const path = '/2015-03-31/functions/media%3AprocessUpload/a%20b/./x/../invocations';
      const signed = await signer('lambda', true).sign(request(path));
      const wire = toWire(signed);
      expect(verifySignature(wire, secretFor, new Date())).to.deep.include({ ok: true, service: 'lambda', region: 'eu-west-1' });
      expectSignatureMismatch(verifySignature({ ...wire, rawPath: path.replace('%3A', ':') }, secretFor, new Date()));
    });

    it('canonical headers trim values and collapse inner runs of spaces; repeated query names sort by value', async () => {
      const signed = await signer('execute-api', true).sign(
        request('/v1/items', { headers: { host: '127.0.0.1:4000', 'x-custom': '  a   b \t c  ' }, query: { tag: ['b', 'a', 'é'], q: 'x y' } }),
      );
      const wire = toWire(signed);
      expect(verifySignature({ ...wire, headers: { ...wire.headers, 'x-custom': 'a b c' } }, secretFor, new Date()).ok).to.equal(true);
      expectSignatureMismatch(verifySignature({ ...wire, headers: { ...wire.headers, 'x-custom': 'ab c' } }, secretFor, new Date()));
    });

    it('S3 with UNSIGNED-PAYLOAD and a session token: passes whatever the body', async () => {
      const signed = await signer('s3', false, 'token/with+slash=').sign(
        request('/bucket/k%20y', { method: 'PUT', headers: { host: '127.0.0.1:4000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body: 'anything' }),
      );
      const wire = toWire(signed);
      expect(wire.headers['x-amz-security-token']).to.equal('token/with+slash=');
      expect(verifySignature({ ...wire, body: Buffer.from('something else') }, secretFor, new Date())).to.deep.include({ ok: true, region: 'eu-west-1' });
    });

    it('a presigned S3 URL with a session token passes; without its token it fails', async () => {
      // As getSignedUrl does: the payload of a presigned URL is UNSIGNED-PAYLOAD, hoisted into the query.
      const unsigned = { host: '127.0.0.1:4000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
      const presigned = await signer('s3', false, 'session-token').presign(request('/bucket/key', { method: 'GET', headers: unsigned, body: undefined }), { expiresIn: 60 });
      const wire = toWire(presigned);
      expect(wire.rawQuery).to.contain('X-Amz-Security-Token=session-token');
      expect(verifySignature(wire, secretFor, new Date())).to.deep.include({ ok: true, mechanism: 'query' });
      expectSignatureMismatch(verifySignature({ ...wire, rawQuery: wire.rawQuery.replace(/&?X-Amz-Security-Token=[^&]*/, '') }, secretFor, new Date()));
    });

    it('a presigned URL of another service signs the hash of its (here empty) body', async () => {
      const presigned = await signer('execute-api', true).presign(request('/v1/a%20b', { method: 'GET', headers: { host: '127.0.0.1:4000' }, body: undefined }), { expiresIn: 60 });
      const wire = toWire(presigned);
      expect(verifySignature(wire, secretFor, new Date())).to.deep.include({ ok: true, mechanism: 'query', service: 'execute-api' });
      expectSignatureMismatch(verifySignature({ ...wire, body: Buffer.from('x') }, secretFor, new Date()));
    });

    it('S3 header-signed without x-amz-content-sha256 is InvalidRequest (400), as S3 answers', async () => {
      const signed = await new SignatureV4({ service: 's3', region: 'us-east-1', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false, credentials }).sign(
        request('/bucket/key', { method: 'GET', headers: { host: '127.0.0.1:4000' }, body: undefined }),
      );
      expect(refusal(verifySignature(toWire(signed), secretFor, new Date()))).to.deep.equal({
        status: 400,
        code: 'InvalidRequest',
        message: 'Missing required header for this request: x-amz-content-sha256',
      });
    });
  });

  describe('requests that are not SigV4', () => {
    it('an unsigned request is anonymous: marked unsigned, refused as S3 refuses it on a private bucket', () => {
      const request: WireRequest = { method: 'GET', rawPath: '/bucket/key', rawQuery: 'versionId=1', headers: { host: 'h' } };
      expect(verifySignature(request, secretFor, new Date())).to.deep.equal({ ok: false, status: 403, code: 'AccessDenied', message: 'Access Denied', unsigned: true });
      expect(claimedAccessKey(request)).to.equal(undefined);
    });

    it('Signature Version 2, or a header missing a component, is refused with 400', () => {
      const base: WireRequest = { method: 'GET', rawPath: '/bucket/key', rawQuery: '', headers: { host: 'h', 'x-amz-date': '20261207T000000Z' } };
      const v2 = verifySignature({ ...base, headers: { ...base.headers, authorization: `AWS ${ACCESS_KEY_ID}:c2lnbmF0dXJl` } }, secretFor, new Date());
      expect(refusal(v2)).to.deep.include({ status: 400, code: 'InvalidRequest' });
      const partial = verifySignature(
        { ...base, headers: { ...base.headers, authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/20261207/us-east-1/s3/aws4_request, Signature=00` } },
        secretFor,
        new Date(),
      );
      expect(refusal(partial)).to.deep.include({ status: 400, code: 'AuthorizationHeaderMalformed' });
    });

    it('a credential dated another day than x-amz-date is malformed', () => {
      const request: WireRequest = {
        method: 'GET',
        rawPath: '/',
        rawQuery: '',
        headers: {
          host: 'h',
          'x-amz-date': '20261207T000000Z',
          authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/20261206/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`,
        },
      };
      expect(refusal(verifySignature(request, secretFor, new Date('2026-12-07T00:00:00Z')))).to.deep.equal({
        status: 400,
        code: 'AuthorizationHeaderMalformed',
        message: 'The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.',
      });
    });
  });
});
