/**
 * The consistency checker against DynamoDB Local and the S3 stand-in: a state built through
 * the real stores and domain functions (sign-up records, sessions, an image and a video
 * processed by processUpload, a pending and a rejected upload, tags, a hash claim, an
 * analysis) has no findings; then each kind of damage is seeded and the checker must report
 * exactly that. Every test works in users of its own (the tables are shared by the whole run)
 * and restricts the checker to them.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { localStack } from '../test/stack';
import { dynamo } from '../../shared/aws/dynamo';
import { s3 } from '../../shared/aws/s3';
import { systemClock } from '../../shared/clock';
import { requireEnv } from '../../shared/config/env';
import { mediaSettings } from '../../shared/config/media';
import { originalKey, thumbnailKeys } from '../../shared/content/keys';
import { s3ContentStore } from '../../shared/content/s3Content';
import { createMedia, processUpload, updateMetadata } from '../../shared/domain/media';
import { inspector } from '../../shared/media-info/inspector';
import { bandKeys } from '../../shared/analysis/similarity';
import { dynamoAnalysisStore, type AnalysisRecord } from '../../shared/stores/analyses';
import { credentialsKey, sessionKey, userKey } from '../../shared/stores/keys';
import { dynamoMediaStore } from '../../shared/stores/media';
import { flagKey, mediaKey, phashKey, shaKey, tagCountKey, taggedKey } from '../../shared/stores/mediaKeys';
import { dynamoSessionStore } from '../../shared/stores/sessions';
import { dynamoUserStore } from '../../shared/stores/users';
import { checkConsistency, evaluate, localTarget, readSnapshot, type CheckOptions, type ConsistencyReport, type ConsistencyTarget, type Violation } from './consistency';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'media');
const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));
const HOUR_LATER = (): Date => new Date(Date.now() + 3600_000);

describe('consistency checker (DynamoDB Local + S3 stand-in)', function () {
  this.timeout(60_000);
  const tables = { users: requireEnv('USERS_TABLE'), sessions: requireEnv('SESSIONS_TABLE'), media: requireEnv('MEDIA_TABLE'), analyses: requireEnv('ANALYSES_TABLE') };
  const users = dynamoUserStore(dynamo, tables.users);
  const sessions = dynamoSessionStore(dynamo, tables.sessions);
  const media = dynamoMediaStore(dynamo, tables.media);
  const analyses = dynamoAnalysisStore(dynamo, tables.analyses);
  const content = s3ContentStore(s3, requireEnv('MEDIA_BUCKET'));
  const deps = { media, content, clock: systemClock, newId: ulid, settings: mediaSettings };
  let target: ConsistencyTarget;

  before(async () => {
    const stack = await localStack();
    target = localTarget({ dynamodbEndpoint: stack.dynamodbEndpoint, s3Endpoint: stack.s3Endpoint });
  });

  async function account(): Promise<{ userId: string; email: string; sessionId: string }> {
    const userId = ulid();
    const now = new Date();
    const email = `consistency-${userId.toLowerCase()}@example.com`;
    await users.create({ id: userId, email, name: 'Checker', createdAt: now.toISOString(), updatedAt: now.toISOString(), status: 'active' }, '$argon2id$not-a-real-hash');
    const sessionId = ulid();
    await sessions.create({
      id: sessionId,
      userId,
      createdAt: now.toISOString(),
      lastUsedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 86400_000).toISOString(),
      remember: false,
      userAgent: 'mocha',
      currentHash: 'ab'.repeat(32),
      previousHashes: [],
    });
    return { userId, email, sessionId };
  }

  /** createMedia, the bytes put where the presigned POST would put them, processUpload: what an upload does. */
  async function uploaded(userId: string, bytes: Buffer, contentType: string, withSha = false): Promise<string> {
    const sha256 = withSha ? createHash('sha256').update(bytes).digest('hex') : undefined;
    const created = await createMedia(deps, { userId }, { filename: 'f', contentType, size: bytes.length, ...(sha256 === undefined ? {} : { sha256 }) });
    const key = originalKey(userId, created.media.id);
    await content.put(key, bytes, contentType);
    await processUpload({ ...deps, inspector }, key);
    return created.media.id;
  }

  interface World {
    userId: string;
    email: string;
    sessionId: string;
    image: string;
    video: string;
    pending: string;
    rejected: string;
    analysisId: string;
  }

  /** A consistent user: account, session, a ready image (tagged, sha256 claimed) and video, a pending and a rejected upload, an analysis. */
  async function world(): Promise<World> {
    const { userId, email, sessionId } = await account();
    const image = await uploaded(userId, fixture('graphic.png'), 'image/png', true);
    const video = await uploaded(userId, fixture('clip.mp4'), 'video/mp4');
    const pending = (await createMedia(deps, { userId }, { filename: 'p.jpg', contentType: 'image/jpeg', size: 1000 })).media.id;
    const rejected = await uploaded(userId, fixture('not-an-image.jpg'), 'image/png');
    await updateMetadata(deps, { userId }, image, { tags: ['paris', 'eiffel'], favorite: true });
    await updateMetadata(deps, { userId }, pending, { archived: true });
    await updateMetadata(deps, { userId }, video, { tags: ['paris'] });
    const now = new Date().toISOString();
    const analysisId = ulid();
    const job: AnalysisRecord = {
      id: analysisId,
      userId,
      mediaId: image,
      status: 'succeeded',
      createdAt: now,
      updatedAt: now,
      attempts: 1,
      result: { perceptualHash: '0'.repeat(16), dominantColors: [], similarMedia: [], labels: null, labelsSource: 'disabled' },
    };
    await analyses.create(job);
    return { userId, email, sessionId, image, video, pending, rejected, analysisId };
  }

  const check = (userIds: string[], options: CheckOptions = {}): Promise<ConsistencyReport> => checkConsistency(target, { userIds, ...options });
  const kinds = (findings: Violation[]): string[] => findings.map((finding) => finding.kind).sort();
  const put = (table: string, item: Record<string, unknown>) => dynamo.send(new PutCommand({ TableName: table, Item: item }));
  const remove = (table: string, key: { pk: string; sk: string }) => dynamo.send(new DeleteCommand({ TableName: table, Key: key }));
  const set = (table: string, key: { pk: string; sk: string }, attribute: string, value: unknown) =>
    dynamo.send(new UpdateCommand({ TableName: table, Key: key, UpdateExpression: 'SET #a = :v', ExpressionAttributeNames: { '#a': attribute }, ExpressionAttributeValues: { ':v': value } }));

  it('a consistent state built through the stores and processUpload: no violations, nothing in progress, and the counts add up', async () => {
    const w = await world();
    const report = await check([w.userId], { settled: true });
    expect(report.violations, JSON.stringify(report.violations, null, 2)).to.deep.equal([]);
    expect(report.inProgress).to.deep.equal([]);
    expect(report.counts).to.deep.include({ users: 1, credentials: 1, sessions: 1, tagEntries: 3, tagCounts: 2, shaClaims: 1, phashEntries: 6, objects: 4, originals: 2, thumbnails: 2 });
    expect(report.counts.mediaItems).to.deep.equal({ ready: 2, pending: 1, rejected: 1 });
    expect(report.counts.analyses).to.deep.equal({ succeeded: 1 });
  });

  it('only looks at the users it is given', async () => {
    const [damaged, clean] = [await world(), await world()];
    await content.delete([originalKey(damaged.userId, damaged.image)]);
    expect(kinds((await check([clean.userId])).violations)).to.deep.equal([]);
    expect(kinds((await check([clean.userId, damaged.userId])).violations)).to.deep.equal(['ready_original_missing']);
  });

  describe('S3 against the media items', () => {
    it('a ready image without a thumbnail', async () => {
      const w = await world();
      await content.delete([thumbnailKeys(w.userId, w.image).small]);
      const { violations } = await check([w.userId]);
      expect(kinds(violations)).to.deep.equal(['ready_thumbnail_missing']);
      expect(violations[0]).to.include({ userId: w.userId, mediaId: w.image, key: thumbnailKeys(w.userId, w.image).small });
    });

    it('a ready item without its original', async () => {
      const w = await world();
      await content.delete([originalKey(w.userId, w.video)]);
      const { violations } = await check([w.userId]);
      expect(kinds(violations)).to.deep.equal(['ready_original_missing']);
      expect(violations[0]).to.include({ mediaId: w.video });
    });

    it('a ready item whose original has another size', async () => {
      const w = await world();
      await set(tables.media, mediaKey(w.userId, w.video), 'size', 5);
      const { violations } = await check([w.userId]);
      expect(kinds(violations)).to.deep.equal(['ready_original_size_mismatch']);
      expect(violations[0]?.details).to.deep.include({ itemSize: 5, objectSize: fixture('clip.mp4').length });
    });

    it('a ready image that does not record its thumbnails', async () => {
      const w = await world();
      await set(tables.media, mediaKey(w.userId, w.image), 'thumbnails', { small: 'elsewhere', large: thumbnailKeys(w.userId, w.image).large });
      expect(kinds((await check([w.userId])).violations)).to.deep.equal(['ready_thumbnails_unrecorded']);
    });

    it('an original that is not the processed one: in progress within the grace period (a re-upload), a violation after it', async () => {
      const w = await world();
      await set(tables.media, mediaKey(w.userId, w.video), 'objectETag', '"another"');
      const live = await check([w.userId]);
      expect(kinds(live.violations)).to.deep.equal([]);
      expect(kinds(live.inProgress)).to.deep.equal(['ready_original_etag_mismatch']);
      expect(kinds((await check([w.userId], { now: HOUR_LATER() })).violations)).to.deep.equal(['ready_original_etag_mismatch']);
    });

    it('an object without an item: in flight within the grace period, an orphan after it', async () => {
      const w = await world();
      const key = originalKey(w.userId, ulid());
      await content.put(key, Buffer.from('bytes'), 'image/png');
      const live = await check([w.userId]);
      expect(kinds(live.violations)).to.deep.equal([]);
      expect(kinds(live.inProgress)).to.deep.equal(['orphan_object']);
      const later = await check([w.userId], { now: HOUR_LATER() });
      expect(kinds(later.violations)).to.deep.equal(['orphan_object']);
      expect(later.violations[0]).to.include({ key });
      expect(kinds((await check([w.userId], { settled: true })).violations), 'settled: no grace').to.deep.equal(['orphan_object']);
    });

    it('a thumbnail of a pending item or of a video', async () => {
      const w = await world();
      await content.put(thumbnailKeys(w.userId, w.pending).small, Buffer.from('webp'), 'image/webp');
      await content.put(thumbnailKeys(w.userId, w.video).large, Buffer.from('webp'), 'image/webp');
      expect(kinds((await check([w.userId])).violations), 'young: processing may be under way').to.deep.equal([]);
      const { violations } = await check([w.userId], { now: HOUR_LATER() });
      expect(kinds(violations)).to.deep.equal(['thumbnail_of_unready_item', 'thumbnail_of_unready_item']);
      expect(violations.map((finding) => finding.mediaId).sort()).to.deep.equal([w.pending, w.video].sort());
    });

    it('the original of a rejected item', async () => {
      const w = await world();
      await content.put(originalKey(w.userId, w.rejected), fixture('not-an-image.jpg'), 'image/png');
      expect(kinds((await check([w.userId], { now: HOUR_LATER() })).violations)).to.deep.equal(['rejected_original_present']);
    });

    it('an object that is neither an original nor a thumbnail', async () => {
      const w = await world();
      await content.put(`media/${w.userId}/${w.image}/notes.txt`, Buffer.from('x'), 'text/plain');
      expect(kinds((await check([w.userId])).violations)).to.deep.equal(['unexpected_object']);
    });
  });

  describe('tags', () => {
    it('a corrupted tag count', async () => {
      const w = await world();
      await set(tables.media, tagCountKey(w.userId, 'paris'), 'count', 5);
      const { violations } = await check([w.userId]);
      expect(kinds(violations)).to.deep.equal(['tag_count_mismatch']);
      expect(violations[0]?.details).to.deep.equal({ tag: 'paris', count: 5, entries: 2 });
    });

    it('a tag entry missing (with its count, so the counts still agree)', async () => {
      const w = await world();
      await remove(tables.media, taggedKey(w.userId, 'eiffel', w.image));
      await remove(tables.media, tagCountKey(w.userId, 'eiffel'));
      const { violations } = await check([w.userId]);
      expect(kinds(violations)).to.deep.equal(['tag_entry_missing']);
      expect(violations[0]).to.deep.include({ mediaId: w.image, details: { tag: 'eiffel' } });
    });

    it('a tag entry for a tag the item does not carry', async () => {
      const w = await world();
      await put(tables.media, { ...taggedKey(w.userId, 'ghost', w.video), tag: 'ghost', mediaId: w.video });
      await put(tables.media, { ...tagCountKey(w.userId, 'ghost'), tag: 'ghost', count: 1 });
      expect(kinds((await check([w.userId])).violations)).to.deep.equal(['tag_entry_orphan']);
    });

    it('a count of zero left behind', async () => {
      const w = await world();
      await put(tables.media, { ...tagCountKey(w.userId, 'gone'), tag: 'gone', count: 0 });
      expect(kinds((await check([w.userId])).violations)).to.deep.equal(['tag_count_not_positive']);
    });

    it('an interrupted tag sync is in progress (a violation once settled), and syncTags finishes it', async () => {
      const w = await world();
      const record = await media.get(w.userId, w.video);
      if (record === undefined) throw new Error('no video');
      await media.updateMetadata(record, { tags: ['louvre'] }, new Date().toISOString()); // without syncTags: as if the request died here
      const live = await check([w.userId]);
      expect(kinds(live.violations)).to.deep.equal([]);
      expect(kinds(live.inProgress)).to.deep.equal(['tag_entry_missing', 'tag_entry_orphan', 'tags_unsynced']);
      expect(kinds((await check([w.userId], { settled: true })).violations)).to.deep.equal(['tag_entry_missing', 'tag_entry_orphan', 'tags_unsynced']);
      await media.syncTags(w.userId, w.video);
      const synced = await check([w.userId], { settled: true });
      expect(synced.violations).to.deep.equal([]);
    });

    it('a half-deleted item (DELETE stopped after beginDelete) is in progress, a violation once settled', async () => {
      const w = await world();
      const record = await media.get(w.userId, w.image);
      if (record === undefined) throw new Error('no image');
      await media.beginDelete(record);
      const live = await check([w.userId]);
      expect(kinds(live.violations)).to.deep.equal([]);
      expect(kinds(live.inProgress)).to.include.members(['item_deleting', 'tags_unsynced']);
      expect(kinds((await check([w.userId], { settled: true })).violations)).to.include('item_deleting');
    });
  });

  describe('hash claims and the similarity index', () => {
    it('a ready item that lost its hash claim, and a claim of an item that does not exist', async () => {
      const w = await world();
      const sha = (await media.get(w.userId, w.image))?.sha256 as string;
      await remove(tables.media, shaKey(w.userId, sha));
      await put(tables.media, { ...shaKey(w.userId, 'f'.repeat(64)), mediaId: ulid() });
      const { violations } = await check([w.userId]);
      expect(kinds(violations)).to.deep.equal(['sha_claim_missing', 'sha_claim_orphan']);
    });

    it('a ready image missing a similarity entry, and an entry of a video', async () => {
      const w = await world();
      const hash = (await media.get(w.userId, w.image))?.perceptualHash as string;
      await remove(tables.media, phashKey(w.userId, bandKeys(hash)[2] as string, w.image));
      await put(tables.media, { ...phashKey(w.userId, bandKeys(hash)[0] as string, w.video), mediaId: w.video, hash });
      const { violations } = await check([w.userId]);
      expect(kinds(violations)).to.deep.equal(['phash_entry_missing', 'phash_entry_orphan']);
      expect(violations.find((finding) => finding.kind === 'phash_entry_missing')?.details).to.deep.equal({ bands: [bandKeys(hash)[2]] });
    });
  });

  describe('favourite and archive entries', () => {
    it('a favourite without its entry, and an archive entry of an item that is not archived', async () => {
      const w = await world();
      await remove(tables.media, flagKey(w.userId, 'favorite', w.image));
      await put(tables.media, { ...flagKey(w.userId, 'archived', w.video), mediaId: w.video });
      const { violations } = await check([w.userId]);
      expect(kinds(violations)).to.deep.equal(['flag_entry_missing', 'flag_entry_orphan']);
      expect(violations.find((finding) => finding.kind === 'flag_entry_missing')?.details).to.deep.equal({ flag: 'favorite' });
    });

    it('an entry whose item is gone, and one that names another item', async () => {
      const w = await world();
      await put(tables.media, { ...flagKey(w.userId, 'favorite', ulid()), mediaId: 'x' });
      const gone = ulid();
      await put(tables.media, { ...flagKey(w.userId, 'archived', gone), mediaId: gone });
      const { violations } = await check([w.userId]);
      expect(kinds(violations)).to.deep.equal(['flag_entry_orphan', 'malformed_item']);
    });
  });

  describe('accounts, sessions and analyses', () => {
    it('a session whose user was deleted', async () => {
      const { userId, email, sessionId } = await account();
      await remove(tables.users, userKey(userId));
      await remove(tables.users, credentialsKey(email));
      const { violations } = await check([userId]);
      expect(kinds(violations)).to.deep.equal(['session_without_user']);
      expect(violations[0]?.key).to.equal(`sessions ${sessionKey(userId, sessionId).pk} ${sessionKey(userId, sessionId).sk}`);
    });

    it('credentials without a profile, and a profile without credentials', async () => {
      const first = await account();
      const second = await account();
      await remove(tables.sessions, sessionKey(first.userId, first.sessionId));
      await remove(tables.users, userKey(first.userId));
      await remove(tables.users, credentialsKey(second.email));
      expect(kinds((await check([first.userId])).violations)).to.deep.equal(['credentials_without_profile']);
      expect(kinds((await check([second.userId])).violations)).to.deep.equal(['profile_without_credentials']);
    });

    it('credentials that point to a profile with another email', async () => {
      const { userId, email } = await account();
      await set(tables.users, userKey(userId), 'email', `other-${email}`);
      expect(kinds((await check([userId])).violations)).to.deep.equal(['credentials_profile_mismatch', 'profile_without_credentials']);
    });

    it('media and analyses of a user who does not exist; in progress while the account is being deleted', async () => {
      const w = await world();
      const profile = await users.getProfile(w.userId);
      if (profile === undefined) throw new Error('no profile');
      await users.beginDeletion(profile);
      const deleting = await check([w.userId]);
      expect(kinds(deleting.violations)).to.deep.equal([]);
      expect(kinds(deleting.inProgress)).to.deep.equal(['account_deleting', 'analysis_without_user', 'data_without_user', 'session_without_user']);
      await sessions.deleteAll(w.userId);
      await users.deleteProfile(w.userId);
      expect(kinds((await check([w.userId])).violations)).to.deep.equal(['analysis_without_user', 'data_without_user']);
    });

    it('an analysis nobody will finish, of a media item that is gone; an unfinished one is in progress', async () => {
      const { userId } = await account();
      const long = new Date(Date.now() - 2 * 3600_000).toISOString();
      const fresh = new Date().toISOString();
      await analyses.create({ id: ulid(), userId, mediaId: ulid(), status: 'queued', createdAt: long, updatedAt: long, attempts: 0 });
      await analyses.create({ id: ulid(), userId, mediaId: ulid(), status: 'running', createdAt: fresh, updatedAt: fresh, attempts: 1, runId: 'r', leaseExpiresAt: new Date(Date.now() + 60_000).toISOString() });
      const report = await check([userId]);
      expect(kinds(report.violations)).to.deep.equal(['analysis_abandoned']);
      expect(kinds(report.inProgress)).to.deep.equal(['analysis_unfinished']);
    });

    it('an item the key design does not know', async () => {
      const { userId } = await account();
      await put(tables.media, { pk: `USER#${userId}`, sk: `SOMETHING#1` });
      expect(kinds((await check([userId])).violations)).to.deep.equal(['unknown_item']);
    });
  });

  it('evaluate() on an empty snapshot finds nothing (the whole-table mode reads every table and the bucket)', async () => {
    expect(evaluate({ users: [], sessions: [], media: [], analyses: [], objects: [] })).to.deep.include({ violations: [], inProgress: [] });
    const whole = await readSnapshot(target);
    expect(whole.userIds).to.equal(undefined);
    expect(whole.media.length).to.be.greaterThan(0);
    expect(whole.objects.length).to.be.greaterThan(0);
  });
});
