/**
 * Saving metadata edits safely: every PATCH carries the ETag it was based on; when someone else
 * changed the item in the meantime (412), the current version is read and the person's change is
 * applied again on top of it, so neither edit is lost.
 */
import type { Api } from '../api/client';
import type { components } from '../api/schema';
import { describeError, type ApiErrorBody } from '../api/errors';

export type Metadata = components['schemas']['Metadata'];
export type MetadataChange = components['schemas']['UpdateMetadataRequest'];

export interface Versioned {
  metadata: Metadata;
  etag: string;
}

export type SaveResult = { ok: true; value: Versioned; reapplied: boolean } | { ok: false; message: string };

export async function loadMetadata(api: Api, id: string): Promise<Versioned | { message: string }> {
  const { data, error, response } = await api.GET('/v1/media/{id}/metadata', { params: { path: { id } } });
  if (data === undefined) return { message: describeError(response.status, error as ApiErrorBody) };
  return { metadata: data, etag: response.headers.get('etag') ?? '*' };
}

/** A tag change expressed against the current tags, so it can be re-applied to a newer version. */
export interface TagEdit {
  add?: string[];
  remove?: string[];
}

export function applyTagEdit(tags: string[], edit: TagEdit): string[] {
  const removed = new Set((edit.remove ?? []).map(normaliseTag));
  const next = tags.filter((tag) => !removed.has(tag));
  for (const tag of (edit.add ?? []).map(normaliseTag)) if (tag !== '' && !next.includes(tag)) next.push(tag);
  return next;
}

/** What the API does to a tag (trim, lower case, NFC), so the screen shows what will be stored. */
export const normaliseTag = (tag: string): string => tag.trim().toLowerCase().normalize('NFC');

export async function saveMetadata(api: Api, id: string, current: Versioned, change: { fields?: Omit<MetadataChange, 'tags'>; tags?: TagEdit }): Promise<SaveResult> {
  let base = current;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const body: MetadataChange = { ...(change.fields ?? {}), ...(change.tags ? { tags: applyTagEdit(base.metadata.tags, change.tags) } : {}) };
    const { data, error, response } = await api.PATCH('/v1/media/{id}/metadata', { params: { path: { id }, header: { 'If-Match': base.etag } }, body });
    if (data !== undefined) return { ok: true, value: { metadata: data, etag: response.headers.get('etag') ?? '*' }, reapplied: attempt > 0 };
    if (response.status !== 412) return { ok: false, message: describeError(response.status, error as ApiErrorBody) };
    const fresh = await loadMetadata(api, id);
    if ('message' in fresh) return { ok: false, message: fresh.message };
    base = fresh;
  }
  return { ok: false, message: describeError(412, { error: { code: 'precondition_failed' } }) };
}
