import type { Context } from 'aws-lambda';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { lambdaContext } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';
import type { MediaRecord, MediaStatus } from '../../shared/stores/media';

type SweepHandler = (event: unknown, context: Context) => Promise<{ swept: number }>;

const HOUR = 3600_000;

describe('hourly sweep of abandoned uploads (sweepUploads)', () => {
  let world: HandlerWorld;
  let handler: SweepHandler;

  beforeEach(() => {
    world = handlerWorld();
    handler = loadHandler('functions/media/sweepUploads', world) as SweepHandler;
  });

  const sweep = (): Promise<{ swept: number }> => handler({}, lambdaContext('sweepUploads'));
  const originalOf = (record: MediaRecord): string => `media/${record.userId}/${record.id}/original`;

  async function item(ageHours: number, options: { status?: MediaStatus; withObject?: boolean; sha256?: string; userId?: string } = {}): Promise<MediaRecord> {
    const createdAt = new Date(Date.now() - ageHours * HOUR).toISOString();
    const record = pendingMediaRecord(options.userId ?? ulid(), {
      filename: 'f.png',
      contentType: 'image/png',
      size: 3,
      ...(options.sha256 === undefined ? {} : { sha256: options.sha256 }),
      createdAt,
      updatedAt: createdAt,
    });
    await world.media.createPending(record);
    if (options.withObject === true) await world.content.put(originalOf(record), Buffer.from('abc'), 'image/png');
    if (options.status === 'ready') await world.media.markReady(record, { width: 1, height: 1 }, '"e"', createdAt);
    if (options.status === 'rejected') await world.media.markRejected(record, 'type_mismatch', createdAt);
    return record;
  }

  it('returns {swept: n} and removes only pending items older than 24 hours, with their bytes and hash claims', async () => {
    const sha = 'ab'.repeat(32);
    const stale = await item(25, { withObject: true, sha256: sha });
    const neverUploaded = await item(48);
    const recent = await item(1, { withObject: true });
    const almostStale = await item(23.9, { withObject: true });
    const oldReady = await item(72, { status: 'ready', withObject: true });
    const oldRejected = await item(72, { status: 'rejected' });

    const result = await sweep();
    expect(result).to.deep.equal({ swept: 2 });

    expect(await world.media.get(stale.userId, stale.id)).to.equal(undefined);
    expect(world.content.objects.has(originalOf(stale))).to.equal(false);
    expect(world.media.shaClaims.has(`${stale.userId}/${sha}`)).to.equal(false);
    expect(await world.media.get(neverUploaded.userId, neverUploaded.id)).to.equal(undefined);

    for (const kept of [recent, almostStale, oldReady, oldRejected]) expect(await world.media.get(kept.userId, kept.id), kept.createdAt).to.not.equal(undefined);
    expect((await world.media.get(recent.userId, recent.id))?.status).to.equal('pending');
    expect(world.content.objects.has(originalOf(recent))).to.equal(true);
    expect(world.content.objects.has(originalOf(almostStale))).to.equal(true);
    expect(world.content.objects.has(originalOf(oldReady))).to.equal(true);
    expect((await world.media.get(oldReady.userId, oldReady.id))?.status).to.equal('ready');
  });

  it('the same content can be uploaded again once its stale claim is swept', async () => {
    const sha = 'cd'.repeat(32);
    const userId = ulid();
    await item(30, { sha256: sha, userId });
    let duplicate: unknown;
    try {
      await item(0, { sha256: sha, userId });
    } catch (error) {
      duplicate = error;
    }
    expect((duplicate as Error | undefined)?.name).to.equal('DuplicateMedia');
    expect(await sweep()).to.deep.equal({ swept: 1 });
    await item(0, { sha256: sha, userId });
    expect(world.media.items.size).to.equal(1);
  });

  it('{swept: 0} when there is nothing to sweep; a second run finds nothing more', async () => {
    expect(await sweep()).to.deep.equal({ swept: 0 });
    await item(30, { withObject: true });
    expect(await sweep()).to.deep.equal({ swept: 1 });
    expect(await sweep()).to.deep.equal({ swept: 0 });
    expect(world.media.items.size).to.equal(0);
    expect(world.content.objects.size).to.equal(0);
  });

  it('a stale pending item’s tags go with it (entries and counts)', async () => {
    const userId = ulid();
    const stale = await item(30, { userId });
    const kept = await item(1, { userId });
    for (const record of [stale, kept]) {
      await world.media.updateMetadata((await world.media.get(userId, record.id)) as MediaRecord, { tags: record === stale ? ['beach', 'sea'] : ['beach'] }, new Date().toISOString());
      await world.media.syncTags(userId, record.id);
    }
    expect(await sweep()).to.deep.equal({ swept: 1 });
    expect(await world.media.listTags(userId)).to.deep.equal([{ tag: 'beach', count: 1 }]);
    expect([...world.media.tagEntries]).to.deep.equal([`${userId}/beach/${kept.id}`]);
  });

  it('sweeps across users; an item being deleted is left to its DELETE', async () => {
    const first = await item(26, { withObject: true });
    const second = await item(26, { withObject: true });
    const deleting = await item(26, { withObject: true });
    await world.media.beginDelete((await world.media.get(deleting.userId, deleting.id)) as MediaRecord);
    expect(await sweep()).to.deep.equal({ swept: 2 });
    expect(await world.media.get(first.userId, first.id)).to.equal(undefined);
    expect(await world.media.get(second.userId, second.id)).to.equal(undefined);
    expect(world.media.items.has(`${deleting.userId}/${deleting.id}`)).to.equal(true);
  });
});
