/**
 * A stand-in for the API Gateway Management API of the live-updates WebSocket API, on a loopback
 * port, for in-process tests of the functions that push (functions/live/): it records every
 * PostToConnection and DeleteConnection, and answers a connection as it is told to (200, 410 for
 * a connection that is gone, 500 for an outage). `loadLiveHandler` loads a function with its
 * Management API client pointed here (LIVE_ENDPOINT is read once, when shared/aws/live loads).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import proxyquire from 'proxyquire';

const ROOT = path.resolve(__dirname, '..', '..');

export interface ManagementCall {
  method: 'POST' | 'DELETE';
  connectionId: string;
  /** The message pushed (POST). */
  body: string;
  /** Who signed the call (the access key id of its SigV4 credential: the function, locally). */
  accessKeyId: string | undefined;
  /** What the stand-in answered. */
  status: number;
}

export interface ManagementApiStandIn {
  /** What LIVE_ENDPOINT names: the stage URL of the WebSocket API. */
  endpoint: string;
  calls: ManagementCall[];
  /** Messages pushed to a connection (POSTs answered 200), parsed. */
  received(connectionId: string): unknown[];
  /** Answers every later call for `connectionId` with `status` (410: gone; 500: an outage). */
  answer(connectionId: string, status: number): void;
  reset(): void;
  stop(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = { 403: 'ForbiddenException', 410: 'GoneException', 429: 'LimitExceededException' };

export async function startManagementApi(stage = 'local'): Promise<ManagementApiStandIn> {
  const calls: ManagementCall[] = [];
  const answers = new Map<string, number>();
  const prefix = `/${stage}/@connections/`;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '';
      const method = request.method;
      if (!url.startsWith(prefix) || (method !== 'POST' && method !== 'DELETE')) {
        response.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'NotFoundException' }).end('{"message":"Not Found"}');
        return;
      }
      const connectionId = decodeURIComponent(url.slice(prefix.length));
      const credential = /Credential=([^/]+)\//.exec(request.headers.authorization ?? '');
      const status = answers.get(connectionId) ?? 200;
      calls.push({ method, connectionId, body: Buffer.concat(chunks).toString('utf8'), accessKeyId: credential?.[1], status });
      if (status === 200) {
        response.writeHead(200, { 'content-length': '0' }).end();
        return;
      }
      const errorType = ERROR_TYPES[status] ?? 'InternalServerErrorException';
      response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': errorType }).end(JSON.stringify({ message: status === 410 ? null : errorType }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/${stage}`,
    calls,
    received: (connectionId) => calls.filter((call) => call.method === 'POST' && call.connectionId === connectionId && call.status === 200).map((call) => JSON.parse(call.body) as unknown),
    answer: (connectionId, status) => {
      answers.set(connectionId, status);
    },
    reset: () => {
      calls.splice(0);
      answers.clear();
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}

/**
 * `functions/live/<name>` loaded afresh with its Management API client (shared/aws/live, also
 * loaded afresh) talking to `endpoint`; its stores are the real ones, on the run's DynamoDB Local.
 */
export function loadLiveModule<T>(modulePath: string, endpoint: string, stubs: Record<string, unknown> = {}): T {
  const configured = process.env['LIVE_ENDPOINT'];
  process.env['LIVE_ENDPOINT'] = endpoint;
  try {
    const live = proxyquire(path.join(ROOT, 'shared/aws/live'), {}) as Record<string, unknown>;
    return proxyquire(path.join(ROOT, modulePath), { '../../shared/aws/live': live, ...stubs }) as T;
  } finally {
    if (configured === undefined) delete process.env['LIVE_ENDPOINT'];
    else process.env['LIVE_ENDPOINT'] = configured;
  }
}

/** The handler of loadLiveModule. */
export function loadLiveHandler<T>(modulePath: string, endpoint: string, stubs: Record<string, unknown> = {}): T {
  return loadLiveModule<{ handler: T }>(modulePath, endpoint, stubs).handler;
}
