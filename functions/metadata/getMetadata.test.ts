import { expect } from 'chai';
import { ulid } from 'ulid';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';
import type { MediaRecord } from '../../shared/stores/media';

interface ErrorBody {
  error: { code: string; details?: Array<{ path: string }> };
}

function pendingRecord(userId: string, overrides: Partial<MediaRecord> = {}): MediaRecord {
  return pendingMediaRecord(userId, { filename: 'eiffel.jpg', size: 71587, sha256: '9f'.repeat(32), ...overrides });
}

describe('GET /v1/media/{id}/metadata (getMetadata)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: ulid(), sessionId: ulid() };
  const stranger = { userId: ulid(), sessionId: ulid() };

  beforeEach(() => {
    world = handlerWorld();
    handler = loadHandler('functions/metadata/getMetadata', world);
  });

  const get = (id: string, who: { userId: string; sessionId: string } = caller) => invoke<Record<string, unknown>>(handler, { caller: who, pathParameters: { id } });
  const getError = (id: string, who: { userId: string; sessionId: string } = caller) => invoke<ErrorBody>(handler, { caller: who, pathParameters: { id } });

  async function processedPhoto(userId: string): Promise<MediaRecord> {
    const record = pendingRecord(userId);
    await world.media.createPending(record);
    const now = new Date().toISOString();
    const prefix = `media/${userId}/${record.id}/`;
    await world.media.markReady(
      record,
      {
        width: 480,
        height: 640,
        takenAt: '2024-07-14T16:32:05.000Z',
        camera: { make: 'Apple', model: 'iPhone 12' },
        location: { latitude: 48.8584, longitude: 2.2945, altitude: 35 },
        orientation: 6,
        thumbnails: { small: `${prefix}thumb-small.webp`, large: `${prefix}thumb-large.webp` },
      },
      '"etag-meta"',
      now,
    );
    await world.media.updateMetadata((await world.media.get(userId, record.id)) as MediaRecord, { title: 'Eiffel Tower', description: 'From the Trocadéro', tags: ['paris', 'travel'] }, now);
    await world.media.syncTags(userId, record.id);
    return record;
  }

  it('a processed photo: exactly width, height, takenAt, camera, location, orientation, title, description, tags', async () => {
    const record = await processedPhoto(caller.userId);
    const response = await get(record.id);
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({
      width: 480,
      height: 640,
      takenAt: '2024-07-14T16:32:05.000Z',
      camera: { make: 'Apple', model: 'iPhone 12' },
      location: { latitude: 48.8584, longitude: 2.2945, altitude: 35 },
      orientation: 6,
      title: 'Eiffel Tower',
      description: 'From the Trocadéro',
      tags: ['paris', 'travel'],
      favorite: false,
      archived: false,
    });
  });

  it('a pending item: width and height null, no optional fields', async () => {
    const record = pendingRecord(caller.userId);
    await world.media.createPending(record);
    const response = await get(record.id);
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ width: null, height: null, title: '', description: '', tags: [], favorite: false, archived: false });
  });

  it('a processed video: durationSeconds', async () => {
    const record = pendingRecord(caller.userId, { contentType: 'video/mp4', type: 'video' });
    await world.media.createPending(record);
    await world.media.markReady(record, { width: 320, height: 240, durationSeconds: 2, takenAt: '2025-01-01T00:00:00.000Z' }, '"v"', new Date().toISOString());
    const response = await get(record.id);
    expect(response.body).to.deep.equal({ width: 320, height: 240, durationSeconds: 2, takenAt: '2025-01-01T00:00:00.000Z', title: '', description: '', tags: [], favorite: false, archived: false });
  });

  it('carries the item’s version as a strong ETag (for If-Match on PATCH)', async () => {
    const record = await processedPhoto(caller.userId);
    const response = await get(record.id);
    expect(response.headers['etag']).to.equal(`"${(await world.media.get(caller.userId, record.id))?.version}"`);
  });

  it('does not count a view', async () => {
    const record = await processedPhoto(caller.userId);
    await get(record.id);
    expect((await world.media.get(caller.userId, record.id))?.views).to.equal(0);
  });

  it('404 media_not_found for another user’s item (its location is never shown to others)', async () => {
    const theirs = await processedPhoto(stranger.userId);
    const response = await getError(theirs.id);
    expect(response.status).to.equal(404);
    expect(response.body.error.code).to.equal('media_not_found');
    expect(JSON.stringify(response.body)).not.to.contain('48.8584');
  });

  it('404 media_not_found for an unknown id and for an item being deleted', async () => {
    expect((await getError(ulid())).body.error.code).to.equal('media_not_found');
    const record = await processedPhoto(caller.userId);
    await world.media.beginDelete((await world.media.get(caller.userId, record.id)) as MediaRecord);
    const response = await getError(record.id);
    expect(response.status).to.equal(404);
    expect(response.body.error.code).to.equal('media_not_found');
  });

  for (const id of ['nope', ulid().toLowerCase(), '../../etc/passwd']) {
    it(`400 validation_failed for the malformed id ${JSON.stringify(id)}`, async () => {
      const response = await getError(id);
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
      expect(response.body.error.details?.[0]?.path).to.equal('path.id');
    });
  }

  it('401 without a caller', async () => {
    const record = await processedPhoto(caller.userId);
    const response = await invoke<ErrorBody>(handler, { pathParameters: { id: record.id } });
    expect(response.status).to.equal(401);
    expect(response.body.error.code).to.equal('unauthenticated');
  });
});
