/**
 * The local AWS gateway: what AWS enforces at its front door, in front of each local stand-in
 * (DynamoDB Local, s3rver, serverless-offline-sns) and as a small parameter store for SSM. Every
 * request is authenticated (SigV4, presigned URLs, presigned POST policies) and authorised
 * against the IAM role of the function that signed it, as `serverless package` emits that role,
 * before it reaches the stand-in. Refusals come back in the service's own error format, so the
 * functions see what production would show them. Local tooling signs with its own key and is
 * not limited by any role.
 *
 * Functions sign with their deployed name as access key id (shared/aws/localCredentials.ts),
 * just as a Lambda role session names its function.
 *
 * The `live` gateway stands in front of serverless-offline's WebSocket server: it passes every
 * WebSocket upgrade through untouched (the API's $connect route runs our function, which
 * decides, as on AWS), and authorises every call of the Management API
 * (`/@connections/{connectionId}`), which AWS authenticates and authorises as any AWS API.
 */
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import { LOCAL_SECRET_ACCESS_KEY, LOCAL_TOOLING_ACCESS_KEY } from '../../shared/aws/localCredentials';
import {
  connectionsPath,
  deleteObjectKeys,
  dynamodbAuthorizations,
  dynamodbStreamsAuthorizations,
  liveAuthorizations,
  s3Authorizations,
  s3Target,
  snsAuthorizations,
  ssmAuthorizations,
  UnknownOperation,
} from './actions';
import { decide, type AuthorizationRequest } from './authorize';
import { LIVE_MAX_PAYLOAD_BYTES, liveErrors, notAuthenticated, notAuthorized, sendServiceError, type GatewayService, type ServiceError } from './errors';
import { EvidenceLog } from './evidence';
import { checkPostPolicy, spoolPostUpload } from './postPolicy';
import { LOCAL_ACCOUNT, type FunctionRole } from './roles';
import { claimedAccessKey, verifySignature, type WireRequest } from './sigv4';

export interface SsmParameter {
  value: string;
  type: 'String' | 'SecureString';
}

export interface GatewayOptions {
  service: GatewayService;
  /** Where to listen; 0 or unset: a free port. */
  port?: number;
  /** The stand-in behind the gateway (unused for SSM, which the gateway answers itself). */
  backend?: string;
  /** Every function's role, by its deployed name (its access key id). */
  roles: Map<string, FunctionRole>;
  /** SSM parameters by name (read on every request: files may be rotated meanwhile). */
  parameters?: () => Map<string, SsmParameter>;
  /** Origins the media bucket's CORS rules allow (S3 adds CORS headers to its errors too). */
  corsOrigins?: string[];
  evidence?: EvidenceLog;
  now?: () => Date;
  /** Told about every refusal (the harness prints them when a test fails). */
  onDenied?: (denial: Denial) => void;
}

export interface Denial {
  service: GatewayService;
  fn: string;
  action: string;
  resource: string;
  code: string;
}

export interface RunningGateway {
  endpoint: string;
  port: number;
  denials: Denial[];
  stop(): Promise<void>;
}

type Caller = { kind: 'tooling' } | { kind: 'function'; role: FunctionRole };

/** Query parameters of a presigned URL: the gateway checks them, the stand-in never sees them. */
const QUERY_AUTH = new Set(['x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-expires', 'x-amz-signedheaders', 'x-amz-signature', 'x-amz-security-token']);
const MAX_BUFFERED_BODY = 20 * 1024 * 1024;

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BUFFERED_BODY) request.destroy(new Error('request body too large for the gateway'));
      else chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

const amzDate = (date: Date): string => date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** The spool folders of this process's gateways that are not stopped yet: removed at exit too (a test run ended by a signal). */
const spoolFolders = new Set<string>();
process.on('exit', () => {
  for (const folder of spoolFolders) fs.rmSync(folder, { recursive: true, force: true });
});

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { service, roles } = options;
  const now = options.now ?? (() => new Date());
  const evidence = options.evidence ?? new EvidenceLog();
  const denials: Denial[] = [];
  const backend = options.backend === undefined ? undefined : new URL(options.backend);
  const tempDir = fs.mkdtempSync(`${os.tmpdir()}/ml-gateway-`);
  spoolFolders.add(tempDir);

  const callerOf = (accessKeyId: string): Caller | undefined => {
    if (accessKeyId === LOCAL_TOOLING_ACCESS_KEY) return { kind: 'tooling' };
    const role = roles.get(accessKeyId);
    return role === undefined ? undefined : { kind: 'function', role };
  };
  const secretFor = (accessKeyId: string): string | undefined => (callerOf(accessKeyId) === undefined ? undefined : LOCAL_SECRET_ACCESS_KEY);

  const corsHeaders = (request: IncomingMessage): Record<string, string> => {
    const origin = request.headers.origin;
    if (origin === undefined || !(options.corsOrigins ?? []).includes(origin)) return {};
    return { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'ETag', vary: 'Origin' };
  };
  const refuse = (request: IncomingMessage, response: ServerResponse, error: ServiceError): void => {
    if (service === 's3') for (const [name, value] of Object.entries(corsHeaders(request))) response.setHeader(name, value);
    sendServiceError(response, service, error, { head: request.method === 'HEAD' });
  };

  /** IAM's answer for every authorisation a request needs; the first refusal is sent and `false` returned. */
  const authorise = async (request: IncomingMessage, response: ServerResponse, caller: Caller, needs: () => AuthorizationRequest[]): Promise<boolean> => {
    if (caller.kind === 'tooling') return true;
    const { role } = caller;
    let list: AuthorizationRequest[];
    try {
      list = needs();
    } catch (error) {
      if (!(error instanceof UnknownOperation)) throw error;
      const message = `the local AWS gateway does not know how AWS authorises ${error.message} (called by ${role.name}): teach local/gateway/actions.ts`;
      console.error(`[gateway] ${message}`);
      refuse(request, response, { status: service === 's3' ? 501 : 400, code: service === 's3' ? 'NotImplemented' : 'UnknownOperationException', message });
      return false;
    }
    for (const needed of list) {
      const decision = await decide(role, needed);
      if (decision !== 'Allowed') {
        const denial = notAuthorized(service, role.sessionArn, needed.action, needed.resource, decision === 'ExplicitlyDenied');
        const record: Denial = { service, fn: role.name, action: needed.action, resource: needed.resource, code: denial.code };
        denials.push(record);
        options.onDenied?.(record);
        refuse(request, response, denial);
        return false;
      }
      evidence.record({ fn: role.name, action: needed.action, resource: needed.resource });
    }
    return true;
  };

  /** Who signed the request, or the refusal (already sent) when nobody we know did. */
  const authenticate = (request: IncomingMessage, response: ServerResponse, wire: WireRequest): Caller | undefined => {
    if (claimedAccessKey(wire) === undefined) {
      refuse(request, response, notAuthenticated(service, 'missing'));
      return undefined;
    }
    const result = verifySignature(wire, secretFor, now());
    if (!result.ok) {
      const problem = result.code === 'InvalidAccessKeyId' ? 'unknown-key' : result.message === 'Request has expired' ? 'expired' : 'bad-signature';
      const expected = result.details;
      // S3 has its own words for malformed query authentication; the other services fold them into a bad signature.
      const shaped =
        service === 's3' && problem === 'bad-signature' && result.code !== 'SignatureDoesNotMatch'
          ? { status: result.status, code: result.code, message: result.message }
          : service === 'live' && result.code === 'SignatureDoesNotMatch' && expected?.['CanonicalRequest'] !== undefined && expected['StringToSign'] !== undefined
            ? liveErrors.signatureMismatch(expected['CanonicalRequest'], expected['StringToSign'])
            : notAuthenticated(service, problem, result.code === 'RequestTimeTooSkewed' ? result.message : undefined);
      refuse(request, response, shaped);
      return undefined;
    }
    // API Gateway checks the credential scope names it, in its region (the SDK signs execute-api).
    if (service === 'live' && result.service !== 'execute-api') {
      refuse(request, response, liveErrors.wrongScope('service', result.service));
      return undefined;
    }
    if (service === 'live' && result.region !== LOCAL_ACCOUNT.region) {
      refuse(request, response, liveErrors.wrongScope('region', result.region));
      return undefined;
    }
    return callerOf(result.accessKeyId);
  };

  const forward = (request: IncomingMessage, response: ServerResponse, target: { path: string; headers: http.OutgoingHttpHeaders; body?: Buffer | fs.ReadStream }, onResponse?: (upstream: IncomingMessage) => boolean): Promise<void> =>
    new Promise((resolve) => {
      if (backend === undefined) throw new Error(`the ${service} gateway has no backend`);
      const upstream = http.request(
        { host: backend.hostname, port: backend.port, method: request.method, path: target.path, headers: { ...target.headers, host: backend.host } },
        (answer) => {
          if (onResponse !== undefined && !onResponse(answer)) {
            answer.resume();
            resolve();
            return;
          }
          // S3 names the object it stored in a Location header: the address clients use, not the stand-in's.
          const headers = { ...answer.headers };
          if (typeof headers.location === 'string' && request.headers.host !== undefined) headers.location = headers.location.replace(`//${backend.host}/`, `//${request.headers.host}/`);
          response.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(response);
          answer.once('end', resolve);
          answer.once('error', () => resolve());
        },
      );
      upstream.once('error', (error) => {
        if (!response.headersSent) refuse(request, response, { status: 503, code: service === 's3' ? 'ServiceUnavailable' : 'ServiceUnavailableException', message: `local stand-in unavailable: ${error.message}` });
        else response.destroy(error);
        resolve();
      });
      if (target.body === undefined) request.pipe(upstream);
      else if (Buffer.isBuffer(target.body)) upstream.end(target.body);
      else target.body.pipe(upstream);
    });

  const wireOf = (request: IncomingMessage, body?: Buffer): WireRequest => {
    const url = request.url ?? '/';
    const question = url.indexOf('?');
    return {
      method: request.method ?? 'GET',
      rawPath: question === -1 ? url : url.slice(0, question),
      rawQuery: question === -1 ? '' : url.slice(question + 1),
      headers: request.headers,
      ...(body === undefined ? {} : { body }),
    };
  };
  const target = (request: IncomingMessage): string => String(request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';

  async function handleJsonService(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const caller = authenticate(request, response, wireOf(request, body));
    if (caller === undefined) return;
    if (service === 'sns') {
      const parameters = new URLSearchParams(body.toString('utf8'));
      if (!(await authorise(request, response, caller, () => snsAuthorizations(parameters)))) return;
      await forward(request, response, { path: request.url ?? '/', headers: request.headers, body });
      return;
    }
    const operation = target(request);
    const json = (body.length === 0 ? {} : JSON.parse(body.toString('utf8'))) as Record<string, unknown>;
    if (service === 'dynamodb') {
      // DynamoDB Local serves the Streams API on the same port: `DynamoDBStreams_20120810.<Operation>`.
      const streams = String(request.headers['x-amz-target'] ?? '').startsWith('DynamoDBStreams_');
      if (!(await authorise(request, response, caller, () => (streams ? dynamodbStreamsAuthorizations(operation, json) : dynamodbAuthorizations(operation, json))))) return;
      // DynamoDB Local checks no signature but accepts only access keys of letters and digits.
      const authorization = String(request.headers.authorization ?? '').replace(/Credential=[^/]+\//, 'Credential=local/');
      await forward(request, response, { path: request.url ?? '/', headers: { ...request.headers, authorization }, body });
      return;
    }
    if (!(await authorise(request, response, caller, () => ssmAuthorizations(operation, json)))) return;
    const name = typeof json['Name'] === 'string' ? json['Name'] : '';
    const parameter = options.parameters?.().get(name);
    if (parameter === undefined) {
      refuse(request, response, { status: 400, code: 'ParameterNotFound', message: `Parameter ${name} not found.` });
      return;
    }
    const answer = JSON.stringify({
      Parameter: {
        Name: name,
        Type: parameter.type,
        Value: parameter.value,
        Version: 1,
        DataType: 'text',
        ARN: `arn:${LOCAL_ACCOUNT.partition}:ssm:${LOCAL_ACCOUNT.region}:${LOCAL_ACCOUNT.accountId}:parameter${name}`,
      },
    });
    response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': String(Buffer.byteLength(answer)) }).end(answer);
  }

  /** What s3rver is told: the same request, authenticated as its one account (it checks no V4 signature itself). */
  function s3BackendRequest(request: IncomingMessage): { path: string; headers: http.OutgoingHttpHeaders } {
    const wire = wireOf(request);
    const query = wire.rawQuery
      .split('&')
      .filter((pair) => pair !== '' && !QUERY_AUTH.has(decodeURIComponent(pair.split('=')[0] as string).toLowerCase()))
      .join('&');
    const headers: http.OutgoingHttpHeaders = { ...request.headers };
    const date = amzDate(now());
    headers['authorization'] = `AWS4-HMAC-SHA256 Credential=S3RVER/${date.slice(0, 8)}/${LOCAL_ACCOUNT.region}/s3/aws4_request, SignedHeaders=host, Signature=0`;
    headers['x-amz-date'] = date;
    headers['x-amz-content-sha256'] ??= 'UNSIGNED-PAYLOAD';
    return { path: query === '' ? wire.rawPath : `${wire.rawPath}?${query}`, headers };
  }

  async function handleFormUpload(request: IncomingMessage, response: ServerResponse, bucket: string): Promise<void> {
    let upload;
    try {
      upload = await spoolPostUpload(request, String(request.headers['content-type']), tempDir);
    } catch {
      refuse(request, response, { status: 400, code: 'MalformedPOSTRequest', message: 'The body of your POST request is not well-formed multipart/form-data.' });
      return;
    }
    try {
      const checked = checkPostPolicy(upload, bucket, secretFor, now());
      if (!checked.ok) {
        refuse(request, response, { status: checked.status, code: checked.code, message: checked.message, ...(checked.details === undefined ? {} : { details: checked.details }) });
        return;
      }
      const caller = callerOf(checked.accessKeyId);
      if (caller === undefined) {
        refuse(request, response, notAuthenticated('s3', 'unknown-key'));
        return;
      }
      // A presigned POST acts with its signer's permissions, checked when it is used.
      const resource = `arn:${LOCAL_ACCOUNT.partition}:s3:::${bucket}/${checked.key}`;
      if (!(await authorise(request, response, caller, () => [{ action: 's3:PutObject', resource }]))) return;
      const headers: http.OutgoingHttpHeaders = { ...request.headers, 'content-length': String(fs.statSync(upload.rawBodyPath).size) };
      delete headers['transfer-encoding'];
      await forward(request, response, { path: request.url ?? '/', headers, body: fs.createReadStream(upload.rawBodyPath) });
    } finally {
      await upload.dispose();
    }
  }

  async function handleS3(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const wire = wireOf(request);
    const { bucket, key } = s3Target(wire.rawPath);
    // CORS preflights carry no credentials; S3 answers them from the bucket's CORS rules.
    if (method === 'OPTIONS') {
      await forward(request, response, { path: request.url ?? '/', headers: request.headers });
      return;
    }
    if (method === 'POST' && bucket !== undefined && key === undefined && String(request.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      await handleFormUpload(request, response, bucket);
      return;
    }
    const query = new URLSearchParams(wire.rawQuery);
    const deleteBody = method === 'POST' && query.has('delete') ? await readBody(request) : undefined;
    const caller = authenticate(request, response, deleteBody === undefined ? wire : { ...wire, body: deleteBody });
    if (caller === undefined) return;
    const call = { method, bucket, key, query, headers: request.headers, ...(deleteBody === undefined ? {} : { deleteKeys: deleteObjectKeys(deleteBody.toString('utf8')) }) };
    if (!(await authorise(request, response, caller, () => s3Authorizations(call)))) return;
    const backendRequest = s3BackendRequest(request);
    // Without s3:ListBucket, S3 answers a read of a missing object with 403, not 404 (it will not
    // reveal whether the key exists).
    const readsObject = caller.kind === 'function' && key !== undefined && (method === 'GET' || method === 'HEAD') && !query.has('uploadId');
    await forward(request, response, { ...backendRequest, ...(deleteBody === undefined ? {} : { body: deleteBody }) }, (upstream) => {
      if (!readsObject || upstream.statusCode !== 404 || caller.kind !== 'function') return true;
      void (async () => {
        const bucketArn = `arn:${LOCAL_ACCOUNT.partition}:s3:::${bucket ?? ''}`;
        if (await authorise(request, response, caller, () => [{ action: 's3:ListBucket', resource: bucketArn }])) {
          sendServiceError(response, 's3', { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.', details: { Key: key ?? '' } }, { head: method === 'HEAD' });
        }
      })();
      return false;
    });
  }

  /**
   * The live-updates WebSocket API's HTTP side. `/@connections/{connectionId}` is the Management
   * API (PostToConnection, DeleteConnection, GetConnection): signed, authorised, limited to
   * AWS's 128 KB message, then forwarded to serverless-offline, which answers it on the same port.
   * Anything else is the stand-in's to answer (a plain GET of the WebSocket URL, 426).
   */
  async function handleLive(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const wire = wireOf(request);
    const path = connectionsPath(wire.rawPath);
    if (path.kind === 'not-connections') {
      await forward(request, response, { path: request.url ?? '/', headers: request.headers });
      return;
    }
    const body = await readBody(request);
    const caller = authenticate(request, response, { ...wire, body });
    if (caller === undefined) return;
    if (path.kind !== 'connection' || !['POST', 'DELETE', 'GET'].includes(method)) {
      refuse(request, response, liveErrors.forbidden());
      return;
    }
    if (!(await authorise(request, response, caller, () => liveAuthorizations(method)))) return;
    if (method === 'POST' && body.length > LIVE_MAX_PAYLOAD_BYTES) {
      refuse(request, response, liveErrors.payloadTooLarge());
      return;
    }
    await forward(request, response, { path: request.url ?? '/', headers: request.headers, body }, (upstream) => {
      // serverless-offline answers a closed (or unknown) connection with a bare 410; AWS names it.
      if (upstream.statusCode !== 410) return true;
      refuse(request, response, liveErrors.gone());
      return false;
    });
  }

  /** Sockets of upgraded (WebSocket) connections, both sides: no longer the HTTP server's to close. */
  const tunnels = new Set<Duplex>();

  /**
   * A WebSocket upgrade, passed to the stand-in byte for byte: the request head as it came, then
   * both directions piped, so the handshake's answer (101 with the selected subprotocol, or the
   * $connect route's refusal such as 401) reaches the client unchanged.
   */
  function tunnel(request: IncomingMessage, client: Duplex, head: Buffer): void {
    if (backend === undefined) {
      client.destroy();
      return;
    }
    // Nothing the client sends may be lost before the stand-in is there to read it (pipe resumes).
    client.pause();
    const upstream = net.connect({ host: backend.hostname, port: Number(backend.port || 80) });
    tunnels.add(client);
    tunnels.add(upstream);
    let connected = false;
    const destroyBoth = (): void => {
      client.destroy();
      upstream.destroy();
    };
    // An orderly close of one side ends the other once what it still has to send is sent.
    const endOther = (other: Duplex, self: Duplex) => (): void => {
      tunnels.delete(self);
      if (!other.destroyed) other.end();
    };
    upstream.setNoDelay(true);
    if (client instanceof net.Socket) client.setNoDelay(true);
    upstream.once('connect', () => {
      connected = true;
      const lines = [`${request.method ?? 'GET'} ${request.url ?? '/'} HTTP/${request.httpVersion}`];
      for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) lines.push(`${request.rawHeaders[index] as string}: ${request.rawHeaders[index + 1] as string}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.once('error', (error) => {
      if (connected || !client.writable) {
        destroyBoth();
        return;
      }
      // The stand-in is not (yet) listening: say so in HTTP, then hang up.
      const body = JSON.stringify({ message: `local stand-in unavailable: ${error.message}` });
      client.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    client.once('error', destroyBoth);
    upstream.once('close', endOther(client, upstream));
    client.once('close', endOther(upstream, client));
  }

  const server = http.createServer((request, response) => {
    const handle = service === 's3' ? handleS3 : service === 'live' ? handleLive : handleJsonService;
    handle(request, response).catch((error: unknown) => {
      console.error(`[gateway] ${service}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!response.headersSent) refuse(request, response, { status: 500, code: 'InternalError', message: 'local gateway error (see its log)' });
      else response.destroy();
    });
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (service === 'live') tunnel(request, socket, head);
    else socket.destroy();
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    denials,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of tunnels) socket.destroy();
        tunnels.clear();
        server.closeAllConnections();
        server.close(() => {
          fs.rmSync(tempDir, { recursive: true, force: true });
          spoolFolders.delete(tempDir);
          resolve();
        });
      }),
  };
}
