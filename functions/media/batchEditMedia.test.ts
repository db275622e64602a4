import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { badBodies } from '../../local/test/badInput';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';
import type { MediaRecord } from '../../shared/stores/media';

interface Result {
  status: number;
  error?: { code: string; message: string };
}
interface Answer {
  results: Result[];
  succeeded: number;
  failed: number;
}
interface ErrorBody {
  error: { code: string; details?: Array<{ path: string; message: string }> };
}

describe('POST /v1/media/batch (batchEditMedia)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: ulid(), sessionId: ulid() };
  const stranger = { userId: ulid(), sessionId: ulid() };

  async function addItem(userId: string, fields: Partial<MediaRecord> = {}): Promise<MediaRecord> {
    // Created without tags, then tagged as the API does it: entries and counts follow.
    const record = pendingMediaRecord(userId, { sha256: randomBytes(32).toString('hex'), ...fields, tags: [] });
    await world.media.createPending(record);
    if (fields.tags !== undefined && fields.tags.length > 0) {
      await world.media.updateMetadata(record, { tags: fields.tags }, new Date().toISOString());
      await world.media.syncTags(userId, record.id);
    }
    return (await world.media.get(userId, record.id)) as MediaRecord;
  }
  const stored = async (userId: string, id: string): Promise<MediaRecord> => (await world.media.get(userId, id)) as MediaRecord;

  beforeEach(() => {
    world = handlerWorld();
    handler = loadHandler('functions/media/batchEditMedia', world);
  });

  const post = (body: unknown, who: { userId: string; sessionId: string } | null = caller) => invoke<Answer>(handler, { method: 'POST', body, ...(who === null ? {} : { caller: who }) });
  const postError = (body: unknown) => invoke<ErrorBody>(handler, { method: 'POST', body, caller });

  it('adds and removes tags (keeping the others), sets the flags, on every item; a result per id, in order', async () => {
    const a = await addItem(caller.userId, { tags: ['beach', 'old'] });
    const b = await addItem(caller.userId);
    const response = await post({ ids: [b.id, a.id], addTags: [' Holiday ', 'beach'], removeTags: ['old'], favorite: true, archived: true });
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ results: [{ status: 200 }, { status: 200 }], succeeded: 2, failed: 0 });
    expect(await stored(caller.userId, a.id)).to.deep.include({ tags: ['beach', 'holiday'], favorite: true, archived: true });
    expect(await stored(caller.userId, b.id)).to.deep.include({ tags: ['holiday', 'beach'], favorite: true, archived: true });
    expect(await world.media.listTags(caller.userId)).to.deep.equal([
      { tag: 'beach', count: 2 },
      { tag: 'holiday', count: 2 },
    ]);
    expect([...world.media.flagEntries].filter((entry) => entry.startsWith(caller.userId))).to.have.length(4);
    const undone = await post({ ids: [a.id, b.id], favorite: false, archived: false });
    expect(undone.body.succeeded).to.equal(2);
    expect(world.media.flagEntries.size).to.equal(0);
  });

  it('404 media_not_found at the place of another user’s id and of an unknown one, nothing of theirs changes, the caller’s items do', async () => {
    const mine = await addItem(caller.userId);
    const theirs = await addItem(stranger.userId, { tags: ['private'] });
    const before = structuredClone(world.media.items.get(`${stranger.userId}/${theirs.id}`));
    const response = await post({ ids: [theirs.id, mine.id, ulid()], addTags: ['stolen'], favorite: true });
    expect(response.status).to.equal(200);
    expect(response.body.results.map((result) => [result.status, result.error?.code])).to.deep.equal([
      [404, 'media_not_found'],
      [200, undefined],
      [404, 'media_not_found'],
    ]);
    expect(response.body).to.include({ succeeded: 1, failed: 2 });
    expect(JSON.stringify(response.body), 'no id is echoed').to.not.contain(theirs.id);
    expect(world.media.items.get(`${stranger.userId}/${theirs.id}`)).to.deep.equal(before);
    expect(await world.media.listTags(stranger.userId)).to.deep.equal([{ tag: 'private', count: 1 }]);
    expect((await stored(caller.userId, mine.id)).favorite).to.equal(true);
  });

  it('an item already as asked is not written (same version); one being deleted is a 404', async () => {
    const done = await addItem(caller.userId, { tags: ['beach'] });
    const faved = await post({ ids: [done.id], favorite: true });
    expect(faved.body.succeeded).to.equal(1);
    const version = (await stored(caller.userId, done.id)).version;
    const again = await post({ ids: [done.id], favorite: true, addTags: ['beach'] });
    expect(again.body.results).to.deep.equal([{ status: 200 }]);
    expect((await stored(caller.userId, done.id)).version).to.equal(version);
    const doomed = await addItem(caller.userId);
    await world.media.beginDelete(doomed);
    expect((await post({ ids: [doomed.id], favorite: true })).body.results[0]).to.deep.include({ status: 404 });
  });

  it('400 too_many_tags for an item the additions would take past 50 tags; the others change', async () => {
    const full = await addItem(caller.userId, { tags: Array.from({ length: 49 }, (_, index) => `t${index}`) });
    const light = await addItem(caller.userId);
    const response = await post({ ids: [full.id, light.id], addTags: ['x', 'y'] });
    expect(response.body.results.map((result) => [result.status, result.error?.code])).to.deep.equal([
      [400, 'too_many_tags'],
      [200, undefined],
    ]);
    expect((await stored(caller.userId, full.id)).tags).to.have.length(49);
    expect((await stored(caller.userId, light.id)).tags).to.deep.equal(['x', 'y']);
    // Removing while adding keeps an item within the limit.
    expect((await post({ ids: [full.id], addTags: ['x'], removeTags: ['t0'] })).body.results).to.deep.equal([{ status: 200 }]);
  });

  it('takes 500 items in one request', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 500; index++) ids.push((await addItem(caller.userId)).id);
    const response = await post({ ids, archived: true });
    expect(response.body).to.include({ succeeded: 500, failed: 0 });
    expect([...world.media.items.values()].filter((record) => record.archived === true)).to.have.length(500);
  });

  for (const [what, body] of [
    ['no ids', { ids: [], favorite: true }],
    ['501 ids', { ids: Array.from({ length: 501 }, () => ulid()), favorite: true }],
    ['an id twice', { ids: ['01JD8X2M6Q7T9W3Y5A7C9E1G3K', '01JD8X2M6Q7T9W3Y5A7C9E1G3K'], favorite: true }],
    ['a malformed id', { ids: ['not-an-id'], favorite: true }],
    ['ids that are not an array', { ids: '01JD8X2M6Q7T9W3Y5A7C9E1G3K', favorite: true }],
    ['no change', { ids: ['01JD8X2M6Q7T9W3Y5A7C9E1G3K'] }],
    ['empty tag lists and nothing else', { ids: ['01JD8X2M6Q7T9W3Y5A7C9E1G3K'], addTags: [], removeTags: [] }],
    ['a tag added and removed', { ids: ['01JD8X2M6Q7T9W3Y5A7C9E1G3K'], addTags: ['Beach'], removeTags: ['beach '] }],
    ['51 tags to add', { ids: ['01JD8X2M6Q7T9W3Y5A7C9E1G3K'], addTags: Array.from({ length: 51 }, (_, index) => `t${index}`) }],
    ['a blank tag', { ids: ['01JD8X2M6Q7T9W3Y5A7C9E1G3K'], addTags: ['  '] }],
    ['favorite as a string', { ids: ['01JD8X2M6Q7T9W3Y5A7C9E1G3K'], favorite: 'true' }],
    ['an unknown field (title)', { ids: ['01JD8X2M6Q7T9W3Y5A7C9E1G3K'], title: 'x' }],
  ] as const) {
    it(`400 validation_failed for ${what}; nothing changes`, async () => {
      const item = await addItem(caller.userId);
      const response = await postError(body);
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
      expect((await stored(caller.userId, item.id)).version).to.equal(1);
    });
  }

  for (const bad of badBodies({ ids: ['01JD8X2M6Q7T9W3Y5A7C9E1G3K'], favorite: true })) {
    it(`${bad.status} ${bad.code} for ${bad.what}`, async () => {
      const response = await invoke<ErrorBody>(handler, {
        method: 'POST',
        caller,
        ...(bad.rawBody === undefined ? { body: bad.body } : { rawBody: bad.rawBody }),
        headers: { 'content-type': bad.contentType ?? 'application/json' },
      });
      expect(response.status).to.equal(bad.status);
      expect(response.body.error.code).to.equal(bad.code);
    });
  }

  it('401 without a caller; nothing changes', async () => {
    const item = await addItem(caller.userId);
    const response = await post({ ids: [item.id], favorite: true }, null);
    expect(response.status).to.equal(401);
    expect((await stored(caller.userId, item.id)).version).to.equal(1);
  });
});
