/** Records the tests (and local tools) write straight into the stores. */
import { ulid } from 'ulid';
import type { MediaRecord } from '../../shared/stores/media';

/**
 * A media item as createMedia writes it, pending its upload: a small JPEG image created now,
 * with no hash unless `fields` gives one. `fields` replaces any default (and adds anything else).
 */
export function pendingMediaRecord(userId: string, fields: Partial<MediaRecord> = {}): MediaRecord {
  const now = new Date().toISOString();
  return {
    id: ulid(),
    userId,
    filename: 'photo.jpg',
    contentType: 'image/jpeg',
    size: 4,
    // Where createMedia puts it, so a record has the same key order whoever built it.
    ...('sha256' in fields ? { sha256: fields.sha256 } : {}),
    status: 'pending',
    type: 'image',
    createdAt: now,
    updatedAt: now,
    title: '',
    description: '',
    tags: [],
    views: 0,
    version: 1,
    ...fields,
  };
}
