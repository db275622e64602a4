import { expect } from 'chai';
import { ulid } from 'ulid';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { pendingMediaRecord } from '../../local/test/records';
import type { MediaRecord } from '../../shared/stores/media';

interface ViewsBody {
  id: string;
  views: number;
}
interface ErrorBody {
  error: { code: string; details?: Array<{ path: string }> };
}

describe('POST /v1/media/{id}/views (recordView)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: ulid(), sessionId: ulid() };
  const stranger = { userId: ulid(), sessionId: ulid() };

  beforeEach(() => {
    world = handlerWorld();
    handler = loadHandler('functions/media/recordView', world);
  });

  const view = <T = ViewsBody>(id: string, who: { userId: string; sessionId: string } | null = caller) =>
    invoke<T>(handler, { method: 'POST', ...(who === null ? {} : { caller: who }), pathParameters: { id } });

  async function item(userId: string): Promise<MediaRecord> {
    const record = pendingMediaRecord(userId);
    await world.media.createPending(record);
    return record;
  }

  it('counts one view per call: exactly {id, views}, 1, 2, 3, and in the store', async () => {
    const record = await item(caller.userId);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await view(record.id)).body);
    expect(answers).to.deep.equal([1, 2, 3].map((views) => ({ id: record.id, views })));
    expect((await world.media.get(caller.userId, record.id))?.views).to.equal(3);
  });

  it('404 media_not_found for another user’s item (whose views do not change), an unknown id and an item being deleted', async () => {
    const theirs = await item(stranger.userId);
    const deleting = await item(caller.userId);
    await world.media.beginDelete(deleting);
    for (const id of [theirs.id, ulid(), deleting.id]) {
      const response = await view<ErrorBody>(id);
      expect(response.status).to.equal(404);
      expect(response.body.error.code).to.equal('media_not_found');
    }
    expect((await world.media.get(stranger.userId, theirs.id))?.views).to.equal(0);
  });

  it('400 validation_failed for a malformed id; 401 without a caller; neither counts', async () => {
    const record = await item(caller.userId);
    const malformed = await view<ErrorBody>('../../etc/passwd');
    expect([malformed.status, malformed.body.error.details?.[0]?.path]).to.deep.equal([400, 'path.id']);
    const anonymous = await view<ErrorBody>(record.id, null);
    expect([anonymous.status, anonymous.body.error.code]).to.deep.equal([401, 'unauthenticated']);
    expect((await world.media.get(caller.userId, record.id))?.views).to.equal(0);
  });
});
