/**
 * WebSocket $connect in process, as the openConnection function (the local AWS gateway holds its
 * calls to its role), against the run's DynamoDB Local; the Management API (closing connections
 * beyond the cap) is a loopback stand-in.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { expect } from 'chai';
import sinon from 'sinon';
import { ulid } from 'ulid';
import { connectionOf } from '../../local/test/contracts/connectionStore';
import { lambdaContext, websocketEvent } from '../../local/test/events';
import { asFunction } from '../../local/test/identity';
import { loadLiveHandler, startManagementApi, type ManagementApiStandIn } from '../../local/test/managementApi';
import { localStack } from '../../local/test/stack';
import { attackTokens, validToken } from '../../local/test/tokens';
import { newRefreshToken } from '../../shared/auth/refreshTokens';
import { dynamo } from '../../shared/aws/dynamo';
import { requireEnv } from '../../shared/config/env';
import { logger } from '../../shared/log';
import { dynamoConnectionStore } from '../../shared/stores/connections';
import { dynamoSessionStore, type SessionRecord } from '../../shared/stores/sessions';
import type { ConnectEvent, ConnectResult } from './openConnection';

type Handler = (event: ConnectEvent, context: Context) => Promise<ConnectResult>;

describe('openConnection (WebSocket $connect; DynamoDB Local)', function () {
  this.timeout(60_000);
  const sessions = dynamoSessionStore(dynamo, requireEnv('SESSIONS_TABLE'));
  const connections = dynamoConnectionStore(dynamo, requireEnv('CONNECTIONS_TABLE'));
  const cap = Number(requireEnv('LIVE_MAX_CONNECTIONS_PER_USER'));
  let managementApi: ManagementApiStandIn;
  let handler: Handler;

  before(async () => {
    await localStack();
    managementApi = await startManagementApi();
    handler = loadLiveHandler<Handler>('functions/live/openConnection', managementApi.endpoint);
  });
  after(async () => {
    await managementApi.stop();
  });
  beforeEach(() => managementApi.reset());
  afterEach(() => sinon.restore());

  const connect = (protocols: string | undefined, connectionId = `${ulid().slice(-15)}=`): Promise<ConnectResult> =>
    asFunction('openConnection', () =>
      handler(websocketEvent('$connect', { connectionId, headers: protocols === undefined ? {} : { 'Sec-WebSocket-Protocol': protocols } }), lambdaContext('openConnection')),
    );

  async function liveSession(overrides: Partial<SessionRecord> = {}): Promise<SessionRecord> {
    const now = Date.now();
    const session: SessionRecord = {
      id: ulid(),
      userId: ulid(),
      createdAt: new Date(now - 60_000).toISOString(),
      lastUsedAt: new Date(now - 60_000).toISOString(),
      expiresAt: new Date(now + 3600_000).toISOString(),
      remember: false,
      userAgent: 'tests',
      currentHash: 'a'.repeat(64),
      previousHashes: [],
      ...overrides,
    };
    await sessions.create(session);
    return session;
  }
  const subjectOf = (session: SessionRecord) => ({ userId: session.userId, sessionId: session.id });

  /** What the handler logged while `work` ran (every line, at INFO). */
  async function logged(work: () => Promise<unknown>): Promise<string[]> {
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array): boolean => {
      lines.push(String(chunk));
      return true;
    };
    const stdout = sinon.stub(process.stdout, 'write').callsFake(capture);
    const stderr = sinon.stub(process.stderr, 'write').callsFake(capture);
    // The middleware resets the level to the configured one (SILENT in tests) on every warm invocation.
    const refresh = sinon.stub(logger, 'refreshSampleRateCalculation');
    logger.setLogLevel('INFO');
    try {
      await work();
    } finally {
      logger.setLogLevel('SILENT');
      stdout.restore();
      stderr.restore();
      refresh.restore();
    }
    return lines;
  }

  it('opens the connection of a valid access token of a live session: 200, selecting only media-library.v1, recorded for its user and session', async () => {
    const session = await liveSession();
    const connectionId = `${ulid().slice(-15)}=`;
    const result = await connect(`media-library.v1, bearer.${validToken(subjectOf(session))}`, connectionId);
    expect(result).to.deep.equal({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'media-library.v1' } });

    const [connection] = await connections.ofUser(session.userId, new Date());
    expect(connection).to.include({ id: connectionId, userId: session.userId, sessionId: session.id, endpoint: managementApi.endpoint });
    expect(Date.parse(connection?.expiresAt ?? '') - Date.parse(connection?.connectedAt ?? '')).to.equal(2 * 3600_000);
    expect(managementApi.calls, 'nothing to close').to.deep.equal([]);
  });

  it('reads the header whatever its case', async () => {
    const session = await liveSession();
    const result = await asFunction('openConnection', () =>
      handler(websocketEvent('$connect', { headers: { 'sec-websocket-protocol': `bearer.${validToken(subjectOf(session))}, media-library.v1` } }), lambdaContext('openConnection')),
    );
    expect(result.statusCode).to.equal(200);
  });

  it('refuses (401) a handshake without the token, or without the app protocol, recording nothing', async () => {
    const session = await liveSession();
    const token = validToken(subjectOf(session));
    for (const protocols of [undefined, 'media-library.v1', `bearer.${token}`, `media-library.v1, bearer.${token}, bearer.${token}`]) {
      expect(await connect(protocols), String(protocols)).to.deep.equal({ statusCode: 401 });
    }
    const noHeaders = await asFunction('openConnection', () => handler(websocketEvent('$connect'), lambdaContext('openConnection')));
    expect(noHeaders).to.deep.equal({ statusCode: 401 });
    expect(await connections.ofUser(session.userId, new Date())).to.deep.equal([]);
  });

  it('refuses (401) the token of a revoked session, and of an expired one not yet removed by TTL', async () => {
    const revoked = await liveSession();
    const token = validToken(subjectOf(revoked));
    await sessions.delete(revoked.userId, revoked.id);
    expect(await connect(`media-library.v1, bearer.${token}`)).to.deep.equal({ statusCode: 401 });

    const expired = await liveSession({ expiresAt: new Date(Date.now() - 1000).toISOString() });
    expect(await connect(`media-library.v1, bearer.${validToken(subjectOf(expired))}`)).to.deep.equal({ statusCode: 401 });
    expect(await connections.ofUser(revoked.userId, new Date())).to.deep.equal([]);
    expect(await connections.ofUser(expired.userId, new Date())).to.deep.equal([]);
  });

  describe('refuses (401) every bad token', () => {
    const subject = { userId: ulid(), sessionId: ulid() };
    for (const [attack, token] of Object.entries(attackTokens(subject, newRefreshToken(subject.userId, subject.sessionId).token))) {
      it(attack, async () => {
        await liveSession({ userId: subject.userId, id: subject.sessionId }).catch(() => undefined); // the session is live: only the token is wrong
        expect(await connect(`media-library.v1, bearer.${token}`)).to.deep.equal({ statusCode: 401 });
        expect(await connections.ofUser(subject.userId, new Date())).to.deep.equal([]);
      });
    }
  });

  it('never logs the token, whether the connection opens or is refused (and logs who connected)', async () => {
    const session = await liveSession();
    const token = validToken(subjectOf(session));
    const tampered = `${token.slice(0, -4)}AAAA`;
    const lines = await logged(async () => {
      expect((await connect(`media-library.v1, bearer.${token}`)).statusCode).to.equal(200);
      expect((await connect(`media-library.v1, bearer.${tampered}`)).statusCode).to.equal(401);
    });
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.find((entry) => entry['message'] === 'connection opened')).to.include({ userId: session.userId, sessionId: session.id });
    expect(entries.find((entry) => entry['message'] === 'connection refused')).to.have.property('reason').that.is.a('string');
    const all = lines.join('\n');
    for (const secret of [token, tampered, token.split('.')[2] as string, tampered.split('.')[2] as string]) expect(all).not.to.contain(secret);
  });

  it('beyond the cap, closes the oldest connection of the user through the Management API and forgets it', async () => {
    const session = await liveSession();
    const now = new Date();
    const older = [];
    for (let i = 0; i < cap; i++) {
      const connection = connectionOf(session.userId, now, (cap - i) * 1000, { endpoint: managementApi.endpoint });
      await connections.add(connection, cap);
      older.push(connection);
    }
    const connectionId = `${ulid().slice(-15)}=`;
    expect((await connect(`media-library.v1, bearer.${validToken(subjectOf(session))}`, connectionId)).statusCode).to.equal(200);

    const oldest = older[0] as (typeof older)[number];
    expect(managementApi.calls.map(({ method, connectionId: id, accessKeyId }) => ({ method, id, accessKeyId }))).to.deep.equal([
      { method: 'DELETE', id: oldest.id, accessKeyId: 'media-library-local-openConnection' },
    ]);
    const open = await connections.ofUser(session.userId, new Date());
    expect(open.map((connection) => connection.id)).to.deep.equal([...older.slice(1).map((connection) => connection.id), connectionId]);
  });

  it('opens the connection even when closing one beyond the cap fails (gone already, or the Management API fails)', async () => {
    const session = await liveSession();
    const now = new Date();
    const older = [];
    for (let i = 0; i < cap; i++) older.push(connectionOf(session.userId, now, (cap - i) * 1000, { endpoint: managementApi.endpoint }));
    for (const connection of older) await connections.add(connection, cap);
    const [gone, failing] = older as [(typeof older)[number], (typeof older)[number]];
    managementApi.answer(gone.id, 410);
    managementApi.answer(failing.id, 500);
    const token = validToken(subjectOf(session));
    expect((await connect(`media-library.v1, bearer.${token}`)).statusCode).to.equal(200);
    expect((await connect(`media-library.v1, bearer.${token}`)).statusCode).to.equal(200);
    expect(new Set(managementApi.calls.map((call) => call.connectionId))).to.deep.equal(new Set([gone.id, failing.id]));
    expect((await connections.ofUser(session.userId, new Date())).map((connection) => connection.id)).not.to.include.members([gone.id, failing.id]);
  });

  it('answers 503 when DynamoDB fails (the client retries), 401 never', async () => {
    const session = await liveSession();
    const token = validToken(subjectOf(session));
    sinon.stub(dynamo, 'send').rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } }));
    expect(await connect(`media-library.v1, bearer.${token}`)).to.deep.equal({ statusCode: 503 });
  });

  it('answers 503, not an unhandled error, when the transaction recording the connection is throttled', async () => {
    const session = await liveSession();
    const token = validToken(subjectOf(session));
    const send = dynamo.send.bind(dynamo) as (command: unknown) => Promise<unknown>;
    const throttled = new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: {}, CancellationReasons: [{ Code: 'ThrottlingError' }, { Code: 'None' }] });
    const stub = sinon.stub(dynamo, 'send') as unknown as sinon.SinonStub<[unknown], Promise<unknown>>;
    stub.callsFake(async (command) => {
      if (command instanceof TransactWriteCommand) throw throttled;
      return send(command);
    });
    expect(await connect(`media-library.v1, bearer.${token}`)).to.deep.equal({ statusCode: 503 });
    sinon.restore();
    expect(await connections.ofUser(session.userId, new Date())).to.deep.equal([]);
  });

  it('answers 503 when the verification keys cannot be loaded because SSM throttles; fails outright on anything else', async () => {
    const session = await liveSession();
    const token = validToken(subjectOf(session));
    const withKeys = (error: Error) =>
      loadLiveHandler<Handler>('functions/live/openConnection', managementApi.endpoint, { '../../shared/auth/verifier': { verificationKeys: () => Promise.reject(error) } });
    const throttled = withKeys(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const result = await asFunction('openConnection', () => throttled(websocketEvent('$connect', { headers: { 'Sec-WebSocket-Protocol': `media-library.v1, bearer.${token}` } }), lambdaContext('openConnection')));
    expect(result).to.deep.equal({ statusCode: 503 });

    const broken = withKeys(new TypeError('a bug'));
    let failure: unknown;
    await asFunction('openConnection', () => broken(websocketEvent('$connect', { headers: { 'Sec-WebSocket-Protocol': `media-library.v1, bearer.${token}` } }), lambdaContext('openConnection'))).catch(
      (error: unknown) => (failure = error),
    );
    expect(failure).to.be.instanceOf(TypeError);
    expect(await connections.ofUser(session.userId, new Date())).to.deep.equal([]);
  });
});
