import { expect } from 'chai';
import sinon from 'sinon';
import { ulid } from 'ulid';
import { invoke } from '../../local/test/events';
import { sequentialIds } from '../../local/test/fakes';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';
import type { MediaRecord } from '../../shared/stores/media';

interface Item {
  id: string;
  status: string;
  type: string;
  tags: string[];
  thumbnails?: { small: string; large: string };
  downloadUrl?: string;
  [field: string]: unknown;
}
interface Page {
  items: Item[];
  nextCursor: string | null;
}
interface ErrorBody {
  error: { code: string; details?: Array<{ path: string }> };
}

const BASE_KEYS = ['id', 'filename', 'contentType', 'size', 'status', 'type', 'createdAt', 'tags', 'views', 'favorite', 'archived'];
const cursorOf = (key: Record<string, string>): string => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

describe('GET /v1/media (listMedia)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: ulid(), sessionId: ulid() };
  const stranger = { userId: ulid(), sessionId: ulid() };
  /** The caller's items, oldest first: [pending image, ready image #beach, rejected image, ready video #beach #sea, pending video]. */
  let ids: string[];
  let strangerId: string;

  async function add(userId: string, id: string, type: 'image' | 'video', status: 'pending' | 'ready' | 'rejected', tags: string[] = []): Promise<void> {
    const now = new Date().toISOString();
    const record = pendingMediaRecord(userId, {
      id,
      filename: `${type}-${status}`,
      contentType: type === 'image' ? 'image/png' : 'video/mp4',
      size: 10,
      type,
      createdAt: now,
      updatedAt: now,
    });
    await world.media.createPending(record);
    const prefix = `media/${userId}/${id}/`;
    if (status === 'ready') {
      const thumbnails = type === 'image' ? { small: `${prefix}thumb-small.webp`, large: `${prefix}thumb-large.webp` } : undefined;
      await world.content.put(`${prefix}original`, Buffer.from('bytes'), record.contentType);
      if (thumbnails !== undefined) {
        await world.content.put(thumbnails.small, Buffer.from('s'), 'image/webp');
        await world.content.put(thumbnails.large, Buffer.from('l'), 'image/webp');
      }
      await world.media.markReady(record, { width: 10, height: 20, ...(thumbnails === undefined ? { durationSeconds: 2 } : { thumbnails }) }, '"etag-listed"', now);
    }
    if (status === 'rejected') await world.media.markRejected(record, 'type_mismatch', now);
    if (tags.length > 0) {
      await world.media.updateMetadata((await world.media.get(userId, id)) as MediaRecord, { tags }, now);
      await world.media.syncTags(userId, id);
    }
  }

  beforeEach(async () => {
    world = handlerWorld();
    handler = loadHandler('functions/media/listMedia', world);
    const next = sequentialIds();
    ids = [next(), next(), next(), next(), next()];
    await add(caller.userId, ids[0] as string, 'image', 'pending');
    await add(caller.userId, ids[1] as string, 'image', 'ready', ['beach']);
    await add(caller.userId, ids[2] as string, 'image', 'rejected');
    await add(caller.userId, ids[3] as string, 'video', 'ready', ['beach', 'sea']);
    await add(caller.userId, ids[4] as string, 'video', 'pending');
    strangerId = next();
    await add(stranger.userId, strangerId, 'image', 'ready', ['beach']);
  });

  const list = (query: Record<string, string> = {}, who: { userId: string; sessionId: string } = caller) => invoke<Page>(handler, { caller: who, query });
  const listError = (query: Record<string, string>, who: { userId: string; sessionId: string } = caller) => invoke<ErrorBody>(handler, { caller: who, query });
  const newestFirst = (...indexes: number[]): string[] => indexes.map((index) => ids[index] as string);

  it('the caller’s items only, newest first, in { items, nextCursor }', async () => {
    const response = await list();
    expect(response.status).to.equal(200);
    expect(response.body).to.have.keys(['items', 'nextCursor']);
    expect(response.body.items.map((item) => item.id)).to.deep.equal(newestFirst(4, 3, 2, 1, 0));
    expect(response.body.nextCursor).to.equal(null);
    expect(JSON.stringify(response.body)).not.to.contain(strangerId);
  });

  it('thumbnails on ready images, never a downloadUrl; nothing internal', async () => {
    const response = await list();
    const byId = new Map(response.body.items.map((item) => [item.id, item]));
    const readyImage = byId.get(ids[1] as string) as Item;
    expect(readyImage).to.have.keys([...BASE_KEYS, 'width', 'height', 'thumbnails']);
    expect(readyImage.thumbnails?.small).to.match(/^https:\/\/.*thumb-small\.webp/);
    expect(readyImage.thumbnails?.large).to.match(/^https:\/\/.*thumb-large\.webp/);
    expect(byId.get(ids[3] as string)).to.have.keys([...BASE_KEYS, 'width', 'height', 'durationSeconds']);
    expect(byId.get(ids[0] as string)).to.have.keys(BASE_KEYS);
    expect(byId.get(ids[2] as string)).to.have.keys([...BASE_KEYS, 'rejectReason']);
    for (const item of response.body.items) expect(item.downloadUrl, item.id).to.equal(undefined);
    const text = JSON.stringify(response.body);
    for (const internal of ['objectETag', 'version', 'dirtyTags', 'userId', 'sha256', 'etag-listed']) expect(text).not.to.contain(internal);
  });

  it('an item with a title carries it (the grid\'s alt text); items without one carry none, filtered lists alike', async () => {
    const titled = (await world.media.get(caller.userId, ids[1] as string)) as MediaRecord;
    await world.media.updateMetadata(titled, { title: 'Calanques at dusk' }, new Date().toISOString());
    const queries: Array<Record<string, string>> = [{}, { tag: 'beach' }, { type: 'image' }, { status: 'ready' }];
    for (const query of queries) {
      const byId = new Map((await list(query)).body.items.map((item) => [item.id, item]));
      expect(byId.get(ids[1] as string), JSON.stringify(query)).to.include({ title: 'Calanques at dusk' });
      for (const [id, item] of byId) if (id !== ids[1]) expect(item, JSON.stringify(query)).not.to.have.property('title');
    }
  });

  it('the same thumbnail URLs on every call within the hour, so the browser\'s cache answers them; new ones the next hour', async () => {
    const timers = sinon.useFakeTimers({ now: new Date('2026-11-21T10:00:05.000Z'), toFake: ['Date'] });
    try {
      const thumbnailsOf = async (): Promise<Item['thumbnails']> => (await list()).body.items.find((item) => item.id === ids[1])?.thumbnails;
      const first = await thumbnailsOf();
      expect(first?.small).to.be.a('string');
      timers.setSystemTime(new Date('2026-11-21T10:59:59.000Z'));
      expect(await thumbnailsOf()).to.deep.equal(first);
      timers.setSystemTime(new Date('2026-11-21T11:00:00.000Z'));
      expect((await thumbnailsOf())?.small).not.to.equal(first?.small);
    } finally {
      timers.restore();
    }
  });

  it('pages with limit and cursor: every item once, newest first, no page over the limit', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response: Awaited<ReturnType<typeof list>> = await list({ limit: '2', ...(cursor === null ? {} : { cursor }) });
      expect(response.status).to.equal(200);
      expect(response.body.items.length).to.be.at.most(2);
      seen.push(...response.body.items.map((item) => item.id));
      cursor = response.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(cursor).to.equal(null);
    expect(seen).to.deep.equal(newestFirst(4, 3, 2, 1, 0));
    const first = await list({ limit: '2' });
    expect(first.body.items.map((item) => item.id)).to.deep.equal(newestFirst(4, 3));
    expect(first.body.nextCursor).to.be.a('string');
  });

  it('limit defaults to 25', async () => {
    const next = sequentialIds();
    for (let i = 0; i < 25; i++) await add(caller.userId, next(), 'image', 'pending');
    const response = await list();
    expect(response.body.items).to.have.length(25);
    expect(response.body.nextCursor).to.be.a('string');
  });

  for (const [query, expected] of [
    [{ type: 'image' }, [2, 1, 0]],
    [{ type: 'video' }, [4, 3]],
    [{ status: 'ready' }, [3, 1]],
    [{ status: 'pending' }, [4, 0]],
    [{ status: 'rejected' }, [2]],
    [{ tag: 'beach' }, [3, 1]],
    [{ tag: 'Beach' }, [3, 1]],
    [{ tag: '  SEA ' }, [3]],
    [{ tag: 'mountains' }, []],
    [{ type: 'image', status: 'ready' }, [1]],
    [{ tag: 'beach', type: 'video' }, [3]],
  ] as const) {
    it(`filters by ${JSON.stringify(query)}`, async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const response: Awaited<ReturnType<typeof list>> = await list({ ...query, ...(cursor === null ? {} : { cursor }) });
        expect(response.status).to.equal(200);
        seen.push(...response.body.items.map((item) => item.id));
        cursor = response.body.nextCursor;
        if (cursor === null) break;
      }
      expect(seen).to.deep.equal(newestFirst(...expected));
    });
  }

  it('favourites and archive: the timeline leaves archived items out; favorite=true and archived=only are their views; filters combine', async () => {
    const flag = async (userId: string, id: string, changes: { favorite?: boolean; archived?: boolean }): Promise<void> => {
      await world.media.updateMetadata((await world.media.get(userId, id)) as MediaRecord, changes, new Date().toISOString());
    };
    await flag(caller.userId, ids[1] as string, { favorite: true });
    await flag(caller.userId, ids[3] as string, { favorite: true, archived: true });
    await flag(caller.userId, ids[4] as string, { archived: true });
    await flag(stranger.userId, strangerId, { favorite: true, archived: true });
    const idsOf = async (query: Record<string, string>): Promise<string[]> => {
      const response = await list({ limit: '100', ...query });
      expect(response.status, JSON.stringify(query)).to.equal(200);
      return response.body.items.map((item) => item.id);
    };
    expect(await idsOf({})).to.deep.equal(newestFirst(2, 1, 0));
    expect(await idsOf({ archived: 'exclude' })).to.deep.equal(newestFirst(2, 1, 0));
    expect(await idsOf({ archived: 'include' })).to.deep.equal(newestFirst(4, 3, 2, 1, 0));
    expect(await idsOf({ archived: 'only' })).to.deep.equal(newestFirst(4, 3));
    expect(await idsOf({ favorite: 'true' })).to.deep.equal(newestFirst(1));
    expect(await idsOf({ favorite: 'true', archived: 'include' })).to.deep.equal(newestFirst(3, 1));
    expect(await idsOf({ favorite: 'false', archived: 'include' })).to.deep.equal(newestFirst(4, 2, 0));
    expect(await idsOf({ favorite: 'true', archived: 'only', type: 'video' })).to.deep.equal(newestFirst(3));
    expect(await idsOf({ tag: 'beach', archived: 'include', favorite: 'true' })).to.deep.equal(newestFirst(3, 1));
    const shown = (await list({ archived: 'include', limit: '100' })).body.items.find((item) => item.id === ids[3]);
    expect(shown).to.include({ favorite: true, archived: true });
    expect((await list({ limit: '100' })).body.items.find((item) => item.id === ids[0])).to.include({ favorite: false, archived: false });
    // The stranger sees only their own flagged item, and the caller none of theirs.
    const theirs = await list({ favorite: 'true', archived: 'include' }, stranger);
    expect(theirs.body.items.map((item) => item.id)).to.deep.equal([strangerId]);
  });

  it('a filtered list pages too (tag, limit 1)', async () => {
    const first = await list({ tag: 'beach', limit: '1' });
    expect(first.body.items.map((item) => item.id)).to.deep.equal(newestFirst(3));
    const second = await list({ tag: 'beach', limit: '1', cursor: first.body.nextCursor as string });
    expect(second.body.items.map((item) => item.id)).to.deep.equal(newestFirst(1));
  });

  for (const [what, query] of [
    ['limit 0', { limit: '0' }],
    ['limit 101', { limit: '101' }],
    ['limit abc', { limit: 'abc' }],
    ['limit 2.5', { limit: '2.5' }],
    ['type=audio', { type: 'audio' }],
    ['status=done', { status: 'done' }],
    ['an unknown parameter', { sort: 'asc' }],
    ['an empty tag', { tag: '' }],
    ['a blank tag', { tag: '   ' }],
    ['a 51-character tag', { tag: 't'.repeat(51) }],
    ['an empty cursor', { cursor: '' }],
    ['favorite=1', { favorite: '1' }],
    ['favorite=TRUE', { favorite: 'TRUE' }],
    ['an empty favorite', { favorite: '' }],
    ['archived=true', { archived: 'true' }],
    ['archived=all', { archived: 'all' }],
  ] as const) {
    it(`400 validation_failed for ${what}`, async () => {
      const response = await listError(query);
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
      expect(response.body.error.details?.[0]?.path).to.match(/^query/);
    });
  }

  it('a 50-character tag is fine', async () => {
    const response = await list({ tag: 't'.repeat(50) });
    expect(response.status).to.equal(200);
    expect(response.body.items).to.deep.equal([]);
  });

  for (const [what, cursor] of [
    ['a cursor built for another user', () => cursorOf({ pk: `USER#${stranger.userId}`, sk: `MEDIA#${strangerId}` })],
    ['a cursor with an extra attribute', () => cursorOf({ pk: `USER#${caller.userId}`, sk: `MEDIA#${ids[2] as string}`, gsi1pk: 'x' })],
    ['a cursor of another list (sessions)', () => cursorOf({ pk: `USER#${caller.userId}`, sk: `SESSION#${ids[2] as string}` })],
    ['a garbage cursor', () => '!!!'],
    ['a cursor that is not JSON', () => Buffer.from('hello').toString('base64url')],
  ] as const) {
    it(`400 invalid_cursor for ${what}`, async () => {
      const response = await listError({ cursor: cursor() });
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal('invalid_cursor');
    });
  }

  it('400 invalid_cursor when another user replays the caller’s cursor; 400 for a tag cursor on another tag', async () => {
    const first = await list({ limit: '1' });
    const replayed = await listError({ limit: '1', cursor: first.body.nextCursor as string }, stranger);
    expect(replayed.status).to.equal(400);
    expect(replayed.body.error.code).to.equal('invalid_cursor');
    const tagged = await list({ tag: 'beach', limit: '1' });
    const otherTag = await listError({ tag: 'sea', limit: '1', cursor: tagged.body.nextCursor as string });
    expect(otherTag.status).to.equal(400);
    expect(otherTag.body.error.code).to.equal('invalid_cursor');
  });

  it('items being deleted are not listed', async () => {
    await world.media.beginDelete((await world.media.get(caller.userId, ids[1] as string)) as MediaRecord);
    const response = await list();
    expect(response.body.items.map((item) => item.id)).to.deep.equal(newestFirst(4, 3, 2, 0));
  });

  it('401 without a caller', async () => {
    const response = await invoke<ErrorBody>(handler, {});
    expect(response.status).to.equal(401);
    expect(response.body.error.code).to.equal('unauthenticated');
  });
});
