/**
 * The fuzzing world: in-memory stores (local/test/fakes.ts) holding two users, A (the caller of
 * every bearer request) and B (someone else), each with an account, sessions, media items in
 * every state with tags, and analyses. B's strings are distinctive, so a response that carries
 * any of them is a leak; B's records are snapshotted, so a request of A that changed them is
 * caught. The world is seeded once and restored before every generated request (each fast-check
 * run starts from the same state, which keeps runs independent and replayable).
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { handlerWorld, type HandlerWorld } from '../test/handlers';
import { pendingMediaRecord } from '../test/records';
import { hashSecret } from '../../shared/auth/refreshTokens';
import { originalKey, thumbnailKeys, userPrefix } from '../../shared/content/keys';
import type { AnalysisRecord } from '../../shared/stores/analyses';
import type { MediaRecord } from '../../shared/stores/media';
import type { SessionRecord } from '../../shared/stores/sessions';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID-shaped id derived from a label: the same on every run, so generated requests can name it. */
export function fixedId(label: string): string {
  const digest = createHash('sha256').update(label).digest();
  let id = '01KF';
  for (let i = 0; id.length < 26; i++) id += CROCKFORD[(digest[i] as number) % 32];
  return id;
}

export interface Person {
  key: 'A' | 'B';
  userId: string;
  email: string;
  password: string;
  name: string;
  /** The session the person's requests come from, then another one of theirs. */
  sessionId: string;
  otherSessionId: string;
  /** A session past its expiry that DynamoDB's TTL has not removed yet. */
  expiredSessionId: string;
  /** The refresh-token secret of `sessionId` (A's is given to the fuzzer, B's never is). */
  refreshSecret: string;
  media: { readyImage: string; readyVideo: string; pending: string; rejected: string; taggedImage: string };
  analyses: { queued: string; succeeded: string };
  tags: string[];
  filenames: string[];
  titles: string[];
}

function person(key: 'A' | 'B', words: { first: string; tag: string; file: string }): Person {
  const id = (label: string): string => fixedId(`${key}:${label}`);
  return {
    key,
    userId: id('user'),
    email: `${words.first}.fuzz-${key.toLowerCase()}@example.org`,
    password: `${words.first} correct horse battery`,
    name: `${words.first[0]?.toUpperCase() ?? ''}${words.first.slice(1)} Fuzzperson`,
    sessionId: id('session-current'),
    otherSessionId: id('session-other'),
    expiredSessionId: id('session-expired'),
    refreshSecret: createHash('sha256').update(`${key}:refresh`).digest('base64url'),
    media: {
      readyImage: id('media-ready-image'),
      readyVideo: id('media-ready-video'),
      pending: id('media-pending'),
      rejected: id('media-rejected'),
      taggedImage: id('media-tagged-image'),
    },
    analyses: { queued: id('analysis-queued'), succeeded: id('analysis-succeeded') },
    tags: [`${words.tag}-beach`, `${words.tag}-holiday`, `${words.tag}-family`],
    filenames: [`${words.file}-sunset.jpg`, `${words.file}-clip.mp4`, `${words.file}-pending.png`, `${words.file}-rejected.gif`, `${words.file}-tagged.webp`],
    titles: [`${words.file} title of a private evening`],
  };
}

export const A = person('A', { first: 'alfa', tag: 'alfatag', file: 'alfafile' });
export const B = person('B', { first: 'bravo', tag: 'bravotag', file: 'bravofile' });

/**
 * What identifies B's data in a response: ids, email, name, tags, filenames, titles. Checked
 * case-sensitively and, for the lower-case ones, in the lower-cased body too.
 */
export function distinctiveStrings(who: Person): string[] {
  return [
    who.userId,
    who.sessionId,
    who.otherSessionId,
    who.expiredSessionId,
    ...Object.values(who.media),
    ...Object.values(who.analyses),
    who.email,
    who.name,
    who.password,
    who.refreshSecret,
    ...who.tags,
    ...who.filenames,
    ...who.titles,
  ];
}

const iso = (ms: number): string => new Date(ms).toISOString();

async function seedPerson(world: HandlerWorld, who: Person, now: number): Promise<void> {
  await world.users.create(
    { id: who.userId, email: who.email, name: who.name, createdAt: iso(now - 86_400_000), updatedAt: iso(now - 86_400_000), status: 'active' },
    await world.hasher.hash(who.password),
  );
  const session = (id: string, createdAgo: number, secret: string, expiresIn = 86_400_000): SessionRecord => ({
    id,
    userId: who.userId,
    createdAt: iso(now - createdAgo),
    lastUsedAt: iso(now - 60_000),
    expiresAt: iso(now + expiresIn),
    remember: false,
    userAgent: `${who.name}'s browser`,
    currentHash: hashSecret(secret),
    previousHashes: [],
  });
  await world.sessions.create(session(who.sessionId, 3_600_000, who.refreshSecret));
  await world.sessions.create(session(who.otherSessionId, 7_200_000, `${who.refreshSecret}-other`));
  await world.sessions.create(session(who.expiredSessionId, 90_000_000, `${who.refreshSecret}-expired`, -1000));

  const item = (id: string, filename: string, type: 'image' | 'video', contentType: string, createdAgo: number): MediaRecord =>
    pendingMediaRecord(who.userId, {
      id,
      filename,
      contentType,
      size: 1024,
      sha256: createHash('sha256').update(id).digest('hex'),
      type,
      createdAt: iso(now - createdAgo),
      updatedAt: iso(now - createdAgo),
    });
  const [sunset, clip, pendingName, rejectedName, taggedName] = who.filenames as [string, string, string, string, string];
  const records = {
    readyImage: item(who.media.readyImage, sunset, 'image', 'image/jpeg', 500_000),
    readyVideo: item(who.media.readyVideo, clip, 'video', 'video/mp4', 400_000),
    pending: item(who.media.pending, pendingName, 'image', 'image/png', 300_000),
    rejected: item(who.media.rejected, rejectedName, 'image', 'image/gif', 200_000),
    taggedImage: item(who.media.taggedImage, taggedName, 'image', 'image/webp', 100_000),
  };
  for (const record of Object.values(records)) await world.media.createPending(record);
  const at = iso(now - 50_000);
  for (const record of [records.readyImage, records.taggedImage]) {
    const thumbs = thumbnailKeys(who.userId, record.id);
    await world.content.put(originalKey(who.userId, record.id), Buffer.from(`bytes of ${record.filename}`), record.contentType);
    await world.content.put(thumbs.small, Buffer.from('small'), 'image/webp');
    await world.content.put(thumbs.large, Buffer.from('large'), 'image/webp');
    await world.media.markReady(
      record,
      {
        width: 640,
        height: 480,
        takenAt: '2024-07-14T16:32:05.000Z',
        camera: { make: `${who.name} camera`, model: 'X' },
        location: { latitude: 48.8, longitude: 2.3 },
        orientation: 1,
        thumbnails: thumbs,
        perceptualHash: 'c3a1f0e0d8b89c1e',
        dominantColors: [{ hex: '#2a6f97', ratio: 1 }],
      },
      `"etag-${record.id}"`,
      at,
    );
  }
  await world.content.put(originalKey(who.userId, records.readyVideo.id), Buffer.from(`bytes of ${clip}`), 'video/mp4');
  await world.media.markReady(records.readyVideo, { width: 1920, height: 1080, durationSeconds: 12.5 }, `"etag-${records.readyVideo.id}"`, at);
  await world.media.markRejected(records.rejected, 'type_mismatch', at);
  for (const record of [records.readyImage, records.taggedImage, records.pending]) {
    const stored = (await world.media.get(who.userId, record.id)) as MediaRecord;
    await world.media.updateMetadata(stored, { title: who.titles[0], description: `about ${who.name}`, tags: who.tags.slice(0, record === records.pending ? 1 : 3) }, at);
    await world.media.syncTags(who.userId, record.id);
  }

  const analysis = (id: string, status: AnalysisRecord['status']): AnalysisRecord => ({
    id,
    userId: who.userId,
    mediaId: who.media.readyImage,
    status,
    // Recent enough that a reader does not report the job abandoned.
    createdAt: iso(now - 30_000),
    updatedAt: iso(now - 30_000),
    attempts: status === 'queued' ? 0 : 1,
    ...(status === 'succeeded'
      ? {
          result: {
            perceptualHash: 'c3a1f0e0d8b89c1e',
            dominantColors: [{ hex: '#2a6f97', ratio: 1 }],
            similarMedia: [{ mediaId: who.media.taggedImage, distance: 0 }],
            labels: null,
            labelsSource: 'disabled' as const,
          },
        }
      : {}),
  });
  await world.analyses.create(analysis(who.analyses.queued, 'queued'));
  await world.analyses.create(analysis(who.analyses.succeeded, 'succeeded'));
}

/** Every collection of the world's fakes, as plain data. */
interface WorldState {
  profiles: unknown[];
  credentials: unknown[];
  throttles: unknown[];
  sessions: unknown[];
  items: unknown[];
  tagEntries: string[];
  tagCounts: unknown[];
  shaClaims: unknown[];
  objects: unknown[];
  analyses: unknown[];
  published: unknown[];
}

function capture(world: HandlerWorld): WorldState {
  return structuredClone({
    profiles: [...world.users.profiles],
    credentials: [...world.users.credentials],
    throttles: [...world.users.throttles],
    sessions: [...world.sessions.records],
    items: [...world.media.items],
    tagEntries: [...world.media.tagEntries],
    tagCounts: [...world.media.tagCounts],
    shaClaims: [...world.media.shaClaims],
    objects: [...world.content.objects],
    analyses: [...world.analyses.records],
    published: [...world.queue.published],
  });
}

function refill<K, V>(target: Map<K, V>, entries: unknown[]): void {
  target.clear();
  for (const [key, value] of structuredClone(entries) as Array<[K, V]>) target.set(key, value);
}

export interface FuzzWorld {
  world: HandlerWorld;
  /** Puts every store back as seeded. */
  restore(): void;
  /** B's records (everything but the login throttle of B's email, which failed logins are meant to change). */
  snapshotOf(who: Person): unknown;
}

export async function fuzzWorld(): Promise<FuzzWorld> {
  const world = handlerWorld();
  const now = Date.now();
  await seedPerson(world, A, now);
  await seedPerson(world, B, now);
  const seeded = capture(world);
  const restore = (): void => {
    refill(world.users.profiles, seeded.profiles);
    refill(world.users.credentials, seeded.credentials);
    refill(world.users.throttles, seeded.throttles);
    refill(world.sessions.records, seeded.sessions);
    refill(world.media.items, seeded.items);
    world.media.tagEntries.clear();
    for (const entry of seeded.tagEntries) world.media.tagEntries.add(entry);
    refill(world.media.tagCounts, seeded.tagCounts);
    refill(world.media.shaClaims, seeded.shaClaims);
    refill(world.content.objects, seeded.objects);
    // structuredClone turns Buffers into Uint8Arrays: give the content store its Buffers back.
    for (const object of world.content.objects.values()) object.body = Buffer.from(object.body);
    refill(world.analyses.records, seeded.analyses);
    world.queue.published.splice(0, world.queue.published.length, ...(structuredClone(seeded.published) as typeof world.queue.published));
    world.hasher.verified.length = 0;
  };
  const snapshotOf = (who: Person): unknown => {
    const own = (key: string): boolean => key.startsWith(`${who.userId}/`);
    return structuredClone({
      profile: world.users.profiles.get(who.userId),
      credentials: [...world.users.credentials].filter(([, value]) => value.userId === who.userId),
      sessions: [...world.sessions.records].filter(([key]) => own(key)),
      items: [...world.media.items].filter(([key]) => own(key)),
      tagEntries: [...world.media.tagEntries].filter(own).sort(),
      tagCounts: [...world.media.tagCounts].filter(([key]) => own(key)),
      shaClaims: [...world.media.shaClaims].filter(([key]) => own(key)),
      objects: [...world.content.objects.keys()].filter((key) => key.startsWith(userPrefix(who.userId))).sort(),
      analyses: [...world.analyses.records].filter(([key]) => own(key)),
      published: world.queue.published.filter((message) => message.userId === who.userId),
    });
  };
  return { world, restore, snapshotOf };
}

export const sameSnapshot = (a: unknown, b: unknown): boolean => isDeepStrictEqual(a, b);
