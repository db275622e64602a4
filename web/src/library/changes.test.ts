import { expect } from 'chai';
import type { components } from '../api/schema';
import type { LiveEvent } from '../live/live';
import { applyEvent, joinList, mayJoin, mergeFirstPage, type ListFilter } from './changes';

type Media = components['schemas']['Media'];

const AT = '2026-11-21T09:30:04.000Z';
const ALL: ListFilter = { type: null, tag: null };

/** Ids sort as the list does: a later letter is newer. */
function media(id: string, overrides: Partial<Media> = {}): Media {
  return { id: `01JD8X${id.padEnd(20, '0')}`, filename: `${id}.jpg`, contentType: 'image/jpeg', size: 1, status: 'ready', type: 'image', createdAt: AT, tags: [], views: 0, favorite: false, archived: false, ...overrides };
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
    const updated = (id: string, title: string, tags: string[], flags: { favorite?: boolean; archived?: boolean } = {}): LiveEvent => ({
      type: 'metadata.updated',
      id: `m-${id}-${title}`,
      at: AT,
      mediaId: media(id).id,
      etag: '"2"',
      title,
      description: '',
      tags,
      favorite: flags.favorite ?? false,
      archived: flags.archived ?? false,
    });

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

    it('flags: an item archived elsewhere leaves the timeline; one unfavourited leaves the favourites; the archive keeps archived ones', () => {
      const list = { items: [media('C'), media('B', { favorite: true })], cursor: null };
      expect(ids(applyEvent(list, updated('C', '', [], { archived: true }), ALL))).to.deep.equal(['B']);
      const [faved] = applyEvent(list, updated('C', '', [], { favorite: true }), ALL);
      expect(faved).to.include({ favorite: true, archived: false });
      expect(ids(applyEvent(list, updated('B', '', [], {}), { ...ALL, view: 'favorites' }))).to.deep.equal(['C']);
      expect(ids(applyEvent(list, updated('B', '', [], { favorite: true, archived: true }), { ...ALL, view: 'favorites' }))).to.deep.equal(['C', 'B']);
      const archive = { items: [media('C', { archived: true })], cursor: null };
      expect(ids(applyEvent(archive, updated('C', 'x', [], { archived: true }), { ...ALL, view: 'archive' }))).to.deep.equal(['C']);
      expect(applyEvent(archive, updated('C', 'x', [], {}), { ...ALL, view: 'archive' })).to.deep.equal([]);
    });

    it('an item unarchived (or favourited) elsewhere that is not loaded may join: it is read, then joins at its place within what is loaded', () => {
      const list = { items: [media('D'), media('B')], cursor: null };
      expect(mayJoin(list, updated('C', '', [], {}), ALL), 'unarchived').to.equal(true);
      expect(mayJoin(list, updated('C', '', [], { archived: true }), ALL), 'archived').to.equal(false);
      expect(mayJoin(list, updated('D', '', [], {}), ALL), 'loaded already').to.equal(false);
      expect(mayJoin(list, updated('C', '', [], { favorite: true, archived: true }), { ...ALL, view: 'favorites' })).to.equal(true);
      expect(mayJoin(list, updated('C', '', [], {}), { ...ALL, view: 'favorites' })).to.equal(false);
      expect(mayJoin(list, updated('C', '', ['sea'], {}), { ...ALL, tag: 'beach' })).to.equal(false);
      expect(ids(joinList(list, media('C'), ALL))).to.deep.equal(['D', 'C', 'B']);
      expect(joinList(list, media('C', { archived: true }), ALL), 'archived again meanwhile').to.equal(list.items);
      expect(joinList(list, media('C', { type: 'video' }), { ...ALL, type: 'image' })).to.equal(list.items);
      const partial = { items: [media('D'), media('C')], cursor: 'next' };
      expect(joinList(partial, media('A'), ALL), 'older than what is loaded: comes with its page').to.equal(partial.items);
    });

    it('a new upload joins the timeline, never the favourites or the archive', () => {
      const list = { items: [media('B')], cursor: null };
      expect(ids(applyEvent(list, ready(media('C')), ALL))).to.deep.equal(['C', 'B']);
      expect(applyEvent(list, ready(media('C')), { ...ALL, view: 'favorites' })).to.equal(list.items);
      expect(applyEvent(list, ready(media('C')), { ...ALL, view: 'archive' })).to.equal(list.items);
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
