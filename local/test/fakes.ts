/**
 * In-memory implementations of the store interfaces, for unit tests of domain code and
 * handlers. They keep the same conditions as the DynamoDB stores (uniqueness, optimistic
 * versions, conditional rotation); the contract suites in local/test/contracts run the same
 * assertions against both, so the fakes cannot drift from the real thing.
 */
import { createHash } from 'node:crypto';
import { ulid } from 'ulid';
import type { ContentStore } from '../../shared/content/content';
import type { Clock } from '../../shared/clock';
import type { TokenIssuer } from '../../shared/domain/accounts';
import type { PasswordHasher } from '../../shared/auth/passwords';
import { decodeCursor, encodeCursor } from '../../shared/stores/cursor';
import { SESSION_PREFIX, userPartition } from '../../shared/stores/keys';
import type { SessionPage, SessionRecord, SessionStore } from '../../shared/stores/sessions';
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
      credentials.set(profile.email, { email: profile.email, userId: profile.id, passwordHash });
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
      if (existing !== undefined && existing.version !== state.version) return false;
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
    async updatePasswordHash(email, userId, passwordHash) {
      const found = credentials.get(email);
      if (found?.userId !== userId) throw new ConditionFailed('credentials belong to another user');
      credentials.set(email, { ...found, passwordHash });
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

export function memorySessionStore(): MemorySessionStore {
  const records = new Map<string, SessionRecord>();
  const ofUser = (userId: string): SessionRecord[] =>
    [...records.values()].filter((session) => session.userId === userId).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return {
    records,
    async create(session) {
      const key = recordKey(session.userId, session.id);
      if (records.has(key)) throw new ConditionFailed('session exists');
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
    async presignDownload(key, expiresInSeconds, filename) {
      return `https://downloads.example/${key}?expires=${expiresInSeconds}${filename === undefined ? '' : `&filename=${encodeURIComponent(filename)}`}`;
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
