import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ServiceUnavailable } from '../http/errors';
import type { DominantColor } from '../analysis/perceptualHash';
import type { Camera, GeoLocation, MediaKind } from '../media-info/types';
import { decodeCursor, encodeCursor } from './cursor';
import { batchDeleteKeys, inParallel, partitionKeyPages, pause } from './batch';
import { userKey, userPartition } from './keys';
import { bandKeys, hammingDistance, MAX_SIMILAR_DISTANCE, probeKeys } from '../analysis/similarity';
import {
  FLAG_PREFIX,
  flagKey,
  INDEX,
  MEDIA_PREFIX,
  type MediaFlag,
  PHASH_PREFIX,
  phashKey,
  PENDING_SHARDS,
  TAG_COUNT_PREFIX,
  idsOfMediaKey,
  mediaKey,
  pendingShard,
  shaKey,
  statusIndexKey,
  tagCountKey,
  taggedKey,
  taggedPrefix,
  typeIndexKey,
} from './mediaKeys';

export type MediaStatus = 'pending' | 'ready' | 'rejected';

export interface MediaRecord {
  id: string;
  userId: string;
  filename: string;
  contentType: string;
  size: number;
  sha256?: string;
  status: MediaStatus;
  rejectReason?: string;
  type: MediaKind;
  createdAt: string;
  updatedAt: string;
  width?: number;
  height?: number;
  durationSeconds?: number;
  takenAt?: string;
  camera?: Camera;
  location?: GeoLocation;
  orientation?: number;
  title: string;
  description: string;
  tags: string[];
  views: number;
  /** Object keys of the WebP thumbnails, once made. */
  thumbnails?: { small: string; large: string };
  /** ETag of the original that was processed: a re-delivered event for it changes nothing. */
  objectETag?: string;
  /** 64-bit difference hash (16 hex digits) of a ready image: the similarity index key. */
  perceptualHash?: string;
  /** Up to five dominant colours of a ready image, computed at upload for the analysis. */
  dominantColors?: DominantColor[];
  /** Optimistic-locking counter for metadata changes. */
  version: number;
  /** Tags whose entries and counts may not yet match `tags` (see syncTags). */
  dirtyTags?: string[];
  /** Set while DELETE is under way; such an item is gone for every reader. */
  deleting?: boolean;
  /** The owner's favourite (stored only when true, with a FAVORITE# entry). */
  favorite?: boolean;
  /** Out of the timeline, still in its albums and search (stored only when true, with an ARCHIVED# entry). */
  archived?: boolean;
}

/** Which items a list shows by their archive flag: the timeline leaves archived items out. */
export type ArchivedFilter = 'exclude' | 'include' | 'only';

/** The changes updateMetadata applies: what the owner says about the item. */
export interface MetadataChanges {
  title?: string | undefined;
  description?: string | undefined;
  tags?: string[] | undefined;
  favorite?: boolean | undefined;
  archived?: boolean | undefined;
}

/** The flags of `record` after `changes`, and the entries that must come or go with them. */
export function flagChanges(record: Pick<MediaRecord, 'favorite' | 'archived'>, changes: Pick<MetadataChanges, MediaFlag>): { set: MediaFlag[]; clear: MediaFlag[] } {
  const set: MediaFlag[] = [];
  const clear: MediaFlag[] = [];
  for (const flag of ['favorite', 'archived'] as const) {
    const wanted = changes[flag];
    if (wanted === undefined || wanted === (record[flag] === true)) continue;
    (wanted ? set : clear).push(flag);
  }
  return { set, clear };
}

/** Whether a record passes a list's filters (those its primary listing did not already apply). */
export function matchesQuery(record: MediaRecord, query: MediaQuery): boolean {
  const archived = query.archived ?? 'exclude';
  return (
    record.deleting !== true &&
    (query.type === undefined || record.type === query.type) &&
    (query.status === undefined || record.status === query.status) &&
    (query.tag === undefined || record.tags.includes(query.tag)) &&
    (query.favorite === undefined || (record.favorite === true) === query.favorite) &&
    (archived === 'include' || (record.archived === true) === (archived === 'only'))
  );
}

/** What processing found out, written when an item becomes ready. */
export type ProcessedFields = Pick<
  MediaRecord,
  'width' | 'height' | 'durationSeconds' | 'takenAt' | 'camera' | 'location' | 'orientation' | 'thumbnails' | 'perceptualHash' | 'dominantColors'
>;

export interface MediaQuery {
  limit: number;
  cursor?: string | undefined;
  type?: MediaKind | undefined;
  status?: MediaStatus | undefined;
  tag?: string | undefined;
  favorite?: boolean | undefined;
  /** Default `exclude`: the timeline. */
  archived?: ArchivedFilter | undefined;
}

export interface MediaPage {
  items: MediaRecord[];
  nextCursor: string | null;
}

export interface TagCount {
  tag: string;
  count: number;
}

export class DuplicateMedia extends Error {
  override readonly name = 'DuplicateMedia';
  constructor(readonly existingId: string) {
    super(`same content as media ${existingId}`);
  }
}

export class VersionConflict extends Error {
  override readonly name = 'VersionConflict';
}

/** The owner's account is gone or being deleted: no new item may be written for it. */
export class OwnerUnavailable extends Error {
  override readonly name = 'OwnerUnavailable';
}

/**
 * syncTags gave up because other writers kept changing the item. Each of them syncs after its
 * own write, and the last one meets no competition: the entries catch up without this caller.
 * A writer that has committed its change may ignore it; anywhere else it is a 503 (retry).
 */
export class TagSyncContended extends ServiceUnavailable {
  constructor() {
    super(1, 'The item is being changed by other requests; retry');
  }
}

/** A tag sync worked from a version of the item that has since changed: start over. */
class StaleSync extends Error {
  override readonly name = 'StaleSync';
}

export interface MediaStore {
  /**
   * Writes a pending item and, with a sha256, claims the hash; DuplicateMedia if it is claimed.
   * Where the store knows the users table, only while the owner's profile is `active`, in the
   * same transaction (OwnerUnavailable otherwise): an account deletion, which marks the profile
   * first, then finds every item that was written.
   */
  createPending(record: MediaRecord): Promise<void>;
  get(userId: string, mediaId: string): Promise<MediaRecord | undefined>;
  /** Counts a view and returns the item, in one write (undefined when there is no such item). */
  view(userId: string, mediaId: string): Promise<MediaRecord | undefined>;
  list(userId: string, query: MediaQuery): Promise<MediaPage>;
  /** Pending (or re-uploaded) -> ready; false if another delivery got there first. */
  markReady(record: MediaRecord, fields: ProcessedFields, eTag: string, now: string): Promise<boolean>;
  /** -> rejected, releasing its content hash; false if it was no longer processable. */
  markRejected(record: MediaRecord, reason: string, now: string): Promise<boolean>;
  /**
   * Title, description, tags, favourite and archive flags, if nobody changed the item since
   * `record.version` (VersionConflict otherwise). A flag's entry comes or goes in the same write.
   */
  updateMetadata(record: MediaRecord, changes: MetadataChanges, now: string): Promise<MediaRecord>;
  /** Brings the tag entries and counts in line with the item's tags; repeatable. */
  syncTags(userId: string, mediaId: string): Promise<void>;
  listTags(userId: string): Promise<TagCount[]>;
  /** Marks the item deleted-to-be and drops its tags (entries and counts follow via syncTags). */
  beginDelete(record: MediaRecord): Promise<void>;
  /** Removes the item, its flag entries and its hash claim (after beginDelete and syncTags). */
  finishDelete(record: MediaRecord): Promise<void>;
  /** Removes a still-pending item and its hash claim; false if it is no longer pending. */
  deletePending(record: MediaRecord): Promise<boolean>;
  /** Pending items created before `before` (ISO), across all users: the sweep's work list. */
  listPendingBefore(before: string, limit: number): Promise<Array<{ userId: string; mediaId: string }>>;
  /** Every item of a user's partition, gone (account deletion). Returns how many items. */
  deleteUserData(userId: string): Promise<number>;
  /** The user's ready images whose perceptual hash is within MAX_SIMILAR_DISTANCE, closest first. */
  findSimilar(userId: string, perceptualHash: string, excludeMediaId: string): Promise<Array<{ mediaId: string; distance: number }>>;
}

type Item = Record<string, unknown>;

const RECORD_FIELDS = [
  'id', 'userId', 'filename', 'contentType', 'size', 'sha256', 'status', 'rejectReason', 'type', 'createdAt', 'updatedAt',
  'width', 'height', 'durationSeconds', 'takenAt', 'camera', 'location', 'orientation', 'title', 'description', 'tags', 'views',
  'thumbnails', 'objectETag', 'perceptualHash', 'dominantColors', 'version', 'dirtyTags', 'deleting', 'favorite', 'archived',
] as const;

/** A media record from its stored item (also what a stream record's image holds, unmarshalled). */
export function toRecord(item: Item): MediaRecord {
  const record: Item = {};
  for (const field of RECORD_FIELDS) if (item[field] !== undefined) record[field] = item[field];
  return { tags: [], views: 0, title: '', description: '', version: 1, ...record } as unknown as MediaRecord;
}

function indexAttributes(record: Pick<MediaRecord, 'userId' | 'id' | 'type' | 'status' | 'createdAt'>): Item {
  return {
    gsi1pk: typeIndexKey(record.userId, record.type),
    gsi1sk: record.id,
    gsi2pk: statusIndexKey(record.userId, record.status),
    gsi2sk: record.id,
    ...(record.status === 'pending' ? { gsi3pk: pendingShard(record.id), gsi3sk: `${record.createdAt}#${record.id}` } : {}),
  };
}

const isConditionFailure = (error: unknown): boolean => (error as Error).name === 'ConditionalCheckFailedException';

function cancellationCodes(error: unknown): string[] | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  return (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
}

/**
 * The flag whose entries a list reads, when no tag does: favourites, or the archive alone. The
 * other filters apply to the items read (pages can come back short, as with every filter).
 */
export function listingFlag(query: Pick<MediaQuery, 'tag' | 'favorite' | 'archived'>): MediaFlag | undefined {
  if (query.tag !== undefined) return undefined;
  if (query.favorite === true) return 'favorite';
  if (query.archived === 'only') return 'archived';
  return undefined;
}

/** `usersTable`: where the owners' profiles live, checked by createPending. */
export function dynamoMediaStore(client: DynamoDBDocumentClient, tableName: string, options: { usersTable?: string } = {}): MediaStore {
  async function transact(items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>): Promise<string[] | undefined> {
    // Returns the cancellation reasons of a cancelled transaction (conditions failed), after
    // retrying conflicts with concurrent transactions on the same items.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.send(new TransactWriteCommand({ TransactItems: items }));
        return undefined;
      } catch (error) {
        const codes = cancellationCodes(error);
        if (codes === undefined) throw error;
        if (codes.includes('TransactionConflict')) {
          if (attempt >= 6) throw new ServiceUnavailable(1);
          await pause(15 * attempt + Math.random() * 25);
          continue;
        }
        if (codes.every((code) => code === 'None' || code === 'ConditionalCheckFailed')) return codes;
        throw new ServiceUnavailable(1);
      }
    }
  }

  async function batchGet(keys: Item[]): Promise<Map<string, MediaRecord>> {
    const found = new Map<string, MediaRecord>();
    for (let i = 0; i < keys.length; i += 100) {
      let pending = keys.slice(i, i + 100);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= 6) throw new ServiceUnavailable(1);
        if (attempt > 0) await pause(25 * 2 ** attempt);
        const { Responses, UnprocessedKeys } = await client.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending } } }));
        for (const item of Responses?.[tableName] ?? []) found.set(item['id'] as string, toRecord(item));
        pending = (UnprocessedKeys?.[tableName]?.Keys ?? []) as Item[];
      }
    }
    return found;
  }

  const batchDelete = (keys: Item[]): Promise<void> =>
    batchDeleteKeys(client, tableName, keys.map((key) => ({ pk: key['pk'] as string, sk: key['sk'] as string })), { parallel: 4 });

  /**
   * Brings one tag's entry (and with it the count) to the wanted state, in one transaction that
   * also checks the item is still at `version`: a sync working from an older read can never
   * land after a newer sync (it gets StaleSync and starts over from the current item). The
   * entry's own condition makes a repeat a no-op, which is what makes syncTags repeatable.
   */
  async function ensureTagEntry(userId: string, mediaId: string, tag: string, present: boolean, version: number): Promise<void> {
    const entry = taggedKey(userId, tag, mediaId);
    const count = tagCountKey(userId, tag);
    const itemUnchanged = {
      ConditionCheck: {
        TableName: tableName,
        Key: mediaKey(userId, mediaId),
        ConditionExpression: 'version = :version',
        ExpressionAttributeValues: { ':version': version },
      },
    };
    const codes = await transact(
      present
        ? [
            { Put: { TableName: tableName, Item: { ...entry, tag, mediaId }, ConditionExpression: 'attribute_not_exists(pk)' } },
            {
              Update: {
                TableName: tableName,
                Key: count,
                UpdateExpression: 'ADD #count :one SET tag = :tag',
                ExpressionAttributeNames: { '#count': 'count' },
                ExpressionAttributeValues: { ':one': 1, ':tag': tag },
              },
            },
            itemUnchanged,
          ]
        : [
            { Delete: { TableName: tableName, Key: entry, ConditionExpression: 'attribute_exists(pk)' } },
            {
              Update: {
                TableName: tableName,
                Key: count,
                UpdateExpression: 'ADD #count :minusOne',
                ExpressionAttributeNames: { '#count': 'count' },
                ExpressionAttributeValues: { ':minusOne': -1 },
              },
            },
            itemUnchanged,
          ],
    );
    if (codes?.[2] === 'ConditionalCheckFailed') throw new StaleSync();
    if (codes !== undefined || present) return;
    try {
      // Drop counts that reached zero so GET /tags stays short.
      await client.send(
        new DeleteCommand({
          TableName: tableName,
          Key: count,
          ConditionExpression: '#count <= :zero',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  const store: MediaStore = {
    async createPending(record) {
      const item = { ...mediaKey(record.userId, record.id), ...indexAttributes(record), ...record };
      const ownerActive =
        options.usersTable === undefined
          ? []
          : [
              {
                ConditionCheck: {
                  TableName: options.usersTable,
                  Key: userKey(record.userId),
                  ConditionExpression: '#status = :active',
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: { ':active': 'active' },
                },
              },
            ];
      const codes = await transact([
        { Put: { TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
        ...(record.sha256 === undefined
          ? []
          : [{ Put: { TableName: tableName, Item: { ...shaKey(record.userId, record.sha256), mediaId: record.id }, ConditionExpression: 'attribute_not_exists(pk)' } }]),
        ...ownerActive,
      ]);
      if (codes === undefined) return;
      if (ownerActive.length > 0 && codes.at(-1) === 'ConditionalCheckFailed') throw new OwnerUnavailable();
      if (codes[1] === 'ConditionalCheckFailed' && record.sha256 !== undefined) {
        const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: shaKey(record.userId, record.sha256), ConsistentRead: true }));
        throw new DuplicateMedia((Item?.['mediaId'] as string | undefined) ?? 'unknown');
      }
      throw new Error(`media item ${record.id} already exists`);
    },

    async get(userId, mediaId) {
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: mediaKey(userId, mediaId), ConsistentRead: true }));
      return Item === undefined ? undefined : toRecord(Item);
    },

    async view(userId, mediaId) {
      try {
        const { Attributes } = await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: mediaKey(userId, mediaId),
            UpdateExpression: 'ADD #views :one',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deleting)',
            ExpressionAttributeNames: { '#views': 'views' },
            ExpressionAttributeValues: { ':one': 1 },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return toRecord(Attributes as Item);
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw error;
      }
    },

    async list(userId, query) {
      const partition = userPartition(userId);
      let input: QueryCommandInput;
      let attributes: string[];
      let accept: (key: Record<string, string>) => boolean;
      const flag = listingFlag(query);
      if (query.tag !== undefined || flag !== undefined) {
        const prefix = query.tag !== undefined ? taggedPrefix(query.tag) : FLAG_PREFIX[flag as MediaFlag];
        input = { TableName: tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': partition, ':prefix': prefix } };
        attributes = ['pk', 'sk'];
        accept = (key) => key['pk'] === partition && key['sk']?.startsWith(prefix) === true;
      } else if (query.type !== undefined) {
        const indexKey = typeIndexKey(userId, query.type);
        input = { TableName: tableName, IndexName: INDEX.byType, KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': indexKey } };
        attributes = ['pk', 'sk', 'gsi1pk', 'gsi1sk'];
        accept = (key) => key['gsi1pk'] === indexKey && key['pk'] === partition && key['sk']?.startsWith(MEDIA_PREFIX) === true;
      } else if (query.status !== undefined) {
        const indexKey = statusIndexKey(userId, query.status);
        input = { TableName: tableName, IndexName: INDEX.byStatus, KeyConditionExpression: 'gsi2pk = :pk', ExpressionAttributeValues: { ':pk': indexKey } };
        attributes = ['pk', 'sk', 'gsi2pk', 'gsi2sk'];
        accept = (key) => key['gsi2pk'] === indexKey && key['pk'] === partition && key['sk']?.startsWith(MEDIA_PREFIX) === true;
      } else {
        input = { TableName: tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': partition, ':prefix': MEDIA_PREFIX } };
        attributes = ['pk', 'sk'];
        accept = (key) => key['pk'] === partition && key['sk']?.startsWith(MEDIA_PREFIX) === true;
      }
      const startKey = decodeCursor(query.cursor, attributes, accept);
      const page = await client.send(
        new QueryCommand({ ...input, ScanIndexForward: false, Limit: query.limit, ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }) }),
      );
      const rows = page.Items ?? [];
      let records: MediaRecord[];
      if (query.tag === undefined && flag === undefined && query.type === undefined && query.status === undefined) {
        records = rows.map(toRecord);
      } else {
        // Entries and index rows carry keys only: fetch the items themselves, keeping their order.
        const ids = rows.map((row) => (query.tag !== undefined || flag !== undefined ? (row['mediaId'] as string) : (row['sk'] as string).slice(MEDIA_PREFIX.length)));
        const found = await batchGet(ids.map((id) => mediaKey(userId, id)));
        records = ids.map((id) => found.get(id)).filter((record): record is MediaRecord => record !== undefined);
      }
      return { items: records.filter((record) => matchesQuery(record, query)), nextCursor: encodeCursor(page.LastEvaluatedKey) };
    },

    async markReady(record, fields, eTag, now) {
      const set: string[] = ['#status = :ready', 'gsi2pk = :statusKey', 'objectETag = :etag', 'updatedAt = :now'];
      const remove: string[] = ['gsi3pk', 'gsi3sk', 'rejectReason'];
      const values: Item = { ':ready': 'ready', ':pending': 'pending', ':statusKey': statusIndexKey(record.userId, 'ready'), ':etag': eTag, ':now': now };
      const names: Record<string, string> = { '#status': 'status' };
      for (const field of ['width', 'height', 'durationSeconds', 'takenAt', 'camera', 'location', 'orientation', 'thumbnails', 'perceptualHash', 'dominantColors'] as const) {
        names[`#${field}`] = field;
        if (fields[field] === undefined) remove.push(`#${field}`);
        else {
          set.push(`#${field} = :${field}`);
          values[`:${field}`] = fields[field];
        }
      }
      // The similarity index follows the hash: entries of a previous hash (a re-upload) go,
      // entries of the new one come, in the same transaction as the item.
      const oldEntries = record.perceptualHash === undefined || record.perceptualHash === fields.perceptualHash ? [] : bandKeys(record.perceptualHash);
      const newEntries = fields.perceptualHash === undefined ? [] : bandKeys(fields.perceptualHash);
      const codes = await transact([
        {
          Update: {
            TableName: tableName,
            Key: mediaKey(record.userId, record.id),
            UpdateExpression: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
            // Pending, or ready from different bytes (the presigned POST was used again).
            ConditionExpression:
              'attribute_exists(pk) AND attribute_not_exists(deleting) AND (#status = :pending OR (#status = :ready AND (attribute_not_exists(objectETag) OR objectETag <> :etag)))',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          },
        },
        ...oldEntries.map((band) => ({ Delete: { TableName: tableName, Key: phashKey(record.userId, band, record.id) } })),
        ...newEntries.map((band) => ({
          Put: { TableName: tableName, Item: { ...phashKey(record.userId, band, record.id), mediaId: record.id, hash: fields.perceptualHash } },
        })),
      ]);
      return codes === undefined;
    },

    async markRejected(record, reason, now) {
      const codes = await transact([
        {
          Update: {
            TableName: tableName,
            Key: mediaKey(record.userId, record.id),
            UpdateExpression: 'SET #status = :rejected, rejectReason = :reason, gsi2pk = :statusKey, updatedAt = :now REMOVE gsi3pk, gsi3sk, thumbnails, perceptualHash, dominantColors',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deleting) AND #status <> :rejected',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':rejected': 'rejected', ':reason': reason, ':statusKey': statusIndexKey(record.userId, 'rejected'), ':now': now },
          },
        },
        ...(record.sha256 === undefined ? [] : [{ Delete: { TableName: tableName, Key: shaKey(record.userId, record.sha256) } }]),
        ...(record.perceptualHash === undefined ? [] : bandKeys(record.perceptualHash).map((band) => ({ Delete: { TableName: tableName, Key: phashKey(record.userId, band, record.id) } }))),
      ]);
      return codes === undefined;
    },

    async updateMetadata(record, changes, now) {
      const set: string[] = ['version = :next', 'updatedAt = :now'];
      const values: Item = { ':next': record.version + 1, ':expected': record.version, ':now': now };
      const names: Record<string, string> = {};
      if (changes.title !== undefined) {
        set.push('title = :title');
        values[':title'] = changes.title;
      }
      if (changes.description !== undefined) {
        set.push('#description = :description');
        names['#description'] = 'description';
        values[':description'] = changes.description;
      }
      if (changes.tags !== undefined) {
        const before = new Set(record.tags);
        const after = new Set(changes.tags);
        const changed = [...before].filter((tag) => !after.has(tag)).concat([...after].filter((tag) => !before.has(tag)));
        set.push('tags = :tags', 'dirtyTags = :dirty');
        values[':tags'] = changes.tags;
        values[':dirty'] = [...new Set([...(record.dirtyTags ?? []), ...changed])];
      }
      const flags = flagChanges(record, changes);
      const remove = flags.clear;
      for (const flag of flags.set) {
        set.push(`${flag} = :true`);
        values[':true'] = true;
      }
      if (flags.set.length + flags.clear.length > 0) {
        // The flag and its entry in one transaction: a view never lists an item without its flag, or misses one with it.
        const codes = await transact([
          {
            Update: {
              TableName: tableName,
              Key: mediaKey(record.userId, record.id),
              UpdateExpression: `SET ${set.join(', ')}${remove.length === 0 ? '' : ` REMOVE ${remove.join(', ')}`}`,
              ConditionExpression: 'version = :expected AND attribute_not_exists(deleting)',
              ...(Object.keys(names).length === 0 ? {} : { ExpressionAttributeNames: names }),
              ExpressionAttributeValues: values,
            },
          },
          ...flags.set.map((flag) => ({ Put: { TableName: tableName, Item: { ...flagKey(record.userId, flag, record.id), mediaId: record.id } } })),
          ...flags.clear.map((flag) => ({ Delete: { TableName: tableName, Key: flagKey(record.userId, flag, record.id) } })),
        ]);
        if (codes !== undefined) throw new VersionConflict();
        // Written over exactly `record` (the version condition): the item is now `record` with the changes.
        const updated: MediaRecord = { ...record, version: record.version + 1, updatedAt: now };
        if (changes.title !== undefined) updated.title = changes.title;
        if (changes.description !== undefined) updated.description = changes.description;
        if (changes.tags !== undefined) Object.assign(updated, { tags: values[':tags'], dirtyTags: values[':dirty'] });
        for (const flag of flags.set) updated[flag] = true;
        for (const flag of flags.clear) delete updated[flag];
        return updated;
      }
      try {
        const { Attributes } = await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: mediaKey(record.userId, record.id),
            UpdateExpression: `SET ${set.join(', ')}`,
            ConditionExpression: 'version = :expected AND attribute_not_exists(deleting)',
            ...(Object.keys(names).length === 0 ? {} : { ExpressionAttributeNames: names }),
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        );
        return toRecord(Attributes as Item);
      } catch (error) {
        if (isConditionFailure(error)) throw new VersionConflict();
        throw error;
      }
    },

    async syncTags(userId, mediaId) {
      for (let attempt = 0; attempt < 10; attempt++) {
        const record = await store.get(userId, mediaId);
        const dirty = record?.dirtyTags ?? [];
        if (record === undefined || dirty.length === 0) return;
        // Others are changing the item too: let them get ahead (jittered) before reading it again.
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 15 * attempt));
        try {
          await inParallel(dirty, 8, (tag) => ensureTagEntry(userId, mediaId, tag, record.tags.includes(tag), record.version));
        } catch (error) {
          if (error instanceof StaleSync) continue;
          throw error;
        }
        try {
          // Done only if nobody changed the tags meanwhile; otherwise go round again with theirs.
          await client.send(
            new UpdateCommand({
              TableName: tableName,
              Key: mediaKey(userId, mediaId),
              UpdateExpression: 'REMOVE dirtyTags',
              ConditionExpression: 'version = :version',
              ExpressionAttributeValues: { ':version': record.version },
            }),
          );
          return;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      }
      throw new TagSyncContended();
    },

    async listTags(userId) {
      const counts: TagCount[] = [];
      let startKey: Item | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': userPartition(userId), ':prefix': TAG_COUNT_PREFIX },
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
        for (const item of page.Items ?? []) {
          const count = Number(item['count']);
          if (count > 0) counts.push({ tag: item['tag'] as string, count });
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
      return counts.sort((a, b) => b.count - a.count || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
    },

    async beginDelete(record) {
      if (record.deleting === true) return;
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: mediaKey(record.userId, record.id),
            UpdateExpression: 'SET deleting = :true, tags = :none, dirtyTags = :dirty, version = :next REMOVE gsi3pk, gsi3sk',
            ConditionExpression: 'version = :expected',
            ExpressionAttributeValues: {
              ':true': true,
              ':none': [],
              ':dirty': [...new Set([...(record.dirtyTags ?? []), ...record.tags])],
              ':next': record.version + 1,
              ':expected': record.version,
            },
          }),
        );
      } catch (error) {
        if (isConditionFailure(error)) throw new VersionConflict();
        throw error;
      }
    },

    async finishDelete(record) {
      await transact([
        { Delete: { TableName: tableName, Key: mediaKey(record.userId, record.id), ConditionExpression: 'attribute_not_exists(pk) OR deleting = :true', ExpressionAttributeValues: { ':true': true } } },
        ...(['favorite', 'archived'] as const).filter((flag) => record[flag] === true).map((flag) => ({ Delete: { TableName: tableName, Key: flagKey(record.userId, flag, record.id) } })),
        ...(record.perceptualHash === undefined ? [] : bandKeys(record.perceptualHash).map((band) => ({ Delete: { TableName: tableName, Key: phashKey(record.userId, band, record.id) } }))),
        ...(record.sha256 === undefined
          ? []
          : [
              {
                Delete: {
                  TableName: tableName,
                  Key: shaKey(record.userId, record.sha256),
                  ConditionExpression: 'attribute_not_exists(pk) OR mediaId = :id',
                  ExpressionAttributeValues: { ':id': record.id },
                },
              },
            ]),
      ]);
    },

    async deletePending(record) {
      // Same path as a DELETE (mark, release tags, remove), but only while the item is pending.
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: mediaKey(record.userId, record.id),
            UpdateExpression: 'SET deleting = :true, tags = :none, dirtyTags = :dirty, version = :next REMOVE gsi3pk, gsi3sk',
            ConditionExpression: '#status = :pending AND attribute_not_exists(deleting) AND version = :expected',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':true': true,
              ':none': [],
              ':dirty': [...new Set([...(record.dirtyTags ?? []), ...record.tags])],
              ':next': record.version + 1,
              ':expected': record.version,
              ':pending': 'pending',
            },
          }),
        );
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
      await store.syncTags(record.userId, record.id);
      await store.finishDelete({ ...record, deleting: true });
      return true;
    },

    async listPendingBefore(before, limit) {
      const found: Array<{ userId: string; mediaId: string }> = [];
      for (let shard = 0; shard < PENDING_SHARDS && found.length < limit; shard++) {
        let startKey: Item | undefined;
        do {
          const page = await client.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: INDEX.pending,
              KeyConditionExpression: 'gsi3pk = :shard AND gsi3sk < :before',
              ExpressionAttributeValues: { ':shard': `PENDING#${shard}`, ':before': before },
              Limit: limit - found.length,
              ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
            }),
          );
          for (const row of page.Items ?? []) {
            const ids = idsOfMediaKey(row['pk'] as string, row['sk'] as string);
            if (ids !== undefined) found.push(ids);
          }
          startKey = page.LastEvaluatedKey;
        } while (startKey !== undefined && found.length < limit);
      }
      return found;
    },

    async findSimilar(userId, perceptualHash, excludeMediaId) {
      const partition = userPartition(userId);
      const found = new Map<string, number>();
      await inParallel(probeKeys(perceptualHash), 16, async (band) => {
        let startKey: Item | undefined;
        do {
          const page = await client.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
              ExpressionAttributeValues: { ':pk': partition, ':prefix': `${PHASH_PREFIX}${band}#` },
              ProjectionExpression: 'mediaId, #hash',
              ExpressionAttributeNames: { '#hash': 'hash' },
              ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
            }),
          );
          for (const entry of page.Items ?? []) {
            const mediaId = entry['mediaId'] as string;
            if (mediaId === excludeMediaId || found.has(mediaId)) continue;
            const distance = hammingDistance(perceptualHash, entry['hash'] as string);
            if (distance <= MAX_SIMILAR_DISTANCE) found.set(mediaId, distance);
          }
          startKey = page.LastEvaluatedKey;
        } while (startKey !== undefined);
      });
      return [...found.entries()].map(([mediaId, distance]) => ({ mediaId, distance })).sort((a, b) => a.distance - b.distance || (a.mediaId < b.mediaId ? -1 : 1));
    },

    async deleteUserData(userId) {
      let deleted = 0;
      for await (const keys of partitionKeyPages(client, tableName, userPartition(userId))) {
        await batchDelete(keys);
        deleted += keys.filter((key) => key.sk.startsWith(MEDIA_PREFIX)).length;
      }
      return deleted;
    },
  };
  return store;
}
