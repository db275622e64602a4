/**
 * A stored record can never break a read. The black-box audit stored `takenAt` =
 * "+010000-01-01T00:59:59.000Z" (EXIF 9999:12:31 23:59:59 at -01:00); afterwards GET of the item,
 * its metadata and every list of the owner answered 500 until it was deleted, because the
 * response schemas fail closed. Ingestion refuses such values now (media-info/ranges.ts), but
 * records written before, or by a later bug, must still read: here records are written straight
 * into the store with the audit's values and with generated junk in every metadata field, and
 * the real handlers must answer 200 with what docs/openapi.v1.json documents (local/test/events.ts
 * `invoke` checks every answer against it).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { decodeTime, ulid } from 'ulid';
import { invoke } from '../test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../test/handlers';
import { pendingMediaRecord } from '../test/records';
import type { MediaRecord } from '../../shared/stores/media';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20_261_121);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);

describe('stored records never break a read (GET item, metadata, list; PATCH metadata)', () => {
  let world: HandlerWorld;
  const caller = { userId: ulid(), sessionId: ulid() };
  let handlers: Record<'getMedia' | 'getMetadata' | 'listMedia' | 'updateMetadata', unknown>;

  beforeEach(() => {
    world = handlerWorld();
    handlers = {
      getMedia: loadHandler('functions/media/getMedia', world),
      getMetadata: loadHandler('functions/metadata/getMetadata', world),
      listMedia: loadHandler('functions/media/listMedia', world),
      updateMetadata: loadHandler('functions/metadata/updateMetadata', world),
    };
  });

  /** A ready photo of the caller whose stored item then gets `fields` written over it, as a bug (or an old version) might have. */
  async function storedWith(fields: Record<string, unknown>): Promise<MediaRecord> {
    const record = pendingMediaRecord(caller.userId, { filename: 'seeded.jpg', size: 1000 });
    await world.media.createPending(record);
    const prefix = `media/${caller.userId}/${record.id}/`;
    await world.media.markReady(record, { width: 640, height: 480, thumbnails: { small: `${prefix}thumb-small.webp`, large: `${prefix}thumb-large.webp` } }, '"etag"', new Date().toISOString());
    Object.assign(world.media.items.get(`${caller.userId}/${record.id}`) as MediaRecord, fields);
    return record;
  }

  /** Every read of the item answers 200; returns the item and its metadata as served. */
  async function readsOf(record: MediaRecord): Promise<{ item: Record<string, unknown>; metadata: Record<string, unknown> }> {
    const item = await invoke(handlers.getMedia, { caller, pathParameters: { id: record.id } });
    expect(item.status, `GET /v1/media/{id}: ${JSON.stringify(item.body)}`).to.equal(200);
    const metadata = await invoke(handlers.getMetadata, { caller, pathParameters: { id: record.id } });
    expect(metadata.status, `GET /v1/media/{id}/metadata: ${JSON.stringify(metadata.body)}`).to.equal(200);
    for (const query of [{}, { type: 'image' }, { status: 'ready' }] as Array<Record<string, string>>) {
      const list = await invoke<{ items: Array<{ id: string }> }>(handlers.listMedia, { caller, query });
      expect(list.status, `GET /v1/media ${JSON.stringify(query)}: ${JSON.stringify(list.body)}`).to.equal(200);
      expect(list.body.items.map((entry) => entry.id)).to.include(record.id);
    }
    const patched = await invoke(handlers.updateMetadata, { method: 'PATCH', caller, pathParameters: { id: record.id }, body: { title: 'still readable' } });
    expect(patched.status, `PATCH /v1/media/{id}/metadata: ${JSON.stringify(patched.body)}`).to.equal(200);
    return { item: item.body, metadata: metadata.body };
  }

  it('the audit’s record (takenAt in the year 10000): every read answers 200, without the capture time', async () => {
    const record = await storedWith({ takenAt: '+010000-01-01T00:59:59.000Z' });
    const { item, metadata } = await readsOf(record);
    expect(item).to.not.have.property('takenAt');
    expect(metadata).to.not.have.property('takenAt');
    expect([item['width'], item['height']]).to.deep.equal([640, 480]);
  });

  it('the values that crashed processUpload, stored anyway (a 2^64 duration, a latitude of 4294967295): dropped on read', async () => {
    const record = await storedWith({
      durationSeconds: 18_446_744_073_709_552_000,
      location: { latitude: 4_294_967_295, longitude: 2.29, altitude: 35 },
      orientation: 4_294_967_295,
      camera: { make: 'Canon', model: 42 },
    });
    const { item, metadata } = await readsOf(record);
    expect(item).to.not.have.property('durationSeconds');
    expect(metadata).to.deep.include({ camera: { make: 'Canon' }, width: 640, height: 480 });
    expect(metadata).to.not.have.any.keys('location', 'orientation', 'durationSeconds');
  });

  it('broken required fields are repaired: a malformed createdAt becomes the time in the item’s id, junk views and tags go', async () => {
    const record = await storedWith({ createdAt: 'yesterday', views: 'many', tags: ['kept', 7, null] });
    const { item } = await readsOf(record);
    expect(item['createdAt']).to.equal(new Date(decodeTime(record.id)).toISOString());
    expect(item['views']).to.equal(0);
    expect(item['tags']).to.deep.equal(['kept']);
  });

  it(`generated junk in every metadata field (seed ${SEED}, ${RUNS} records): every read answers 200`, async function () {
    this.timeout(Math.max(30_000, RUNS * 200));
    const junk = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.double(),
      fc.integer(),
      fc.constantFrom(Number.MAX_VALUE, -1, 0, 2 ** 53, 4_294_967_295, 1e21),
      fc.string(),
      fc.constantFrom('+010000-01-01T00:59:59.000Z', '-000001-01-01T00:00:00.000Z', '1700-01-01T00:00:00.000Z', '2024-07-14T16:32:05Z', '2024-13-45T99:99:99Z', '9999-12-31T23:59:59.999Z'),
      fc.date({ noInvalidDate: false }).map((date) => (Number.isNaN(date.getTime()) ? 'Invalid Date' : date.toISOString())),
      fc.array(fc.anything(), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('latitude', 'longitude', 'altitude', 'make', 'model'), fc.oneof(fc.double(), fc.string(), fc.constant(null)), { maxKeys: 5 }),
    );
    const fields = fc.record(
      { width: junk, height: junk, durationSeconds: junk, takenAt: junk, camera: junk, location: junk, orientation: junk, rejectReason: junk },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fields, async (stored) => {
        // Newest first: each new item is on the first page of the lists.
        await readsOf(await storedWith(stored));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
