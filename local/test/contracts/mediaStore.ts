/**
 * The behaviour every MediaStore must have, run against the DynamoDB store (DynamoDB Local)
 * and against the in-memory fake, so unit tests that use the fake test the real rules. Only
 * the MediaStore interface is used here. The DynamoDB table is shared by every test of a run:
 * each test makes its own users and items (fresh ULIDs) and looks only at those.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { monotonicFactory, ulid } from 'ulid';
import { InvalidCursor } from '../../../shared/stores/cursor';
import { DuplicateMedia, VersionConflict, type MediaQuery, type MediaRecord, type MediaStore, type ProcessedFields } from '../../../shared/stores/media';
import { pendingMediaRecord } from '../records';

/** Media ids in creation order (plain ULIDs made in the same millisecond are not). */
const nextMediaId = monotonicFactory();
const NOW = '2026-11-21T10:00:00.000Z';
const LATER = '2026-11-21T11:00:00.000Z';

const newSha = (): string => randomBytes(32).toString('hex');

function newMedia(userId: string, overrides: Partial<MediaRecord> = {}): MediaRecord {
  return pendingMediaRecord(userId, { id: nextMediaId(), filename: 'beach.jpg', size: 123_456, sha256: newSha(), createdAt: NOW, updatedAt: NOW, ...overrides });
}

const processed: ProcessedFields = {
  width: 4000,
  height: 3000,
  takenAt: '2026-07-01T12:00:00.000Z',
  camera: { make: 'Canon', model: 'EOS R6' },
  location: { latitude: 48.8584, longitude: 2.2945 },
  orientation: 1,
  thumbnails: { small: 'thumbs/small.webp', large: 'thumbs/large.webp' },
};

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

export function mediaStoreContract(makeStore: () => Promise<MediaStore>): void {
  let store: MediaStore;
  beforeEach(async () => {
    store = await makeStore();
  });

  async function created(userId: string, overrides: Partial<MediaRecord> = {}): Promise<MediaRecord> {
    const record = newMedia(userId, overrides);
    await store.createPending(record);
    return record;
  }

  async function current(userId: string, mediaId: string): Promise<MediaRecord> {
    const record = await store.get(userId, mediaId);
    if (record === undefined) throw new Error(`media ${mediaId} is gone`);
    return record;
  }

  /** What the API does for PATCH: update over the current version, then bring entries in line. */
  async function setTags(userId: string, mediaId: string, tags: string[]): Promise<MediaRecord> {
    const updated = await store.updateMetadata(await current(userId, mediaId), { tags }, LATER);
    await store.syncTags(userId, mediaId);
    return updated;
  }

  /** Every page of a list, checking the page size; the ids in the order served. */
  async function listAll(userId: string, query: Omit<MediaQuery, 'cursor'>): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = await store.list(userId, { ...query, cursor });
      expect(page.items.length, 'page size').to.be.at.most(query.limit);
      ids.push(...page.items.map((item) => item.id));
      if (page.nextCursor === null) return ids;
      cursor = page.nextCursor;
    }
    throw new Error('the list does not end');
  }

  const newestFirst = (records: MediaRecord[]): string[] => records.map((record) => record.id).reverse();

  describe('createPending and get', () => {
    it('stores a pending item and reads it back as written; other ids and users find nothing', async () => {
      const userId = ulid();
      const record = await created(userId, { title: 'Sunset', description: 'At the pier', durationSeconds: undefined });
      const { durationSeconds: _absent, ...expected } = record;
      expect(await store.get(userId, record.id)).to.deep.equal(expected);
      expect(await store.get(userId, nextMediaId())).to.equal(undefined);
      expect(await store.get(ulid(), record.id), 'another user').to.equal(undefined);
    });

    it('returns copies: changing a returned record changes nothing stored', async () => {
      const userId = ulid();
      const record = await created(userId);
      record.tags.push('mutated');
      const read = await current(userId, record.id);
      expect(read.tags).to.deep.equal([]);
      read.title = 'mutated';
      read.tags.push('mutated');
      expect(await current(userId, record.id)).to.include({ title: '' });
      expect((await current(userId, record.id)).tags).to.deep.equal([]);
      const [listed] = (await store.list(userId, { limit: 1 })).items;
      listed?.tags.push('from the list');
      const viewed = await store.view(userId, record.id);
      viewed?.tags.push('from a view');
      expect((await current(userId, record.id)).tags).to.deep.equal([]);
    });

    it('refuses a second item with the same sha256 for the same user (DuplicateMedia with the first id) and writes nothing', async () => {
      const userId = ulid();
      const first = await created(userId);
      const second = newMedia(userId, { sha256: first.sha256 });
      const error = await rejectionOf(store.createPending(second));
      expect(error).to.be.instanceOf(DuplicateMedia);
      expect((error as DuplicateMedia).existingId).to.equal(first.id);
      expect(await store.get(userId, second.id), 'no orphan item').to.equal(undefined);
      expect(await listAll(userId, { limit: 10 })).to.deep.equal([first.id]);
      // The claim is still the first item's: a third try names it again.
      const third = await rejectionOf(store.createPending(newMedia(userId, { sha256: first.sha256 })));
      expect((third as DuplicateMedia).existingId).to.equal(first.id);
    });

    it('claims hashes per user, and items without a sha256 claim nothing', async () => {
      const sha256 = newSha();
      const alice = ulid();
      const bob = ulid();
      await created(alice, { sha256 });
      const bobs = await created(bob, { sha256 });
      expect(await store.get(bob, bobs.id)).to.not.equal(undefined);
      await created(alice, { sha256: undefined });
      await created(alice, { sha256: undefined });
      expect(await listAll(alice, { limit: 10 })).to.have.length(3);
    });

    it('refuses an id that exists, with an error other than DuplicateMedia', async () => {
      const userId = ulid();
      const first = await created(userId);
      const sha256 = newSha();
      const error = await rejectionOf(store.createPending({ ...first, sha256, filename: 'other.jpg' }));
      expect(error).to.be.instanceOf(Error);
      expect(error).to.not.be.instanceOf(DuplicateMedia);
      expect((await current(userId, first.id)).filename).to.equal('beach.jpg');
      const unclaimed = await created(userId, { sha256 });
      expect(await store.get(userId, unclaimed.id), 'the failed create claimed no hash').to.not.equal(undefined);
    });

    it('a ready item keeps its claim; a rejected, deleted or swept item releases it', async () => {
      const userId = ulid();
      const readyOne = await created(userId);
      expect(await store.markReady(readyOne, processed, '"etag-1"', LATER)).to.equal(true);
      expect(await rejectionOf(store.createPending(newMedia(userId, { sha256: readyOne.sha256 })))).to.be.instanceOf(DuplicateMedia);

      const rejected = await created(userId);
      expect(await store.markRejected(rejected, 'not an image', LATER)).to.equal(true);
      const again1 = await created(userId, { sha256: rejected.sha256 });

      const deleted = await created(userId);
      await store.beginDelete(await current(userId, deleted.id));
      await store.syncTags(userId, deleted.id);
      expect(await rejectionOf(store.createPending(newMedia(userId, { sha256: deleted.sha256 }))), 'claimed until finishDelete').to.be.instanceOf(DuplicateMedia);
      await store.finishDelete(await current(userId, deleted.id));
      const again2 = await created(userId, { sha256: deleted.sha256 });

      const swept = await created(userId);
      expect(await store.deletePending(swept)).to.equal(true);
      const again3 = await created(userId, { sha256: swept.sha256 });

      for (const record of [again1, again2, again3]) expect((await current(userId, record.id)).status).to.equal('pending');
      // And the new owners hold the claims now.
      for (const record of [again1, again2, again3]) {
        const error = await rejectionOf(store.createPending(newMedia(userId, { sha256: record.sha256 })));
        expect((error as DuplicateMedia).existingId).to.equal(record.id);
      }
    });
  });

  describe('view', () => {
    it('counts each view and returns the updated item', async () => {
      const userId = ulid();
      const record = await created(userId, { title: 'Counted' });
      for (let n = 1; n <= 5; n++) {
        const viewed = await store.view(userId, record.id);
        expect(viewed).to.include({ id: record.id, title: 'Counted', views: n });
      }
      expect((await current(userId, record.id)).views).to.equal(5);
    });

    it('counts 10 concurrent views exactly once each', async () => {
      const userId = ulid();
      const record = await created(userId);
      const viewed = await Promise.all(Array.from({ length: 10 }, () => store.view(userId, record.id)));
      expect(viewed.map((item) => item?.views).sort((a = 0, b = 0) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect((await current(userId, record.id)).views).to.equal(10);
    });

    it('finds nothing for missing items, other users and items being deleted (and counts nothing then)', async () => {
      const userId = ulid();
      const record = await created(userId);
      expect(await store.view(userId, nextMediaId())).to.equal(undefined);
      expect(await store.view(ulid(), record.id)).to.equal(undefined);
      expect(await store.get(ulid(), record.id)).to.equal(undefined);
      await store.view(userId, record.id);
      await store.beginDelete(await current(userId, record.id));
      expect(await store.view(userId, record.id)).to.equal(undefined);
      expect(await current(userId, record.id)).to.include({ views: 1, deleting: true });
    });
  });

  describe('list', () => {
    it('lists newest first, page by page: 7 items with limit 3 are each seen once', async () => {
      const userId = ulid();
      const records: MediaRecord[] = [];
      for (let i = 0; i < 7; i++) records.push(await created(userId));
      const first = await store.list(userId, { limit: 3 });
      expect(first.items.map((item) => item.id)).to.deep.equal(newestFirst(records).slice(0, 3));
      expect(first.nextCursor).to.be.a('string');
      const second = await store.list(userId, { limit: 3, cursor: first.nextCursor ?? undefined });
      expect(second.items.map((item) => item.id)).to.deep.equal(newestFirst(records).slice(3, 6));
      const all = await listAll(userId, { limit: 3 });
      expect(all).to.deep.equal(newestFirst(records));
      expect(new Set(all).size).to.equal(7);
      expect(await listAll(userId, { limit: 100 })).to.deep.equal(newestFirst(records));
      expect(await store.list(ulid(), { limit: 10 })).to.deep.equal({ items: [], nextCursor: null });
    });

    it('lists full records, not keys (the title too), whichever index serves the list', async () => {
      const userId = ulid();
      const record = await created(userId, { title: 'Full' });
      await store.markReady(record, processed, '"etag-1"', LATER);
      await setTags(userId, record.id, ['full']);
      for (const query of [{}, { type: 'image' as const }, { status: 'ready' as const }, { tag: 'full' }]) {
        const [item] = (await store.list(userId, { limit: 5, ...query })).items;
        expect(item).to.deep.include({ id: record.id, userId, title: 'Full', status: 'ready', width: 4000, camera: processed.camera });
      }
    });

    it('lists by type', async () => {
      const userId = ulid();
      const image1 = await created(userId);
      const video1 = await created(userId, { type: 'video', contentType: 'video/mp4', filename: 'clip.mp4' });
      const image2 = await created(userId);
      const video2 = await created(userId, { type: 'video', contentType: 'video/quicktime', filename: 'clip.mov' });
      expect(await listAll(userId, { limit: 1, type: 'video' })).to.deep.equal([video2.id, video1.id]);
      expect(await listAll(userId, { limit: 1, type: 'image' })).to.deep.equal([image2.id, image1.id]);
      expect(await listAll(ulid(), { limit: 10, type: 'image' })).to.deep.equal([]);
    });

    it('lists by status, and an item moves between status lists as it is processed', async () => {
      const userId = ulid();
      const a = await created(userId);
      const b = await created(userId);
      const c = await created(userId);
      expect(await listAll(userId, { limit: 2, status: 'pending' })).to.deep.equal([c.id, b.id, a.id]);
      expect(await listAll(userId, { limit: 2, status: 'ready' })).to.deep.equal([]);
      expect(await store.markReady(a, processed, '"etag-a"', LATER)).to.equal(true);
      expect(await store.markRejected(b, 'unreadable', LATER)).to.equal(true);
      expect(await listAll(userId, { limit: 2, status: 'pending' })).to.deep.equal([c.id]);
      expect(await listAll(userId, { limit: 2, status: 'ready' })).to.deep.equal([a.id]);
      expect(await listAll(userId, { limit: 2, status: 'rejected' })).to.deep.equal([b.id]);
      expect(await store.markRejected(await current(userId, a.id), 'bad re-upload', LATER)).to.equal(true);
      expect(await listAll(userId, { limit: 2, status: 'ready' })).to.deep.equal([]);
      expect(await listAll(userId, { limit: 2, status: 'rejected' })).to.deep.equal([b.id, a.id]);
    });

    it('lists by tag once the tag entries are in line (syncTags), newest first', async () => {
      const userId = ulid();
      const a = await created(userId);
      const b = await created(userId);
      const c = await created(userId);
      await store.updateMetadata(a, { tags: ['beach'] }, LATER);
      expect(await listAll(userId, { limit: 10, tag: 'beach' }), 'no entry before syncTags').to.deep.equal([]);
      await store.syncTags(userId, a.id);
      await setTags(userId, c.id, ['beach', 'sun']);
      await setTags(userId, b.id, ['sun']);
      expect(await listAll(userId, { limit: 1, tag: 'beach' })).to.deep.equal([c.id, a.id]);
      expect(await listAll(userId, { limit: 10, tag: 'sun' })).to.deep.equal([c.id, b.id]);
      expect(await listAll(userId, { limit: 10, tag: 'snow' })).to.deep.equal([]);
      // Dropped from the item's tags: gone from the tag's list even before syncTags.
      await store.updateMetadata(await current(userId, c.id), { tags: ['sun'] }, LATER);
      expect(await listAll(userId, { limit: 10, tag: 'beach' })).to.deep.equal([a.id]);
      await store.syncTags(userId, c.id);
      expect(await listAll(userId, { limit: 10, tag: 'beach' })).to.deep.equal([a.id]);
      expect(await listAll(ulid(), { limit: 10, tag: 'beach' }), 'another user').to.deep.equal([]);
    });

    it('keeps tags with special characters apart', async () => {
      const userId = ulid();
      const a = await created(userId);
      const b = await created(userId);
      await setTags(userId, a.id, ['a#b', 'été']);
      await setTags(userId, b.id, ['a', 'a b']);
      expect(await listAll(userId, { limit: 10, tag: 'a#b' })).to.deep.equal([a.id]);
      expect(await listAll(userId, { limit: 10, tag: 'a' })).to.deep.equal([b.id]);
      expect(await listAll(userId, { limit: 10, tag: 'été' })).to.deep.equal([a.id]);
      expect(await store.listTags(userId)).to.deep.equal([
        { tag: 'a', count: 1 },
        { tag: 'a b', count: 1 },
        { tag: 'a#b', count: 1 },
        { tag: 'été', count: 1 },
      ]);
    });

    it('combines filters: tag first, then type, then status; a filtered page may hold fewer than limit', async () => {
      const userId = ulid();
      const image1 = await created(userId);
      const video1 = await created(userId, { type: 'video', contentType: 'video/mp4' });
      const image2 = await created(userId);
      const image3 = await created(userId);
      const video2 = await created(userId, { type: 'video', contentType: 'video/mp4' });
      for (const record of [image1, video1, image3]) await store.markReady(record, processed, `"${record.id}"`, LATER);
      for (const record of [image1, image2, video1, video2]) await setTags(userId, record.id, ['trip']);

      expect(await listAll(userId, { limit: 2, type: 'image', status: 'ready' })).to.deep.equal([image3.id, image1.id]);
      expect(await listAll(userId, { limit: 2, type: 'video', status: 'pending' })).to.deep.equal([video2.id]);
      expect(await listAll(userId, { limit: 2, tag: 'trip', type: 'image' })).to.deep.equal([image2.id, image1.id]);
      expect(await listAll(userId, { limit: 3, tag: 'trip', status: 'ready' })).to.deep.equal([video1.id, image1.id]);
      expect(await listAll(userId, { limit: 3, tag: 'trip', type: 'video', status: 'ready' })).to.deep.equal([video1.id]);

      // The page is `limit` rows of the tag's list (video2, image2), of which no image is ready.
      const first = await store.list(userId, { limit: 2, tag: 'trip', type: 'image', status: 'ready' });
      expect(first.items).to.deep.equal([]);
      expect(first.nextCursor).to.be.a('string');
      const second = await store.list(userId, { limit: 2, tag: 'trip', type: 'image', status: 'ready', cursor: first.nextCursor ?? undefined });
      expect(second.items.map((item) => item.id)).to.deep.equal([image1.id]);
    });

    it('never lists items being deleted', async () => {
      const userId = ulid();
      const kept = await created(userId);
      const doomed = await created(userId);
      await setTags(userId, kept.id, ['beach']);
      await setTags(userId, doomed.id, ['beach']);
      await store.beginDelete(await current(userId, doomed.id));
      // Still tagged in the index until syncTags: the list must not show it anyway.
      for (const query of [{}, { type: 'image' as const }, { status: 'pending' as const }, { tag: 'beach' }]) {
        expect(await listAll(userId, { limit: 1, ...query }), JSON.stringify(query)).to.deep.equal([kept.id]);
      }
      expect((await current(userId, doomed.id)).deleting).to.equal(true);
    });

    it('refuses cursors that are forged, from another list, or into another user\'s items (InvalidCursor)', async () => {
      const alice = ulid();
      const bob = ulid();
      const alices: MediaRecord[] = [];
      for (let i = 0; i < 3; i++) {
        alices.push(await created(alice));
        await created(bob);
      }
      for (const record of alices.slice(1)) await setTags(alice, record.id, ['beach']);
      const queries: Array<Omit<MediaQuery, 'limit' | 'cursor'>> = [{}, { type: 'image' }, { status: 'pending' }, { tag: 'beach' }];
      for (const query of queries) {
        const page = await store.list(alice, { limit: 1, ...query });
        const cursor = page.nextCursor;
        expect(cursor, JSON.stringify(query)).to.be.a('string');
        if (cursor === null) continue;
        expect(await rejectionOf(store.list(bob, { limit: 1, ...query, cursor })), `bob with alice's cursor, ${JSON.stringify(query)}`).to.be.instanceOf(InvalidCursor);
        expect((await store.list(alice, { limit: 1, ...query, cursor })).items, 'alice may use it').to.have.length(1);
      }
      const plainCursor = (await store.list(alice, { limit: 1 })).nextCursor ?? undefined;
      expect(await rejectionOf(store.list(alice, { limit: 1, type: 'image', cursor: plainCursor })), 'cursor of another list').to.be.instanceOf(InvalidCursor);
      expect(await rejectionOf(store.list(alice, { limit: 1, tag: 'sun', cursor: (await store.list(alice, { limit: 1, tag: 'beach' })).nextCursor ?? undefined })), 'cursor of another tag').to.be.instanceOf(
        InvalidCursor,
      );
      const bobsKey = Buffer.from(JSON.stringify({ pk: `USER#${bob}`, sk: 'MEDIA#' })).toString('base64url');
      expect(await rejectionOf(store.list(alice, { limit: 1, cursor: bobsKey })), 'forged into bob').to.be.instanceOf(InvalidCursor);
      expect(await rejectionOf(store.list(alice, { limit: 1, cursor: 'not a cursor' }))).to.be.instanceOf(InvalidCursor);
    });

    it('resumes from a cursor made by the store\'s key shape (table and index listings)', async () => {
      const userId = ulid();
      const records: MediaRecord[] = [];
      for (let i = 0; i < 4; i++) records.push(await created(userId));
      const [newest, second, third, oldest] = newestFirst(records) as [string, string, string, string];
      const encode = (key: Record<string, string>): string => Buffer.from(JSON.stringify(key)).toString('base64url');
      const afterSecond = await store.list(userId, { limit: 10, cursor: encode({ pk: `USER#${userId}`, sk: `MEDIA#${second}` }) });
      expect(afterSecond.items.map((item) => item.id)).to.deep.equal([third, oldest]);
      const byType = await store.list(userId, {
        limit: 10,
        type: 'image',
        cursor: encode({ pk: `USER#${userId}`, sk: `MEDIA#${newest}`, gsi1pk: `USER#${userId}#TYPE#image`, gsi1sk: newest }),
      });
      expect(byType.items.map((item) => item.id)).to.deep.equal([second, third, oldest]);
      expect(byType.nextCursor).to.equal(null);
    });
  });

  describe('markReady and markRejected', () => {
    it('marks a pending item ready with what processing found; a repeated delivery of the same object changes nothing', async () => {
      const userId = ulid();
      const record = await created(userId);
      expect(await store.markReady(record, processed, '"etag-1"', LATER)).to.equal(true);
      const ready = await current(userId, record.id);
      expect(ready).to.deep.include({ ...processed, status: 'ready', objectETag: '"etag-1"', updatedAt: LATER, version: 1 });
      expect(await store.markReady(ready, { ...processed, width: 1 }, '"etag-1"', '2027-01-01T00:00:00.000Z')).to.equal(false);
      expect(await current(userId, record.id)).to.deep.equal(ready);
    });

    it('re-processes a ready item whose object changed (new ETag), removing what the new bytes lack', async () => {
      const userId = ulid();
      const record = await created(userId);
      await store.markReady(record, processed, '"etag-1"', LATER);
      const video: ProcessedFields = { width: 1920, height: 1080, durationSeconds: 12.5, thumbnails: { small: 's2.webp', large: 'l2.webp' } };
      expect(await store.markReady(await current(userId, record.id), video, '"etag-2"', '2027-01-01T00:00:00.000Z')).to.equal(true);
      const again = await current(userId, record.id);
      expect(again).to.deep.include({ ...video, status: 'ready', objectETag: '"etag-2"', updatedAt: '2027-01-01T00:00:00.000Z' });
      for (const absent of ['location', 'camera', 'takenAt', 'orientation'] as const) expect(again, absent).to.not.have.property(absent);
      expect(await store.markReady(again, video, '"etag-2"', '2027-01-02T00:00:00.000Z')).to.equal(false);
    });

    it('does not mark ready what is rejected, being deleted or gone', async () => {
      const userId = ulid();
      const rejected = await created(userId);
      await store.markRejected(rejected, 'not an image', LATER);
      expect(await store.markReady(rejected, processed, '"etag-1"', LATER)).to.equal(false);
      expect((await current(userId, rejected.id)).status).to.equal('rejected');

      const deleting = await created(userId);
      await store.beginDelete(deleting);
      expect(await store.markReady(deleting, processed, '"etag-1"', LATER)).to.equal(false);
      expect(await current(userId, deleting.id)).to.not.have.property('width');

      expect(await store.markReady(newMedia(userId), processed, '"etag-1"', LATER)).to.equal(false);
      expect(await listAll(userId, { limit: 10, status: 'ready' })).to.deep.equal([]);
    });

    it('rejects once, with the reason, dropping thumbnails; not what is being deleted or gone', async () => {
      const userId = ulid();
      const record = await created(userId);
      await store.markReady(record, processed, '"etag-1"', LATER);
      expect(await store.markRejected(record, 'corrupt re-upload', '2027-01-01T00:00:00.000Z')).to.equal(true);
      const rejected = await current(userId, record.id);
      expect(rejected).to.include({ status: 'rejected', rejectReason: 'corrupt re-upload', updatedAt: '2027-01-01T00:00:00.000Z' });
      expect(rejected).to.not.have.property('thumbnails');
      expect(await store.markRejected(rejected, 'again', '2027-01-02T00:00:00.000Z')).to.equal(false);
      expect(await current(userId, record.id)).to.deep.equal(rejected);

      const pending = await created(userId);
      expect(await store.markRejected(pending, 'too large', LATER)).to.equal(true);
      expect(await store.markRejected(pending, 'too large', LATER)).to.equal(false);
      expect(await store.markRejected(newMedia(userId), 'gone', LATER), 'missing item').to.equal(false);
      const deleting = await created(userId);
      await store.beginDelete(deleting);
      expect(await store.markRejected(deleting, 'late', LATER)).to.equal(false);
      expect((await current(userId, deleting.id)).status).to.equal('pending');
      expect(await rejectionOf(store.createPending(newMedia(userId, { sha256: deleting.sha256 }))), 'claim kept').to.be.instanceOf(DuplicateMedia);
    });
  });

  describe('updateMetadata', () => {
    it('changes title, description and tags over the current version and returns the new record', async () => {
      const userId = ulid();
      const record = await created(userId);
      const updated = await store.updateMetadata(record, { title: 'Sunset', description: 'Pier', tags: ['beach', 'sun'] }, LATER);
      expect(updated).to.deep.include({ id: record.id, title: 'Sunset', description: 'Pier', tags: ['beach', 'sun'], version: 2, updatedAt: LATER });
      expect(updated.dirtyTags).to.have.members(['beach', 'sun']);
      expect(await current(userId, record.id)).to.deep.equal(updated);

      const titled = await store.updateMetadata(updated, { title: 'Only the title' }, '2027-01-01T00:00:00.000Z');
      expect(titled).to.deep.include({ title: 'Only the title', description: 'Pier', tags: ['beach', 'sun'], version: 3 });
      expect(titled.dirtyTags, 'tags untouched').to.have.members(['beach', 'sun']);
    });

    it('refuses a stale version (VersionConflict) and changes nothing', async () => {
      const userId = ulid();
      const record = await created(userId);
      const first = await store.updateMetadata(record, { title: 'First' }, LATER);
      expect(await rejectionOf(store.updateMetadata(record, { title: 'Second', tags: ['x'] }, LATER))).to.be.instanceOf(VersionConflict);
      expect(await current(userId, record.id)).to.deep.equal(first);
      expect(await rejectionOf(store.updateMetadata({ ...first, version: 7 }, { title: 'Future' }, LATER))).to.be.instanceOf(VersionConflict);
      expect(await rejectionOf(store.updateMetadata(newMedia(userId), { title: 'Nobody' }, LATER)), 'missing item').to.be.instanceOf(VersionConflict);
      await store.beginDelete(first);
      const deleting = await current(userId, record.id);
      expect(await rejectionOf(store.updateMetadata(deleting, { title: 'Too late' }, LATER)), 'being deleted').to.be.instanceOf(VersionConflict);
      expect((await current(userId, record.id)).title).to.equal('First');
    });

    it('marks as dirty the tags that changed, on top of those still dirty', async () => {
      const userId = ulid();
      const record = await created(userId);
      const synced = await setTags(userId, record.id, ['a', 'b']);
      expect(synced.tags).to.deep.equal(['a', 'b']);
      const afterSync = await current(userId, record.id);
      expect(afterSync.dirtyTags ?? []).to.deep.equal([]);
      const changed = await store.updateMetadata(afterSync, { tags: ['b', 'c'] }, LATER);
      expect(changed.dirtyTags).to.have.members(['a', 'c']);
      const again = await store.updateMetadata(changed, { tags: ['c', 'd'] }, LATER);
      expect(again.dirtyTags).to.have.members(['a', 'b', 'c', 'd']);
      await store.syncTags(userId, record.id);
      expect((await current(userId, record.id)).dirtyTags ?? []).to.deep.equal([]);
      expect(await store.listTags(userId)).to.deep.equal([
        { tag: 'c', count: 1 },
        { tag: 'd', count: 1 },
      ]);
    });
  });

  describe('favourite and archive flags', () => {
    it('sets and clears each flag with the version; the favourites and archive views list exactly the flagged items, newest first', async () => {
      const userId = ulid();
      const [a, b, c, d] = [await created(userId), await created(userId), await created(userId), await created(userId)];
      const favA = await store.updateMetadata(a, { favorite: true }, LATER);
      expect(favA).to.deep.include({ favorite: true, version: 2, updatedAt: LATER });
      expect(favA).to.not.have.property('archived');
      expect(await current(userId, a.id)).to.deep.equal(favA);
      await store.updateMetadata(c, { favorite: true, archived: true, title: 'Both' }, LATER);
      await store.updateMetadata(d, { archived: true }, LATER);

      expect(await listAll(userId, { limit: 1, favorite: true, archived: 'include' })).to.deep.equal([c.id, a.id]);
      expect(await listAll(userId, { limit: 1, favorite: true }), 'favourites, archived left out').to.deep.equal([a.id]);
      expect(await listAll(userId, { limit: 2, archived: 'only' })).to.deep.equal([d.id, c.id]);
      expect(await listAll(userId, { limit: 2 }), 'the timeline').to.deep.equal([b.id, a.id]);
      expect(await listAll(userId, { limit: 2, archived: 'include' })).to.deep.equal([d.id, c.id, b.id, a.id]);
      expect(await listAll(userId, { limit: 2, favorite: false, archived: 'include' })).to.deep.equal([d.id, b.id]);
      expect(await listAll(userId, { limit: 2, archived: 'only', favorite: true })).to.deep.equal([c.id]);

      // Clearing takes the item out of the view; setting a flag it has changes nothing but the version.
      const unfav = await store.updateMetadata(await current(userId, c.id), { favorite: false }, LATER);
      expect(unfav).to.not.have.property('favorite');
      expect(unfav.archived).to.equal(true);
      expect(await listAll(userId, { limit: 5, favorite: true, archived: 'include' })).to.deep.equal([a.id]);
      const again = await store.updateMetadata(favA, { favorite: true }, LATER);
      expect(again).to.deep.include({ favorite: true, version: 3 });
      expect(await listAll(userId, { limit: 5, favorite: true })).to.deep.equal([a.id]);
      const unarchived = await store.updateMetadata(await current(userId, d.id), { archived: false }, LATER);
      expect(unarchived).to.not.have.property('archived');
      expect(await listAll(userId, { limit: 5 })).to.deep.equal([d.id, b.id, a.id]);
    });

    it('refuses a stale version or an item being deleted (VersionConflict) and sets no flag', async () => {
      const userId = ulid();
      const record = await created(userId);
      const first = await store.updateMetadata(record, { title: 'First' }, LATER);
      expect(await rejectionOf(store.updateMetadata(record, { favorite: true }, LATER))).to.be.instanceOf(VersionConflict);
      expect(await rejectionOf(store.updateMetadata(newMedia(userId), { archived: true }, LATER)), 'missing item').to.be.instanceOf(VersionConflict);
      await store.beginDelete(first);
      expect(await rejectionOf(store.updateMetadata(await current(userId, record.id), { favorite: true, archived: true }, LATER)), 'being deleted').to.be.instanceOf(VersionConflict);
      expect(await current(userId, record.id)).to.not.have.any.keys('favorite', 'archived');
      expect(await listAll(userId, { limit: 5, favorite: true, archived: 'include' })).to.deep.equal([]);
      expect(await listAll(userId, { limit: 5, archived: 'only' })).to.deep.equal([]);
      expect(await store.get(ulid(), record.id), 'another user').to.equal(undefined);
    });

    it('keeps users apart: one user\'s flags list nothing of another\'s', async () => {
      const [ann, bob] = [ulid(), ulid()];
      const annItem = await created(ann);
      await store.updateMetadata(annItem, { favorite: true, archived: true }, LATER);
      expect(await listAll(bob, { limit: 5, favorite: true, archived: 'include' })).to.deep.equal([]);
      expect(await listAll(bob, { limit: 5, archived: 'only' })).to.deep.equal([]);
    });

    it('deleting or sweeping a flagged item takes it out of both views for good', async () => {
      const userId = ulid();
      const ready = await created(userId);
      await store.markReady(ready, processed, '"etag-f"', LATER);
      const flagged = await store.updateMetadata(await current(userId, ready.id), { favorite: true, archived: true }, LATER);
      await store.beginDelete(flagged);
      expect(await listAll(userId, { limit: 5, favorite: true, archived: 'include' }), 'while being deleted').to.deep.equal([]);
      await store.syncTags(userId, ready.id);
      await store.finishDelete(await current(userId, ready.id));
      const pending = await created(userId);
      await store.updateMetadata(pending, { favorite: true }, LATER);
      expect(await store.deletePending(await current(userId, pending.id))).to.equal(true);
      expect(await listAll(userId, { limit: 5, favorite: true, archived: 'include' })).to.deep.equal([]);
      expect(await listAll(userId, { limit: 5, archived: 'only' })).to.deep.equal([]);
      // No entry was left behind: the views read nothing at all (a page that read `limit` rows has a cursor).
      for (const query of [{ favorite: true, archived: 'include' as const }, { archived: 'only' as const }]) {
        expect(await store.list(userId, { limit: 1, ...query }), JSON.stringify(query)).to.deep.equal({ items: [], nextCursor: null });
      }
    });
  });

  describe('syncTags and listTags', () => {
    it('brings entries and counts in line with the tags, and is repeatable', async () => {
      const userId = ulid();
      const record = await created(userId);
      await setTags(userId, record.id, ['beach', 'sun']);
      expect(await store.listTags(userId)).to.deep.equal([
        { tag: 'beach', count: 1 },
        { tag: 'sun', count: 1 },
      ]);
      await setTags(userId, record.id, ['sun', 'snow']);
      const expected = [
        { tag: 'snow', count: 1 },
        { tag: 'sun', count: 1 },
      ];
      expect(await store.listTags(userId)).to.deep.equal(expected);
      expect(await listAll(userId, { limit: 10, tag: 'beach' })).to.deep.equal([]);
      expect(await listAll(userId, { limit: 10, tag: 'snow' })).to.deep.equal([record.id]);
      expect(await listAll(userId, { limit: 10, tag: 'sun' })).to.deep.equal([record.id]);
      const before = await current(userId, record.id);
      await store.syncTags(userId, record.id);
      await store.syncTags(userId, record.id);
      expect(await store.listTags(userId)).to.deep.equal(expected);
      expect(await current(userId, record.id)).to.deep.equal(before);
      await store.syncTags(userId, nextMediaId());
      await setTags(userId, record.id, []);
      expect(await store.listTags(userId)).to.deep.equal([]);
      expect(await listAll(userId, { limit: 10, tag: 'sun' })).to.deep.equal([]);
    });

    it('counts items per tag across items; a tag on no item is not listed', async () => {
      const userId = ulid();
      const one = await created(userId);
      const two = await created(userId);
      await setTags(userId, one.id, ['beach', 'family']);
      await setTags(userId, two.id, ['beach']);
      expect(await store.listTags(userId)).to.deep.equal([
        { tag: 'beach', count: 2 },
        { tag: 'family', count: 1 },
      ]);
      await setTags(userId, one.id, ['family']);
      expect(await store.listTags(userId)).to.deep.equal([
        { tag: 'beach', count: 1 },
        { tag: 'family', count: 1 },
      ]);
      await setTags(userId, two.id, []);
      expect(await store.listTags(userId)).to.deep.equal([{ tag: 'family', count: 1 }]);
      expect(await listAll(userId, { limit: 10, tag: 'beach' })).to.deep.equal([]);
      await setTags(userId, two.id, ['beach']);
      expect(await store.listTags(userId)).to.deep.equal([
        { tag: 'beach', count: 1 },
        { tag: 'family', count: 1 },
      ]);
      expect(await store.listTags(ulid()), 'another user').to.deep.equal([]);
    });

    it('counts a tag once, however often it is marked dirty, and never uncounts a tag it did not count', async () => {
      const userId = ulid();
      const one = await created(userId);
      const two = await created(userId);
      await setTags(userId, one.id, ['beach']);
      // Read while 'beach' is dirty; syncTags does not change the version, so this read stays current.
      const read = await store.updateMetadata(await current(userId, two.id), { tags: ['beach'] }, LATER);
      await store.syncTags(userId, two.id);
      const again = await store.updateMetadata(read, { tags: ['beach', 'sun'] }, LATER);
      expect(again.dirtyTags).to.have.members(['beach', 'sun']);
      await store.syncTags(userId, two.id);
      expect(await store.listTags(userId)).to.deep.equal([
        { tag: 'beach', count: 2 },
        { tag: 'sun', count: 1 },
      ]);
      // Added and removed again before any syncTags: there is no entry to remove, so no count to lower.
      const third = await created(userId);
      const added = await store.updateMetadata(third, { tags: ['beach', 'snow'] }, LATER);
      await store.updateMetadata(added, { tags: [] }, LATER);
      await store.syncTags(userId, third.id);
      expect(await store.listTags(userId)).to.deep.equal([
        { tag: 'beach', count: 2 },
        { tag: 'sun', count: 1 },
      ]);
    });

    it('sorts tags by count, most used first, then by name', async () => {
      const userId = ulid();
      const records = [await created(userId), await created(userId), await created(userId)];
      await setTags(userId, records[0]?.id ?? '', ['c', 'b', 'z']);
      await setTags(userId, records[1]?.id ?? '', ['b', 'a', 'z']);
      await setTags(userId, records[2]?.id ?? '', ['z']);
      expect(await store.listTags(userId)).to.deep.equal([
        { tag: 'z', count: 3 },
        { tag: 'b', count: 2 },
        { tag: 'a', count: 1 },
        { tag: 'c', count: 1 },
      ]);
    });

    it('applies tags concurrently on several items and keeps counts exact', async () => {
      const userId = ulid();
      const records: MediaRecord[] = [];
      for (let i = 0; i < 6; i++) records.push(await created(userId));
      await Promise.all(records.map((record) => setTags(userId, record.id, ['party', 'night'])));
      expect(await store.listTags(userId)).to.deep.equal([
        { tag: 'night', count: 6 },
        { tag: 'party', count: 6 },
      ]);
      await Promise.all(records.slice(0, 4).map((record) => setTags(userId, record.id, ['night'])));
      expect(await store.listTags(userId)).to.deep.equal([
        { tag: 'night', count: 6 },
        { tag: 'party', count: 2 },
      ]);
    });

    it('two clients changing one item\'s tags at once, each retrying on VersionConflict, leave entries matching the final tags', async () => {
      const userId = ulid();
      const record = await created(userId);
      const all = ['a', 'b', 'c', 'x', 'y'];
      async function client(changes: string[][]): Promise<void> {
        for (const tags of changes) {
          for (let attempt = 0; ; attempt++) {
            try {
              await store.updateMetadata(await current(userId, record.id), { tags }, LATER);
              break;
            } catch (error) {
              if (!(error instanceof VersionConflict) || attempt >= 30) throw error;
            }
          }
          await store.syncTags(userId, record.id);
        }
      }
      await Promise.all([client([['a', 'b'], ['b', 'c'], ['c']]), client([['x'], ['a', 'x'], ['b', 'x', 'y']])]);
      const final = await current(userId, record.id);
      expect(final.version, 'six changes').to.equal(7);
      expect(final.dirtyTags ?? []).to.deep.equal([]);
      const tags = [...final.tags].sort();
      expect(await store.listTags(userId)).to.deep.equal(tags.map((tag) => ({ tag, count: 1 })));
      for (const tag of all) expect(await listAll(userId, { limit: 10, tag }), tag).to.deep.equal(final.tags.includes(tag) ? [record.id] : []);
    });
  });

  describe('deletion', () => {
    it('beginDelete, syncTags, finishDelete: the item, its entries, counts and hash claim are gone', async () => {
      const userId = ulid();
      const other = await created(userId);
      await setTags(userId, other.id, ['beach']);
      const record = await created(userId);
      await store.markReady(record, processed, '"etag-1"', LATER);
      await setTags(userId, record.id, ['beach', 'sun']);
      const before = await current(userId, record.id);

      await store.beginDelete(before);
      const deleting = await current(userId, record.id);
      expect(deleting).to.deep.include({ deleting: true, tags: [], version: before.version + 1 });
      expect(deleting.dirtyTags).to.have.members(['beach', 'sun']);
      await store.beginDelete(deleting);
      expect((await current(userId, record.id)).version, 'beginDelete of a deleting record changes nothing').to.equal(before.version + 1);

      await store.syncTags(userId, record.id);
      expect(await store.listTags(userId)).to.deep.equal([{ tag: 'beach', count: 1 }]);
      await store.finishDelete(deleting);
      expect(await store.get(userId, record.id)).to.equal(undefined);
      expect(await listAll(userId, { limit: 10 })).to.deep.equal([other.id]);
      expect(await listAll(userId, { limit: 10, tag: 'beach' })).to.deep.equal([other.id]);
      await created(userId, { sha256: record.sha256 });
      await store.finishDelete(deleting);
      expect(await rejectionOf(store.createPending(newMedia(userId, { sha256: record.sha256 }))), 'the new claim survives a repeated finishDelete').to.be.instanceOf(DuplicateMedia);
    });

    it('beginDelete over a stale version is a VersionConflict; finishDelete leaves an item that is not being deleted', async () => {
      const userId = ulid();
      const record = await created(userId);
      await store.updateMetadata(record, { title: 'Changed' }, LATER);
      expect(await rejectionOf(store.beginDelete(record))).to.be.instanceOf(VersionConflict);
      expect(await rejectionOf(store.beginDelete(newMedia(userId))), 'missing item').to.be.instanceOf(VersionConflict);
      await store.finishDelete(record);
      expect(await current(userId, record.id)).to.include({ title: 'Changed' });
      expect(await current(userId, record.id)).to.not.have.property('deleting');
      expect(await rejectionOf(store.createPending(newMedia(userId, { sha256: record.sha256 }))), 'claim kept').to.be.instanceOf(DuplicateMedia);
    });

    it('deletePending removes pending items only, with their claim', async () => {
      const userId = ulid();
      const pending = await created(userId);
      const ready = await created(userId);
      await store.markReady(ready, processed, '"etag-1"', LATER);
      const rejected = await created(userId);
      await store.markRejected(rejected, 'no', LATER);
      const deleting = await created(userId);
      await store.beginDelete(deleting);

      expect(await store.deletePending(pending)).to.equal(true);
      expect(await store.get(userId, pending.id)).to.equal(undefined);
      expect(await store.deletePending(pending), 'already gone').to.equal(false);
      await created(userId, { sha256: pending.sha256 });

      expect(await store.deletePending(ready)).to.equal(false);
      expect(await store.deletePending(rejected)).to.equal(false);
      expect(await store.deletePending(deleting)).to.equal(false);
      for (const record of [ready, rejected, deleting]) expect(await store.get(userId, record.id), record.id).to.not.equal(undefined);
      expect(await rejectionOf(store.createPending(newMedia(userId, { sha256: ready.sha256 }))), 'claim kept').to.be.instanceOf(DuplicateMedia);
    });

    it('deletePending of a tagged pending item takes its tag entries and counts with it', async () => {
      const userId = ulid();
      const pending = await created(userId);
      const tagged = await store.updateMetadata(pending, { tags: ['draft'] }, LATER);
      await store.syncTags(userId, pending.id);
      const other = await created(userId);
      await store.syncTags(userId, (await store.updateMetadata(other, { tags: ['draft'] }, LATER)).id);
      expect(await store.listTags(userId)).to.deep.equal([{ tag: 'draft', count: 2 }]);
      expect(await store.deletePending(tagged)).to.equal(true);
      expect(await store.listTags(userId)).to.deep.equal([{ tag: 'draft', count: 1 }]);
      expect((await store.list(userId, { limit: 10, tag: 'draft' })).items.map((item) => item.id)).to.deep.equal([other.id]);
    });

    it('listPendingBefore lists pending items created before the cutoff, across users', async () => {
      const alice = ulid();
      const bob = ulid();
      const old1 = await created(alice, { createdAt: '2020-01-01T00:00:00.000Z' });
      const old2 = await created(bob, { createdAt: '2020-06-01T00:00:00.000Z' });
      const old3 = await created(alice, { createdAt: '2020-12-31T23:59:59.999Z' });
      const atCutoff = await created(alice, { createdAt: '2021-01-01T00:00:00.000Z' });
      const future = await created(alice, { createdAt: '2999-01-01T00:00:00.000Z' });
      const oldReady = await created(alice, { createdAt: '2020-01-01T00:00:00.000Z' });
      await store.markReady(oldReady, processed, '"etag"', LATER);
      const oldRejected = await created(bob, { createdAt: '2020-01-01T00:00:00.000Z' });
      await store.markRejected(oldRejected, 'no', LATER);
      const oldDeleting = await created(bob, { createdAt: '2020-01-01T00:00:00.000Z' });
      await store.beginDelete(oldDeleting);
      const oldSwept = await created(alice, { createdAt: '2020-01-01T00:00:00.000Z' });
      await store.deletePending(oldSwept);
      const oldTagged = await created(bob, { createdAt: '2020-02-01T00:00:00.000Z' });
      await setTags(bob, oldTagged.id, ['still-pending']);
      const mine = new Set([old1, old2, old3, atCutoff, future, oldReady, oldRejected, oldDeleting, oldSwept, oldTagged].map((record) => record.id));

      const found = await store.listPendingBefore('2021-01-01T00:00:00.000Z', 10_000);
      expect(found.filter((entry) => mine.has(entry.mediaId))).to.have.deep.members([
        { userId: alice, mediaId: old1.id },
        { userId: bob, mediaId: old2.id },
        { userId: alice, mediaId: old3.id },
        { userId: bob, mediaId: oldTagged.id },
      ]);
      expect(new Set(found.map((entry) => `${entry.userId}/${entry.mediaId}`)).size, 'no repeats').to.equal(found.length);
      expect(await store.listPendingBefore('2021-01-01T00:00:00.000Z', 2)).to.have.length(2);
      expect(await store.listPendingBefore('2021-01-01T00:00:00.000Z', 1)).to.have.length(1);
      const later = (await store.listPendingBefore('3000-01-01T00:00:00.000Z', 10_000)).filter((entry) => mine.has(entry.mediaId)).map((entry) => entry.mediaId);
      expect(later).to.have.members([old1.id, old2.id, old3.id, oldTagged.id, atCutoff.id, future.id]);
    });

    it('deleteUserData removes all of a user\'s items, entries, counts and claims, and nothing of anyone else', async () => {
      const alice = ulid();
      const bob = ulid();
      const a1 = await created(alice);
      const a2 = await created(alice, { type: 'video', contentType: 'video/mp4' });
      const a3 = await created(alice);
      await store.markReady(a1, processed, '"etag"', LATER);
      await setTags(alice, a1.id, ['beach']);
      await setTags(alice, a2.id, ['beach', 'sun']);
      await store.beginDelete(await current(alice, a3.id));
      const b1 = await created(bob, { sha256: a1.sha256 });
      await setTags(bob, b1.id, ['beach']);

      expect(await store.deleteUserData(alice)).to.equal(3);
      for (const record of [a1, a2, a3]) expect(await store.get(alice, record.id)).to.equal(undefined);
      expect(await listAll(alice, { limit: 10 })).to.deep.equal([]);
      expect(await listAll(alice, { limit: 10, tag: 'beach' })).to.deep.equal([]);
      expect(await listAll(alice, { limit: 10, status: 'ready' })).to.deep.equal([]);
      expect(await store.listTags(alice)).to.deep.equal([]);
      const reborn = await created(alice, { sha256: a1.sha256 });
      expect(await store.get(alice, reborn.id), 'hash claims gone').to.not.equal(undefined);

      expect(await current(bob, b1.id)).to.deep.include({ tags: ['beach'], sha256: a1.sha256 });
      expect(await store.listTags(bob)).to.deep.equal([{ tag: 'beach', count: 1 }]);
      expect(await listAll(bob, { limit: 10, tag: 'beach' })).to.deep.equal([b1.id]);
      expect(await rejectionOf(store.createPending(newMedia(bob, { sha256: a1.sha256 }))), "bob's claim kept").to.be.instanceOf(DuplicateMedia);
      expect(await store.deleteUserData(ulid()), 'nobody').to.equal(0);
    });
  });

  describe('findSimilar (the perceptual-hash index)', () => {
    const colors = [{ hex: '#112233', ratio: 1 }];
    async function readyWithHash(userId: string, perceptualHash: string): Promise<MediaRecord> {
      const record = await created(userId);
      expect(await store.markReady(record, { width: 1, height: 1, perceptualHash, dominantColors: colors }, `"${perceptualHash}"`, LATER)).to.equal(true);
      return (await store.get(userId, record.id)) as MediaRecord;
    }

    it("finds the user's ready images within distance 10, closest first, never itself or another user's", async () => {
      const userId = ulid();
      const self = await readyWithHash(userId, '0123456789abcdef');
      const twin = await readyWithHash(userId, '0123456789abcdef');
      const near = await readyWithHash(userId, '0123456789abcdee'); // 1 bit
      const edge = await readyWithHash(userId, '0123456789ab0000'); // 10 bits away from self? computed below
      await readyWithHash(userId, 'fedcba9876543210'); // far
      await readyWithHash(ulid(), '0123456789abcdef'); // another user's twin
      const distance = (a: string, b: string): number => [...(BigInt(`0x${a}`) ^ BigInt(`0x${b}`)).toString(2)].filter((bit) => bit === '1').length;
      const expected = [twin, near, edge]
        .map((record) => ({ mediaId: record.id, distance: distance(self.perceptualHash as string, record.perceptualHash as string) }))
        .filter((candidate) => candidate.distance <= 10)
        .sort((a, b) => a.distance - b.distance || (a.mediaId < b.mediaId ? -1 : 1));
      expect(await store.findSimilar(userId, self.perceptualHash as string, self.id)).to.deep.equal(expected);
      expect(expected.map((candidate) => candidate.mediaId)).to.include.members([twin.id, near.id]);
    });

    it('finds a hash exactly 10 bits away and not one 11 bits away', async () => {
      const userId = ulid();
      const base = 0x0123456789abcdefn;
      const flip = (bits: number[]): string => bits.reduce((hash, bit) => hash ^ (1n << BigInt(bit)), base).toString(16).padStart(16, '0');
      // Spread over every band, so no band matches exactly: only the one-bit neighbours find them.
      const ten = await readyWithHash(userId, flip([0, 7, 14, 21, 28, 35, 42, 49, 56, 63]));
      await readyWithHash(userId, flip([0, 6, 12, 18, 24, 30, 36, 42, 48, 54, 60]));
      expect(await store.findSimilar(userId, base.toString(16).padStart(16, '0'), ulid())).to.deep.equal([{ mediaId: ten.id, distance: 10 }]);
    });

    it('follows the items: a re-upload moves an image in the index, rejection and deletion take it out', async () => {
      const userId = ulid();
      const probe = 'aaaaaaaaaaaaaaaa';
      const moving = await readyWithHash(userId, probe);
      const rejected = await readyWithHash(userId, probe);
      const deleted = await readyWithHash(userId, probe);
      expect((await store.findSimilar(userId, probe, ulid())).map((found) => found.mediaId).sort()).to.deep.equal([moving.id, rejected.id, deleted.id].sort());

      expect(await store.markReady(moving, { width: 1, height: 1, perceptualHash: '5555555555555555', dominantColors: colors }, '"new-bytes"', LATER)).to.equal(true);
      await store.markRejected(rejected, 'type_mismatch', LATER);
      await store.beginDelete(deleted);
      await store.syncTags(userId, deleted.id);
      await store.finishDelete({ ...deleted, deleting: true });
      expect(await store.findSimilar(userId, probe, ulid())).to.deep.equal([]);
      expect((await store.findSimilar(userId, '5555555555555555', ulid())).map((found) => found.mediaId)).to.deep.equal([moving.id]);
    });
  });
}
