/**
 * Live updates over the real local stack: WebSocket connections to serverless-offline's WebSocket
 * API through the local AWS gateway, $connect authorised by the access token, and every event
 * pushed by pushChanges from the tables' DynamoDB streams (the local event source mapping,
 * local/stack/streams.ts), through the Management API with pushChanges' own IAM role.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import { TOOLING_CREDENTIALS } from '../stack/credentials';
import { serviceConfig } from '../stack/serviceConfig';
import { ApiClient, newAccount } from '../test/http';
import { handshakeStatus, openLive, protocolsFor, type LiveClient } from '../test/live';
import { settled, upload } from '../test/media';
import { localStack, offlineApi } from '../test/stack';
import { attackTokens } from '../test/tokens';
import { requireEnv } from '../../shared/config/env';
import { LIVE_PROTOCOL } from '../../shared/schemas/live';
import { sessionKey } from '../../shared/stores/keys';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'media');
const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));

interface Account {
  token: string;
  refreshToken: string;
  userId: string;
  sessionId: string;
  email: string;
  password: string;
}

describe('live updates over WebSocket (the local WebSocket API, DynamoDB streams, pushChanges)', function () {
  this.timeout(120_000);
  let api: ApiClient;
  let liveUrl: string;
  const clients: LiveClient[] = [];

  async function account(): Promise<Account> {
    const body = newAccount('live');
    const created = await api.post<{ id: string }>('/v1/users', { body });
    expect(created.status, created.text).to.equal(201);
    return { ...(await signIn(body.email, body.password)), userId: created.body.id, email: body.email, password: body.password };
  }

  async function signIn(email: string, password: string): Promise<{ token: string; refreshToken: string; sessionId: string }> {
    const session = await api.post<{ accessToken: string; refreshToken: string; sessionId: string }>('/v1/sessions', { body: { email, password } });
    expect(session.status, session.text).to.equal(201);
    return { token: session.body.accessToken, refreshToken: session.body.refreshToken, sessionId: session.body.sessionId };
  }

  async function connect(token: string): Promise<LiveClient> {
    const client = await openLive(liveUrl, protocolsFor(token));
    clients.push(client);
    return client;
  }

  before(async () => {
    const offline = await offlineApi();
    api = new ApiClient(offline.baseUrl);
    liveUrl = offline.liveUrl;
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  describe('$connect', () => {
    it('opens with a valid access token of a live session, selecting the app protocol (never echoing the token)', async () => {
      const { token } = await account();
      const client = await connect(token);
      expect(client.protocol).to.equal(LIVE_PROTOCOL);
      client.send(JSON.stringify({ type: 'ping' }));
      expect(await client.nextMessage()).to.deep.equal({ type: 'pong' });
      client.send('hello');
      expect(await client.nextMessage()).to.include({ type: 'error', code: 'unknown_message' });
      expect(client.socket.readyState).to.equal(client.socket.OPEN);
    });

    it('refuses with 401: no token, junk, expired, tampered, signed by another key, a refresh token, a revoked session, no app protocol', async () => {
      const owner = await account();
      const attacks = attackTokens({ userId: owner.userId, sessionId: owner.sessionId }, owner.refreshToken);
      const cases: Array<[string, string[]]> = [
        ['no subprotocol at all', []],
        ['the app protocol without a token', [LIVE_PROTOCOL]],
        ['a token without the app protocol', [`bearer.${owner.token}`]],
        ['two tokens', [LIVE_PROTOCOL, `bearer.${owner.token}`, `bearer.${owner.token}x`]],
        ['junk', protocolsFor('junk')],
        ...(['expired', 'tampered payload', 'signed by another key', 'refresh token as access token', 'alg none'] as const)
          .filter((name) => attacks[name] !== undefined && /^[\w.-]+$/.test(attacks[name]))
          .map((name): [string, string[]] => [name, protocolsFor(attacks[name] as string)]),
      ];
      for (const [name, protocols] of cases) expect(await handshakeStatus(liveUrl, protocols), name).to.equal(401);

      // A session logged out: its still-unexpired access token opens nothing.
      const second = await signIn(owner.email, owner.password);
      expect((await api.delete('/v1/sessions/current', { token: second.token })).status).to.equal(204);
      expect(await handshakeStatus(liveUrl, protocolsFor(second.token)), 'revoked session').to.equal(401);
    });
  });

  describe('connections of one person', () => {
    it('opening one is a use of the session: its lastUsedAt is recorded, as the authorizer records it', async () => {
      const owner = await account();
      const stack = await localStack();
      const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials: TOOLING_CREDENTIALS }));
      const tenMinutesAgo = new Date(Date.now() - 10 * 60_000).toISOString();
      await dynamo.send(new UpdateCommand({ TableName: requireEnv('SESSIONS_TABLE'), Key: sessionKey(owner.userId, owner.sessionId), UpdateExpression: 'SET lastUsedAt = :then', ExpressionAttributeValues: { ':then': tenMinutesAgo } }));
      await connect(owner.token);
      // Read from the table: an API request would record the use itself (the authorizer).
      const { Item } = await dynamo.send(new GetCommand({ TableName: requireEnv('SESSIONS_TABLE'), Key: sessionKey(owner.userId, owner.sessionId), ConsistentRead: true }));
      dynamo.destroy();
      expect(Date.now() - Date.parse(String(Item?.['lastUsedAt'])), 'the connection just now was recorded').to.be.below(60_000);
    });

    it('beyond live.maxConnectionsPerUser, a new connection closes the oldest; the others and other people stay open', async () => {
      const cap = Number((serviceConfig('local').custom as { stage: { live: { maxConnectionsPerUser: number } } }).stage.live.maxConnectionsPerUser);
      const owner = await account();
      const other = await account();
      const bystander = await connect(other.token);
      const opened: LiveClient[] = [];
      for (let index = 0; index < cap; index += 1) opened.push(await connect(owner.token));
      const newest = await connect(owner.token);
      const oldest = opened[0] as LiveClient;
      await Promise.race([oldest.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the oldest connection stayed open')), 10_000))]);
      for (const client of [...opened.slice(1), newest, bystander]) {
        client.send(JSON.stringify({ type: 'ping' }));
        expect(await client.nextMessage()).to.deep.equal({ type: 'pong' });
      }
    });
  });

  describe('events', () => {
    it('media.ready within 2 s of processing, with the item as lists show it (thumbnails), to every connection of the owner and nobody else', async () => {
      const owner = await account();
      const stranger = await account();
      const [first, second, other] = [await connect(owner.token), await connect(owner.token), await connect(stranger.token)];
      const created = await upload(api, owner.token, { bytes: fixture('photo-exif.jpg'), filename: 'eiffel.jpg', contentType: 'image/jpeg' });
      const ready = await first.waitFor('media.ready', (event) => event.media.id === created.media.id, 30_000);
      // `at` is when the change was committed (the stream record's time, to the second at worst).
      expect(ready.receivedAt - Date.parse(ready.at), 'from processing to the push').to.be.below(2_000 + 1_000);
      expect(ready.media).to.include({ id: created.media.id, status: 'ready', filename: 'eiffel.jpg', width: 480, height: 640 });
      const thumbnail = await fetch(ready.media.thumbnails?.small as string);
      expect(thumbnail.status).to.equal(200);
      expect(thumbnail.headers.get('content-type')).to.equal('image/webp');
      const again = await second.waitFor('media.ready', (event) => event.media.id === created.media.id);
      expect(again.id).to.equal(ready.id);
      // What the list says now is what was pushed (the same thumbnail, signed by another function's role).
      const listed = await api.get<{ items: Array<{ id: string; thumbnails?: { small: string } }> }>('/v1/media', { token: owner.token });
      const objectOf = (url: string | undefined): string => new URL(url as string).pathname;
      expect(objectOf(listed.body.items.find((item) => item.id === created.media.id)?.thumbnails?.small)).to.equal(objectOf(ready.media.thumbnails?.small));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(other.events, "another person's connection").to.deep.equal([]);
      expect([first, second, other].flatMap((client) => client.malformed)).to.deep.equal([]);
    });

    it('media.rejected with the reason, media.deleted, metadata.updated with the new ETag', async () => {
      const owner = await account();
      const client = await connect(owner.token);
      const refused = await upload(api, owner.token, { bytes: fixture('not-an-image.jpg'), filename: 'fake.jpg', contentType: 'image/jpeg' });
      const rejected = await client.waitFor('media.rejected', (event) => event.mediaId === refused.media.id, 30_000);
      const stored = await settled(api, owner.token, refused.media.id);
      expect(rejected.reason).to.equal(stored.rejectReason);

      const photo = await upload(api, owner.token, { bytes: fixture('photo-other.jpg'), filename: 'other.jpg', contentType: 'image/jpeg' });
      await client.waitFor('media.ready', (event) => event.media.id === photo.media.id, 30_000);
      const patched = await api.patch(`/v1/media/${photo.media.id}/metadata`, { token: owner.token, body: { title: 'Sunset', tags: ['beach', 'summer'] } });
      expect(patched.status, patched.text).to.equal(200);
      const updated = await client.waitFor('metadata.updated', (event) => event.mediaId === photo.media.id);
      expect(updated).to.include({ etag: patched.headers.get('etag'), title: 'Sunset', description: '' });
      expect(updated.tags).to.deep.equal(['beach', 'summer']);

      expect((await api.delete(`/v1/media/${photo.media.id}`, { token: owner.token })).status).to.equal(204);
      await client.waitFor('media.deleted', (event) => event.mediaId === photo.media.id);
      expect((await api.delete(`/v1/media/${refused.media.id}`, { token: owner.token })).status).to.equal(204);
      await client.waitFor('media.deleted', (event) => event.mediaId === refused.media.id);
      // Each deletion announced once; views counted by GET announce nothing.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(client.events.filter((event) => event.type === 'media.deleted')).to.have.length(2);
      expect(client.events.map((event) => event.type).sort()).to.deep.equal(['media.deleted', 'media.deleted', 'media.ready', 'media.rejected', 'metadata.updated']);
    });

    it('analysis.finished when a job ends', async () => {
      const owner = await account();
      const client = await connect(owner.token);
      const photo = await upload(api, owner.token, { bytes: fixture('photo-exif.jpg'), filename: 'a.jpg', contentType: 'image/jpeg' });
      await client.waitFor('media.ready', (event) => event.media.id === photo.media.id, 30_000);
      const requested = await api.post<{ id: string }>(`/v1/media/${photo.media.id}/analyses`, { token: owner.token });
      expect(requested.status, requested.text).to.equal(202);
      const finished = await client.waitFor('analysis.finished', (event) => event.analysisId === requested.body.id, 30_000);
      expect(finished).to.include({ mediaId: photo.media.id, status: 'succeeded' });
      const job = await api.get<{ status: string }>(`/v1/analyses/${requested.body.id}`, { token: owner.token });
      expect(job.body.status).to.equal('succeeded');
    });

    it('session.revoked to every connection of the person; the revoked session’s connections close, the others stay', async () => {
      const owner = await account();
      const laptop = await connect(owner.token);
      const phoneSession = await signIn(owner.email, owner.password);
      const phone = await connect(phoneSession.token);
      expect((await api.delete(`/v1/sessions/${phoneSession.sessionId}`, { token: owner.token })).status).to.equal(204);
      const told = await laptop.waitFor('session.revoked', (event) => event.sessionId === phoneSession.sessionId);
      expect(told.reason).to.equal('revoked');
      await phone.waitFor('session.revoked', (event) => event.sessionId === phoneSession.sessionId);
      await Promise.race([phone.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the revoked session’s connection stayed open')), 5_000))]);
      expect(laptop.socket.readyState).to.equal(laptop.socket.OPEN);
      // Logging out closes the connection of that session too.
      expect((await api.delete('/v1/sessions/current', { token: owner.token })).status).to.equal(204);
      await laptop.waitFor('session.revoked', (event) => event.sessionId === owner.sessionId);
      await Promise.race([laptop.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the logged-out connection stayed open')), 5_000))]);
    });
  });
});
