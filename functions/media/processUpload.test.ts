import { createHash } from 'node:crypto';
import type { Context, S3Event } from 'aws-lambda';
import { expect } from 'chai';
import sinon from 'sinon';
import { ulid } from 'ulid';
import { lambdaContext, s3EncodeKey, s3Event as s3EventOf, s3Record } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { capturedMetrics } from '../../local/test/metrics';
import { pendingMediaRecord } from '../../local/test/records';
import type { MediaInspector } from '../../shared/domain/media';
import { logger } from '../../shared/log';
import { UnreadableMedia, type ImageInfo } from '../../shared/media-info/types';
import type { MediaRecord } from '../../shared/stores/media';

type S3Handler = (event: S3Event, context: Context) => Promise<void>;

const s3Event = (...keys: string[]): S3Event => s3EventOf(keys);

const PNG_BYTES = Buffer.concat([Buffer.from('FAKEPNG!'), Buffer.alloc(200, 7)]);
const MP4_BYTES = Buffer.concat([Buffer.from('FAKEMP4!'), Buffer.alloc(300, 9)]);

/** A MediaInspector that reads our made-up magic numbers, so no sharp or file-type runs. */
function fakeInspector() {
  return {
    sniffBytes: 8,
    sniff: sinon.spy(async (head: Buffer) => {
      const magic = head.subarray(0, 8).toString('latin1');
      return magic === 'FAKEPNG!' ? 'image/png' : magic === 'FAKEMP4!' ? 'video/mp4' : undefined;
    }),
    typesAgree: (declared: string, sniffed: string | undefined) => declared === sniffed,
    image: sinon.spy(async (_buffer: Buffer): Promise<ImageInfo> => ({ width: 640, height: 480, orientation: 1, camera: { make: 'Fake', model: 'One' } })),
    thumbnails: sinon.spy(async (_buffer: Buffer) => ({ small: Buffer.from('small-webp'), large: Buffer.from('large-webp') })),
    perceptualHash: sinon.spy(async (_buffer: Buffer) => '0123456789abcdef'),
    dominantColors: sinon.spy(async (_buffer: Buffer) => [{ hex: '#102030', ratio: 1 }]),
    video: sinon.spy(async () => ({ width: 320, height: 240, durationSeconds: 2 })),
  } satisfies MediaInspector;
}

describe('S3 ObjectCreated (processUpload)', () => {
  let world: HandlerWorld;
  let inspector: ReturnType<typeof fakeInspector>;
  let handler: S3Handler;
  const userId = ulid();

  beforeEach(() => {
    world = handlerWorld();
    inspector = fakeInspector();
    handler = loadHandler('functions/media/processUpload', world, {
      '../../shared/media-info/inspector': { inspector, '@noCallThru': true },
    }) as S3Handler;
  });

  afterEach(() => sinon.restore());

  const run = (event: S3Event): Promise<void> => handler(event, lambdaContext('processUpload'));
  const originalOf = (record: MediaRecord): string => `media/${record.userId}/${record.id}/original`;
  const current = async (record: MediaRecord): Promise<MediaRecord> => (await world.media.get(record.userId, record.id)) as MediaRecord;

  /** A pending item (declaring `bytes`' size and type) and, unless told otherwise, its uploaded original. */
  async function pendingUpload(bytes: Buffer, contentType: string, options: { upload?: Buffer | false; sha256?: string } = {}): Promise<MediaRecord> {
    const record = pendingMediaRecord(userId, {
      filename: 'upload',
      contentType,
      size: bytes.length,
      ...(options.sha256 === undefined ? {} : { sha256: options.sha256 }),
      type: contentType.startsWith('image/') ? 'image' : 'video',
    });
    await world.media.createPending(record);
    if (options.upload !== false) await world.content.put(originalOf(record), options.upload ?? bytes, contentType);
    return record;
  }

  it('ignores a key that is not an original (a thumbnail, another prefix): nothing read, nothing changed', async () => {
    const record = await pendingUpload(PNG_BYTES, 'image/png');
    const thumbKey = `media/${userId}/${record.id}/thumb-small.webp`;
    await world.content.put(thumbKey, Buffer.from('webp'), 'image/webp');
    await run(s3Event(thumbKey, 'uploads/other.png', `media/not-an-id/${record.id}/original`));
    expect(inspector.sniff.called).to.equal(false);
    expect((await current(record)).status).to.equal('pending');
    expect(world.content.objects.has(thumbKey)).to.equal(true);
    expect(world.content.bytesRead).to.equal(0);
  });

  it('a pending image of the declared type becomes ready, with both WebP thumbnails written beside the original', async () => {
    const record = await pendingUpload(PNG_BYTES, 'image/png');
    await run(s3Event(originalOf(record)));
    const after = await current(record);
    const prefix = `media/${userId}/${record.id}/`;
    expect(after).to.include({ status: 'ready', width: 640, height: 480, orientation: 1 });
    expect(after.camera).to.deep.equal({ make: 'Fake', model: 'One' });
    expect(after.thumbnails).to.deep.equal({ small: `${prefix}thumb-small.webp`, large: `${prefix}thumb-large.webp` });
    expect(after.objectETag).to.equal(world.content.objects.get(originalOf(record))?.eTag);
    const small = world.content.objects.get(`${prefix}thumb-small.webp`);
    const large = world.content.objects.get(`${prefix}thumb-large.webp`);
    expect(small?.body.toString()).to.equal('small-webp');
    expect(small?.contentType).to.equal('image/webp');
    expect(large?.body.toString()).to.equal('large-webp');
    expect(large?.contentType).to.equal('image/webp');
    expect(world.content.objects.has(originalOf(record))).to.equal(true);
    expect(inspector.image.firstCall.args[0].equals(PNG_BYTES)).to.equal(true);
  });

  it('a video becomes ready with its dimensions and duration, and no thumbnails', async () => {
    const record = await pendingUpload(MP4_BYTES, 'video/mp4');
    await run(s3Event(originalOf(record)));
    const after = await current(record);
    expect(after).to.include({ status: 'ready', width: 320, height: 240, durationSeconds: 2 });
    expect(after.thumbnails).to.equal(undefined);
    expect([...world.content.objects.keys()]).to.deep.equal([originalOf(record)]);
  });

  it('an item that does not exist (deleted or swept): its object is deleted', async () => {
    const key = `media/${userId}/${ulid()}/original`;
    await world.content.put(key, PNG_BYTES, 'image/png');
    await run(s3Event(key));
    expect(world.content.objects.has(key)).to.equal(false);
    expect(world.media.items.size).to.equal(0);
  });

  it('an item being deleted: its object is deleted and it is not marked ready', async () => {
    const record = await pendingUpload(PNG_BYTES, 'image/png');
    await world.media.beginDelete(await current(record));
    await run(s3Event(originalOf(record)));
    expect(world.content.objects.size).to.equal(0);
    expect((await current(record)).status).to.equal('pending');
  });

  for (const [what, setup, reason] of [
    ['bytes of another type than declared', () => pendingUpload(PNG_BYTES, 'image/jpeg'), 'type_mismatch'],
    ['bytes of another size than declared', () => pendingUpload(PNG_BYTES, 'image/png', { upload: Buffer.concat([PNG_BYTES, Buffer.from('x')]) }), 'size_mismatch'],
    ['an image whose sha256 is not the declared one', () => pendingUpload(PNG_BYTES, 'image/png', { sha256: '0'.repeat(64) }), 'checksum_mismatch'],
    ['no object at all', () => pendingUpload(PNG_BYTES, 'image/png', { upload: false }), 'upload_missing'],
  ] as const) {
    it(`rejects ${what} (${reason}), deleting the bytes and releasing the hash claim`, async () => {
      const record = await setup();
      await run(s3Event(originalOf(record)));
      const after = await current(record);
      expect(after).to.include({ status: 'rejected', rejectReason: reason });
      expect(world.content.objects.size).to.equal(0);
      expect(world.media.shaClaims.size).to.equal(0);
    });
  }

  it('counts uploads by type and outcome (each reject reason), with processing time and bytes; nothing for a repeated delivery', async () => {
    const image = await pendingUpload(PNG_BYTES, 'image/png');
    const mismatch = await pendingUpload(PNG_BYTES, 'image/jpeg');
    const video = await pendingUpload(MP4_BYTES, 'video/mp4');
    const emitted = await capturedMetrics(async () => {
      await run(s3Event(originalOf(image), originalOf(mismatch), originalOf(video)));
      await run(s3Event(originalOf(image)));
    });
    const service = 'media-library';
    expect(emitted.map(({ name, dimensions }) => `${name} ${JSON.stringify(dimensions)}`)).to.deep.equal([
      `Uploads ${JSON.stringify({ service, type: 'image', outcome: 'ready' })}`,
      `ProcessingTime ${JSON.stringify({ service, type: 'image' })}`,
      `ProcessedBytes ${JSON.stringify({ service, type: 'image' })}`,
      `Uploads ${JSON.stringify({ service, type: 'image', outcome: 'type_mismatch' })}`,
      `ProcessingTime ${JSON.stringify({ service, type: 'image' })}`,
      `ProcessedBytes ${JSON.stringify({ service, type: 'image' })}`,
      `Uploads ${JSON.stringify({ service, type: 'video', outcome: 'ready' })}`,
      `ProcessingTime ${JSON.stringify({ service, type: 'video' })}`,
      `ProcessedBytes ${JSON.stringify({ service, type: 'video' })}`,
    ]);
    expect(emitted.filter(({ name }) => name === 'ProcessedBytes').map(({ value }) => value)).to.deep.equal([PNG_BYTES.length, PNG_BYTES.length, MP4_BYTES.length]);
    expect(emitted.filter(({ name }) => name === 'ProcessingTime').every(({ value }) => value >= 0 && value < 10_000)).to.equal(true);
  });

  it('an image with the declared sha256 becomes ready', async () => {
    const sha256 = createHash('sha256').update(PNG_BYTES).digest('hex');
    const record = await pendingUpload(PNG_BYTES, 'image/png', { sha256 });
    await run(s3Event(originalOf(record)));
    expect((await current(record)).status).to.equal('ready');
  });

  it('an image the inspector cannot decode is rejected as unreadable', async () => {
    inspector.image = sinon.spy(async (_buffer: Buffer): Promise<ImageInfo> => {
      throw new UnreadableMedia('broken');
    });
    const record = await pendingUpload(PNG_BYTES, 'image/png');
    await run(s3Event(originalOf(record)));
    expect(await current(record)).to.include({ status: 'rejected', rejectReason: 'unreadable' });
    expect(world.content.objects.size).to.equal(0);
  });

  it('a repeated delivery of the same object changes nothing', async () => {
    const record = await pendingUpload(PNG_BYTES, 'image/png');
    await run(s3Event(originalOf(record)));
    const first = await current(record);
    await run(s3Event(originalOf(record)));
    expect(await current(record)).to.deep.equal(first);
    expect(inspector.thumbnails.callCount).to.equal(1);
  });

  it('a failing record makes the handler throw an AggregateError, after trying the other records of the event', async () => {
    const failing = await pendingUpload(PNG_BYTES, 'image/png');
    const ok = await pendingUpload(PNG_BYTES, 'image/png');
    const head = world.content.head.bind(world.content);
    sinon.stub(world.content, 'head').callsFake(async (key: string) => {
      if (key === originalOf(failing)) throw Object.assign(new Error('slow down'), { name: 'SlowDown' });
      return head(key);
    });
    let error: unknown;
    try {
      await run(s3Event(originalOf(failing), originalOf(ok)));
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(AggregateError);
    expect((error as AggregateError).errors).to.have.length(1);
    expect(((error as AggregateError).errors[0] as Error).name).to.equal('SlowDown');
    expect((await current(ok)).status).to.equal('ready');
    expect((await current(failing)).status, 'left pending for the retry').to.equal('pending');
    expect(world.content.objects.has(originalOf(failing))).to.equal(true);
  });

  it('decodes URL-encoded keys as S3 sends them (percent escapes, and spaces as +)', async () => {
    const info = sinon.spy(logger, 'info');
    const record = await pendingUpload(PNG_BYTES, 'image/png');
    // Every character escaped: only a decoded key names the item.
    const escaped = [...originalOf(record)].map((char) => (char === '/' ? '/' : `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)).join('');
    await handler({ Records: [s3Record(escaped), s3Record('uploads/my+holiday+photo%21.png')] }, lambdaContext('processUpload'));
    expect((await current(record)).status).to.equal('ready');
    const logged = info.getCalls().filter((call) => call.args[0] === 'upload processed').map((call) => call.args[1]);
    expect(logged).to.deep.include({ key: originalOf(record), outcome: 'ready' });
    expect(logged).to.deep.include({ key: 'uploads/my holiday photo!.png', outcome: 'ignored' });
  });

  it('a new upload over a ready item (another ETag) is processed anew; thumbnails are overwritten, not added', async () => {
    const record = await pendingUpload(PNG_BYTES, 'image/png');
    await run(s3Event(originalOf(record)));
    const replaced = Buffer.from(PNG_BYTES);
    replaced[PNG_BYTES.length - 1] = 0;
    await world.content.put(originalOf(record), replaced, 'image/png');
    inspector.image = sinon.spy(async (_buffer: Buffer): Promise<ImageInfo> => ({ width: 10, height: 20 }));
    await run(s3Event(originalOf(record)));
    const after = await current(record);
    expect(after).to.include({ status: 'ready', width: 10, height: 20, objectETag: world.content.objects.get(originalOf(record))?.eTag });
    expect(after.orientation).to.equal(undefined);
    expect([...world.content.objects.keys()].sort()).to.deep.equal([originalOf(record), `media/${userId}/${record.id}/thumb-large.webp`, `media/${userId}/${record.id}/thumb-small.webp`]);
  });

  it('an image over the 50 MB limit is rejected as too_large without being read', async () => {
    const huge = Buffer.alloc(50 * 1024 * 1024 + 1);
    const record = await pendingUpload(huge, 'image/png');
    await run(s3Event(originalOf(record)));
    expect(await current(record)).to.include({ status: 'rejected', rejectReason: 'too_large' });
    expect(world.content.objects.size).to.equal(0);
    expect(world.content.bytesRead).to.equal(0);
  });

  it('an item deleted while it was being processed: what processing wrote is removed again', async () => {
    const record = await pendingUpload(PNG_BYTES, 'image/png');
    inspector.thumbnails = sinon.spy(async (_buffer: Buffer) => {
      await world.media.beginDelete(await current(record));
      return { small: Buffer.from('small-webp'), large: Buffer.from('large-webp') };
    });
    await run(s3Event(originalOf(record)));
    expect(world.content.objects.size).to.equal(0);
    expect((await current(record)).status).to.equal('pending');
  });

  // Regression: the key used to be decoded outside the per-record try/catch, so a malformed key
  // threw at once and the records after it were never tried.
  it('a record whose key cannot be decoded fails alone: the other records are still processed', async () => {
    const record = await pendingUpload(PNG_BYTES, 'image/png');
    let error: unknown;
    try {
      await handler({ Records: [s3Record('media/bad%E0%A4%A'), s3Record(s3EncodeKey(originalOf(record)))] }, lambdaContext('processUpload'));
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(AggregateError);
    expect((await current(record)).status).to.equal('ready');
  });

  it('an event without records does nothing', async () => {
    await run({ Records: [] });
    expect(world.content.objects.size).to.equal(0);
  });
});
