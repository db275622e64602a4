import { expect } from 'chai';
import { ulid } from 'ulid';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';
import type { MediaRecord } from '../../shared/stores/media';

interface ErrorBody {
  error: { code: string; details?: Array<{ path: string }> };
}

describe('DELETE /v1/media/{id} (deleteMedia)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: ulid(), sessionId: ulid() };
  const stranger = { userId: ulid(), sessionId: ulid() };

  beforeEach(() => {
    world = handlerWorld();
    handler = loadHandler('functions/media/deleteMedia', world);
  });

  /** A ready image with its original, both thumbnails, a hash claim and tags (entries and counts synced). */
  async function readyItem(userId: string, sha256: string, tags: string[]): Promise<MediaRecord> {
    const now = new Date().toISOString();
    const record = pendingMediaRecord(userId, { filename: 'a.png', contentType: 'image/png', size: 5, sha256, createdAt: now, updatedAt: now });
    await world.media.createPending(record);
    const prefix = `media/${userId}/${record.id}/`;
    const thumbnails = { small: `${prefix}thumb-small.webp`, large: `${prefix}thumb-large.webp` };
    await world.content.put(`${prefix}original`, Buffer.from('bytes'), 'image/png');
    await world.content.put(thumbnails.small, Buffer.from('s'), 'image/webp');
    await world.content.put(thumbnails.large, Buffer.from('l'), 'image/webp');
    expect(await world.media.markReady(record, { width: 1, height: 1, thumbnails }, '"etag"', now)).to.equal(true);
    await world.media.updateMetadata((await world.media.get(userId, record.id)) as MediaRecord, { tags }, now);
    await world.media.syncTags(userId, record.id);
    return record;
  }

  const keysOf = (userId: string, mediaId: string): string[] => [...world.content.objects.keys()].filter((key) => key.startsWith(`media/${userId}/${mediaId}/`));
  const del = (id: string, who: { userId: string; sessionId: string } = caller) => invoke<ErrorBody>(handler, { method: 'DELETE', caller: who, pathParameters: { id } });

  it('204 with no body; item, original, thumbnails, tag entries, tag counts and hash claim are all gone', async () => {
    const sha = 'a1'.repeat(32);
    const record = await readyItem(caller.userId, sha, ['beach', 'sea']);
    const kept = await readyItem(caller.userId, 'b2'.repeat(32), ['beach']);
    expect(keysOf(caller.userId, record.id)).to.have.length(3);
    expect(world.media.tagCounts.get(`${caller.userId}/beach`)).to.equal(2);

    const response = await del(record.id);
    expect(response.status).to.equal(204);
    expect(response.body).to.equal(undefined);

    expect(world.media.items.has(`${caller.userId}/${record.id}`)).to.equal(false);
    expect(await world.media.get(caller.userId, record.id)).to.equal(undefined);
    expect(keysOf(caller.userId, record.id)).to.deep.equal([]);
    expect([...world.media.tagEntries].filter((entry) => entry.endsWith(`/${record.id}`))).to.deep.equal([]);
    expect(world.media.tagCounts.has(`${caller.userId}/sea`)).to.equal(false);
    expect(world.media.tagCounts.get(`${caller.userId}/beach`)).to.equal(1);
    expect(world.media.shaClaims.has(`${caller.userId}/${sha}`)).to.equal(false);
    expect(await world.media.listTags(caller.userId)).to.deep.equal([{ tag: 'beach', count: 1 }]);

    // The other item is untouched.
    expect(keysOf(caller.userId, kept.id)).to.have.length(3);
    expect((await world.media.get(caller.userId, kept.id))?.tags).to.deep.equal(['beach']);
  });

  it('a second DELETE is 404 media_not_found', async () => {
    const record = await readyItem(caller.userId, 'c3'.repeat(32), []);
    expect((await del(record.id)).status).to.equal(204);
    const again = await del(record.id);
    expect(again.status).to.equal(404);
    expect(again.body.error.code).to.equal('media_not_found');
  });

  it('a pending item without bytes can be deleted too, releasing its hash claim', async () => {
    const record = pendingMediaRecord(caller.userId, { filename: 'p.jpg', size: 3, sha256: 'd4'.repeat(32) });
    await world.media.createPending(record);
    expect((await del(record.id)).status).to.equal(204);
    expect(world.media.items.size).to.equal(0);
    expect(world.media.shaClaims.size).to.equal(0);
  });

  it('finishes a half-done deletion (an item left `deleting` by a failed DELETE)', async () => {
    const record = await readyItem(caller.userId, 'e5'.repeat(32), ['beach']);
    await world.media.beginDelete((await world.media.get(caller.userId, record.id)) as MediaRecord);
    expect((await del(record.id)).status).to.equal(204);
    expect(world.media.items.size).to.equal(0);
    expect(world.content.objects.size).to.equal(0);
    expect(world.media.tagCounts.size).to.equal(0);
    expect(world.media.tagEntries.size).to.equal(0);
    expect(world.media.shaClaims.size).to.equal(0);
  });

  it('404 media_not_found for another user’s id; their item, objects, tags and claim stay', async () => {
    const sha = 'f6'.repeat(32);
    const theirs = await readyItem(stranger.userId, sha, ['beach']);
    const before = structuredClone(world.media.items.get(`${stranger.userId}/${theirs.id}`));
    const response = await del(theirs.id);
    expect(response.status).to.equal(404);
    expect(response.body.error.code).to.equal('media_not_found');
    expect(world.media.items.get(`${stranger.userId}/${theirs.id}`)).to.deep.equal(before);
    expect(keysOf(stranger.userId, theirs.id)).to.have.length(3);
    expect(world.media.tagCounts.get(`${stranger.userId}/beach`)).to.equal(1);
    expect(world.media.shaClaims.get(`${stranger.userId}/${sha}`)).to.equal(theirs.id);
  });

  it('404 media_not_found for an id that never existed', async () => {
    const response = await del(ulid());
    expect(response.status).to.equal(404);
    expect(response.body.error.code).to.equal('media_not_found');
  });

  for (const id of ['nope', '../../etc/passwd', ulid().toLowerCase()]) {
    it(`400 validation_failed for the malformed id ${JSON.stringify(id)}`, async () => {
      const response = await del(id);
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
      expect(response.body.error.details?.[0]?.path).to.equal('path.id');
    });
  }

  it('401 without a caller; nothing deleted', async () => {
    const record = await readyItem(caller.userId, '07'.repeat(32), []);
    const response = await invoke<ErrorBody>(handler, { method: 'DELETE', pathParameters: { id: record.id } });
    expect(response.status).to.equal(401);
    expect(response.body.error.code).to.equal('unauthenticated');
    expect(world.media.items.size).to.equal(1);
    expect(keysOf(caller.userId, record.id)).to.have.length(3);
  });
});
