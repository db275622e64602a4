import { expect } from 'chai';
import { ulid } from 'ulid';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';
import type { MediaRecord } from '../../shared/stores/media';

interface TagList {
  items: Array<{ tag: string; count: number }>;
}
interface ErrorBody {
  error: { code: string };
}

describe('GET /v1/tags (listTags)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: ulid(), sessionId: ulid() };
  const stranger = { userId: ulid(), sessionId: ulid() };

  beforeEach(() => {
    world = handlerWorld();
    handler = loadHandler('functions/tags/listTags', world);
  });

  /** An item with these tags, entries and counts synced as updateMetadata leaves them. */
  async function tagged(userId: string, tags: string[]): Promise<MediaRecord> {
    const now = new Date().toISOString();
    const record = pendingMediaRecord(userId, { filename: 'a.jpg', size: 1, createdAt: now, updatedAt: now });
    await world.media.createPending(record);
    await world.media.updateMetadata(record, { tags }, now);
    await world.media.syncTags(userId, record.id);
    return record;
  }

  const list = (who: { userId: string; sessionId: string } = caller) => invoke<TagList>(handler, { caller: who });

  it('{items: [{tag, count}]} sorted by count (most used first), then by tag', async () => {
    await tagged(caller.userId, ['travel', 'paris', 'zoo']);
    await tagged(caller.userId, ['travel', 'paris', 'beach']);
    await tagged(caller.userId, ['travel', 'alps']);
    const response = await list();
    expect(response.status).to.equal(200);
    expect(response.body).to.have.keys(['items']);
    expect(response.body.items).to.deep.equal([
      { tag: 'travel', count: 3 },
      { tag: 'paris', count: 2 },
      { tag: 'alps', count: 1 },
      { tag: 'beach', count: 1 },
      { tag: 'zoo', count: 1 },
    ]);
    for (const item of response.body.items) expect(item).to.have.keys(['tag', 'count']);
  });

  it('only the caller’s tags and counts', async () => {
    await tagged(caller.userId, ['paris']);
    await tagged(stranger.userId, ['paris', 'secret']);
    await tagged(stranger.userId, ['paris']);
    expect((await list()).body.items).to.deep.equal([{ tag: 'paris', count: 1 }]);
    expect((await list(stranger)).body.items).to.deep.equal([
      { tag: 'paris', count: 2 },
      { tag: 'secret', count: 1 },
    ]);
  });

  it('an empty list when the caller has no tags; tags of deleted items are gone', async () => {
    expect((await list()).body).to.deep.equal({ items: [] });
    const record = await tagged(caller.userId, ['gone']);
    await world.media.beginDelete((await world.media.get(caller.userId, record.id)) as MediaRecord);
    await world.media.syncTags(caller.userId, record.id);
    expect((await list()).body).to.deep.equal({ items: [] });
  });

  it('401 without a caller', async () => {
    await tagged(caller.userId, ['paris']);
    const response = await invoke<ErrorBody>(handler, {});
    expect(response.status).to.equal(401);
    expect(response.body.error.code).to.equal('unauthenticated');
  });
});
