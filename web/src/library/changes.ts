/**
 * What a live event, or a catch-up after the socket was down, does to the library's loaded list.
 * The list is newest first: ids are ULIDs and every listing (all, by type, by tag) is ordered by
 * id, descending, so an item's place follows from its id alone.
 */
import type { components } from '../api/schema';
import type { LiveEvent } from '../live/live';

type Media = components['schemas']['Media'];

/** What the library shows: the timeline (archived items left out), the favourites, or the archive. */
export type LibraryView = 'library' | 'favorites' | 'archive';

export interface ListFilter {
  type: 'image' | 'video' | null;
  tag: string | null;
  /** The timeline when absent. */
  view?: LibraryView;
}

/** The list query of a view (GET /v1/media): favourites include archived ones, as in the archive view's own list. */
export function viewQuery(view: LibraryView): { favorite?: 'true'; archived?: 'include' | 'only' } {
  if (view === 'favorites') return { favorite: 'true', archived: 'include' };
  if (view === 'archive') return { archived: 'only' };
  return {};
}

export interface LoadedList {
  items: Media[];
  /** The next page's cursor: null when everything is loaded. */
  cursor: string | null;
}

export function matchesFilter(item: Pick<Media, 'type' | 'tags' | 'favorite' | 'archived'>, filter: ListFilter): boolean {
  const view = filter.view ?? 'library';
  const inView = view === 'favorites' ? item.favorite : view === 'archive' ? item.archived : !item.archived;
  return inView && (filter.type === null || item.type === filter.type) && (filter.tag === null || item.tags.includes(filter.tag));
}

/**
 * The list after `event`, or the same array when it changes nothing there. An item that is not
 * loaded joins only if it belongs within what is loaded (an older one comes with its page).
 */
export function applyEvent(list: LoadedList, event: LiveEvent, filter: ListFilter): Media[] {
  const { items } = list;
  const at = (id: string): number => items.findIndex((item) => item.id === id);
  const without = (id: string): Media[] => items.filter((item) => item.id !== id);
  const changed = (id: string, change: (item: Media) => Media | null): Media[] => {
    const index = at(id);
    if (index < 0) return items;
    const next = change(items[index] as Media);
    if (next === null) return without(id);
    return items.map((item, position) => (position === index ? next : item));
  };
  switch (event.type) {
    case 'media.ready': {
      const media = event.media;
      if (!matchesFilter(media, filter)) return at(media.id) < 0 ? items : without(media.id);
      if (at(media.id) >= 0) return changed(media.id, () => media);
      return insertInOrder(list, media);
    }
    case 'media.rejected':
      return changed(event.mediaId, (item) => {
        const { thumbnails: _none, ...rest } = item;
        return { ...rest, status: 'rejected', rejectReason: event.reason };
      });
    case 'media.deleted':
      return at(event.mediaId) < 0 ? items : without(event.mediaId);
    case 'metadata.updated':
      return changed(event.mediaId, (item) => {
        const { title: _old, ...rest } = item;
        const next: Media = { ...rest, tags: event.tags, favorite: event.favorite, archived: event.archived, ...(event.title === '' ? {} : { title: event.title }) };
        return matchesFilter(next, filter) ? next : null;
      });
    default:
      return items;
  }
}

/**
 * Whether a metadata change elsewhere may bring an item that is not loaded into this list (it was
 * unarchived, or became a favourite): then the item is read and offered to joinList.
 */
export function mayJoin(list: LoadedList, event: LiveEvent, filter: ListFilter): event is Extract<LiveEvent, { type: 'metadata.updated' }> {
  if (event.type !== 'metadata.updated' || list.items.some((item) => item.id === event.mediaId)) return false;
  const view = filter.view ?? 'library';
  const inView = view === 'favorites' ? event.favorite : view === 'archive' ? event.archived : !event.archived;
  return inView && (filter.tag === null || event.tags.includes(filter.tag));
}

/** The list with `media` at its place, if it belongs to the filter and within what is loaded. */
export function joinList(list: LoadedList, media: Media, filter: ListFilter): Media[] {
  if (!matchesFilter(media, filter) || list.items.some((item) => item.id === media.id)) return list.items;
  return insertInOrder(list, media);
}

function insertInOrder(list: LoadedList, media: Media): Media[] {
  const { items } = list;
  const last = items[items.length - 1];
  if (list.cursor !== null && (last === undefined || media.id < last.id)) return items;
  const index = items.findIndex((item) => item.id < media.id);
  return index < 0 ? [...items, media] : [...items.slice(0, index), media, ...items.slice(index)];
}

/**
 * After a reconnect: the first page read again is the truth for everything it covers (newest
 * down to its last item: changed items replaced, new ones in, deleted ones gone); items loaded
 * beyond it stay as they were, with the cursor that follows them.
 */
export function mergeFirstPage(list: LoadedList, page: Media[], pageCursor: string | null): LoadedList {
  const oldest = page[page.length - 1];
  if (pageCursor === null || oldest === undefined) return { items: page, cursor: pageCursor };
  const older = list.items.filter((item) => item.id < oldest.id);
  return older.length === 0 ? { items: page, cursor: pageCursor } : { items: [...page, ...older], cursor: list.cursor };
}
