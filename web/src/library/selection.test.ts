import { expect } from 'chai';
import type { components } from '../api/schema';
import { applyBatch, chunks, clicked, EMPTY_SELECTION, keepLoaded, selectAll, summary } from './selection';

type Media = components['schemas']['Media'];
const AT = '2026-11-21T09:30:04.000Z';
function media(id: string, overrides: Partial<Media> = {}): Media {
  return { id, filename: `${id}.jpg`, contentType: 'image/jpeg', size: 1, status: 'ready', type: 'image', createdAt: AT, tags: [], views: 0, favorite: false, archived: false, ...overrides };
}
const ORDER = ['E', 'D', 'C', 'B', 'A'];
const ALL = { type: null, tag: null };
const sorted = (ids: ReadonlySet<string>): string[] => [...ids].sort();

describe('web library: selecting items and changing them at once', () => {
  it('a click toggles one item and becomes the anchor', () => {
    const one = clicked(EMPTY_SELECTION, 'D', ORDER, false);
    expect(sorted(one.ids)).to.deep.equal(['D']);
    expect(one.anchor).to.equal('D');
    const two = clicked(one, 'B', ORDER, false);
    expect(sorted(two.ids)).to.deep.equal(['B', 'D']);
    expect(sorted(clicked(two, 'D', ORDER, false).ids)).to.deep.equal(['B']);
  });

  it('shift-click adds the range from the anchor, either way, keeping what was selected', () => {
    const start = clicked(clicked(EMPTY_SELECTION, 'A', ORDER, false), 'D', ORDER, false);
    expect(sorted(clicked(start, 'B', ORDER, true).ids)).to.deep.equal(['A', 'B', 'C', 'D']);
    const fromTop = clicked(EMPTY_SELECTION, 'E', ORDER, false);
    expect(sorted(clicked(fromTop, 'C', ORDER, true).ids)).to.deep.equal(['C', 'D', 'E']);
    expect(sorted(clicked(EMPTY_SELECTION, 'C', ORDER, true).ids), 'no anchor yet: a plain toggle').to.deep.equal(['C']);
  });

  it('select all takes what is loaded; keepLoaded drops what left the list', () => {
    const all = selectAll(ORDER);
    expect(sorted(all.ids)).to.deep.equal(['A', 'B', 'C', 'D', 'E']);
    const kept = keepLoaded({ ids: new Set(['A', 'C']), anchor: 'A' }, ['E', 'C']);
    expect(sorted(kept.ids)).to.deep.equal(['C']);
    expect(kept.anchor).to.equal(null);
    const same = { ids: new Set(['C']), anchor: 'C' };
    expect(keepLoaded(same, ORDER)).to.equal(same);
  });

  it('chunks ids into requests of at most 500', () => {
    const ids = Array.from({ length: 1201 }, (_, index) => String(index));
    expect(chunks(ids).map((chunk) => chunk.length)).to.deep.equal([500, 500, 201]);
    expect(chunks([])).to.deep.equal([]);
  });

  it('applies the results: changed items only, tags as the API changes them, gone when they leave the view', () => {
    const items = [media('C', { tags: ['old', 'beach'] }), media('B'), media('A')];
    const after = applyBatch(items, ['C', 'B', 'A'], [{ status: 200 }, { status: 404, error: { code: 'media_not_found', message: 'x' } }, { status: 200 }], { addTags: [' Trip '], removeTags: ['old'], favorite: true }, ALL);
    expect(after.map((item) => [item.id, item.tags, item.favorite])).to.deep.equal([
      ['C', ['beach', 'trip'], true],
      ['B', [], false],
      ['A', ['trip'], true],
    ]);
    expect(applyBatch(items, ['C', 'A'], [{ status: 200 }, { status: 200 }], { archived: true }, ALL).map((item) => item.id)).to.deep.equal(['B']);
    const archive = [media('C', { archived: true }), media('B', { archived: true })];
    expect(applyBatch(archive, ['B'], [{ status: 200 }], { archived: false }, { ...ALL, view: 'archive' }).map((item) => item.id)).to.deep.equal(['C']);
    expect(applyBatch(archive, ['B'], [{ status: 200 }], { favorite: true }, { ...ALL, view: 'archive' }).map((item) => item.id)).to.deep.equal(['C', 'B']);
  });

  it('says how many changed, and why the others did not', () => {
    expect(summary([{ status: 200 }, { status: 200 }])).to.equal('2 items changed.');
    expect(summary([{ status: 200 }, { status: 404, error: { code: 'media_not_found', message: '' } }, { status: 400, error: { code: 'too_many_tags', message: '' } }])).to.equal(
      '1 item changed; 2 items could not be (deleted meanwhile, at most 50 tags per item).',
    );
  });
});
