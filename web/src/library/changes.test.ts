import { expect } from 'chai';
import type { components } from '../api/schema';
import type { LiveEvent } from '../live/live';
import { applyEvent, mergeFirstPage, type ListFilter } from './changes';

type Media = components['schemas']['Media'];

const AT = '2026-11-21T09:30:04.000Z';
const ALL: ListFilter = { type: null, tag: null };

/** Ids sort as the list does: a later letter is newer. */
function media(id: string, overrides: Partial<Media> = {}): Media {
  return { id: `01JD8X${id.padEnd(20, '0')}`, filename: `${id}.jpg`, contentType: 'image/jpeg', size: 1, status: 'ready', type: 'image', createdAt: AT, tags: [], views: 0, ...overrides };
}
const ids = (items: Media[]): string[] => items.map((item) => item.id.slice(6, 7));
const ready = (item: Media): LiveEvent => ({ type: 'media.ready', id: `e-${item.id}`, at: AT, media: item });

describe('web library: live changes to the loaded list', () => {
  describe('media.ready', () => {
    it('replaces the pending placeholder with the pushed item, thumbnails and all', () => {
      const pending = media('C', { status: 'pending' });
      const pushed = media('C', { thumbnails: { small: 's', large: 'l' }, width: 4, height: 3 });
      const items = applyEvent({ items: [media('D'), pending, media('B')], cursor: null }, ready(pushed), ALL);
      expect(items[1]).to.deep.equal(pushed);
      expect(ids(items)).to.deep.equal(['D', 'C', 'B']);
    });

    it('inserts an item uploaded elsewhere at its place, newest first', () => {
      expect(ids(applyEvent({ items: [media('D'), media('B')], cursor: null }, ready(media('C')), ALL))).to.deep.equal(['D', 'C', 'B']);
      expect(ids(applyEvent({ items: [media('D'), media('B')], cursor: null }, ready(media('E')), ALL))).to.deep.equal(['E', 'D', 'B']);
      expect(ids(applyEvent({ items: [media('D'), media('B')], cursor: null }, ready(media('A')), ALL))).to.deep.equal(['D', 'B', 'A']);
      expect(ids(applyEvent({ items: [], cursor: null }, ready(media('A')), ALL))).to.deep.equal(['A']);
    });

    it('leaves an item older than everything loaded to its own page', () => {
      const list = { items: [media('D'), media('C')], cursor: 'next' };
      expect(applyEvent(list, ready(media('A')), ALL)).to.equal(list.items);
      expect(ids(applyEvent(list, ready(media('E')), ALL))).to.deep.equal(['E', 'D', 'C']);
    });

    it('keeps out an item the filter does not show', () => {
      const list = { items: [media('D')], cursor: null };
      expect(applyEvent(list, ready(media('E', { type: 'video' })), { type: 'image', tag: null })).to.equal(list.items);
      expect(applyEvent(list, ready(media('E')), { type: null, tag: 'beach' })).to.equal(list.items);
      expect(ids(applyEvent(list, ready(media('E', { tags: ['beach'] })), { type: null, tag: 'beach' }))).to.deep.equal(['E', 'D']);
    });
  });

  it('media.rejected shows the reason on the item, without thumbnails', () => {
    const list = { items: [media('C', { status: 'pending' })], cursor: null };
    const [item] = applyEvent(list, { type: 'media.rejected', id: 'e1', at: AT, mediaId: media('C').id, reason: 'type_mismatch' }, ALL);
    expect(item).to.include({ status: 'rejected', rejectReason: 'type_mismatch' });
    expect(item).to.not.have.property('thumbnails');
  });

  it('media.deleted removes the item; an unknown id changes nothing', () => {
    const list = { items: [media('C'), media('B')], cursor: null };
    expect(ids(applyEvent(list, { type: 'media.deleted', id: 'e1', at: AT, mediaId: media('C').id }, ALL))).to.deep.equal(['B']);
    expect(applyEvent(list, { type: 'media.deleted', id: 'e2', at: AT, mediaId: media('Z').id }, ALL)).to.equal(list.items);
  });

  describe('metadata.updated', () => {
    const updated = (id: string, title: string, tags: string[]): LiveEvent => ({ type: 'metadata.updated', id: `m-${id}-${title}`, at: AT, mediaId: media(id).id, etag: '"2"', title, description: '', tags });

    it('updates the title (the thumbnail’s alt text) and the tags', () => {
      const [item] = applyEvent({ items: [media('C')], cursor: null }, updated('C', 'Calanques', ['beach']), ALL);
      expect(item).to.include({ title: 'Calanques' });
      expect(item?.tags).to.deep.equal(['beach']);
      const [cleared] = applyEvent({ items: [media('C', { title: 'Old' })], cursor: null }, updated('C', '', []), ALL);
      expect(cleared).to.not.have.property('title');
    });

    it('under a tag search, an item that lost the tag leaves the list', () => {
      expect(applyEvent({ items: [media('C', { tags: ['beach'] })], cursor: null }, updated('C', '', []), { type: null, tag: 'beach' })).to.deep.equal([]);
    });
  });

  it('analysis.finished and session.revoked leave the list alone', () => {
    const list = { items: [media('C')], cursor: null };
    expect(applyEvent(list, { type: 'analysis.finished', id: 'a', at: AT, analysisId: media('X').id, mediaId: media('C').id, status: 'succeeded' }, ALL)).to.equal(list.items);
    expect(applyEvent(list, { type: 'session.revoked', id: 's', at: AT, sessionId: media('S').id, reason: 'revoked' }, ALL)).to.equal(list.items);
  });

  describe('catching up after a reconnect (mergeFirstPage)', () => {
    it('takes the fresh page as the whole list when it is the whole list', () => {
      const merged = mergeFirstPage({ items: [media('D'), media('C', { status: 'pending' }), media('B')], cursor: null }, [media('E'), media('C'), media('B')], null);
      expect(ids(merged.items)).to.deep.equal(['E', 'C', 'B']);
      expect(merged.items[1]?.status).to.equal('ready');
      expect(merged.cursor).to.equal(null);
    });

    it('keeps the loaded items older than the page, and the cursor after them', () => {
      const merged = mergeFirstPage({ items: [media('F'), media('E'), media('C'), media('B'), media('A')], cursor: 'after-A' }, [media('G'), media('F'), media('C')], 'after-C');
      // E was deleted meanwhile (within the page's span); B and A were beyond it.
      expect(ids(merged.items)).to.deep.equal(['G', 'F', 'C', 'B', 'A']);
      expect(merged.cursor).to.equal('after-A');
    });

    it('when the page covers everything loaded, continues from the page’s cursor', () => {
      const merged = mergeFirstPage({ items: [media('C'), media('B')], cursor: null }, [media('E'), media('D'), media('C'), media('B')], 'after-B');
      expect(ids(merged.items)).to.deep.equal(['E', 'D', 'C', 'B']);
      expect(merged.cursor).to.equal('after-B');
    });
  });
});
