import { expect } from 'chai';
import sinon from 'sinon';
import type { Api } from '../api/client';
import { applyTagEdit, loadMetadata, normaliseTag, saveMetadata, type Metadata, type MetadataChange, type Versioned } from './metadata';

interface PatchInit {
  params: { path: { id: string }; header: { 'If-Match': string } };
  body: MetadataChange;
}
interface GetInit {
  params: { path: { id: string } };
}
interface FetchResult {
  data?: Metadata;
  error?: unknown;
  response: Response;
}

function metadata(tags: string[], title = 'Beach'): Metadata {
  return { width: 4000, height: 3000, title, description: '', tags, favorite: false, archived: false };
}

const ok = (data: Metadata, etag: string): FetchResult => ({ data, error: undefined, response: new Response(null, { status: 200, headers: { etag } }) });
const refused = (status: number, code: string): FetchResult => ({ data: undefined, error: { error: { code, message: 'raw' } }, response: new Response(null, { status }) });

function fakeApi() {
  const patch = sinon.stub<[string, PatchInit], Promise<FetchResult>>();
  const get = sinon.stub<[string, GetInit], Promise<FetchResult>>();
  return { api: { PATCH: patch, GET: get } as unknown as Api, patch, get };
}

const SOMEONE_CHANGED = 'Someone changed this in the meantime.';

describe('web metadata', () => {
  describe('normaliseTag', () => {
    it('trims, lower-cases and composes (NFC) like the API', () => {
      expect(normaliseTag('  Beach ')).to.equal('beach');
      expect(normaliseTag('ÉTÉ')).to.equal('été');
      expect(normaliseTag('cafe\u0301')).to.equal('caf\u00e9');
      expect(normaliseTag('   ')).to.equal('');
    });
  });

  describe('applyTagEdit', () => {
    it('adds normalised tags at the end, once', () => {
      expect(applyTagEdit(['beach'], { add: [' Sunset ', 'BEACH', 'sunset', 'cafe\u0301'] })).to.deep.equal(['beach', 'sunset', 'caf\u00e9']);
    });

    it('removes tags however they were typed', () => {
      expect(applyTagEdit(['beach', 'sunset', 'dog'], { remove: ['  Sunset'] })).to.deep.equal(['beach', 'dog']);
    });

    it('ignores empty tags and leaves the list it was given alone', () => {
      const tags = ['beach'];
      expect(applyTagEdit(tags, { add: ['', '  '], remove: ['sea'] })).to.deep.equal(['beach']);
      applyTagEdit(tags, { add: ['dog'], remove: ['beach'] });
      expect(tags).to.deep.equal(['beach']);
    });

    it('can remove and add in one edit', () => {
      expect(applyTagEdit(['beach', 'dogs'], { remove: ['dogs'], add: ['dog'] })).to.deep.equal(['beach', 'dog']);
    });
  });

  describe('loadMetadata', () => {
    it('answers the metadata with its ETag', async () => {
      const { api, get } = fakeApi();
      get.resolves(ok(metadata(['beach']), '"3"'));
      expect(await loadMetadata(api, 'm1')).to.deep.equal({ metadata: metadata(['beach']), etag: '"3"' });
      expect(get.firstCall.args).to.deep.equal(['/v1/media/{id}/metadata', { params: { path: { id: 'm1' } } }]);
    });

    it('answers an error in words', async () => {
      const { api, get } = fakeApi();
      get.resolves(refused(404, 'media_not_found'));
      expect(await loadMetadata(api, 'm1')).to.deep.equal({ message: 'This item no longer exists.' });
    });
  });

  describe('saveMetadata', () => {
    const current: Versioned = { metadata: metadata(['beach', 'dog']), etag: '"3"' };

    it('sends the change with If-Match and answers the saved version', async () => {
      const { api, patch, get } = fakeApi();
      patch.resolves(ok(metadata(['beach', 'sunset'], 'Evening'), '"4"'));
      const result = await saveMetadata(api, 'm1', current, { fields: { title: 'Evening' }, tags: { add: ['Sunset'], remove: ['dog'] } });
      expect(result).to.deep.equal({ ok: true, value: { metadata: metadata(['beach', 'sunset'], 'Evening'), etag: '"4"' }, reapplied: false });
      expect(patch.callCount).to.equal(1);
      expect(patch.firstCall.args).to.deep.equal([
        '/v1/media/{id}/metadata',
        { params: { path: { id: 'm1' }, header: { 'If-Match': '"3"' } }, body: { title: 'Evening', tags: ['beach', 'sunset'] } },
      ]);
      expect(get.called).to.equal(false);
    });

    it('does not send tags when only a field changed (so nobody else\'s tags are overwritten)', async () => {
      const { api, patch } = fakeApi();
      patch.resolves(ok(metadata(['beach', 'dog'], 'Evening'), '"4"'));
      await saveMetadata(api, 'm1', current, { fields: { title: 'Evening' } });
      expect(patch.firstCall.args[1].body).to.deep.equal({ title: 'Evening' });
    });

    it('on 412 reloads and applies the same edit to the new tags, with the new ETag', async () => {
      const { api, patch, get } = fakeApi();
      // Meanwhile someone else added "sea" and removed "beach".
      const theirs = metadata(['dog', 'sea'], 'Their title');
      patch.onFirstCall().resolves(refused(412, 'precondition_failed'));
      get.resolves(ok(theirs, '"7"'));
      patch.onSecondCall().resolves(ok(metadata(['sea', 'sunset'], 'Evening'), '"8"'));

      const result = await saveMetadata(api, 'm1', current, { fields: { title: 'Evening' }, tags: { add: ['Sunset'], remove: ['dog'] } });

      expect(get.callCount).to.equal(1);
      expect(patch.callCount).to.equal(2);
      expect(patch.secondCall.args[1]).to.deep.equal({
        params: { path: { id: 'm1' }, header: { 'If-Match': '"7"' } },
        body: { title: 'Evening', tags: ['sea', 'sunset'] },
      });
      // Not the list the edit was first made against: "beach" stays removed, "sea" is kept.
      expect(patch.secondCall.args[1].body.tags).to.not.include('beach');
      expect(result).to.deep.equal({ ok: true, value: { metadata: metadata(['sea', 'sunset'], 'Evening'), etag: '"8"' }, reapplied: true });
    });

    it('gives up after 3 attempts', async () => {
      const { api, patch, get } = fakeApi();
      patch.resolves(refused(412, 'precondition_failed'));
      let version = 4;
      get.callsFake(async () => ok(metadata(['beach', `tag${version}`]), `"${version++}"`));
      const result = await saveMetadata(api, 'm1', current, { tags: { add: ['sunset'] } });
      expect(result).to.deep.equal({ ok: false, message: SOMEONE_CHANGED });
      expect(patch.callCount).to.equal(3);
      expect(patch.args.map(([, init]) => init.params.header['If-Match'])).to.deep.equal(['"3"', '"4"', '"5"']);
      expect(patch.args.map(([, init]) => init.body.tags)).to.deep.equal([
        ['beach', 'dog', 'sunset'],
        ['beach', 'tag4', 'sunset'],
        ['beach', 'tag5', 'sunset'],
      ]);
    });

    for (const [status, code, message] of [
      [404, 'media_not_found', 'This item no longer exists.'],
      [400, 'validation_failed', 'Some of what you entered is not valid.'],
      [503, 'service_unavailable', 'The service is busy right now. Please try again in a moment.'],
      [500, 'internal_error', 'Something went wrong on our side. Nothing was lost; please try again.'],
    ] as const) {
      it(`answers a ${status} in words, without retrying`, async () => {
        const { api, patch, get } = fakeApi();
        patch.resolves(refused(status, code));
        expect(await saveMetadata(api, 'm1', current, { fields: { title: 'Evening' } })).to.deep.equal({ ok: false, message });
        expect(patch.callCount).to.equal(1);
        expect(get.called).to.equal(false);
      });
    }

    it('answers in words when the item is gone by the time it is reloaded', async () => {
      const { api, patch, get } = fakeApi();
      patch.resolves(refused(412, 'precondition_failed'));
      get.resolves(refused(404, 'media_not_found'));
      expect(await saveMetadata(api, 'm1', current, { tags: { add: ['sunset'] } })).to.deep.equal({ ok: false, message: 'This item no longer exists.' });
      expect(patch.callCount).to.equal(1);
    });
  });
});
