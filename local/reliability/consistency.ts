/**
 * The consistency checker: reads every table (Scan, or Query of the chosen users' partitions)
 * and the media bucket (ListObjectsV2) and reports where the stores disagree with each other.
 * A checker may scan; the service never does. Used by `npm run check:consistency` (against
 * `npm start`) and by the reliability suites (restricted to the users a suite created, since
 * the test tables are shared by the whole run).
 *
 * Findings come in two lists:
 *   violations  states the service must never leave behind;
 *   inProgress  states that are legitimate while a request, an upload or an event is under way
 *               (an item being deleted, tags whose sync has not finished, an object younger than
 *               the grace period whose event has not been processed yet, an account being deleted,
 *               an unfinished analysis). With `settled: true` (nothing is in flight, e.g. after a
 *               suite has waited for everything) the grace period is 0 and these count as
 *               violations too.
 *
 * The rules (derived from shared/domain/media.ts, shared/stores/*.ts; docs/media.md):
 *
 * Media items (MEDIA#<id>, not `deleting`):
 *   ready_original_missing          a ready item has no `original` in S3
 *   ready_original_size_mismatch    the original's size is not the item's `size`
 *   ready_original_etag_mismatch    the original's ETag is not the processed one (`objectETag`);
 *                                   in progress while the object is younger than the grace (a
 *                                   re-upload through the same presigned POST being processed)
 *   ready_thumbnails_unrecorded     a ready image whose `thumbnails` are not the two fixed keys
 *   ready_thumbnail_missing         a ready image lacks thumb-small.webp or thumb-large.webp
 *   item_deleting                   (in progress) a DELETE, sweep or failed delete not finished yet
 * Objects (media/{userId}/{mediaId}/{original|thumb-small.webp|thumb-large.webp}):
 *   unexpected_object               any other key (or any key outside media/)
 *   orphan_object                   no item of that user with that id; in progress while younger
 *                                   than the grace (an upload for a deleted or swept item, which
 *                                   processUpload deletes)
 *   thumbnail_of_unready_item       a thumbnail of a pending or rejected item or of a video; in
 *                                   progress while younger than the grace (processing under way)
 *                                   or while the item is being deleted
 *   rejected_original_present       a rejected item still has its original (a rejection deletes
 *                                   the bytes first); in progress while younger than the grace
 *   (a pending item may have its original: uploaded and waiting for processing, or for the sweep)
 * Tags (the item's `tags` are the truth; TAGGED#<tag>#<id> entries and TAG#<tag> counts derived):
 *   tag_count_mismatch              a TAG# count is not the number of TAGGED# entries of the tag
 *                                   (entry and count change in one transaction: never in progress)
 *   tag_count_not_positive          a TAG# item with count <= 0 left behind (the code removes
 *                                   them); in progress while an item of the user has the tag dirty
 *   tag_entry_missing               an item carries a tag without an entry;
 *   tag_entry_orphan                an entry for an item that is gone or does not carry the tag;
 *                                   both in progress while the tag is in the item's `dirtyTags`
 *   tags_unsynced                   (in progress) an item with a non-empty `dirtyTags`
 * Content hash claims (SHA256#<hex>, held from createMedia until rejection or deletion):
 *   sha_claim_orphan                the claim's item is gone, has another sha256, or is rejected
 *   sha_claim_missing               a pending or ready item with a sha256 holds no claim
 * Flags (FAVORITE#<id>, ARCHIVED#<id>: written in the transaction that sets or clears the flag,
 * removed in the one that removes the item; never in progress):
 *   flag_entry_missing              an item is a favourite (archived) without its entry
 *   flag_entry_orphan               an entry whose item is gone or does not carry the flag
 * Similarity index (PHASH#<band>#<value>#<id>, six per ready image with a perceptual hash):
 *   phash_entry_missing             a ready image lacks one of its six entries (or it holds another hash)
 *   phash_entry_orphan              an entry whose item is gone, not a ready image, or has another hash
 * Accounts (users table: PROFILE and CREDENTIALS written in one transaction):
 *   credentials_without_profile     EMAIL#<email> names a user without a profile
 *   credentials_profile_mismatch    the credentials and the profile disagree on the email
 *   profile_without_credentials     an active profile no credentials item points to
 *   account_deleting                (in progress) a profile with status `deleting`
 *   session_without_user            a session whose user has no profile
 *   data_without_user               media items, analyses or objects of a user without a profile
 *                                   (both in progress while the profile is `deleting`)
 * Analyses:
 *   analysis_without_user           a job whose user has no profile
 *   analysis_unfinished             (in progress) a queued or running job
 *   analysis_abandoned              a queued/running job past the point where readers report it
 *                                   failed (shared/domain/analyses.ts), whose media item is gone:
 *                                   nobody will ever finish it
 *   analysis_malformed              succeeded without a result, or failed without an error
 * Any table:
 *   unknown_item / malformed_item   an item the key design does not know, or whose attributes
 *                                   contradict its key
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { bandKeys } from '../../shared/analysis/similarity';
import { thumbnailKeys } from '../../shared/content/keys';
import { ABANDONED_AFTER_MS, NOT_STARTED_AFTER_MS } from '../../shared/domain/analyses';
import { userPartition } from '../../shared/stores/keys';
import { FLAG_PREFIX, MEDIA_PREFIX, PHASH_PREFIX, TAG_COUNT_PREFIX, TAGGED_PREFIX, type MediaFlag } from '../../shared/stores/mediaKeys';
import { serviceConfig } from '../stack/serviceConfig';
import { TOOLING_CREDENTIALS } from '../stack/credentials';

export interface ConsistencyTarget {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  tables: { users: string; sessions: string; media: string; analyses: string };
  bucket: string;
}

export interface CheckOptions {
  /** Only these users' data (their partitions, their S3 prefixes, their accounts). */
  userIds?: Iterable<string>;
  /** "Now" for the age rules (default: the clock). */
  now?: Date;
  /** How old an object must be before an unprocessed state counts against it (default 600 s). */
  graceSeconds?: number;
  /** Nothing is in flight: grace 0, and in-progress states are violations. */
  settled?: boolean;
}

export type ViolationKind =
  | 'ready_original_missing'
  | 'ready_original_size_mismatch'
  | 'ready_original_etag_mismatch'
  | 'ready_thumbnails_unrecorded'
  | 'ready_thumbnail_missing'
  | 'item_deleting'
  | 'unexpected_object'
  | 'orphan_object'
  | 'thumbnail_of_unready_item'
  | 'rejected_original_present'
  | 'tag_count_mismatch'
  | 'tag_count_not_positive'
  | 'tag_entry_missing'
  | 'tag_entry_orphan'
  | 'tags_unsynced'
  | 'sha_claim_orphan'
  | 'sha_claim_missing'
  | 'phash_entry_missing'
  | 'phash_entry_orphan'
  | 'flag_entry_missing'
  | 'flag_entry_orphan'
  | 'credentials_without_profile'
  | 'credentials_profile_mismatch'
  | 'profile_without_credentials'
  | 'account_deleting'
  | 'session_without_user'
  | 'data_without_user'
  | 'analysis_without_user'
  | 'analysis_unfinished'
  | 'analysis_abandoned'
  | 'analysis_malformed'
  | 'unknown_item'
  | 'malformed_item';

export interface Violation {
  kind: ViolationKind;
  message: string;
  userId?: string;
  mediaId?: string;
  /** The S3 key or DynamoDB key (`table pk sk`) the finding is about. */
  key?: string;
  details?: Record<string, unknown>;
}

export interface ConsistencyCounts {
  users: number;
  credentials: number;
  sessions: number;
  mediaItems: Record<string, number>;
  tagEntries: number;
  tagCounts: number;
  shaClaims: number;
  phashEntries: number;
  objects: number;
  originals: number;
  thumbnails: number;
  analyses: Record<string, number>;
}

export interface ConsistencyReport {
  violations: Violation[];
  inProgress: Violation[];
  counts: ConsistencyCounts;
}

type Item = Record<string, unknown>;

export interface StoredObject {
  key: string;
  size: number;
  eTag: string;
  lastModified: Date;
}

/** What the checker reads: raw items of every table and every object of the bucket (or of the chosen users). */
export interface Snapshot {
  users: Item[];
  sessions: Item[];
  media: Item[];
  analyses: Item[];
  objects: StoredObject[];
  /** The users the snapshot was restricted to (undefined: everything). */
  userIds?: Set<string>;
}

export const DEFAULT_GRACE_SECONDS = 600;

/** The tables and bucket of the local stage, as serverless.yml gives them to the functions. */
export function localTarget(endpoints: { dynamodbEndpoint: string; s3Endpoint: string }): ConsistencyTarget {
  const config = serviceConfig('local');
  const env: Record<string, string> = { ...config.provider.environment };
  for (const fn of Object.values(config.functions)) Object.assign(env, fn.environment);
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`serverless.yml gives the functions no ${name}`);
    return value;
  };
  return {
    ...endpoints,
    tables: { users: need('USERS_TABLE'), sessions: need('SESSIONS_TABLE'), media: need('MEDIA_TABLE'), analyses: need('ANALYSES_TABLE') },
    bucket: need('MEDIA_BUCKET'),
  };
}

const LOCAL_REGION = 'us-east-1';

function clients(target: ConsistencyTarget): { dynamo: DynamoDBDocumentClient; s3: S3Client; close: () => void } {
  const raw = new DynamoDBClient({ endpoint: target.dynamodbEndpoint, region: LOCAL_REGION, credentials: TOOLING_CREDENTIALS, maxAttempts: 5 });
  const dynamo = DynamoDBDocumentClient.from(raw);
  const s3 = new S3Client({
    endpoint: target.s3Endpoint,
    region: LOCAL_REGION,
    forcePathStyle: true,
    credentials: TOOLING_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 5,
  });
  return {
    dynamo,
    s3,
    close: () => {
      dynamo.destroy();
      s3.destroy();
    },
  };
}

async function scanAll(dynamo: DynamoDBDocumentClient, table: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }) }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

async function queryPartition(dynamo: DynamoDBDocumentClient, table: string, pk: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

async function listObjects(s3: S3Client, bucket: string, prefix: string | undefined): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ...(prefix === undefined ? {} : { Prefix: prefix }), ...(token === undefined ? {} : { ContinuationToken: token }) }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined) continue;
      objects.push({ key: object.Key, size: object.Size ?? 0, eTag: object.ETag ?? '', lastModified: object.LastModified ?? new Date(0) });
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return objects;
}

/** Reads the stores: whole tables and bucket, or only the given users' partitions and prefixes. */
export async function readSnapshot(target: ConsistencyTarget, userIds?: Iterable<string>): Promise<Snapshot> {
  const { dynamo, s3, close } = clients(target);
  try {
    if (userIds === undefined) {
      const [users, sessions, media, analyses, objects] = await Promise.all([
        scanAll(dynamo, target.tables.users),
        scanAll(dynamo, target.tables.sessions),
        scanAll(dynamo, target.tables.media),
        scanAll(dynamo, target.tables.analyses),
        listObjects(s3, target.bucket, undefined),
      ]);
      return { users, sessions, media, analyses, objects };
    }
    const ids = new Set(userIds);
    const perUser = async (table: string): Promise<Item[]> => (await Promise.all([...ids].map((id) => queryPartition(dynamo, table, userPartition(id))))).flat();
    // Credentials are keyed by email: the one table the checker scans even for a few users.
    const [allUsers, sessions, media, analyses, objects] = await Promise.all([
      scanAll(dynamo, target.tables.users),
      perUser(target.tables.sessions),
      perUser(target.tables.media),
      perUser(target.tables.analyses),
      Promise.all([...ids].map((id) => listObjects(s3, target.bucket, `media/${id}/`))).then((lists) => lists.flat()),
    ]);
    const users = allUsers.filter((item) => ids.has(typeof item['userId'] === 'string' ? item['userId'] : '') || ids.has(typeof item['id'] === 'string' ? item['id'] : ''));
    return { users, sessions, media, analyses, objects, userIds: ids };
  } finally {
    close();
  }
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const afterPrefix = (pk: unknown, prefix: string): string | undefined => (typeof pk === 'string' && pk.startsWith(prefix) ? pk.slice(prefix.length) : undefined);

interface MediaRow {
  userId: string;
  mediaId: string;
  status: string;
  type: string;
  size: number;
  sha256?: string;
  tags: string[];
  dirtyTags: string[];
  deleting: boolean;
  thumbnails?: { small?: unknown; large?: unknown };
  objectETag?: string;
  perceptualHash?: string;
  favorite: boolean;
  archived: boolean;
}

const FLAGS = Object.keys(FLAG_PREFIX) as MediaFlag[];

const OBJECT_NAMES = ['original', 'thumb-small.webp', 'thumb-large.webp'] as const;
type ObjectName = (typeof OBJECT_NAMES)[number];

/** Applies the rules to a snapshot (pure: no I/O). */
export function evaluate(snapshot: Snapshot, options: CheckOptions = {}): ConsistencyReport {
  const now = (options.now ?? new Date()).getTime();
  const settled = options.settled === true;
  const graceMs = settled ? 0 : (options.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  const violations: Violation[] = [];
  const inProgress: Violation[] = [];
  const report = (finding: Violation, pending = false): void => {
    (pending ? inProgress : violations).push(finding);
  };
  const young = (object: StoredObject): boolean => now - object.lastModified.getTime() < graceMs;
  const counts: ConsistencyCounts = {
    users: 0,
    credentials: 0,
    sessions: 0,
    mediaItems: {},
    tagEntries: 0,
    tagCounts: 0,
    shaClaims: 0,
    phashEntries: 0,
    objects: snapshot.objects.length,
    originals: 0,
    thumbnails: 0,
    analyses: {},
  };

  // ---- accounts ----
  const profiles = new Map<string, { email: string; status: string }>();
  const credentialsByUser = new Map<string, string[]>();
  for (const item of snapshot.users) {
    const pk = str(item['pk']) ?? '';
    const sk = str(item['sk']) ?? '';
    const where = `users ${pk} ${sk}`;
    if (sk === 'PROFILE' && pk.startsWith('USER#')) {
      const id = pk.slice('USER#'.length);
      if (item['id'] !== id) report({ kind: 'malformed_item', message: `profile ${id} has id ${String(item['id'])}`, userId: id, key: where });
      profiles.set(id, { email: str(item['email']) ?? '', status: str(item['status']) ?? '' });
    } else if (sk === 'CREDENTIALS' && pk.startsWith('EMAIL#')) {
      const email = pk.slice('EMAIL#'.length);
      const userId = str(item['userId']) ?? '';
      if (item['email'] !== email) report({ kind: 'malformed_item', message: `credentials of ${email} hold email ${String(item['email'])}`, userId, key: where });
      credentialsByUser.set(userId, [...(credentialsByUser.get(userId) ?? []), email]);
    } else if (!(sk === 'THROTTLE' && pk.startsWith('LOGIN#'))) {
      report({ kind: 'unknown_item', message: 'an item the users table key design does not know', key: where });
    }
  }
  counts.users = profiles.size;
  counts.credentials = [...credentialsByUser.values()].reduce((sum, list) => sum + list.length, 0);
  for (const [userId, emails] of credentialsByUser) {
    const profile = profiles.get(userId);
    for (const email of emails) {
      if (profile === undefined) {
        report({ kind: 'credentials_without_profile', message: `login ${email} belongs to user ${userId}, who has no profile`, userId, key: `users EMAIL#${email} CREDENTIALS` });
      } else if (profile.email !== email) {
        report({ kind: 'credentials_profile_mismatch', message: `login ${email} points to user ${userId}, whose profile says ${profile.email}`, userId, key: `users EMAIL#${email} CREDENTIALS` });
      }
    }
  }
  for (const [userId, profile] of profiles) {
    if (profile.status === 'deleting') {
      report({ kind: 'account_deleting', message: `account ${userId} is being deleted`, userId, key: `users USER#${userId} PROFILE` }, true);
    } else if (!(credentialsByUser.get(userId) ?? []).includes(profile.email)) {
      report({ kind: 'profile_without_credentials', message: `active profile ${userId} (${profile.email}) has no credentials`, userId, key: `users USER#${userId} PROFILE` });
    }
  }
  /** undefined: the user exists and is active; otherwise whether the absence is in progress. */
  const userMissing = (userId: string): { pending: boolean } | undefined => {
    const profile = profiles.get(userId);
    if (profile === undefined) return { pending: false };
    return profile.status === 'deleting' ? { pending: true } : undefined;
  };

  // ---- sessions ----
  for (const item of snapshot.sessions) {
    const pk = str(item['pk']) ?? '';
    const sk = str(item['sk']) ?? '';
    const where = `sessions ${pk} ${sk}`;
    const userId = afterPrefix(pk, 'USER#');
    const sessionId = afterPrefix(sk, 'SESSION#');
    if (userId === undefined || sessionId === undefined) {
      report({ kind: 'unknown_item', message: 'an item the sessions table key design does not know', key: where });
      continue;
    }
    counts.sessions++;
    if (item['userId'] !== userId || item['id'] !== sessionId) report({ kind: 'malformed_item', message: `session ${sessionId} names user ${String(item['userId'])} / id ${String(item['id'])}`, userId, key: where });
    const missing = userMissing(userId);
    if (missing !== undefined) report({ kind: 'session_without_user', message: `session ${sessionId} of user ${userId}, who ${missing.pending ? 'is being deleted' : 'does not exist'}`, userId, key: where }, missing.pending);
  }

  // ---- media table ----
  const items = new Map<string, MediaRow>();
  const entries: Array<{ userId: string; tag: string; mediaId: string; where: string }> = [];
  const tagCounts: Array<{ userId: string; tag: string; count: number; where: string }> = [];
  const claims: Array<{ userId: string; sha256: string; mediaId: string; where: string }> = [];
  const phash: Array<{ userId: string; band: string; mediaId: string; hash: string; where: string }> = [];
  const flagEntries: Array<{ userId: string; flag: MediaFlag; mediaId: string; where: string }> = [];
  const mediaRowsByUser = new Map<string, number>();
  const itemKey = (userId: string, mediaId: string): string => `${userId}/${mediaId}`;
  for (const item of snapshot.media) {
    const pk = str(item['pk']) ?? '';
    const sk = str(item['sk']) ?? '';
    const where = `media ${pk} ${sk}`;
    const userId = afterPrefix(pk, 'USER#');
    if (userId === undefined) {
      report({ kind: 'unknown_item', message: 'an item outside the user partitions of the media table', key: where });
      continue;
    }
    mediaRowsByUser.set(userId, (mediaRowsByUser.get(userId) ?? 0) + 1);
    if (sk.startsWith(MEDIA_PREFIX)) {
      const mediaId = sk.slice(MEDIA_PREFIX.length);
      if (item['id'] !== mediaId || item['userId'] !== userId) report({ kind: 'malformed_item', message: `media item ${mediaId} holds id ${String(item['id'])} / user ${String(item['userId'])}`, userId, mediaId, key: where });
      const status = str(item['status']) ?? '';
      counts.mediaItems[status] = (counts.mediaItems[status] ?? 0) + 1;
      items.set(itemKey(userId, mediaId), {
        userId,
        mediaId,
        status,
        type: str(item['type']) ?? '',
        size: Number(item['size']),
        ...(str(item['sha256']) === undefined ? {} : { sha256: str(item['sha256']) }),
        tags: Array.isArray(item['tags']) ? (item['tags'] as string[]) : [],
        dirtyTags: Array.isArray(item['dirtyTags']) ? (item['dirtyTags'] as string[]) : [],
        deleting: item['deleting'] === true,
        favorite: item['favorite'] === true,
        archived: item['archived'] === true,
        ...(typeof item['thumbnails'] === 'object' && item['thumbnails'] !== null ? { thumbnails: item['thumbnails'] } : {}),
        ...(str(item['objectETag']) === undefined ? {} : { objectETag: str(item['objectETag']) }),
        ...(str(item['perceptualHash']) === undefined ? {} : { perceptualHash: str(item['perceptualHash']) }),
      });
    } else if (sk.startsWith(TAGGED_PREFIX)) {
      const rest = sk.slice(TAGGED_PREFIX.length);
      const split = rest.lastIndexOf('#');
      const mediaId = rest.slice(split + 1);
      let tag: string | undefined;
      try {
        tag = decodeURIComponent(rest.slice(0, split));
      } catch {
        tag = undefined;
      }
      if (split < 0 || tag === undefined || item['tag'] !== tag || item['mediaId'] !== mediaId) {
        report({ kind: 'malformed_item', message: `tag entry holds tag ${String(item['tag'])} / media ${String(item['mediaId'])}`, userId, key: where });
        continue;
      }
      counts.tagEntries++;
      entries.push({ userId, tag, mediaId, where });
    } else if (sk.startsWith(TAG_COUNT_PREFIX)) {
      let tag: string;
      try {
        tag = decodeURIComponent(sk.slice(TAG_COUNT_PREFIX.length));
      } catch {
        report({ kind: 'malformed_item', message: 'tag count with an undecodable key', userId, key: where });
        continue;
      }
      counts.tagCounts++;
      tagCounts.push({ userId, tag, count: Number(item['count'] ?? 0), where });
    } else if (sk.startsWith('SHA256#')) {
      counts.shaClaims++;
      claims.push({ userId, sha256: sk.slice('SHA256#'.length), mediaId: str(item['mediaId']) ?? '', where });
    } else if (sk.startsWith(PHASH_PREFIX)) {
      // PHASH#<band>#<value>#<mediaId>
      const parts = sk.slice(PHASH_PREFIX.length).split('#');
      if (parts.length !== 3 || item['mediaId'] !== parts[2]) {
        report({ kind: 'malformed_item', message: `similarity entry holds media ${String(item['mediaId'])}`, userId, key: where });
        continue;
      }
      counts.phashEntries++;
      phash.push({ userId, band: `${parts[0]}#${parts[1]}`, mediaId: parts[2] as string, hash: str(item['hash']) ?? '', where });
    } else if (FLAGS.some((flag) => sk.startsWith(FLAG_PREFIX[flag]))) {
      const flag = FLAGS.find((candidate) => sk.startsWith(FLAG_PREFIX[candidate])) as MediaFlag;
      const mediaId = sk.slice(FLAG_PREFIX[flag].length);
      if (item['mediaId'] !== mediaId) {
        report({ kind: 'malformed_item', message: `${flag} entry holds media ${String(item['mediaId'])}`, userId, key: where });
        continue;
      }
      flagEntries.push({ userId, flag, mediaId, where });
    } else {
      report({ kind: 'unknown_item', message: 'an item the media table key design does not know', userId, key: where });
    }
  }

  for (const item of items.values()) {
    const { userId, mediaId } = item;
    if (item.deleting) report({ kind: 'item_deleting', message: `media ${mediaId} is being deleted`, userId, mediaId, key: `media USER#${userId} ${MEDIA_PREFIX}${mediaId}` }, true);
    if (item.dirtyTags.length > 0) {
      report({ kind: 'tags_unsynced', message: `media ${mediaId} has tags not yet synced: ${item.dirtyTags.join(', ')}`, userId, mediaId, details: { dirtyTags: item.dirtyTags } }, true);
    }
  }

  // ---- objects ----
  const objectsOf = new Map<string, Map<ObjectName, StoredObject>>();
  for (const object of snapshot.objects) {
    const match = /^media\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(object.key);
    const name = match?.[3] as ObjectName | undefined;
    if (match === null || name === undefined || !OBJECT_NAMES.includes(name)) {
      report({ kind: 'unexpected_object', message: `object ${object.key} is not an original or a thumbnail`, key: object.key, ...(match?.[1] === undefined ? {} : { userId: match[1] }) });
      continue;
    }
    const [, userId, mediaId] = match as unknown as [string, string, string];
    if (name === 'original') counts.originals++;
    else counts.thumbnails++;
    const key = itemKey(userId, mediaId);
    const found = objectsOf.get(key) ?? new Map<ObjectName, StoredObject>();
    found.set(name, object);
    objectsOf.set(key, found);
    const item = items.get(key);
    if (item === undefined) {
      report(
        { kind: 'orphan_object', message: `object ${object.key} has no media item`, userId, mediaId, key: object.key, details: { lastModified: object.lastModified.toISOString() } },
        young(object),
      );
      continue;
    }
    if (name === 'original') {
      if (item.status === 'rejected' && !item.deleting) {
        report({ kind: 'rejected_original_present', message: `rejected media ${mediaId} still has its original`, userId, mediaId, key: object.key }, young(object));
      }
    } else if (!(item.status === 'ready' && item.type === 'image')) {
      report(
        { kind: 'thumbnail_of_unready_item', message: `${item.status} ${item.type} ${mediaId} has a thumbnail`, userId, mediaId, key: object.key, details: { status: item.status, type: item.type } },
        item.deleting || young(object),
      );
    }
  }

  for (const item of items.values()) {
    if (item.status !== 'ready' || item.deleting) continue;
    const { userId, mediaId } = item;
    const stored = objectsOf.get(itemKey(userId, mediaId));
    const original = stored?.get('original');
    const originalKey = `media/${userId}/${mediaId}/original`;
    if (original === undefined) {
      report({ kind: 'ready_original_missing', message: `ready media ${mediaId} has no original`, userId, mediaId, key: originalKey });
    } else {
      if (original.size !== item.size) {
        report({ kind: 'ready_original_size_mismatch', message: `original of ${mediaId} has ${original.size} bytes, the item says ${item.size}`, userId, mediaId, key: originalKey, details: { objectSize: original.size, itemSize: item.size } });
      }
      if (item.objectETag !== undefined && original.eTag !== item.objectETag) {
        report(
          { kind: 'ready_original_etag_mismatch', message: `original of ${mediaId} is not the processed one`, userId, mediaId, key: originalKey, details: { objectETag: original.eTag, itemETag: item.objectETag } },
          young(original),
        );
      }
    }
    if (item.type === 'image') {
      const expected = thumbnailKeys(userId, mediaId);
      if (item.thumbnails?.small !== expected.small || item.thumbnails?.large !== expected.large) {
        report({ kind: 'ready_thumbnails_unrecorded', message: `ready image ${mediaId} does not record its thumbnails`, userId, mediaId, details: { thumbnails: item.thumbnails } });
      }
      for (const name of ['thumb-small.webp', 'thumb-large.webp'] as const) {
        if (stored?.get(name) === undefined) {
          report({ kind: 'ready_thumbnail_missing', message: `ready image ${mediaId} has no ${name}`, userId, mediaId, key: `media/${userId}/${mediaId}/${name}` });
        }
      }
    }
  }

  // ---- tags ----
  const entryCount = new Map<string, number>();
  const entrySet = new Set<string>();
  for (const entry of entries) {
    entryCount.set(`${entry.userId}\u0000${entry.tag}`, (entryCount.get(`${entry.userId}\u0000${entry.tag}`) ?? 0) + 1);
    entrySet.add(`${entry.userId}\u0000${entry.tag}\u0000${entry.mediaId}`);
    const item = items.get(itemKey(entry.userId, entry.mediaId));
    const carries = item !== undefined && !item.deleting && item.tags.includes(entry.tag);
    if (!carries) {
      report(
        {
          kind: 'tag_entry_orphan',
          message: `tag entry ${entry.tag} of ${entry.mediaId}: ${item === undefined ? 'no such item' : item.deleting ? 'the item is being deleted' : 'the item does not carry the tag'}`,
          userId: entry.userId,
          mediaId: entry.mediaId,
          key: entry.where,
        },
        item !== undefined && item.dirtyTags.includes(entry.tag),
      );
    }
  }
  const dirtyTagsOf = new Map<string, Set<string>>();
  for (const item of items.values()) {
    for (const tag of item.dirtyTags) dirtyTagsOf.set(item.userId, (dirtyTagsOf.get(item.userId) ?? new Set<string>()).add(tag));
    if (item.deleting) continue;
    for (const tag of item.tags) {
      if (!entrySet.has(`${item.userId}\u0000${tag}\u0000${item.mediaId}`)) {
        report({ kind: 'tag_entry_missing', message: `media ${item.mediaId} carries ${tag} without a tag entry`, userId: item.userId, mediaId: item.mediaId, details: { tag } }, item.dirtyTags.includes(tag));
      }
    }
  }
  const countedTags = new Set<string>();
  for (const { userId, tag, count, where } of tagCounts) {
    countedTags.add(`${userId}\u0000${tag}`);
    const actual = entryCount.get(`${userId}\u0000${tag}`) ?? 0;
    if (count !== actual) {
      report({ kind: 'tag_count_mismatch', message: `tag ${tag} counts ${count}, there are ${actual} entries`, userId, key: where, details: { tag, count, entries: actual } });
    } else if (count <= 0) {
      report({ kind: 'tag_count_not_positive', message: `tag ${tag} has a count of ${count} left behind`, userId, key: where, details: { tag, count } }, dirtyTagsOf.get(userId)?.has(tag) === true);
    }
  }
  for (const [pair, actual] of entryCount) {
    if (countedTags.has(pair)) continue;
    const [userId, tag] = pair.split('\u0000') as [string, string];
    report({ kind: 'tag_count_mismatch', message: `tag ${tag} has ${actual} entries and no count`, userId, details: { tag, count: 0, entries: actual } });
  }

  // ---- content hash claims ----
  const claimOf = new Map<string, string>();
  for (const claim of claims) {
    claimOf.set(`${claim.userId}\u0000${claim.sha256}`, claim.mediaId);
    const item = items.get(itemKey(claim.userId, claim.mediaId));
    if (item === undefined || item.sha256 !== claim.sha256 || item.status === 'rejected') {
      report({
        kind: 'sha_claim_orphan',
        message: `hash claim ${claim.sha256.slice(0, 12)}… names ${claim.mediaId}: ${item === undefined ? 'no such item' : item.status === 'rejected' ? 'a rejected item' : 'an item with another sha256'}`,
        userId: claim.userId,
        mediaId: claim.mediaId,
        key: claim.where,
      });
    }
  }
  for (const item of items.values()) {
    if (item.sha256 === undefined || !(item.status === 'pending' || item.status === 'ready')) continue;
    if (claimOf.get(`${item.userId}\u0000${item.sha256}`) !== item.mediaId) {
      report({ kind: 'sha_claim_missing', message: `${item.status} media ${item.mediaId} holds no claim on its sha256`, userId: item.userId, mediaId: item.mediaId, details: { sha256: item.sha256 } });
    }
  }

  // ---- flags ----
  const flagged = new Set(flagEntries.map((entry) => `${entry.userId}\u0000${entry.flag}\u0000${entry.mediaId}`));
  for (const entry of flagEntries) {
    const item = items.get(itemKey(entry.userId, entry.mediaId));
    if (item === undefined || !item[entry.flag]) {
      report({ kind: 'flag_entry_orphan', message: `${entry.flag} entry of ${entry.mediaId}: ${item === undefined ? 'no such item' : `the item is not ${entry.flag}`}`, userId: entry.userId, mediaId: entry.mediaId, key: entry.where });
    }
  }
  for (const item of items.values()) {
    for (const flag of FLAGS) {
      if (item[flag] && !flagged.has(`${item.userId}\u0000${flag}\u0000${item.mediaId}`)) {
        report({ kind: 'flag_entry_missing', message: `media ${item.mediaId} is ${flag} without its entry`, userId: item.userId, mediaId: item.mediaId, details: { flag } });
      }
    }
  }

  // ---- similarity index ----
  const phashSet = new Set<string>();
  for (const entry of phash) {
    phashSet.add(`${entry.userId}\u0000${entry.band}\u0000${entry.mediaId}\u0000${entry.hash}`);
    const item = items.get(itemKey(entry.userId, entry.mediaId));
    const belongs =
      item !== undefined && item.status === 'ready' && item.type === 'image' && item.perceptualHash === entry.hash && bandKeys(item.perceptualHash).includes(entry.band);
    if (!belongs) {
      report({
        kind: 'phash_entry_orphan',
        message: `similarity entry ${entry.band} of ${entry.mediaId}: ${item === undefined ? 'no such item' : `the item is a ${item.status} ${item.type} with hash ${item.perceptualHash ?? 'none'}`}`,
        userId: entry.userId,
        mediaId: entry.mediaId,
        key: entry.where,
      });
    }
  }
  for (const item of items.values()) {
    if (item.status !== 'ready' || item.type !== 'image' || item.perceptualHash === undefined) continue;
    const missing = bandKeys(item.perceptualHash).filter((band) => !phashSet.has(`${item.userId}\u0000${band}\u0000${item.mediaId}\u0000${item.perceptualHash}`));
    if (missing.length > 0) {
      report({ kind: 'phash_entry_missing', message: `ready image ${item.mediaId} lacks similarity entries ${missing.join(', ')}`, userId: item.userId, mediaId: item.mediaId, details: { bands: missing } });
    }
  }

  // ---- analyses ----
  const analysesByUser = new Map<string, number>();
  for (const item of snapshot.analyses) {
    const pk = str(item['pk']) ?? '';
    const sk = str(item['sk']) ?? '';
    const where = `analyses ${pk} ${sk}`;
    const userId = afterPrefix(pk, 'USER#');
    const id = afterPrefix(sk, 'ANALYSIS#');
    if (userId === undefined || id === undefined) {
      report({ kind: 'unknown_item', message: 'an item the analyses table key design does not know', key: where });
      continue;
    }
    analysesByUser.set(userId, (analysesByUser.get(userId) ?? 0) + 1);
    const status = str(item['status']) ?? '';
    const mediaId = str(item['mediaId']) ?? '';
    counts.analyses[status] = (counts.analyses[status] ?? 0) + 1;
    if (item['id'] !== id || item['userId'] !== userId) report({ kind: 'malformed_item', message: `analysis ${id} holds id ${String(item['id'])} / user ${String(item['userId'])}`, userId, key: where });
    const missing = userMissing(userId);
    if (missing !== undefined) {
      report({ kind: 'analysis_without_user', message: `analysis ${id} of user ${userId}, who ${missing.pending ? 'is being deleted' : 'does not exist'}`, userId, mediaId, key: where }, missing.pending);
    }
    if (status === 'succeeded' && (typeof item['result'] !== 'object' || item['result'] === null)) {
      report({ kind: 'analysis_malformed', message: `analysis ${id} succeeded without a result`, userId, mediaId, key: where });
    } else if (status === 'failed' && (typeof item['error'] !== 'object' || item['error'] === null)) {
      report({ kind: 'analysis_malformed', message: `analysis ${id} failed without an error`, userId, mediaId, key: where });
    } else if (status === 'queued' || status === 'running') {
      const updatedAt = Date.parse(str(item['updatedAt']) ?? '');
      const leaseExpiresAt = Date.parse(str(item['leaseExpiresAt']) ?? '');
      const stalled =
        status === 'queued' ? now - updatedAt > NOT_STARTED_AFTER_MS : Number.isFinite(leaseExpiresAt) ? now - leaseExpiresAt > ABANDONED_AFTER_MS : now - updatedAt > NOT_STARTED_AFTER_MS;
      const mediaGone = !items.has(itemKey(userId, mediaId)) && (snapshot.userIds === undefined || snapshot.userIds.has(userId));
      if (stalled && mediaGone) {
        report({ kind: 'analysis_abandoned', message: `analysis ${id} is ${status} with nobody working on it, and media ${mediaId} is gone`, userId, mediaId, key: where });
      } else {
        report({ kind: 'analysis_unfinished', message: `analysis ${id} is ${status}`, userId, mediaId, key: where, details: { stalled } }, true);
      }
    }
  }

  // ---- data of users who do not exist ----
  const objectsByUser = new Map<string, number>();
  for (const object of snapshot.objects) {
    const userId = /^media\/([^/]+)\//.exec(object.key)?.[1];
    if (userId !== undefined) objectsByUser.set(userId, (objectsByUser.get(userId) ?? 0) + 1);
  }
  for (const userId of new Set([...mediaRowsByUser.keys(), ...objectsByUser.keys()])) {
    const missing = userMissing(userId);
    if (missing === undefined) continue;
    report(
      {
        kind: 'data_without_user',
        message: `user ${userId} ${missing.pending ? 'is being deleted' : 'does not exist'} but has ${mediaRowsByUser.get(userId) ?? 0} media table item(s) and ${objectsByUser.get(userId) ?? 0} object(s)`,
        userId,
        details: { mediaTableItems: mediaRowsByUser.get(userId) ?? 0, objects: objectsByUser.get(userId) ?? 0 },
      },
      missing.pending,
    );
  }

  if (settled) return { violations: [...violations, ...inProgress], inProgress: [], counts };
  return { violations, inProgress, counts };
}

const identity = (finding: Violation): string => [finding.kind, finding.userId ?? '', finding.mediaId ?? '', finding.key ?? '', JSON.stringify(finding.details ?? {})].join('|');

/**
 * Reads the stores and applies the rules. With `recheckAfterMs` (for a live system), findings
 * are read again after that pause for the users concerned and only those seen both times are
 * kept: the checker's reads are not one snapshot, so a request landing between the table scans
 * and the bucket listing could otherwise look like a violation.
 */
export async function checkConsistency(target: ConsistencyTarget, options: CheckOptions & { recheckAfterMs?: number } = {}): Promise<ConsistencyReport> {
  const userIds = options.userIds === undefined ? undefined : [...options.userIds];
  const first = evaluate(await readSnapshot(target, userIds), options);
  if (options.recheckAfterMs === undefined || first.violations.length === 0) return first;
  await new Promise((resolve) => setTimeout(resolve, options.recheckAfterMs));
  const concerned = new Set(first.violations.map((finding) => finding.userId).filter((id): id is string => id !== undefined));
  const second = evaluate(await readSnapshot(target, concerned), { ...options, ...(options.now === undefined ? {} : { now: new Date(options.now.getTime() + (options.recheckAfterMs ?? 0)) }) });
  const again = new Set(second.violations.map(identity));
  return { ...first, violations: first.violations.filter((finding) => finding.userId === undefined || again.has(identity(finding))) };
}

/** One line per finding, for people. */
export function formatFinding(finding: Violation): string {
  const where = [finding.userId === undefined ? undefined : `user ${finding.userId}`, finding.mediaId === undefined ? undefined : `media ${finding.mediaId}`, finding.key]
    .filter((part) => part !== undefined)
    .join(', ');
  return `${finding.kind}: ${finding.message}${where === '' ? '' : ` [${where}]`}${finding.details === undefined ? '' : ` ${JSON.stringify(finding.details)}`}`;
}
