import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { badBodies } from '../../local/test/badInput';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';
import type { MediaRecord } from '../../shared/stores/media';

interface Metadata {
  width: number | null;
  height: number | null;
  title: string;
  description: string;
  tags: string[];
  [field: string]: unknown;
}
interface ErrorBody {
  error: { code: string; details?: Array<{ path: string }> };
}

const valid = { title: 'Eiffel Tower' };

describe('PATCH /v1/media/{id}/metadata (updateMetadata)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: ulid(), sessionId: ulid() };
  const stranger = { userId: ulid(), sessionId: ulid() };
  let item: MediaRecord;

  async function addItem(userId: string): Promise<MediaRecord> {
    const record = pendingMediaRecord(userId, { filename: 'eiffel.jpg', size: 10, sha256: randomBytes(32).toString('hex') });
    await world.media.createPending(record);
    return record;
  }

  beforeEach(async () => {
    world = handlerWorld();
    handler = loadHandler('functions/metadata/updateMetadata', world);
    item = await addItem(caller.userId);
  });

  const patch = (body: unknown, id = item.id, who: { userId: string; sessionId: string } = caller) =>
    invoke<Metadata>(handler, { method: 'PATCH', body, caller: who, pathParameters: { id } });
  const patchError = (body: unknown, id = item.id, who: { userId: string; sessionId: string } = caller) =>
    invoke<ErrorBody>(handler, { method: 'PATCH', body, caller: who, pathParameters: { id } });
  const stored = async (): Promise<MediaRecord> => (await world.media.get(caller.userId, item.id)) as MediaRecord;

  it('200 with the metadata (exact shape); title and description trimmed and stored', async () => {
    const response = await patch({ title: '  Eiffel Tower \n', description: '\tFrom the Trocadéro  ' });
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ width: null, height: null, title: 'Eiffel Tower', description: 'From the Trocadéro', tags: [], favorite: false, archived: false });
    const record = await stored();
    expect(record.title).to.equal('Eiffel Tower');
    expect(record.description).to.equal('From the Trocadéro');
  });

  describe('If-Match (optimistic concurrency for read-modify-write of tags)', () => {
    const patchIf = (ifMatch: string, body: unknown) => invoke<Metadata & ErrorBody>(handler, { method: 'PATCH', body, caller, pathParameters: { id: item.id }, headers: { 'if-match': ifMatch } });

    it('answers with the new ETag, and applies a change sent with the current one', async () => {
      const first = await patch({ tags: ['a'] });
      expect(first.headers['etag']).to.equal(`"${item.version + 1}"`);
      const second = await patchIf(first.headers['etag'] as string, { tags: ['a', 'b'] });
      expect(second.status).to.equal(200);
      expect(second.headers['etag']).to.equal(`"${item.version + 2}"`);
      expect((await stored()).tags).to.deep.equal(['a', 'b']);
    });

    it('accepts * and a list naming the current version', async () => {
      expect((await patchIf('*', { title: 'x' })).status).to.equal(200);
      expect((await patchIf(`"99", "${item.version + 1}"`, { title: 'y' })).status).to.equal(200);
    });

    for (const ifMatch of ['"1"', 'W/"1"', '1', '"abc"', '', '"0"']) {
      it(`412 precondition_failed for If-Match ${JSON.stringify(ifMatch)} once the item has changed (or never issued); nothing changes`, async () => {
        await patch({ tags: ['kept'] });
        const response = await patchIf(ifMatch, { tags: ['lost'] });
        expect(response.status).to.equal(412);
        expect(response.body.error.code).to.equal('precondition_failed');
        expect((await stored()).tags).to.deep.equal(['kept']);
      });
    }

    it('404, not 412, for another user’s item', async () => {
      const theirs = await addItem(stranger.userId);
      const response = await invoke<ErrorBody>(handler, { method: 'PATCH', body: { tags: ['x'] }, caller, pathParameters: { id: theirs.id }, headers: { 'if-match': '"1"' } });
      expect(response.status).to.equal(404);
    });
  });

  it('the processed fields come back with the change; nothing internal leaks', async () => {
    await world.media.markReady(item, { width: 480, height: 640, orientation: 1, thumbnails: { small: 'media/x/thumb-small.webp', large: 'media/x/thumb-large.webp' } }, '"etag-x"', new Date().toISOString());
    const response = await patch({ tags: ['paris'] });
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ width: 480, height: 640, orientation: 1, title: '', description: '', tags: ['paris'], favorite: false, archived: false });
  });

  it('tags are trimmed, lower-cased, Unicode-normalised and deduplicated', async () => {
    const response = await patch({ tags: ['  Beach ', 'beach', 'BEACH', 'Sea', 'Cafe\u0301', 'Caf\u00e9'] });
    expect(response.status).to.equal(200);
    expect(response.body.tags).to.deep.equal(['beach', 'sea', 'caf\u00e9']);
    expect((await stored()).tags).to.deep.equal(['beach', 'sea', 'caf\u00e9']);
    expect(await world.media.listTags(caller.userId)).to.deep.equal([
      { tag: 'beach', count: 1 },
      { tag: 'caf\u00e9', count: 1 },
      { tag: 'sea', count: 1 },
    ]);
  });

  it('tags and titles lose bidi controls (tags also direction marks) before they are measured and stored', async () => {
    const response = await patch({ tags: ['\u202ebeach', 'be\u200fach', '\u2066sea\u2069'], title: 'Paris \u202eevil', description: '\u05e9\u05dc\u05d5\u05dd\u200f!' });
    expect(response.status).to.equal(200);
    expect(response.body.tags).to.deep.equal(['beach', 'sea']);
    expect(response.body.title).to.equal('Paris evil');
    expect(response.body.description, 'right-to-left text keeps its marks').to.equal('\u05e9\u05dc\u05d5\u05dd\u200f!');
    const fifty = await patch({ tags: ['\ufb2c'.repeat(16)] });
    expect(fifty.status, '16 characters that NFC stores as 48 fit').to.equal(200);
    expect(fifty.body.tags[0]).to.have.length(48);
  });

  it('tag counts follow the changes (added, removed, shared by two items, cleared)', async () => {
    const second = await addItem(caller.userId);
    expect((await patch({ tags: ['a', 'b'] })).status).to.equal(200);
    expect((await patch({ tags: ['b'] }, second.id)).status).to.equal(200);
    expect(await world.media.listTags(caller.userId)).to.deep.equal([
      { tag: 'b', count: 2 },
      { tag: 'a', count: 1 },
    ]);
    expect((await patch({ tags: ['b', 'c'] })).status).to.equal(200);
    expect(await world.media.listTags(caller.userId)).to.deep.equal([
      { tag: 'b', count: 2 },
      { tag: 'c', count: 1 },
    ]);
    expect((await patch({ tags: [] })).status).to.equal(200);
    expect(await world.media.listTags(caller.userId)).to.deep.equal([{ tag: 'b', count: 1 }]);
    expect([...world.media.tagEntries]).to.deep.equal([`${caller.userId}/b/${second.id}`]);
    expect((await stored()).dirtyTags).to.equal(undefined);
  });

  it('a change of one field leaves the others as they were', async () => {
    await patch({ title: 'T', description: 'D', tags: ['x'] });
    const response = await patch({ description: 'new' });
    expect(response.body).to.deep.include({ title: 'T', description: 'new', tags: ['x'] });
    expect(await world.media.listTags(caller.userId)).to.deep.equal([{ tag: 'x', count: 1 }]);
  });

  it('accepts the limits: 50 tags of 50 characters, a 200-character title, a 2000-character description', async () => {
    const tags = Array.from({ length: 50 }, (_, i) => `${String(i).padStart(2, '0')}${'t'.repeat(48)}`);
    const response = await patch({ tags, title: ` ${'t'.repeat(200)} `, description: 'd'.repeat(2000) });
    expect(response.status).to.equal(200);
    expect(response.body.tags).to.have.length(50);
    expect(response.body.title).to.have.length(200);
    expect((await world.media.listTags(caller.userId))).to.have.length(50);
  });

  for (const [what, body] of [
    ['51 tags', { tags: Array.from({ length: 51 }, (_, i) => `tag${i}`) }],
    ['a tag of 51 characters', { tags: ['t'.repeat(51)] }],
    // The audit's case: 50 characters that NFC stores as 150.
    ['a tag that NFC makes 150 characters long', { tags: ['\ufb2c'.repeat(50)] }],
    ['a title that NFC makes longer than 200 characters', { title: '\ufb2c'.repeat(70) }],
    ['an empty tag', { tags: ['ok', ''] }],
    ['a blank tag', { tags: ['   '] }],
    ['a tag with a control character', { tags: ['bad\u0007tag'] }],
    ['a tag that is not a string', { tags: [1] }],
    ['tags that are not an array', { tags: 'beach' }],
    ['a title of 201 characters', { title: 't'.repeat(201) }],
    ['a description of 2001 characters', { description: 'd'.repeat(2001) }],
    ['a control character in the title', { title: 'Eiffel\u0000Tower' }],
    ['a line break inside the title', { title: 'Eiffel\nTower' }],
    ['a null title', { title: null }],
    ['an unknown field (width)', { title: 'x', width: 100 }],
    ['an unknown field (status)', { status: 'ready' }],
    ['an unknown field (views)', { tags: ['x'], views: 1000 }],
    ['an empty body {}', {}],
    ['favorite as a string', { favorite: 'true' }],
    ['favorite as a number', { favorite: 1 }],
    ['a null favorite', { favorite: null }],
    ['archived as a string', { archived: 'yes' }],
    ['archived as an object', { archived: {} }],
  ] as const) {
    it(`400 validation_failed for ${what}; nothing changes`, async () => {
      const response = await patchError(body);
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
      const record = await stored();
      expect(record.version).to.equal(1);
      expect(record).to.deep.include({ title: '', description: '', tags: [], status: 'pending' });
      expect(world.media.tagCounts.size).to.equal(0);
    });
  }

  for (const bad of badBodies(valid)) {
    it(`${bad.status} ${bad.code} for ${bad.what}`, async () => {
      const response = await invoke<ErrorBody>(handler, {
        method: 'PATCH',
        caller,
        pathParameters: { id: item.id },
        ...(bad.rawBody === undefined ? { body: bad.body } : { rawBody: bad.rawBody }),
        headers: { 'content-type': bad.contentType ?? 'application/json' },
      });
      expect(response.status).to.equal(bad.status);
      expect(response.body.error.code).to.equal(bad.code);
      expect((await stored()).version).to.equal(1);
    });
  }

  it('400 for a request without a body', async () => {
    const response = await invoke<ErrorBody>(handler, { method: 'PATCH', caller, pathParameters: { id: item.id } });
    expect(response.status).to.equal(400);
    expect(response.body.error.code).to.equal('validation_failed');
  });

  it('favorite and archived: set, shown, cleared, each with the version; alone or with other fields', async () => {
    const faved = await patch({ favorite: true });
    expect(faved.status).to.equal(200);
    expect(faved.body).to.include({ favorite: true, archived: false });
    expect(faved.headers['etag']).to.equal('"2"');
    expect(await stored()).to.deep.include({ favorite: true, version: 2 });
    const both = await patch({ archived: true, title: 'Kept' });
    expect(both.body).to.include({ favorite: true, archived: true, title: 'Kept' });
    const cleared = await patch({ favorite: false, archived: false });
    expect(cleared.body).to.include({ favorite: false, archived: false, title: 'Kept' });
    const record = await stored();
    expect(record).to.not.have.any.keys('favorite', 'archived');
    expect(world.media.flagEntries.size).to.equal(0);
  });

  it('404 media_not_found for another user’s item: no flag is set on it', async () => {
    const theirs = await addItem(stranger.userId);
    for (const body of [{ favorite: true }, { archived: true }, { favorite: false, archived: false }]) {
      const response = await patchError(body, theirs.id);
      expect(response.status).to.equal(404);
      expect(response.body.error.code).to.equal('media_not_found');
    }
    expect(world.media.items.get(`${stranger.userId}/${theirs.id}`)).to.not.have.any.keys('favorite', 'archived');
    expect(world.media.flagEntries.size).to.equal(0);
  });

  it('404 media_not_found for another user’s item, which does not change', async () => {
    const theirs = await addItem(stranger.userId);
    const before = structuredClone(world.media.items.get(`${stranger.userId}/${theirs.id}`));
    const response = await patchError({ title: 'mine now', tags: ['stolen'] }, theirs.id);
    expect(response.status).to.equal(404);
    expect(response.body.error.code).to.equal('media_not_found');
    expect(world.media.items.get(`${stranger.userId}/${theirs.id}`)).to.deep.equal(before);
    expect(world.media.tagCounts.size).to.equal(0);
  });

  it('404 media_not_found for an unknown id and for an item being deleted', async () => {
    expect((await patchError(valid, ulid())).status).to.equal(404);
    await world.media.beginDelete(await stored());
    const response = await patchError(valid);
    expect(response.status).to.equal(404);
    expect(response.body.error.code).to.equal('media_not_found');
  });

  it('400 validation_failed for a malformed id', async () => {
    const response = await patchError(valid, 'not-an-id');
    expect(response.status).to.equal(400);
    expect(response.body.error.details?.[0]?.path).to.equal('path.id');
  });

  it('401 without a caller; nothing changes', async () => {
    const response = await invoke<ErrorBody>(handler, { method: 'PATCH', body: valid, pathParameters: { id: item.id } });
    expect(response.status).to.equal(401);
    expect(response.body.error.code).to.equal('unauthenticated');
    expect((await stored()).title).to.equal('');
  });
});
