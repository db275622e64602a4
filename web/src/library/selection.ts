/**
 * Selecting items in the library to change them at once: click toggles one, shift-click selects
 * the range from the last clicked item (in the order the grid shows them), "Select all" takes
 * what is loaded. Then one batch request (POST /v1/media/batch, at most 500 ids a request) and
 * its per-item results applied to the loaded list.
 */
import type { components } from '../api/schema';
import { matchesFilter, type ListFilter } from './changes';
import { normaliseTag } from './metadata';

type Media = components['schemas']['Media'];
export type BatchEdit = Omit<components['schemas']['BatchEditMediaRequest'], 'ids'>;
export type BatchResult = components['schemas']['BatchEditMediaResponse']['results'][number];

/** The ids of one batch request at most (the API's limit). */
export const BATCH_LIMIT = 500;

export interface Selection {
  ids: ReadonlySet<string>;
  /** The item clicked last: where a shift-click range starts. */
  anchor: string | null;
}

export const EMPTY_SELECTION: Selection = { ids: new Set(), anchor: null };

/** A click on `id` (with shift: the range from the anchor to it, in `order`, joins the selection). */
export function clicked(selection: Selection, id: string, order: readonly string[], shift: boolean): Selection {
  const ids = new Set(selection.ids);
  const from = selection.anchor === null ? -1 : order.indexOf(selection.anchor);
  const to = order.indexOf(id);
  if (shift && from >= 0 && to >= 0) {
    for (const inRange of order.slice(Math.min(from, to), Math.max(from, to) + 1)) ids.add(inRange);
  } else if (ids.has(id)) {
    ids.delete(id);
  } else {
    ids.add(id);
  }
  return { ids, anchor: id };
}

export function selectAll(order: readonly string[]): Selection {
  return { ids: new Set(order), anchor: null };
}

/** Only what is still loaded stays selected (an item deleted or gone from the view meanwhile). */
export function keepLoaded(selection: Selection, order: readonly string[]): Selection {
  const loaded = new Set(order);
  if ([...selection.ids].every((id) => loaded.has(id))) return selection;
  return { ids: new Set([...selection.ids].filter((id) => loaded.has(id))), anchor: selection.anchor !== null && loaded.has(selection.anchor) ? selection.anchor : null };
}

/** The requests of a batch: `ids` in chunks the API takes. */
export function chunks(ids: readonly string[], size = BATCH_LIMIT): string[][] {
  const out: string[][] = [];
  for (let start = 0; start < ids.length; start += size) out.push(ids.slice(start, start + size));
  return out;
}

/** The loaded list after a batch: each item whose result is 200 changed as asked, and gone when it left the view. */
export function applyBatch(items: Media[], ids: readonly string[], results: readonly BatchResult[], edit: BatchEdit, filter: ListFilter): Media[] {
  const done = new Set(ids.filter((_, index) => results[index]?.status === 200));
  const add = (edit.addTags ?? []).map(normaliseTag);
  const remove = new Set((edit.removeTags ?? []).map(normaliseTag));
  return items.flatMap((item) => {
    if (!done.has(item.id)) return [item];
    const tags = [...item.tags.filter((tag) => !remove.has(tag)), ...add.filter((tag) => !item.tags.includes(tag))];
    const next: Media = { ...item, tags, ...(edit.favorite === undefined ? {} : { favorite: edit.favorite }), ...(edit.archived === undefined ? {} : { archived: edit.archived }) };
    return matchesFilter(next, filter) ? [next] : [];
  });
}

/** What to tell the person: how many changed, and why the others did not. */
export function summary(results: readonly BatchResult[]): string {
  const changed = results.filter((result) => result.status === 200).length;
  const failed = results.length - changed;
  const items = (count: number): string => `${count} item${count === 1 ? '' : 's'}`;
  if (failed === 0) return `${items(changed)} changed.`;
  const reasons = [...new Set(results.flatMap((result) => (result.error === undefined ? [] : [reasonText(result.error.code)])))];
  return `${items(changed)} changed; ${items(failed)} could not be (${reasons.join(', ')}).`;
}

function reasonText(code: string): string {
  if (code === 'media_not_found') return 'deleted meanwhile';
  if (code === 'too_many_tags') return 'at most 50 tags per item';
  return code.replaceAll('_', ' ');
}
