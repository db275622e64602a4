import { expect } from 'chai';
import { ulid } from 'ulid';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';
import type { MediaRecord } from '../../shared/stores/media';

interface MediaBody {
  id: string;
  status: string;
  views: number;
  downloadUrl?: string;
  thumbnails?: { small: string; large: string };
  [field: string]: unknown;
}
interface ErrorBody {
  error: { code: string; details?: Array<{ path: string }> };
}

function pendingRecord(userId: string, overrides: Partial<MediaRecord> = {}): MediaRecord {
  return pendingMediaRecord(userId, { filename: 'eiffel.jpg', sha256: 'cd'.repeat(32), ...overrides });
}

const BASE_KEYS = ['id', 'filename', 'contentType', 'size', 'status', 'type', 'createdAt', 'tags', 'views', 'favorite', 'archived'];

describe('GET /v1/media/{id} (getMedia)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: ulid(), sessionId: ulid() };
  const stranger = { userId: ulid(), sessionId: ulid() };

  beforeEach(() => {
    world = handlerWorld();
    handler = loadHandler('functions/media/getMedia', world);
  });

  const get = (id: string, who: { userId: string; sessionId: string } = caller) => invoke<MediaBody>(handler, { caller: who, pathParameters: { id } });
  const getError = (id: string, who: { userId: string; sessionId: string } = caller) => invoke<ErrorBody>(handler, { caller: who, pathParameters: { id } });

  async function readyItem(userId: string): Promise<MediaRecord> {
    const record = pendingRecord(userId);
    await world.media.createPending(record);
    const prefix = `media/${userId}/${record.id}/`;
    const thumbnails = { small: `${prefix}thumb-small.webp`, large: `${prefix}thumb-large.webp` };
    await world.content.put(`${prefix}original`, Buffer.from('jpeg'), 'image/jpeg');
    await world.content.put(thumbnails.small, Buffer.from('small'), 'image/webp');
    await world.content.put(thumbnails.large, Buffer.from('large'), 'image/webp');
    const marked = await world.media.markReady(
      record,
      { width: 480, height: 640, takenAt: '2024-07-14T16:32:05.000Z', camera: { make: 'Canon', model: 'EOS' }, location: { latitude: 48.8, longitude: 2.3 }, orientation: 6, thumbnails },
      '"etag-1"',
      new Date().toISOString(),
    );
    expect(marked).to.equal(true);
    return record;
  }

  it('counts no view: polling an item while it is processed is not viewing it (the audit saw 3 views of a photo nobody opened)', async () => {
    const record = pendingRecord(caller.userId);
    await world.media.createPending(record);
    for (let i = 0; i < 3; i++) expect((await get(record.id)).body.views).to.equal(0);
    expect((await world.media.get(caller.userId, record.id))?.views).to.equal(0);
  });

  it('a pending item: exactly the public fields, no downloadUrl or thumbnails, nothing internal', async () => {
    const record = pendingRecord(caller.userId);
    await world.media.createPending(record);
    const response = await get(record.id);
    expect(response.status).to.equal(200);
    expect(response.body).to.have.keys(BASE_KEYS);
    expect(response.body).to.include({ id: record.id, filename: 'eiffel.jpg', contentType: 'image/jpeg', size: 4, status: 'pending', type: 'image', createdAt: record.createdAt, views: 0 });
    expect(response.body.downloadUrl).to.equal(undefined);
    expect(response.body.thumbnails).to.equal(undefined);
    expect(JSON.stringify(response.body)).not.to.contain('cd'.repeat(32));
    expect(JSON.stringify(response.body)).not.to.contain(caller.userId);
  });

  it('a ready item: downloadUrl and thumbnails small/large, dimensions, and nothing internal (ETag, version, keys, camera, location)', async () => {
    const record = await readyItem(caller.userId);
    const response = await get(record.id);
    expect(response.status).to.equal(200);
    expect(response.body).to.have.keys([...BASE_KEYS, 'width', 'height', 'takenAt', 'downloadUrl', 'thumbnails']);
    expect(response.body).to.include({ status: 'ready', width: 480, height: 640, takenAt: '2024-07-14T16:32:05.000Z', views: 0 });
    expect(response.body.thumbnails).to.have.keys(['small', 'large']);
    expect(response.body.thumbnails?.small).to.match(/^https:\/\/.*thumb-small\.webp/);
    expect(response.body.thumbnails?.large).to.match(/^https:\/\/.*thumb-large\.webp/);
    expect(response.body.downloadUrl).to.match(/^https:\/\/.*\/original/);
    // The answer's type and disposition are ours: the item's type as a file to save; thumbnails as WebP.
    expect(new URL(response.body.downloadUrl as string).searchParams.get('type')).to.equal(record.contentType);
    expect(new URL(response.body.downloadUrl as string).searchParams.get('filename')).to.equal(record.filename);
    expect(new URL(response.body.thumbnails?.small as string).searchParams.get('type')).to.equal('image/webp');
    const text = JSON.stringify(response.body);
    for (const internal of ['etag-1', 'objectETag', 'version', 'userId', 'sha256', 'Canon', 'latitude', 'orientation']) expect(text).not.to.contain(internal);
  });

  it('an item with a title carries it; once the title is cleared, none', async () => {
    const record = await readyItem(caller.userId);
    await world.media.updateMetadata((await world.media.get(caller.userId, record.id)) as MediaRecord, { title: 'Eiffel Tower' }, new Date().toISOString());
    const titled = await get(record.id);
    expect(titled.status).to.equal(200);
    expect(titled.body).to.include({ title: 'Eiffel Tower' });
    await world.media.updateMetadata((await world.media.get(caller.userId, record.id)) as MediaRecord, { title: '' }, new Date().toISOString());
    expect((await get(record.id)).body).not.to.have.property('title');
  });

  it('a rejected item: its rejectReason, no downloadUrl', async () => {
    const record = pendingRecord(caller.userId);
    await world.media.createPending(record);
    await world.media.markRejected(record, 'type_mismatch', new Date().toISOString());
    const response = await get(record.id);
    expect(response.status).to.equal(200);
    expect(response.body).to.have.keys([...BASE_KEYS, 'rejectReason']);
    expect(response.body).to.include({ status: 'rejected', rejectReason: 'type_mismatch' });
  });

  it('404 media_not_found for an unknown id', async () => {
    const response = await getError(ulid());
    expect(response.status).to.equal(404);
    expect(response.body.error.code).to.equal('media_not_found');
  });

  it('404 media_not_found for an item being deleted', async () => {
    const record = pendingRecord(caller.userId);
    await world.media.createPending(record);
    await world.media.beginDelete((await world.media.get(caller.userId, record.id)) as MediaRecord);
    const response = await getError(record.id);
    expect(response.status).to.equal(404);
    expect(response.body.error.code).to.equal('media_not_found');
  });

  it('404 media_not_found for another user’s item, whose views do not change', async () => {
    const theirs = await readyItem(stranger.userId);
    const response = await getError(theirs.id);
    expect(response.status).to.equal(404);
    expect(response.body.error.code).to.equal('media_not_found');
    expect(JSON.stringify(response.body)).not.to.contain('https://');
    expect((await world.media.get(stranger.userId, theirs.id))?.views).to.equal(0);
  });

  for (const id of ['not-an-id', ulid().toLowerCase(), '01JD8X5Q2W4K6M8N0P2R4T6VIL', '../../etc/passwd', 'x'.repeat(300)]) {
    it(`400 validation_failed for the malformed id ${JSON.stringify(id.slice(0, 30))}`, async () => {
      const response = await getError(id);
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
      expect(response.body.error.details?.[0]?.path).to.equal('path.id');
    });
  }

  it('401 without a caller', async () => {
    const record = pendingRecord(caller.userId);
    await world.media.createPending(record);
    const response = await invoke<ErrorBody>(handler, { pathParameters: { id: record.id } });
    expect(response.status).to.equal(401);
    expect(response.body.error.code).to.equal('unauthenticated');
    expect((await world.media.get(caller.userId, record.id))?.views).to.equal(0);
  });
});
