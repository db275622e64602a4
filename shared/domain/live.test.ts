import { expect } from 'chai';
import sinon from 'sinon';
import { ulid } from 'ulid';
import { connectionOf } from '../../local/test/contracts/connectionStore';
import { fixedClock, memoryConnectionStore, memoryContentStore, type MemoryConnectionStore } from '../../local/test/fakes';
import { pendingMediaRecord } from '../../local/test/records';
import { LIVE_PROTOCOL, LiveError, LiveEvent, LivePong } from '../schemas/live';
import { mediaKey, taggedKey, tagCountKey, shaKey, phashKey } from '../stores/mediaKeys';
import { sessionKey } from '../stores/keys';
import { toRecord, type MediaRecord } from '../stores/media';
import type { ConnectionRecord } from '../stores/connections';
import {
  CONNECTION_LIFETIME_SECONDS,
  ConnectionRefused,
  announcementsOf,
  answerMessage,
  closeConnection,
  openConnection,
  pushAnnouncements,
  tokenOfProtocols,
  type Announcement,
  type Change,
  type LivePusher,
  type OpenDeps,
} from './live';
import { presentMedia } from './media';

const ENDPOINT = 'https://live.example/test';

/** The WebSocket API as the domain sees it: what was sent to and closed on which connection, in order. */
function fakePusher(outcomes: Record<string, 'gone' | Error> = {}) {
  const log: string[] = [];
  const sent: Array<{ connectionId: string; message: string }> = [];
  const pusher = {
    log,
    sent,
    closed: [] as string[],
    failClose: undefined as Error | undefined,
    async send(connectionId: string, message: string): Promise<'sent' | 'gone'> {
      log.push(`send ${connectionId}`);
      const outcome = outcomes[connectionId];
      if (outcome instanceof Error) throw outcome;
      if (outcome === 'gone') return 'gone';
      sent.push({ connectionId, message });
      return 'sent';
    },
    async close(connectionId: string): Promise<void> {
      log.push(`close ${connectionId}`);
      if (pusher.failClose !== undefined) throw pusher.failClose;
      pusher.closed.push(connectionId);
    },
  } satisfies LivePusher & Record<string, unknown>;
  return pusher;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('live updates domain', () => {
  describe('tokenOfProtocols (the access token of a WebSocket handshake)', () => {
    const cases: Array<[string | undefined, string | undefined, string]> = [
      ['media-library.v1, bearer.abc', 'abc', 'the app protocol and one token'],
      ['bearer.abc, media-library.v1', 'abc', 'in either order'],
      ['media-library.v1,bearer.abc', 'abc', 'without spaces'],
      ['  media-library.v1 ,\tbearer.abc  ', 'abc', 'with whitespace around each'],
      ['media-library.v1, bearer.eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl', 'eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl', 'a JWT, dots and all'],
      [undefined, undefined, 'no header'],
      ['', undefined, 'an empty header'],
      ['   ', undefined, 'a blank header'],
      ['bearer.abc', undefined, 'a token without the app protocol'],
      ['media-library.v2, bearer.abc', undefined, 'a token with another version of the protocol'],
      ['media-library.v1', undefined, 'the app protocol without a token'],
      ['media-library.v1, bearer.', undefined, 'an empty token'],
      ['media-library.v1, bearer.abc, bearer.def', undefined, 'two tokens'],
      ['media-library.v1, bearer.abc, bearer.abc', undefined, 'the same token twice'],
      ['media-library.v1, bearer abc', undefined, 'a token in the Authorization header’s form'],
    ];
    for (const [header, token, what] of cases) {
      it(`${what}: ${JSON.stringify(header)} -> ${token === undefined ? 'no token' : JSON.stringify(token)}`, () => {
        expect(tokenOfProtocols(header)).to.equal(token);
      });
    }
  });

  describe('openConnection ($connect)', () => {
    const subject = { userId: ulid(), sessionId: ulid() };
    const token = 'the.access.token';

    function world(cap = 10) {
      const connections = memoryConnectionStore();
      const live = fakePusher();
      const clock = fixedClock();
      const report = sinon.spy();
      const authenticate = sinon.spy(async (presented: string) => {
        if (presented !== token) throw new ConnectionRefused('invalid token');
        return subject;
      });
      const deps: OpenDeps = { connections, live, endpoint: ENDPOINT, clock, settings: { maxConnectionsPerUser: cap }, authenticate, report };
      return { connections, live, clock, report, authenticate, deps };
    }

    it('records the connection of the token’s user and session, expiring when API Gateway ends it (2 h), and selects the app protocol', async () => {
      const w = world();
      const { protocol, connection } = await openConnection(w.deps, 'conn-1', `${LIVE_PROTOCOL}, bearer.${token}`);
      expect(protocol).to.equal('media-library.v1');
      expect(w.authenticate.calledOnceWithExactly(token)).to.equal(true);
      const expected: ConnectionRecord = {
        id: 'conn-1',
        userId: subject.userId,
        sessionId: subject.sessionId,
        connectedAt: '2026-11-21T10:00:00.000Z',
        expiresAt: '2026-11-21T12:00:00.000Z',
        endpoint: ENDPOINT,
      };
      expect(connection).to.deep.equal(expected);
      expect(CONNECTION_LIFETIME_SECONDS).to.equal(7200);
      expect(await w.connections.ofUser(subject.userId, w.clock.now())).to.deep.equal([expected]);
      expect(w.live.log, 'nothing to close').to.deep.equal([]);
    });

    for (const header of [undefined, 'media-library.v1', `bearer.${token}`, `media-library.v1, bearer.${token}, bearer.${token}`]) {
      it(`refuses ${JSON.stringify(header)} without asking who the token names, and records nothing`, async () => {
        const w = world();
        const error = await rejection(openConnection(w.deps, 'conn-1', header));
        expect(error).to.be.instanceOf(ConnectionRefused);
        expect(w.authenticate.called).to.equal(false);
        expect(w.connections.records.size).to.equal(0);
      });
    }

    it('passes on the refusal of the token (invalid, or its session ended), recording nothing', async () => {
      const w = world();
      const error = await rejection(openConnection(w.deps, 'conn-1', `${LIVE_PROTOCOL}, bearer.forged`));
      expect(error).to.be.instanceOf(ConnectionRefused);
      expect((error as Error).message).to.equal('invalid token');
      expect(w.connections.records.size).to.equal(0);
    });

    it('lets any other failure of the check through as it is (not a refusal: the caller answers 503 or fails)', async () => {
      const w = world();
      const outage = Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      w.deps.authenticate = () => Promise.reject(outage);
      expect(await rejection(openConnection(w.deps, 'conn-1', `${LIVE_PROTOCOL}, bearer.${token}`))).to.equal(outage);
      expect(w.connections.records.size).to.equal(0);
    });

    it('closes the connections beyond the cap, oldest first, and keeps the new one', async () => {
      const w = world(2);
      const now = w.clock.now();
      const [oldest, older] = [connectionOf(subject.userId, now, 60_000), connectionOf(subject.userId, now, 30_000)];
      await w.connections.add(oldest, 2);
      await w.connections.add(older, 2);
      const { connection } = await openConnection(w.deps, 'conn-new', `${LIVE_PROTOCOL}, bearer.${token}`);
      expect(w.live.log).to.deep.equal([`close ${oldest.id}`]);
      expect(await w.connections.ofUser(subject.userId, now)).to.deep.equal([older, connection]);
      expect(w.report.called).to.equal(false);
    });

    it('reports a close that fails and still opens the connection (the one left over expires on its own)', async () => {
      const w = world(1);
      const now = w.clock.now();
      const [first, second] = [connectionOf(subject.userId, now, 60_000), connectionOf(subject.userId, now, 30_000)];
      await w.connections.add(first, 10);
      await w.connections.add(second, 10);
      const failure = new Error('Management API unavailable');
      w.live.failClose = failure;
      const { connection } = await openConnection(w.deps, 'conn-new', `${LIVE_PROTOCOL}, bearer.${token}`);
      expect(w.live.log, 'every evicted connection is tried').to.deep.equal([`close ${first.id}`, `close ${second.id}`]);
      expect(w.report.callCount).to.equal(2);
      expect(w.report.firstCall.args[0]).to.equal(failure);
      expect(await w.connections.ofUser(subject.userId, now)).to.deep.equal([connection]);
    });
  });

  describe('closeConnection ($disconnect)', () => {
    it('forgets the connection and returns what it was; an unknown one is undefined', async () => {
      const connections = memoryConnectionStore();
      const connection = connectionOf(ulid(), new Date());
      await connections.add(connection, 10);
      expect(await closeConnection({ connections }, connection.id)).to.deep.equal(connection);
      expect(connections.records.size).to.equal(0);
      expect(await closeConnection({ connections }, connection.id)).to.equal(undefined);
    });
  });

  describe('answerMessage ($default)', () => {
    it('answers a ping with a pong', () => {
      expect(answerMessage('{"type":"ping"}')).to.deep.equal({ type: 'pong' });
      expect(answerMessage(' {\n"type" : "ping"} ')).to.deep.equal({ type: 'pong' });
      expect(LivePong.parse(answerMessage('{"type":"ping"}'))).to.deep.equal({ type: 'pong' });
    });

    const notPings: Array<[string | undefined, string]> = [
      ['{"type":"ping","id":1}', 'a ping with extra fields'],
      ['{"type":"pong"}', 'another type'],
      ['{"type":"PING"}', 'the type in another case'],
      ['{}', 'an empty object'],
      ['[]', 'an array'],
      ['[{"type":"ping"}]', 'a ping in an array'],
      ['null', 'null'],
      ['"ping"', 'a JSON string'],
      ['1', 'a number'],
      ['ping', 'not JSON'],
      ['{"type":"ping"', 'cut-off JSON'],
      ['', 'an empty message'],
      [undefined, 'no body (binary, or too long)'],
    ];
    for (const [body, what] of notPings) {
      it(`answers ${what} with an error message`, () => {
        const reply = answerMessage(body);
        expect(reply).to.include({ type: 'error', code: 'unknown_message' });
        expect(LiveError.parse(reply)).to.deep.equal(reply);
      });
    }
  });

  describe('announcementsOf (a committed change -> events)', () => {
    const content = memoryContentStore();
    const clock = fixedClock();
    const deps = { present: (record: MediaRecord) => presentMedia({ content, clock }, record), toRecord };
    const userId = ulid();
    const at = new Date('2026-11-21T09:59:58.000Z');
    let eventId: string;
    beforeEach(() => {
      eventId = ulid().toLowerCase().slice(0, 32);
    });

    type Item = Record<string, unknown>;
    const change = (table: Change['table'], kind: Change['kind'], oldImage: Item | undefined, newImage: Item | undefined, expired = false): Change => ({
      table,
      eventId,
      kind,
      at,
      oldImage,
      newImage,
      expired,
    });

    /** Every event must be one the schema accepts as it is (nothing stripped, nothing missing). */
    async function announced(c: Change): Promise<Announcement[]> {
      const announcements = await announcementsOf(deps, c);
      for (const { event } of announcements) expect(LiveEvent.parse(event)).to.deep.equal(event);
      return announcements;
    }

    /** A media item as the table holds it: keys, index keys, the record's fields. */
    function mediaItem(record: MediaRecord, extra: Item = {}): Item {
      return { ...mediaKey(record.userId, record.id), gsi1pk: `USER#${record.userId}#TYPE#${record.type}`, gsi1sk: record.id, ...record, ...extra };
    }
    const pending = (fields: Partial<MediaRecord> = {}): MediaRecord => pendingMediaRecord(userId, { createdAt: '2026-11-21T09:00:00.000Z', updatedAt: '2026-11-21T09:00:00.000Z', ...fields });
    const readyOf = (record: MediaRecord, fields: Partial<MediaRecord> = {}): MediaRecord => ({
      ...record,
      status: 'ready',
      width: 4000,
      height: 3000,
      takenAt: '2026-07-14T12:00:00.000Z',
      thumbnails: { small: `media/${userId}/${record.id}/thumb-small.webp`, large: `media/${userId}/${record.id}/thumb-large.webp` },
      objectETag: '"etag-1"',
      perceptualHash: '0123456789abcdef',
      updatedAt: '2026-11-21T09:59:58.000Z',
      ...fields,
    });

    describe('media', () => {
      it('pending -> ready: media.ready with the item as lists show it (thumbnail URLs, nothing internal)', async () => {
        const before = pending({ title: 'Eiffel' });
        const after = readyOf(before);
        const announcements = await announced(change('media', 'MODIFY', mediaItem(before), mediaItem(after)));
        expect(announcements).to.deep.equal([
          { userId, event: { type: 'media.ready', id: eventId, at: '2026-11-21T09:59:58.000Z', media: await presentMedia({ content, clock }, after) } },
        ]);
        const media = (announcements[0]?.event as Extract<LiveEvent, { type: 'media.ready' }>).media;
        expect(media).to.include({ id: before.id, status: 'ready', title: 'Eiffel', width: 4000 });
        expect(media.thumbnails?.small).to.contain('thumb-small.webp');
        expect(media).not.to.have.any.keys('userId', 'objectETag', 'perceptualHash', 'pk', 'sk', 'gsi1pk', 'version');
      });

      it('ready -> ready from a new upload (another object ETag): media.ready again', async () => {
        const before = readyOf(pending());
        const after = { ...before, objectETag: '"etag-2"', width: 800, height: 600 };
        const announcements = await announced(change('media', 'MODIFY', mediaItem(before), mediaItem(after)));
        expect(announcements.map(({ event }) => event.type)).to.deep.equal(['media.ready']);
        expect((announcements[0]?.event as Extract<LiveEvent, { type: 'media.ready' }>).media.width).to.equal(800);
      });

      it('a ready item written again from the same upload (a redelivered S3 event): nothing', async () => {
        const before = readyOf(pending());
        expect(await announced(change('media', 'MODIFY', mediaItem(before), mediaItem({ ...before, updatedAt: '2026-11-21T10:00:00.000Z' })))).to.deep.equal([]);
      });

      it('an item inserted as ready (no old image) is announced ready', async () => {
        const after = readyOf(pending());
        expect((await announced(change('media', 'INSERT', undefined, mediaItem(after)))).map(({ event }) => event.type)).to.deep.equal(['media.ready']);
      });

      it('-> rejected: media.rejected with the reason (a default one when none was written); rejected again: nothing', async () => {
        const before = pending();
        const rejected = { ...before, status: 'rejected' as const, rejectReason: 'type_mismatch' };
        expect(await announced(change('media', 'MODIFY', mediaItem(before), mediaItem(rejected)))).to.deep.equal([
          { userId, event: { type: 'media.rejected', id: eventId, at: at.toISOString(), mediaId: before.id, reason: 'type_mismatch' } },
        ]);
        const { rejectReason: _none, ...withoutReason } = rejected;
        const announcements = await announced(change('media', 'MODIFY', mediaItem(before), mediaItem(withoutReason)));
        expect(announcements.map(({ event }) => (event as Extract<LiveEvent, { type: 'media.rejected' }>).reason)).to.deep.equal(['rejected']);
        expect(await announced(change('media', 'MODIFY', mediaItem(rejected), mediaItem({ ...rejected, updatedAt: '2026-11-21T10:00:00.000Z' })))).to.deep.equal([]);
      });

      it('a new pending item (createMedia) announces nothing: its uploader already knows it', async () => {
        expect(await announced(change('media', 'INSERT', undefined, mediaItem(pending())))).to.deep.equal([]);
      });

      it('a deletion is announced once, when it begins: media.deleted; the writes that finish it say nothing', async () => {
        const ready = readyOf(pending({ tags: ['paris'] }));
        const deleting = { ...ready, deleting: true, tags: [], dirtyTags: ['paris'], version: ready.version + 1 };
        expect(await announced(change('media', 'MODIFY', mediaItem(ready), mediaItem(deleting)))).to.deep.equal([
          { userId, event: { type: 'media.deleted', id: eventId, at: at.toISOString(), mediaId: ready.id } },
        ]);
        const { dirtyTags: _dirty, ...cleaned } = deleting;
        expect(await announced(change('media', 'MODIFY', mediaItem(deleting), mediaItem(cleaned))), 'tag clean-up of a deleting item').to.deep.equal([]);
        expect(await announced(change('media', 'REMOVE', mediaItem(cleaned), undefined)), 'the removal that finishes it').to.deep.equal([]);
      });

      it('an item removed without a deletion under way (an abandoned upload swept): media.deleted', async () => {
        const abandoned = pending();
        expect(await announced(change('media', 'REMOVE', mediaItem(abandoned), undefined))).to.deep.equal([
          { userId, event: { type: 'media.deleted', id: eventId, at: at.toISOString(), mediaId: abandoned.id } },
        ]);
      });

      it('title, description or tags changed with a version bump: metadata.updated with the etag GET …/metadata answers', async () => {
        const before = readyOf(pending({ version: 3 }));
        const changes: Array<Partial<MediaRecord>> = [{ title: 'Tour Eiffel' }, { description: 'At night' }, { tags: ['paris', 'night'] }];
        for (const fields of changes) {
          const after = { ...before, ...fields, version: 4, dirtyTags: ['paris'], updatedAt: '2026-11-21T10:00:00.000Z' };
          expect(await announced(change('media', 'MODIFY', mediaItem(before), mediaItem(after))), JSON.stringify(fields)).to.deep.equal([
            {
              userId,
              event: {
                type: 'metadata.updated',
                id: eventId,
                at: at.toISOString(),
                mediaId: before.id,
                etag: '"4"',
                title: after.title,
                description: after.description,
                tags: after.tags,
                favorite: false,
                archived: false,
              },
            },
          ]);
        }
      });

      it('a flag set or cleared with a version bump: metadata.updated with both flags', async () => {
        const before = readyOf(pending({ version: 3 }));
        for (const [from, to] of [
          [{}, { favorite: true }],
          [{ favorite: true }, {}],
          [{}, { archived: true }],
          [{ archived: true, favorite: true }, { favorite: true }],
        ] as Array<[Partial<MediaRecord>, Partial<MediaRecord>]>) {
          const announcements = await announced(change('media', 'MODIFY', mediaItem({ ...before, ...from }), mediaItem({ ...before, ...to, version: 4 })));
          expect(announcements.map(({ event }) => event), JSON.stringify([from, to])).to.deep.equal([
            { type: 'metadata.updated', id: eventId, at: at.toISOString(), mediaId: before.id, etag: '"4"', title: before.title, description: before.description, tags: before.tags, favorite: to.favorite === true, archived: to.archived === true },
          ]);
        }
        expect(await announced(change('media', 'MODIFY', mediaItem({ ...before, favorite: true }), mediaItem({ ...before, favorite: true, version: 4 }))), 'the same flag again').to.deep.equal([]);
      });

      it('tags reordered count as a change; the same tags again do not', async () => {
        const before = readyOf(pending({ tags: ['a', 'b'] }));
        const reordered = await announced(change('media', 'MODIFY', mediaItem(before), mediaItem({ ...before, tags: ['b', 'a'], version: 2 })));
        expect(reordered.map(({ event }) => event.type)).to.deep.equal(['metadata.updated']);
        expect(await announced(change('media', 'MODIFY', mediaItem(before), mediaItem({ ...before, tags: ['a', 'b'], version: 2 })))).to.deep.equal([]);
      });

      it('an item stored without title, description or tags reads as empty ones', async () => {
        const before = readyOf(pending());
        const { title: _t, description: _d, tags: _g, ...bare } = before;
        const announcements = await announced(change('media', 'MODIFY', mediaItem(before, { title: 'x' }), mediaItem({ ...bare, version: 2 } as MediaRecord)));
        expect(announcements[0]?.event).to.include({ type: 'metadata.updated', title: '', description: '' });
        expect((announcements[0]?.event as Extract<LiveEvent, { type: 'metadata.updated' }>).tags).to.deep.equal([]);
      });

      it('a tag list that is absent reads as empty: absent -> [] is no change, absent -> [tags] is one', async () => {
        const before = readyOf(pending());
        const { tags: _tags, ...untagged } = before;
        expect(await announced(change('media', 'MODIFY', mediaItem(untagged as MediaRecord), mediaItem({ ...before, tags: [], version: 2 })))).to.deep.equal([]);
        expect(await announced(change('media', 'MODIFY', mediaItem({ ...before, tags: [] }), mediaItem({ ...untagged, version: 2 } as MediaRecord)))).to.deep.equal([]);
        const tagged = await announced(change('media', 'MODIFY', mediaItem(untagged as MediaRecord), mediaItem({ ...before, tags: ['paris'], version: 2 })));
        expect(tagged.map(({ event }) => event.type)).to.deep.equal(['metadata.updated']);
      });

      it('a metadata change that keeps the version (the tag sync clearing dirtyTags) says nothing', async () => {
        const before = readyOf(pending({ tags: ['paris'], dirtyTags: ['paris'], version: 2 }));
        const { dirtyTags: _dirty, ...after } = before;
        expect(await announced(change('media', 'MODIFY', mediaItem(before), mediaItem(after)))).to.deep.equal([]);
        expect(await announced(change('media', 'MODIFY', mediaItem(before), mediaItem({ ...after, title: 'same version' }))), 'no version bump, no announcement').to.deep.equal([]);
      });

      it('ready and a metadata change in one write: two events, each with an id of its own', async () => {
        const before = pending({ version: 1 });
        const after = readyOf(before, { title: 'From EXIF', version: 2 });
        const announcements = await announced(change('media', 'MODIFY', mediaItem(before), mediaItem(after)));
        expect(announcements.map(({ event }) => [event.type, event.id])).to.deep.equal([
          ['media.ready', eventId],
          ['metadata.updated', `${eventId}.metadata`],
        ]);
      });

      it('a view counted (views and nothing else): nothing', async () => {
        const before = readyOf(pending());
        expect(await announced(change('media', 'MODIFY', mediaItem(before), mediaItem({ ...before, views: before.views + 1 })))).to.deep.equal([]);
      });

      it('tag entries, tag counts, hash claims and similarity entries of the same partition: nothing', async () => {
        const mediaId = ulid();
        const items: Item[] = [
          { ...taggedKey(userId, 'paris', mediaId), mediaId },
          { ...tagCountKey(userId, 'paris'), count: 2 },
          { ...shaKey(userId, 'ab'.repeat(32)), mediaId },
          { ...phashKey(userId, '0#0123', mediaId), mediaId },
        ];
        for (const item of items) {
          for (const [kind, oldImage, newImage] of [
            ['INSERT', undefined, item],
            ['MODIFY', item, { ...item, count: 3, deleting: true }],
            ['REMOVE', item, undefined],
          ] as Array<[Change['kind'], Item | undefined, Item | undefined]>) {
            expect(await announced(change('media', kind, oldImage, newImage)), `${kind} ${String(item['sk'])}`).to.deep.equal([]);
          }
        }
      });
    });

    describe('analyses', () => {
      const job = (status: string, extra: Item = {}): Item => ({
        pk: `USER#${userId}`,
        sk: `ANALYSIS#${analysisId}`,
        id: analysisId,
        userId,
        mediaId,
        status,
        createdAt: '2026-11-21T09:00:00.000Z',
        updatedAt: '2026-11-21T09:00:00.000Z',
        attempts: 1,
        ...extra,
      });
      const analysisId = ulid();
      const mediaId = ulid();

      it('running -> succeeded or failed: analysis.finished, once', async () => {
        for (const status of ['succeeded', 'failed'] as const) {
          expect(await announced(change('analyses', 'MODIFY', job('running', { runId: 'r' }), job(status))), status).to.deep.equal([
            { userId, event: { type: 'analysis.finished', id: eventId, at: at.toISOString(), analysisId, mediaId, status } },
          ]);
        }
        expect((await announced(change('analyses', 'MODIFY', job('queued'), job('failed')))).map(({ event }) => event.type), 'failed before it ran').to.deep.equal(['analysis.finished']);
      });

      it('queued, running, a finished job written again (its callback recorded), a job removed: nothing', async () => {
        expect(await announced(change('analyses', 'INSERT', undefined, job('queued')))).to.deep.equal([]);
        expect(await announced(change('analyses', 'MODIFY', job('queued'), job('running', { runId: 'r' })))).to.deep.equal([]);
        expect(await announced(change('analyses', 'MODIFY', job('running', { runId: 'r' }), job('queued'))), 'released').to.deep.equal([]);
        expect(await announced(change('analyses', 'MODIFY', job('failed'), job('failed', { callback: { status: 200 } })))).to.deep.equal([]);
        expect(await announced(change('analyses', 'MODIFY', job('succeeded'), job('succeeded', { callback: { status: 200 } })))).to.deep.equal([]);
        expect(await announced(change('analyses', 'MODIFY', job('succeeded'), job('failed'))), 'finished is finished').to.deep.equal([]);
        expect(await announced(change('analyses', 'REMOVE', job('succeeded'), undefined))).to.deep.equal([]);
      });
    });

    describe('sessions', () => {
      const sessionId = ulid();
      const session = (extra: Item = {}): Item => ({
        ...sessionKey(userId, sessionId),
        id: sessionId,
        userId,
        expiresAt: '2026-11-22T09:00:00.000Z',
        lastUsedAt: '2026-11-21T09:00:00.000Z',
        ttl: 1795338000,
        ...extra,
      });

      it('a session deleted (logout, revocation): session.revoked, revoked, and its connections close', async () => {
        expect(await announced(change('sessions', 'REMOVE', session(), undefined))).to.deep.equal([
          { userId, event: { type: 'session.revoked', id: eventId, at: at.toISOString(), sessionId, reason: 'revoked' }, endsSession: sessionId },
        ]);
      });

      it('a session removed by DynamoDB’s TTL: session.revoked, expired', async () => {
        const [announcement] = await announced(change('sessions', 'REMOVE', session(), undefined, true));
        expect(announcement?.event).to.include({ type: 'session.revoked', reason: 'expired', sessionId });
        expect(announcement?.endsSession).to.equal(sessionId);
      });

      it('a session created, touched or rotated: nothing', async () => {
        expect(await announced(change('sessions', 'INSERT', undefined, session()))).to.deep.equal([]);
        expect(await announced(change('sessions', 'MODIFY', session(), session({ lastUsedAt: '2026-11-21T10:00:00.000Z' })))).to.deep.equal([]);
      });
    });

    it('an image of another shape (no user partition, or another kind of item) announces nothing', async () => {
      const shapes: Array<[Change['table'], Item]> = [
        ['media', {}],
        ['media', { pk: `EMAIL#ann@example.com`, sk: 'CREDENTIALS', userId }],
        ['media', { pk: `USER#${userId}`, sk: 'PROFILE', status: 'ready' }],
        ['media', { pk: 42, sk: `MEDIA#${ulid()}` }],
        ['sessions', { pk: 'LOGIN#abc', sk: 'THROTTLE' }],
        ['sessions', { pk: `USER#${userId}`, sk: 'PROFILE' }],
        ['analyses', { pk: `USER#${userId}`, sk: `MEDIA#${ulid()}`, status: 'succeeded' }],
      ];
      for (const table of ['media', 'analyses', 'sessions'] as const) {
        for (const kind of ['INSERT', 'MODIFY', 'REMOVE'] as const) expect(await announced(change(table, kind, undefined, undefined)), `${table} ${kind} without images`).to.deep.equal([]);
      }
      for (const [table, item] of shapes) {
        for (const [kind, oldImage, newImage] of [
          ['INSERT', undefined, item],
          ['MODIFY', { ...item, status: 'running' }, item],
          ['REMOVE', item, undefined],
        ] as Array<[Change['kind'], Item | undefined, Item | undefined]>) {
          expect(await announced(change(table, kind, oldImage, newImage)), `${table} ${kind} ${JSON.stringify(item)}`).to.deep.equal([]);
        }
      }
    });
  });

  describe('pushAnnouncements', () => {
    const [ann, bob] = [ulid(), ulid()];
    const clock = fixedClock();
    const now = clock.now();
    let connections: MemoryConnectionStore;
    beforeEach(() => {
      connections = memoryConnectionStore();
    });

    const deletedEvent = (): LiveEvent => ({ type: 'media.deleted', id: ulid(), at: now.toISOString(), mediaId: ulid() });
    const revoked = (userId: string, sessionId: string): Announcement => ({
      userId,
      event: { type: 'session.revoked', id: ulid(), at: now.toISOString(), sessionId, reason: 'revoked' },
      endsSession: sessionId,
    });
    async function opened(userId: string, overrides: Partial<ConnectionRecord> = {}): Promise<ConnectionRecord> {
      const connection = connectionOf(userId, now, 1000, { endpoint: ENDPOINT, ...overrides });
      await connections.add(connection, 10);
      return connection;
    }
    const ids = (records: ConnectionRecord[]): string[] => records.map((record) => record.id).sort();

    it('sends the event, as JSON, to every open connection of its user and to nobody else', async () => {
      const [a1, a2] = [await opened(ann), await opened(ann)];
      await opened(bob);
      const live = fakePusher();
      const event = deletedEvent();
      const result = await pushAnnouncements({ connections, live, clock, endpoint: ENDPOINT }, [{ userId: ann, event }]);
      expect(result).to.deep.equal({ sent: 2, gone: 0, closed: 0 });
      expect(live.sent.map(({ connectionId }) => connectionId).sort()).to.deep.equal(ids([a1, a2]));
      for (const { message } of live.sent) expect(JSON.parse(message)).to.deep.equal(event);
    });

    it('skips expired connections and those of another WebSocket API (another local stack sharing the table)', async () => {
      const current = await opened(ann);
      await opened(ann, { endpoint: 'http://127.0.0.1:1/other-stack' });
      await connections.add(connectionOf(ann, now, 3 * 3600_000, { endpoint: ENDPOINT }), 10);
      const live = fakePusher();
      expect(await pushAnnouncements({ connections, live, clock, endpoint: ENDPOINT }, [{ userId: ann, event: deletedEvent() }])).to.deep.equal({ sent: 1, gone: 0, closed: 0 });
      expect(live.log).to.deep.equal([`send ${current.id}`]);
    });

    it('sends nothing, and fails nothing, when the user has no open connection', async () => {
      const live = fakePusher();
      expect(await pushAnnouncements({ connections, live, clock, endpoint: ENDPOINT }, [{ userId: ann, event: deletedEvent() }])).to.deep.equal({ sent: 0, gone: 0, closed: 0 });
      expect(live.log).to.deep.equal([]);
    });

    it('forgets a connection found gone and does not try it again for the rest of the batch', async () => {
      const [kept, gone] = [await opened(ann), await opened(ann)];
      const live = fakePusher({ [gone.id]: 'gone' });
      const deps = { connections, live, clock, endpoint: ENDPOINT };
      const result = await pushAnnouncements(deps, [
        { userId: ann, event: deletedEvent() },
        { userId: ann, event: deletedEvent() },
      ]);
      expect(result).to.deep.equal({ sent: 2, gone: 1, closed: 0 });
      expect(live.log.filter((line) => line === `send ${gone.id}`)).to.have.length(1);
      expect(await connections.ofUser(ann, now)).to.deep.equal([kept]);
      expect(await connections.remove(gone.id), 'forgotten whole').to.equal(undefined);
    });

    it('lets a failed send through, for the stream to deliver the change again', async () => {
      const [, failing] = [await opened(ann), await opened(ann)];
      const failure = Object.assign(new Error('Internal server error'), { name: 'InternalServerErrorException' });
      const live = fakePusher({ [failing.id]: failure });
      expect(await rejection(pushAnnouncements({ connections, live, clock, endpoint: ENDPOINT }, [{ userId: ann, event: deletedEvent() }]))).to.equal(failure);
      expect(await connections.ofUser(ann, now), 'a connection that failed is not forgotten').to.have.length(2);
    });

    it('when a session ends: its connections get the event, then exactly they are closed and forgotten', async () => {
      const ending = ulid();
      const [e1, e2] = [await opened(ann, { sessionId: ending }), await opened(ann, { sessionId: ending })];
      const other = await opened(ann);
      const bobs = await opened(bob, { sessionId: ending });
      const live = fakePusher();
      const deps = { connections, live, clock, endpoint: ENDPOINT };
      const result = await pushAnnouncements(deps, [revoked(ann, ending), { userId: ann, event: deletedEvent() }]);

      expect(result).to.deep.equal({ sent: 4, gone: 0, closed: 2 });
      const firstClose = live.log.findIndex((line) => line.startsWith('close'));
      expect(live.log.slice(0, firstClose).sort(), 'every connection of the user was told first').to.deep.equal([`send ${e1.id}`, `send ${e2.id}`, `send ${other.id}`].sort());
      expect(live.closed.sort()).to.deep.equal(ids([e1, e2]));
      expect(live.log.slice(firstClose + 2), 'the next event goes to the connection left').to.deep.equal([`send ${other.id}`]);
      expect(await connections.ofUser(ann, now)).to.deep.equal([other]);
      expect(await connections.ofUser(bob, now), 'another user’s connections are untouched').to.deep.equal([bobs]);
    });

    it('does not close a connection of the ending session that was already gone', async () => {
      const ending = ulid();
      const [told, gone] = [await opened(ann, { sessionId: ending }), await opened(ann, { sessionId: ending })];
      const live = fakePusher({ [gone.id]: 'gone' });
      const result = await pushAnnouncements({ connections, live, clock, endpoint: ENDPOINT }, [revoked(ann, ending)]);
      expect(result).to.deep.equal({ sent: 1, gone: 1, closed: 1 });
      expect(live.closed).to.deep.equal([told.id]);
      expect(connections.records.size).to.equal(0);
    });

    it('lets a failed close through (the change is delivered again; the told connections drop the repeat)', async () => {
      const ending = ulid();
      await opened(ann, { sessionId: ending });
      const live = fakePusher();
      live.failClose = new Error('Management API unavailable');
      expect(await rejection(pushAnnouncements({ connections, live, clock, endpoint: ENDPOINT }, [revoked(ann, ending)]))).to.equal(live.failClose);
    });

    it('reads each user’s connections once per batch (the `known` cache), and the cache follows what it removed', async () => {
      const [a1, gone] = [await opened(ann), await opened(ann)];
      await opened(bob);
      const ofUser = sinon.spy(connections, 'ofUser');
      const live = fakePusher({ [gone.id]: 'gone' });
      const known = new Map<string, ConnectionRecord[]>();
      const deps = { connections, live, clock, endpoint: ENDPOINT };
      await pushAnnouncements(deps, [{ userId: ann, event: deletedEvent() }], known);
      await pushAnnouncements(deps, [{ userId: bob, event: deletedEvent() }, { userId: ann, event: deletedEvent() }], known);
      expect(ofUser.getCalls().map((call) => call.args[0])).to.deep.equal([ann, bob]);
      expect(known.get(ann)).to.deep.equal([a1]);
      expect(live.sent.filter(({ connectionId }) => connectionId === a1.id)).to.have.length(2);
    });
  });
});
