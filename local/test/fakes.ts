/**
 * In-memory implementations of the store interfaces, for unit tests of domain code and
 * handlers. They keep the same conditions as the DynamoDB stores (uniqueness, optimistic
 * versions, conditional rotation); the contract suites in local/test/contracts run the same
 * assertions against both, so the fakes cannot drift from the real thing.
 */
import { createHash } from 'node:crypto';
import { hammingDistance, MAX_SIMILAR_DISTANCE } from '../../shared/analysis/similarity';
import { ulid } from 'ulid';
import type { ContentStore } from '../../shared/content/content';
import type { Clock } from '../../shared/clock';
import type { TokenIssuer } from '../../shared/domain/accounts';
import type { PasswordHasher } from '../../shared/auth/passwords';
import { decodeCursor, encodeCursor } from '../../shared/stores/cursor';
import type { AnalysisQueue, AnalysisRequestMessage } from '../../shared/messaging/analysisRequests';
import type { ConnectionRecord, ConnectionStore } from '../../shared/stores/connections';
import { SESSION_PREFIX, userPartition } from '../../shared/stores/keys';
import {
  DuplicateMedia,
  flagChanges,
  listingFlag,
  matchesQuery,
  OwnerUnavailable,
  VersionConflict,
  type MediaPage,
  type MediaQuery,
  type MediaRecord,
  type MediaStore,
  type ProcessedFields,
  type TagCount,
} from '../../shared/stores/media';
import { flagKey, FLAG_PREFIX, MEDIA_PREFIX, PENDING_SHARDS, pendingShard, statusIndexKey, taggedKey, taggedPrefix, typeIndexKey } from '../../shared/stores/mediaKeys';
import { CredentialsChanged, type SessionPage, type SessionRecord, type SessionStore } from '../../shared/stores/sessions';
import { MediaNoLongerReady, type AnalysisRecord, type AnalysisStore } from '../../shared/stores/analyses';
import { REMEMBERED_HASHES } from '../../shared/stores/sessions';
import { EmailTaken, type Credentials, type LoginThrottleState, type UserProfile, type UserStore } from '../../shared/stores/users';

const clone = <T>(value: T): T => structuredClone(value);

class ConditionFailed extends Error {
  override readonly name = 'ConditionalCheckFailedException';
}

export interface MemoryUserStore extends UserStore {
  profiles: Map<string, UserProfile>;
  credentials: Map<string, Credentials>;
  throttles: Map<string, LoginThrottleState & { ttl: number }>;
}

export function memoryUserStore(): MemoryUserStore {
  const profiles = new Map<string, UserProfile>();
  const credentials = new Map<string, Credentials>();
  const throttles = new Map<string, LoginThrottleState & { ttl: number }>();
  return {
    profiles,
    credentials,
    throttles,
    async create(profile, passwordHash) {
      if (credentials.has(profile.email)) throw new EmailTaken();
      credentials.set(profile.email, { email: profile.email, userId: profile.id, passwordHash, generation: 0 });
      profiles.set(profile.id, clone(profile));
    },
    async getProfile(userId) {
      return clone(profiles.get(userId));
    },
    async getCredentials(email) {
      return clone(credentials.get(email));
    },
    async getLoginState(email) {
      const found = credentials.get(email);
      const throttle = throttles.get(email);
      return {
        ...(found === undefined ? {} : { credentials: clone(found) }),
        ...(throttle === undefined
          ? {}
          : {
              throttle: {
                failures: throttle.failures,
                windowStartedAt: throttle.windowStartedAt,
                lockedUntil: throttle.lockedUntil,
                lockouts: throttle.lockouts,
                version: throttle.version,
              },
            }),
      };
    },
    async saveThrottle(email, state, ttl) {
      const existing = throttles.get(email);
      if (state.version === 0 ? existing !== undefined : existing?.version !== state.version) return false;
      throttles.set(email, { ...state, version: state.version + 1, ttl });
      return true;
    },
    async clearThrottle(email) {
      throttles.delete(email);
    },
    async updateName(userId, name, updatedAt) {
      const profile = profiles.get(userId);
      if (profile === undefined || profile.status !== 'active') return undefined;
      const updated = { ...profile, name, updatedAt };
      profiles.set(userId, updated);
      return clone(updated);
    },
    async changePassword(verified, passwordHash) {
      const found = credentials.get(verified.email);
      if (found === undefined || found.userId !== verified.userId || found.generation !== verified.generation) return false;
      credentials.set(verified.email, { ...found, passwordHash, generation: found.generation + 1 });
      return true;
    },
    async beginDeletion(profile) {
      const found = credentials.get(profile.email);
      const existing = profiles.get(profile.id);
      if ((found !== undefined && found.userId !== profile.id) || existing === undefined) throw new ConditionFailed('transaction cancelled');
      credentials.delete(profile.email);
      profiles.set(profile.id, { ...existing, status: 'deleting' });
    },
    async deleteProfile(userId) {
      profiles.delete(userId);
    },
  };
}

export interface MemorySessionStore extends SessionStore {
  records: Map<string, SessionRecord>;
}

const recordKey = (userId: string, sessionId: string): string => `${userId}/${sessionId}`;

/** `users`: where the credentials a guarded create checks live (as the users table for dynamoSessionStore). */
export function memorySessionStore(users?: Pick<MemoryUserStore, 'credentials'>): MemorySessionStore {
  const records = new Map<string, SessionRecord>();
  const ofUser = (userId: string): SessionRecord[] =>
    [...records.values()].filter((session) => session.userId === userId).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return {
    records,
    async create(session, verified) {
      const key = recordKey(session.userId, session.id);
      if (records.has(key)) throw new ConditionFailed('session exists');
      if (verified !== undefined) {
        if (users === undefined) throw new Error('memorySessionStore needs the user store to check credentials');
        const current = users.credentials.get(verified.email);
        if (current?.userId !== verified.userId || current.generation !== verified.generation) throw new CredentialsChanged();
      }
      records.set(key, clone(session));
    },
    async get(userId, sessionId) {
      return clone(records.get(recordKey(userId, sessionId)));
    },
    async rotate(session, newHash, lastUsedAt) {
      const key = recordKey(session.userId, session.id);
      const stored = records.get(key);
      if (stored === undefined || stored.currentHash !== session.currentHash) return false;
      records.set(key, {
        ...stored,
        currentHash: newHash,
        previousHashes: [session.currentHash, ...session.previousHashes].slice(0, REMEMBERED_HASHES),
        lastUsedAt,
      });
      return true;
    },
    async touch(userId, sessionId, now, minIntervalMs) {
      const key = recordKey(userId, sessionId);
      const stored = records.get(key);
      if (stored !== undefined && stored.lastUsedAt < new Date(now.getTime() - minIntervalMs).toISOString()) {
        records.set(key, { ...stored, lastUsedAt: now.toISOString() });
      }
    },
    async list(userId, limit, cursor, now): Promise<SessionPage> {
      const partition = userPartition(userId);
      const start = decodeCursor(cursor, ['pk', 'sk'], (key) => key['pk'] === partition && key['sk']?.startsWith(SESSION_PREFIX) === true);
      const all = ofUser(userId);
      const from = start === undefined ? 0 : all.findIndex((session) => `${SESSION_PREFIX}${session.id}` < (start['sk'] as string));
      const page = from < 0 ? [] : all.slice(from, from + limit);
      const last = page[page.length - 1];
      const more = from >= 0 && from + limit < all.length;
      return {
        items: page.filter((session) => session.expiresAt > now.toISOString()).map(clone),
        nextCursor: more && last !== undefined ? encodeCursor({ pk: partition, sk: `${SESSION_PREFIX}${last.id}` }) : null,
      };
    },
    async delete(userId, sessionId) {
      return records.delete(recordKey(userId, sessionId));
    },
    async deleteAll(userId, keep) {
      let deleted = 0;
      for (const session of ofUser(userId)) {
        if (session.id !== keep) {
          records.delete(recordKey(userId, session.id));
          deleted++;
        }
      }
      return deleted;
    },
  };
}

/** A hasher that costs nothing and records what it was asked, to test the rules around hashing. */
export function fakeHasher(): PasswordHasher & { verified: Array<string | undefined> } {
  const verified: Array<string | undefined> = [];
  return {
    verified,
    hash: async (password) => `fake-hash:${password}`,
    async verify(passwordHash, password) {
      verified.push(passwordHash);
      return passwordHash !== undefined && passwordHash === `fake-hash:${password}`;
    },
  };
}

/** A clock that stands still until told to move. */
export function fixedClock(start = '2026-11-21T10:00:00.000Z'): Clock & { advance(ms: number): void; set(iso: string): void } {
  let now = new Date(start).getTime();
  return {
    now: () => new Date(now),
    advance: (ms) => {
      now += ms;
    },
    set: (iso) => {
      now = new Date(iso).getTime();
    },
  };
}

/** Issues readable fake access tokens: `at.<userId>.<sessionId>.<n>`. */
export function fakeTokenIssuer(ttlSeconds = 900): TokenIssuer & { issued: number } {
  const issuer = {
    issued: 0,
    async issue(subject: { userId: string; sessionId: string }, now: Date, notAfter: Date) {
      issuer.issued++;
      const expires = Math.min(now.getTime() + ttlSeconds * 1000, notAfter.getTime());
      return { accessToken: `at.${subject.userId}.${subject.sessionId}.${issuer.issued}`, accessTokenExpiresAt: new Date(expires) };
    },
  };
  return issuer;
}

/** Ids in creation order, as ULIDs are: later ids sort after earlier ones. */
export function sequentialIds(): () => string {
  let last = '';
  return () => {
    let id = ulid();
    while (id <= last) id = ulid();
    last = id;
    return id;
  };
}

/** Objects in memory, with ETags and a log of the bytes read (to check ranged reads). */
export interface MemoryContentStore extends ContentStore {
  objects: Map<string, { body: Buffer; contentType: string; eTag: string }>;
  bytesRead: number;
}

export function memoryContentStore(): MemoryContentStore {
  const objects = new Map<string, { body: Buffer; contentType: string; eTag: string }>();
  const store: MemoryContentStore = {
    objects,
    bytesRead: 0,
    async presignUpload(key, contentType, size, expiresInSeconds, now) {
      return {
        method: 'POST',
        url: 'https://uploads.example/media-bucket',
        fields: { key, 'Content-Type': contentType, 'x-test-size': String(size) },
        expiresAt: new Date(now.getTime() + expiresInSeconds * 1000).toISOString(),
      };
    },
    async presignDownload(key, expiresInSeconds, response, signedAt) {
      // Like a real presigned URL, it changes with the time it is signed at (now unless given), and only with that.
      const attachment = response.attachmentName === undefined ? '' : `&filename=${encodeURIComponent(response.attachmentName)}`;
      const cacheControl = response.cacheControl === undefined ? '' : `&cache=${encodeURIComponent(response.cacheControl)}`;
      const date = (signedAt ?? new Date()).toISOString();
      return `https://downloads.example/${key}?date=${date}&expires=${expiresInSeconds}&type=${encodeURIComponent(response.contentType)}${attachment}${cacheControl}`;
    },
    async head(key) {
      const object = objects.get(key);
      return object === undefined ? undefined : { size: object.body.length, contentType: object.contentType, eTag: object.eTag };
    },
    async readRange(key, start, end) {
      const object = objects.get(key);
      if (object === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
      const chunk = object.body.subarray(start, end + 1);
      store.bytesRead += chunk.length;
      return Buffer.from(chunk);
    },
    async read(key) {
      const object = objects.get(key);
      if (object === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
      store.bytesRead += object.body.length;
      return Buffer.from(object.body);
    },
    async put(key, body, contentType) {
      objects.set(key, { body: Buffer.from(body), contentType, eTag: `"${createHash('md5').update(body).digest('hex')}"` });
    },
    async delete(keys) {
      for (const key of keys) objects.delete(key);
    },
    async deletePrefix(prefix) {
      const keys = [...objects.keys()].filter((key) => key.startsWith(prefix));
      keys.forEach((key) => objects.delete(key));
      return keys.length;
    },
    async list(prefix) {
      return [...objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    },
  };
  return store;
}

/**
 * Media items, tag entries, tag counts and content-hash claims in memory, with the conditions
 * of dynamoMediaStore (shared/stores/media.ts), checked by local/test/contracts/mediaStore.ts.
 * Lists page like the DynamoDB Query does: `limit` rows of the primary listing (tag entries,
 * then the type index, then the status index, then the items), the other filters after that,
 * and a cursor whenever a page read `limit` rows.
 */
export interface MemoryMediaStore extends MediaStore {
  /** Media records, keyed `${userId}/${mediaId}`. */
  items: Map<string, MediaRecord>;
  /** Tag entries, `${userId}/${tag}/${mediaId}`. */
  tagEntries: Set<string>;
  /** Tag counts, `${userId}/${tag}` -> count (removed when they reach 0). */
  tagCounts: Map<string, number>;
  /** Content-hash claims, `${userId}/${sha256}` -> mediaId. */
  shaClaims: Map<string, string>;
  /** Flag entries (favourites, archive), `${userId}/${flag}/${mediaId}`. */
  flagEntries: Set<string>;
}

const MEDIA_RECORD_FIELDS = [
  'id', 'userId', 'filename', 'contentType', 'size', 'sha256', 'status', 'rejectReason', 'type', 'createdAt', 'updatedAt',
  'width', 'height', 'durationSeconds', 'takenAt', 'camera', 'location', 'orientation', 'title', 'description', 'tags', 'views',
  'thumbnails', 'objectETag', 'version', 'dirtyTags', 'deleting', 'favorite', 'archived',
] as const;
const PROCESSED_FIELDS = ['width', 'height', 'durationSeconds', 'takenAt', 'camera', 'location', 'orientation', 'thumbnails', 'perceptualHash', 'dominantColors'] as const;

/** What a write and a read through the DocumentClient make of a value: undefined values dropped, at any depth. */
function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.filter((entry) => entry !== undefined).map(withoutUndefined) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined).map(([name, entry]) => [name, withoutUndefined(entry)])) as T;
  }
  return value;
}

/** A record as dynamoMediaStore stores and reads it back (known fields only, its defaults). */
function storedMediaRecord(record: MediaRecord): MediaRecord {
  const fields: Record<string, unknown> = {};
  for (const field of MEDIA_RECORD_FIELDS) if (record[field] !== undefined) fields[field] = withoutUndefined(clone(record[field]));
  return { tags: [], views: 0, title: '', description: '', version: 1, ...fields } as unknown as MediaRecord;
}

/** Descending order of sort-key tuples, as a Query with ScanIndexForward false reads them. */
function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

interface ListingRow {
  /** The row's key attributes, as DynamoDB returns them in LastEvaluatedKey. */
  key: Record<string, string>;
  /** What the Query orders by: the index sort key, then the table's sort key. */
  order: string[];
  mediaId: string;
}

/** `owners`: the profiles createPending checks (as the users table for dynamoMediaStore); unchecked without. */
export function memoryMediaStore(owners?: Pick<MemoryUserStore, 'profiles'>): MemoryMediaStore {
  const items = new Map<string, MediaRecord>();
  const tagEntries = new Set<string>();
  const tagCounts = new Map<string, number>();
  const shaClaims = new Map<string, string>();
  const flagEntries = new Set<string>();

  const itemKey = (userId: string, mediaId: string): string => `${userId}/${mediaId}`;
  const entryKey = (userId: string, tag: string, mediaId: string): string => `${userId}/${tag}/${mediaId}`;
  const countKey = (userId: string, tag: string): string => `${userId}/${tag}`;
  const claimKey = (userId: string, sha256: string): string => `${userId}/${sha256}`;
  const userOf = (key: string): string => key.slice(0, key.indexOf('/'));
  const parseEntry = (key: string): { userId: string; tag: string; mediaId: string } => ({
    userId: userOf(key),
    tag: key.slice(key.indexOf('/') + 1, key.lastIndexOf('/')),
    mediaId: key.slice(key.lastIndexOf('/') + 1),
  });
  const itemsOf = (userId: string): MediaRecord[] => [...items.values()].filter((record) => record.userId === userId);
  /** The item's `deleting` attribute exists (the DynamoDB conditions test existence, lists test `true`). */
  const isDeleting = (record: MediaRecord): boolean => record.deleting !== undefined;
  /** The claim is absent or this item's (finishDelete's and deletePending's condition). */
  const claimReleasable = (record: MediaRecord): boolean => {
    if (record.sha256 === undefined) return true;
    const owner = shaClaims.get(claimKey(record.userId, record.sha256));
    return owner === undefined || owner === record.id;
  };

  function ensureTagEntry(userId: string, mediaId: string, tag: string, present: boolean): void {
    const entry = entryKey(userId, tag, mediaId);
    const count = countKey(userId, tag);
    if (present) {
      if (tagEntries.has(entry)) return;
      tagEntries.add(entry);
      tagCounts.set(count, (tagCounts.get(count) ?? 0) + 1);
      return;
    }
    if (!tagEntries.has(entry)) return;
    tagEntries.delete(entry);
    const left = (tagCounts.get(count) ?? 0) - 1;
    if (left <= 0) tagCounts.delete(count);
    else tagCounts.set(count, left);
  }

  function listingRows(userId: string, query: MediaQuery): { rows: ListingRow[]; attributes: string[]; accept: (key: Record<string, string>) => boolean } {
    const partition = userPartition(userId);
    // Tag and flag entries: rows of the user's partition under one prefix, ordered by their sort key.
    const entryRows = (entries: Set<string>, name: string, keyOf: (mediaId: string) => { pk: string; sk: string }, prefix: string) => {
      const rows = [...entries]
        .map(parseEntry)
        .filter((entry) => entry.userId === userId && entry.tag === name)
        .map(({ mediaId }) => {
          const key = keyOf(mediaId);
          return { key, order: [key.sk], mediaId };
        });
      return { rows, attributes: ['pk', 'sk'], accept: (key: Record<string, string>) => key['pk'] === partition && key['sk']?.startsWith(prefix) === true };
    };
    const flag = listingFlag(query);
    if (flag !== undefined) return entryRows(flagEntries, flag, (mediaId) => flagKey(userId, flag, mediaId), FLAG_PREFIX[flag]);
    if (query.tag !== undefined) {
      const tag = query.tag;
      return entryRows(tagEntries, tag, (mediaId) => taggedKey(userId, tag, mediaId), taggedPrefix(tag));
    }
    if (query.type !== undefined) {
      const indexKey = typeIndexKey(userId, query.type);
      const rows = itemsOf(userId)
        .filter((record) => record.type === query.type)
        .map((record) => {
          const sk = `${MEDIA_PREFIX}${record.id}`;
          return { key: { pk: partition, sk, gsi1pk: indexKey, gsi1sk: record.id }, order: [record.id, sk], mediaId: record.id };
        });
      return {
        rows,
        attributes: ['pk', 'sk', 'gsi1pk', 'gsi1sk'],
        accept: (key) => key['gsi1pk'] === indexKey && key['pk'] === partition && key['sk']?.startsWith(MEDIA_PREFIX) === true,
      };
    }
    if (query.status !== undefined) {
      const indexKey = statusIndexKey(userId, query.status);
      const rows = itemsOf(userId)
        .filter((record) => record.status === query.status)
        .map((record) => {
          const sk = `${MEDIA_PREFIX}${record.id}`;
          return { key: { pk: partition, sk, gsi2pk: indexKey, gsi2sk: record.id }, order: [record.id, sk], mediaId: record.id };
        });
      return {
        rows,
        attributes: ['pk', 'sk', 'gsi2pk', 'gsi2sk'],
        accept: (key) => key['gsi2pk'] === indexKey && key['pk'] === partition && key['sk']?.startsWith(MEDIA_PREFIX) === true,
      };
    }
    const rows = itemsOf(userId).map((record) => {
      const sk = `${MEDIA_PREFIX}${record.id}`;
      return { key: { pk: partition, sk }, order: [sk], mediaId: record.id };
    });
    return { rows, attributes: ['pk', 'sk'], accept: (key) => key['pk'] === partition && key['sk']?.startsWith(MEDIA_PREFIX) === true };
  }

  const store: MemoryMediaStore = {
    items,
    tagEntries,
    tagCounts,
    shaClaims,
    flagEntries,

    async createPending(record) {
      // One transaction: nothing is written when any condition fails.
      if (owners !== undefined && owners.profiles.get(record.userId)?.status !== 'active') throw new OwnerUnavailable();
      if (record.sha256 !== undefined) {
        const owner = shaClaims.get(claimKey(record.userId, record.sha256));
        if (owner !== undefined) throw new DuplicateMedia(owner);
      }
      const key = itemKey(record.userId, record.id);
      if (items.has(key)) throw new Error(`media item ${record.id} already exists`);
      items.set(key, storedMediaRecord(record));
      if (record.sha256 !== undefined) shaClaims.set(claimKey(record.userId, record.sha256), record.id);
    },

    async get(userId, mediaId) {
      return clone(items.get(itemKey(userId, mediaId)));
    },

    async view(userId, mediaId) {
      const stored = items.get(itemKey(userId, mediaId));
      if (stored === undefined || isDeleting(stored)) return undefined;
      stored.views += 1;
      return clone(stored);
    },

    async list(userId, query): Promise<MediaPage> {
      const { rows, attributes, accept } = listingRows(userId, query);
      const start = decodeCursor(query.cursor, attributes, accept);
      // Table queries order by sk; index queries by the index sort key, then the table's sk.
      const indexSortKey = attributes.find((name) => name.endsWith('sk') && name !== 'sk');
      const startOrder = start === undefined ? undefined : [...(indexSortKey === undefined ? [] : [start[indexSortKey] ?? '']), start['sk'] ?? ''];
      const page = rows
        .sort((a, b) => compareKeys(b.order, a.order))
        .filter((row) => startOrder === undefined || compareKeys(row.order, startOrder) < 0)
        .slice(0, query.limit);
      const last = page[page.length - 1];
      const records = page.map((row) => items.get(itemKey(userId, row.mediaId))).filter((record): record is MediaRecord => record !== undefined && matchesQuery(record, query));
      // DynamoDB returns LastEvaluatedKey whenever the Query stopped at Limit, even at the very end.
      return { items: records.map(clone), nextCursor: page.length === query.limit && last !== undefined ? encodeCursor(last.key) : null };
    },

    async markReady(record, fields: ProcessedFields, eTag, now) {
      const stored = items.get(itemKey(record.userId, record.id));
      if (stored === undefined || isDeleting(stored)) return false;
      // `objectETag <> :etag` holds when there is no objectETag too (as DynamoDB Local evaluates it).
      const reUpload = stored.status === 'ready' && stored.objectETag !== eTag;
      if (stored.status !== 'pending' && !reUpload) return false;
      stored.status = 'ready';
      stored.objectETag = eTag;
      stored.updatedAt = now;
      delete stored.rejectReason;
      for (const field of PROCESSED_FIELDS) {
        const value = fields[field];
        if (value === undefined) delete stored[field];
        else Object.assign(stored, { [field]: withoutUndefined(clone(value)) });
      }
      return true;
    },

    async markRejected(record, reason, now) {
      const stored = items.get(itemKey(record.userId, record.id));
      if (stored === undefined || isDeleting(stored) || stored.status === 'rejected') return false;
      stored.status = 'rejected';
      stored.rejectReason = reason;
      stored.updatedAt = now;
      delete stored.thumbnails;
      delete stored.perceptualHash;
      delete stored.dominantColors;
      // The claim goes without a condition, as in the DynamoDB transaction.
      if (record.sha256 !== undefined) shaClaims.delete(claimKey(record.userId, record.sha256));
      return true;
    },

    async updateMetadata(record, changes, now) {
      const stored = items.get(itemKey(record.userId, record.id));
      if (stored === undefined || stored.version !== record.version || isDeleting(stored)) throw new VersionConflict();
      stored.version = record.version + 1;
      stored.updatedAt = now;
      if (changes.title !== undefined) stored.title = changes.title;
      if (changes.description !== undefined) stored.description = changes.description;
      if (changes.tags !== undefined) {
        const before = new Set(record.tags);
        const after = new Set(changes.tags);
        const changed = [...before].filter((tag) => !after.has(tag)).concat([...after].filter((tag) => !before.has(tag)));
        stored.tags = clone(changes.tags);
        stored.dirtyTags = [...new Set([...(record.dirtyTags ?? []), ...changed])];
      }
      // The flag and its entry in one transaction (as there).
      const flags = flagChanges(record, changes);
      for (const flag of flags.set) {
        stored[flag] = true;
        flagEntries.add(entryKey(record.userId, flag, record.id));
      }
      for (const flag of flags.clear) {
        delete stored[flag];
        flagEntries.delete(entryKey(record.userId, flag, record.id));
      }
      return clone(stored);
    },

    async syncTags(userId, mediaId) {
      const stored = items.get(itemKey(userId, mediaId));
      const dirty = stored?.dirtyTags ?? [];
      if (stored === undefined || dirty.length === 0) return;
      for (const tag of dirty) ensureTagEntry(userId, mediaId, tag, stored.tags.includes(tag));
      delete stored.dirtyTags;
    },

    async listTags(userId): Promise<TagCount[]> {
      const counts: TagCount[] = [];
      for (const [key, count] of tagCounts) {
        if (userOf(key) === userId && count > 0) counts.push({ tag: key.slice(key.indexOf('/') + 1), count });
      }
      return counts.sort((a, b) => b.count - a.count || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
    },

    async beginDelete(record) {
      if (record.deleting === true) return;
      const stored = items.get(itemKey(record.userId, record.id));
      if (stored === undefined || stored.version !== record.version) throw new VersionConflict();
      stored.deleting = true;
      stored.tags = [];
      stored.dirtyTags = [...new Set([...(record.dirtyTags ?? []), ...record.tags])];
      stored.version = record.version + 1;
    },

    async finishDelete(record) {
      const key = itemKey(record.userId, record.id);
      const stored = items.get(key);
      // One transaction: if either condition fails, both deletes are cancelled (silently, as there).
      if (stored !== undefined && stored.deleting !== true) return;
      if (!claimReleasable(record)) return;
      items.delete(key);
      for (const flag of ['favorite', 'archived'] as const) if (record[flag] === true) flagEntries.delete(entryKey(record.userId, flag, record.id));
      if (record.sha256 !== undefined) shaClaims.delete(claimKey(record.userId, record.sha256));
    },

    async deletePending(record) {
      const key = itemKey(record.userId, record.id);
      const stored = items.get(key);
      if (stored === undefined || stored.status !== 'pending' || isDeleting(stored) || stored.version !== record.version) return false;
      // As a DELETE: the item's tag entries and counts go with it.
      for (const tag of new Set([...(stored.dirtyTags ?? []), ...stored.tags])) ensureTagEntry(record.userId, record.id, tag, false);
      items.delete(key);
      for (const flag of ['favorite', 'archived'] as const) if (stored[flag] === true) flagEntries.delete(entryKey(record.userId, flag, record.id));
      if (claimReleasable(record) && record.sha256 !== undefined) shaClaims.delete(claimKey(record.userId, record.sha256));
      return true;
    },

    async listPendingBefore(before, limit) {
      // The sparse `pending` index holds items created pending until markReady, markRejected or beginDelete.
      const indexed = [...items.values()]
        .filter((record) => record.status === 'pending' && !isDeleting(record))
        .map((record) => ({ shard: pendingShard(record.id), sk: `${record.createdAt}#${record.id}`, userId: record.userId, mediaId: record.id }));
      const found: Array<{ userId: string; mediaId: string }> = [];
      for (let shard = 0; shard < PENDING_SHARDS && found.length < limit; shard++) {
        const rows = indexed.filter((row) => row.shard === `PENDING#${shard}` && row.sk < before).sort((a, b) => compareKeys([a.sk], [b.sk]));
        for (const row of rows.slice(0, limit - found.length)) found.push({ userId: row.userId, mediaId: row.mediaId });
      }
      return found;
    },

    async findSimilar(userId, perceptualHash, excludeMediaId) {
      // The same answer the band index gives: every ready image of the user within the distance.
      return [...items.values()]
        .filter((record) => record.userId === userId && record.id !== excludeMediaId && !isDeleting(record) && record.status === 'ready' && record.perceptualHash !== undefined)
        .map((record) => ({ mediaId: record.id, distance: hammingDistance(perceptualHash, record.perceptualHash as string) }))
        .filter((candidate) => candidate.distance <= MAX_SIMILAR_DISTANCE)
        .sort((a, b) => a.distance - b.distance || (a.mediaId < b.mediaId ? -1 : 1));
    },

    async deleteUserData(userId) {
      let deleted = 0;
      for (const key of [...items.keys()]) {
        if (userOf(key) === userId) {
          items.delete(key);
          deleted++;
        }
      }
      for (const key of [...tagEntries]) if (userOf(key) === userId) tagEntries.delete(key);
      for (const key of [...tagCounts.keys()]) if (userOf(key) === userId) tagCounts.delete(key);
      for (const key of [...shaClaims.keys()]) if (userOf(key) === userId) shaClaims.delete(key);
      for (const key of [...flagEntries]) if (userOf(key) === userId) flagEntries.delete(key);
      return deleted;
    },
  };
  return store;
}

/**
 * Analysis jobs in memory, with the conditions of dynamoAnalysisStore (shared/stores/analyses.ts),
 * checked by local/test/contracts/analysisStore.ts. Records are stored as the DocumentClient
 * round trip leaves them: known fields only, undefined values dropped.
 */
export interface MemoryAnalysisStore extends AnalysisStore {
  /** Analysis records, keyed `${userId}/${id}`. */
  records: Map<string, AnalysisRecord>;
}

const ANALYSIS_RECORD_FIELDS = [
  'id', 'userId', 'mediaId', 'status', 'createdAt', 'updatedAt', 'callbackUrl', 'attempts', 'runId', 'leaseExpiresAt', 'result', 'error', 'callback',
] as const;

function storedAnalysisRecord(record: AnalysisRecord): AnalysisRecord {
  const fields: Record<string, unknown> = {};
  for (const field of ANALYSIS_RECORD_FIELDS) if (record[field] !== undefined) fields[field] = withoutUndefined(clone(record[field]));
  return fields as unknown as AnalysisRecord;
}

/** `media`: the items create checks (as the media table for dynamoAnalysisStore); unchecked without. */
export function memoryAnalysisStore(media?: Pick<MemoryMediaStore, 'items'>): MemoryAnalysisStore {
  const records = new Map<string, AnalysisRecord>();
  const analysisKey = (userId: string, id: string): string => `${userId}/${id}`;
  const holds = (stored: AnalysisRecord | undefined, runId: string): stored is AnalysisRecord => stored?.status === 'running' && stored.runId === runId;

  return {
    records,

    async create(record) {
      const key = analysisKey(record.userId, record.id);
      if (records.has(key)) throw new ConditionFailed('analysis exists');
      if (media !== undefined) {
        const item = media.items.get(`${record.userId}/${record.mediaId}`);
        if (item?.status !== 'ready' || item.deleting !== undefined) throw new MediaNoLongerReady();
      }
      records.set(key, storedAnalysisRecord(record));
    },

    async get(userId, id) {
      return clone(records.get(analysisKey(userId, id)));
    },

    async delete(userId, id) {
      records.delete(analysisKey(userId, id));
    },

    async claim(record, runId, leaseExpiresAt, now) {
      const stored = records.get(analysisKey(record.userId, record.id));
      // `leaseExpiresAt < :now` compares strings, and is false when the attribute is absent.
      const takeover = stored?.status === 'running' && stored.leaseExpiresAt !== undefined && stored.leaseExpiresAt < now;
      if (stored === undefined || (stored.status !== 'queued' && !takeover)) return undefined;
      stored.status = 'running';
      stored.runId = runId;
      stored.leaseExpiresAt = leaseExpiresAt;
      stored.updatedAt = now;
      stored.attempts = (stored.attempts ?? 0) + 1;
      return clone(stored);
    },

    async release(record, runId, now) {
      const stored = records.get(analysisKey(record.userId, record.id));
      if (!holds(stored, runId)) return;
      stored.status = 'queued';
      stored.updatedAt = now;
      delete stored.runId;
      delete stored.leaseExpiresAt;
    },

    async complete(record, runId, outcome, now) {
      const stored = records.get(analysisKey(record.userId, record.id));
      if (!holds(stored, runId)) return undefined;
      if ('result' in outcome) {
        stored.status = 'succeeded';
        stored.result = withoutUndefined(clone(outcome.result));
      } else {
        stored.status = 'failed';
        stored.error = withoutUndefined(clone(outcome.error));
      }
      stored.updatedAt = now;
      delete stored.runId;
      delete stored.leaseExpiresAt;
      return clone(stored);
    },

    async failIfUnchanged(record, error, now) {
      const stored = records.get(analysisKey(record.userId, record.id));
      if (stored === undefined || stored.status !== record.status || stored.updatedAt !== record.updatedAt) return undefined;
      stored.status = 'failed';
      stored.error = withoutUndefined(clone(error));
      stored.updatedAt = now;
      delete stored.runId;
      delete stored.leaseExpiresAt;
      return clone(stored);
    },

    async recordCallback(record, outcome) {
      const key = analysisKey(record.userId, record.id);
      const stored = records.get(key);
      // Conditional on the job existing, as in DynamoDB: a job deleted meanwhile stays deleted.
      if (stored !== undefined) stored.callback = withoutUndefined(clone(outcome));
    },

    async deleteUserData(userId) {
      let deleted = 0;
      for (const [key, record] of records) {
        if (record.userId === userId) {
          records.delete(key);
          deleted++;
        }
      }
      return deleted;
    },
  };
}

/** The analysis request topic in memory: what was published, and a publish that fails when told to. */
export interface MemoryAnalysisQueue extends AnalysisQueue {
  published: AnalysisRequestMessage[];
  /** The next publish rejects with `error` (and publishes nothing). */
  failNext(error: unknown): void;
}

export function memoryAnalysisQueue(): MemoryAnalysisQueue {
  const published: AnalysisRequestMessage[] = [];
  let failure: { error: unknown } | undefined;
  return {
    published,
    failNext(error) {
      failure = { error };
    },
    async publish(message) {
      if (failure !== undefined) {
        const { error } = failure;
        failure = undefined;
        throw error;
      }
      published.push(clone(message));
    },
  };
}

/**
 * Open WebSocket connections in memory, with the rules of dynamoConnectionStore
 * (shared/stores/connections.ts), checked by local/test/contracts/connectionStore.ts: an id is
 * recorded once (whoever's it is), a user holds at most `cap` (the oldest beyond it are removed
 * and returned), expired connections are not listed.
 */
export interface MemoryConnectionStore extends ConnectionStore {
  /** Connection records by connection id. */
  records: Map<string, ConnectionRecord>;
}

export function memoryConnectionStore(): MemoryConnectionStore {
  const records = new Map<string, ConnectionRecord>();
  const store: MemoryConnectionStore = {
    records,
    async add(connection, cap) {
      if (records.has(connection.id)) throw new Error(`connection ${connection.id} is already recorded`);
      records.set(connection.id, clone(connection));
      const open = await store.ofUser(connection.userId, new Date(connection.connectedAt));
      const evicted = open.filter((record) => record.id !== connection.id).slice(0, Math.max(0, open.length - cap));
      for (const record of evicted) records.delete(record.id);
      return evicted;
    },
    async remove(connectionId) {
      const record = records.get(connectionId);
      records.delete(connectionId);
      return clone(record);
    },
    async removeOf(userId, connectionId) {
      if (records.get(connectionId)?.userId === userId) records.delete(connectionId);
    },
    async ofUser(userId, now) {
      return [...records.values()]
        .filter((record) => record.userId === userId && record.expiresAt > now.toISOString())
        .sort((a, b) => (a.connectedAt < b.connectedAt ? -1 : a.connectedAt > b.connectedAt ? 1 : a.id < b.id ? -1 : 1))
        .map(clone);
    },
  };
  return store;
}
