/**
 * The local AWS gateway in front of the live-updates WebSocket API, with a small `ws` server as
 * the stand-in (serverless-offline's WebSocket server serves the same two things on one port:
 * WebSocket upgrades, and the Management API at /@connections/{connectionId}). Upgrades pass
 * through untouched; Management API calls are signed, authorised against the caller's role and
 * refused as API Gateway refuses them, which the real SDK client turns into the same errors.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { LOCAL_SECRET_ACCESS_KEY, LOCAL_TOOLING_ACCESS_KEY } from '../../shared/aws/localCredentials';
import { LIVE_MAX_PAYLOAD_BYTES } from './errors';
import { EvidenceLog, readEvidence } from './evidence';
import { startGateway, type Denial, type RunningGateway } from './server';
import { testRole } from '../test/roles';

const CONNECTIONS = 'arn:aws:execute-api:us-east-1:123456789012:local-live-api/local/*/@connections/*';

const role = testRole;

const pusher = role('pusher', [{ Effect: 'Allow', Action: ['execute-api:ManageConnections'], Resource: CONNECTIONS }]);
const bystander = role('bystander', [{ Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/t' }]);
const poster = role('poster', [
  { Effect: 'Allow', Action: ['execute-api:ManageConnections'], Resource: CONNECTIONS },
  { Effect: 'Deny', Action: ['execute-api:ManageConnections'], Resource: 'arn:aws:execute-api:us-east-1:123456789012:local-live-api/local/DELETE/@connections/*' },
]);
const roles = new Map([pusher, bystander, poster].map((r) => [r.functionName, r]));

type Failure = Error & { $metadata?: { httpStatusCode?: number } };
async function failure(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (error) {
    return error as Failure;
  }
  throw new Error('expected the call to fail');
}

/**
 * The stand-in: a WebSocket server that refuses a handshake without `token=ok` with 401 (as
 * our $connect function does), selects the first subprotocol offered, names each connection as
 * API Gateway does (base64, with '='), and answers the Management API as serverless-offline does.
 */
interface Backend {
  url: string;
  /** Each connection's id, in order of connection. */
  ids: string[];
  received: Map<string, string[]>;
  upgradeHeaders: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

const REFUSAL = '{"message":"Unauthorized"}';

async function startBackend(): Promise<Backend> {
  const clients = new Map<string, WebSocket>();
  const ids: string[] = [];
  const received = new Map<string, string[]>();
  const upgradeHeaders: http.IncomingHttpHeaders[] = [];
  let count = 0;
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => [...protocols][0] ?? false });
  const server = http.createServer((request, response) => {
    const match = /^\/@connections\/([^/?]+)$/.exec(request.url ?? '');
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (match === null) {
        response.writeHead(426).end();
        return;
      }
      const id = decodeURIComponent(match[1] as string);
      const client = clients.get(id);
      if (client === undefined) {
        response.writeHead(410).end();
        return;
      }
      if (request.method === 'POST') client.send(Buffer.concat(chunks).toString('utf8'));
      if (request.method === 'DELETE') client.close();
      response.writeHead(request.method === 'POST' ? 200 : 204).end();
    });
  });
  server.on('upgrade', (request: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    upgradeHeaders.push(request.headers);
    if (!(request.url ?? '').includes('token=ok')) {
      socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${REFUSAL.length}\r\nconnection: close\r\n\r\n${REFUSAL}`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (client) => {
      count += 1;
      // Base64 as AWS's ids are (`L0SM9cOFvHcCIhw=`), with '+', '/' and '=' that the SDK must encode in the path.
      const id = Buffer.from([0xfb, 0xef, 0xff, count, 0x41]).toString('base64');
      ids.push(id);
      clients.set(id, client);
      received.set(id, []);
      client.on('message', (data: Buffer) => {
        received.get(id)?.push(data.toString('utf8'));
        client.send(`echo:${data.toString('utf8')}`);
      });
      client.on('close', () => clients.delete(id));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ids,
    received,
    upgradeHeaders,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens a WebSocket through the gateway; resolves once open, with the first message it receives. */
function connect(url: string, protocols: string[] = []): Promise<{ socket: WebSocket; messages: string[]; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols);
    const messages: string[] = [];
    const closed = new Promise<number>((done) => socket.once('close', (code: number) => done(code)));
    socket.on('message', (data: Buffer) => messages.push(data.toString('utf8')));
    socket.once('open', () => resolve({ socket, messages, closed }));
    socket.once('unexpected-response', (_request, response: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        socket.terminate();
        reject(Object.assign(new Error(`handshake refused: ${response.statusCode}`), { status: response.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      });
    });
    socket.once('error', reject);
  });
}

const until = async (condition: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('local AWS gateway: the live-updates WebSocket API', function () {
  this.timeout(20_000);
  let backend: Backend;
  let gateway: RunningGateway;
  let evidenceFile: string;
  const denials: Denial[] = [];
  const open: WebSocket[] = [];

  before(async () => {
    backend = await startBackend();
    evidenceFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ml-evidence-')), 'evidence.jsonl');
    fs.writeFileSync(evidenceFile, '');
    gateway = await startGateway({ service: 'live', backend: backend.url, roles, evidence: new EvidenceLog(evidenceFile), onDenied: (denial) => denials.push(denial) });
  });
  afterEach(() => {
    for (const socket of open.splice(0)) socket.terminate();
  });
  after(async () => {
    await gateway?.stop();
    await backend?.close();
    fs.rmSync(path.dirname(evidenceFile), { recursive: true, force: true });
  });

  const wsUrl = (query = 'token=ok'): string => `${gateway.endpoint.replace('http:', 'ws:')}/?${query}`;
  const clientAs = (accessKeyId: string, { secret = LOCAL_SECRET_ACCESS_KEY, region = 'us-east-1' } = {}) =>
    new ApiGatewayManagementApiClient({ endpoint: gateway.endpoint, region, credentials: { accessKeyId, secretAccessKey: secret }, maxAttempts: 1 });
  const openConnection = async (): Promise<{ id: string; socket: WebSocket; messages: string[]; closed: Promise<number> }> => {
    const before = backend.ids.length;
    const connection = await connect(wsUrl());
    open.push(connection.socket);
    await until(() => backend.ids.length > before, 'the backend to see the connection');
    return { id: backend.ids[before] as string, ...connection };
  };

  describe('WebSocket upgrades', () => {
    it('pass through to the stand-in both ways, with the subprotocol it selected and the headers the client sent', async () => {
      const { socket, messages } = await connect(wsUrl(), ['live.v1', 'other']);
      open.push(socket);
      expect(socket.protocol).to.equal('live.v1');
      socket.send('ping');
      await until(() => messages.length > 0, 'the echo');
      expect(messages).to.deep.equal(['echo:ping']);
      const seen = backend.upgradeHeaders.at(-1) as http.IncomingHttpHeaders;
      expect(seen['sec-websocket-protocol']).to.equal('live.v1,other');
      expect(seen.host).to.equal(new URL(gateway.endpoint).host);
    });

    it('carry a large message split over many frames and packets intact', async () => {
      const { socket, messages } = await connect(wsUrl());
      open.push(socket);
      const big = 'x'.repeat(300_000);
      socket.send(big);
      await until(() => messages.length > 0, 'the echo');
      expect(messages[0]).to.equal(`echo:${big}`);
    });

    it("pass the stand-in's refusal of the handshake through unchanged (the $connect route's 401)", async () => {
      const refused = (await connect(wsUrl('token=bad')).then(
        () => undefined,
        (error: unknown) => error,
      )) as { status: number; body: string };
      expect(refused.status).to.equal(401);
      expect(refused.body).to.equal(REFUSAL);
    });

    it('a client that goes away closes its connection at the stand-in too: a push then finds it gone', async () => {
      const { id, socket } = await openConnection();
      socket.terminate();
      const deadline = Date.now() + 5000;
      for (;;) {
        const outcome = await clientAs(pusher.functionName)
          .send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('x') }))
          .then(
            () => 'sent',
            (error: unknown) => (error as Error).name,
          );
        if (outcome === 'GoneException') break;
        if (Date.now() > deadline) throw new Error(`the connection is still there (${outcome})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  });

  describe('the Management API (@connections)', () => {
    it('PostToConnection by a role allowed execute-api:ManageConnections reaches the connection; the evidence names the route', async () => {
      const { id, messages } = await openConnection();
      expect(id).to.match(/^\+\+\/\/.+=$/);
      await clientAs(pusher.functionName).send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('{"type":"media.ready"}') }));
      await until(() => messages.length > 0, 'the push');
      expect(messages).to.deep.equal(['{"type":"media.ready"}']);
      expect(readEvidence(evidenceFile)).to.deep.include({
        fn: 'pusher',
        action: 'execute-api:ManageConnections',
        resource: 'arn:aws:execute-api:us-east-1:123456789012:local-live-api/local/POST/@connections/{connectionId}',
      });
    });

    it('DeleteConnection closes the connection', async () => {
      const { id, closed } = await openConnection();
      await clientAs(pusher.functionName).send(new DeleteConnectionCommand({ ConnectionId: id }));
      expect(await closed).to.be.a('number');
    });

    it('a connection that is gone: 410 GoneException, as AWS names it', async () => {
      const error = await failure(clientAs(pusher.functionName).send(new PostToConnectionCommand({ ConnectionId: 'L0SM9cOFvHcCIhw=', Data: Buffer.from('x') })));
      expect([error.name, error.$metadata?.httpStatusCode]).to.deep.equal(['GoneException', 410]);
    });

    it('a role without the permission: 403 AccessDeniedException, in the words AWS uses (route resource, account masked)', async () => {
      const { id } = await openConnection();
      const error = await failure(clientAs(bystander.functionName).send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('x') })));
      expect([error.name, error.$metadata?.httpStatusCode]).to.deep.equal(['AccessDeniedException', 403]);
      expect(error.message).to.equal(
        `User: ${bystander.sessionArn} is not authorized to perform: execute-api:ManageConnections on resource: arn:aws:execute-api:us-east-1:********9012:local-live-api/local/POST/@connections/{connectionId}`,
      );
      expect(denials.at(-1)).to.deep.equal({
        service: 'live',
        fn: 'bystander',
        action: 'execute-api:ManageConnections',
        resource: 'arn:aws:execute-api:us-east-1:123456789012:local-live-api/local/POST/@connections/{connectionId}',
        code: 'AccessDeniedException',
      });
    });

    it('authorises each method on its own route: an explicit deny of DELETE leaves POST allowed', async () => {
      const { id, messages } = await openConnection();
      await clientAs(poster.functionName).send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('hello') }));
      await until(() => messages.length > 0, 'the push');
      const error = await failure(clientAs(poster.functionName).send(new DeleteConnectionCommand({ ConnectionId: id })));
      expect(error.name).to.equal('AccessDeniedException');
      expect(error.message).to.match(/DELETE\/@connections\/\{connectionId\} with an explicit deny$/);
    });

    it('refuses an unsigned call, an unknown key, a wrong secret and a credential scoped to another region, as API Gateway does', async () => {
      const unsigned = await fetch(`${gateway.endpoint}/@connections/${encodeURIComponent('L0SM9cOFvHcCIhw=')}`, { method: 'POST', body: 'x' });
      expect(unsigned.status).to.equal(403);
      expect(unsigned.headers.get('x-amzn-errortype')).to.equal('MissingAuthenticationTokenException');
      expect(await unsigned.json()).to.deep.equal({ message: 'Missing Authentication Token' });

      const post = (client: ApiGatewayManagementApiClient) => failure(client.send(new PostToConnectionCommand({ ConnectionId: 'L0SM9cOFvHcCIhw=', Data: Buffer.from('x') })));
      const unknown = await post(clientAs('media-library-local-nobody'));
      expect([unknown.name, unknown.$metadata?.httpStatusCode, unknown.message]).to.deep.equal(['UnrecognizedClientException', 403, 'The security token included in the request is invalid.']);
      const wrongSecret = await post(clientAs(pusher.functionName, { secret: 'wrong' }));
      expect([wrongSecret.name, wrongSecret.$metadata?.httpStatusCode]).to.deep.equal(['InvalidSignatureException', 403]);
      // AWS shows what it expected: the path encoded once more than it travelled (the id's '=' as %253D).
      expect(wrongSecret.message).to.contain("The Canonical String for this request should have been\n'POST\n/%40connections/L0SM9cOFvHcCIhw%253D\n");
      const otherRegion = await post(clientAs(pusher.functionName, { region: 'eu-west-1' }));
      expect([otherRegion.name, otherRegion.message]).to.deep.equal(['InvalidSignatureException', "Credential should be scoped to a valid region, not 'eu-west-1'. "]);
      expect(denials.filter((denial) => denial.fn === 'pusher')).to.deep.equal([]);
    });

    it('refuses a message over 128 KB with PayloadTooLargeException (413); 128 KB exactly is sent', async () => {
      const { id, messages } = await openConnection();
      const tooLarge = await failure(clientAs(pusher.functionName).send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.alloc(LIVE_MAX_PAYLOAD_BYTES + 1, 'a') })));
      expect([tooLarge.name, tooLarge.$metadata?.httpStatusCode]).to.deep.equal(['PayloadTooLargeException', 413]);
      expect(tooLarge.message).to.equal('The data has exceeded the maximum size allowed.');
      await clientAs(pusher.functionName).send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.alloc(LIVE_MAX_PAYLOAD_BYTES, 'b') }));
      await until(() => messages.length > 0, 'the push');
      expect(messages[0]).to.have.length(LIVE_MAX_PAYLOAD_BYTES);
    });

    it('answers a signed call of a path under /@connections that the API does not serve with 403 ForbiddenException', async () => {
      const client = clientAs(pusher.functionName);
      // Rewritten before signing, so the signature is good and only the path is wrong.
      client.middlewareStack.add(
        (next) => async (args) => {
          (args.request as { path: string }).path = '/@connections/a/b';
          return next(args);
        },
        { step: 'build' },
      );
      const error = await failure(client.send(new PostToConnectionCommand({ ConnectionId: 'a', Data: Buffer.from('x') })));
      expect([error.name, error.$metadata?.httpStatusCode, error.message]).to.deep.equal(['ForbiddenException', 403, 'Forbidden']);
    });

    it('local tooling is bound by no role and leaves no evidence', async () => {
      const { id, messages } = await openConnection();
      await clientAs(LOCAL_TOOLING_ACCESS_KEY).send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('from tooling') }));
      await until(() => messages.length > 0, 'the push');
      expect(readEvidence(evidenceFile).every((line) => line.fn !== 'ml-local-tooling' && roles.has(`media-library-local-${line.fn}`))).to.equal(true);
    });
  });

  it('stopping the gateway closes the connections it carries', async () => {
    const extraGateway = await startGateway({ service: 'live', backend: backend.url, roles });
    const socket = new WebSocket(`${extraGateway.endpoint.replace('http:', 'ws:')}/?token=ok`);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await extraGateway.stop();
    await closed;
  });

  it('answers an upgrade with 503 while the stand-in is not listening', async () => {
    const idle = net.createServer();
    await new Promise<void>((resolve) => idle.listen(0, '127.0.0.1', resolve));
    const port = (idle.address() as AddressInfo).port;
    await new Promise<void>((resolve) => idle.close(() => resolve()));
    const orphan = await startGateway({ service: 'live', backend: `http://127.0.0.1:${port}`, roles });
    try {
      const refused = (await connect(`${orphan.endpoint.replace('http:', 'ws:')}/?token=ok`).then(
        () => undefined,
        (error: unknown) => error,
      )) as { status: number; body: string };
      expect(refused.status).to.equal(503);
      expect(refused.body).to.contain('local stand-in unavailable');
    } finally {
      await orphan.stop();
    }
  });
});
