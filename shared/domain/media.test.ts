import { createHash } from 'node:crypto';
import { expect } from 'chai';
import sinon from 'sinon';
import { ulid } from 'ulid';
import { S3Client } from '@aws-sdk/client-s3';
import { verifySignature, type WireRequest } from '../../local/gateway/sigv4';
import { fixedClock, memoryContentStore, memoryMediaStore, memoryUserStore, sequentialIds } from '../../local/test/fakes';
import { systemClock } from '../clock';
import { originalKey, thumbnailKeys } from '../content/keys';
import { s3ContentStore } from '../content/s3Content';
import { HttpError } from '../http/errors';
import { UnreadableMedia, type ImageInfo, type RangeReader, type VideoInfo } from '../media-info/types';
import { TagSyncContended, VersionConflict } from '../stores/media';
import {
  FIRST_READ_BYTES,
  cleanFilename,
  countingReader,
  createMedia,
  deleteAllMedia,
  deleteMedia,
  getMedia,
  getMetadata,
  listMedia,
  listTags,
  normalizeTags,
  processUpload,
  recordView,
  sweepUploads,
  THUMBNAIL_URL_WINDOW_SECONDS,
  updateMetadata,
  type MediaInspector,
} from './media';

const settings = { maxImageBytes: 50 * 1024 * 1024, maxVideoBytes: 2 * 1024 * 1024 * 1024, uploadUrlSeconds: 900, downloadUrlSeconds: 300 };
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7)]);
const MP4 = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42'), Buffer.alloc(5000, 1)]);

function fakeInspector(overrides: Partial<MediaInspector> = {}): MediaInspector & { videoReads: number[] } {
  const inspector = {
    videoReads: [] as number[],
    sniffBytes: 16,
    sniff: async (head: Buffer) => (head[0] === 0xff ? 'image/jpeg' : head.toString('latin1', 4, 8) === 'ftyp' ? 'video/mp4' : undefined),
    typesAgree: (declared: string, sniffed: string | undefined) => declared === sniffed,
    image: async (): Promise<ImageInfo> => ({ width: 40, height: 30, takenAt: '2024-01-01T00:00:00.000Z', camera: { make: 'Canon' } }),
    thumbnails: async () => ({ small: Buffer.from('small-webp'), large: Buffer.from('large-webp') }),
    perceptualHash: async () => 'f0f0f0f0f0f0f0f0',
    dominantColors: async () => [{ hex: '#ff0000', ratio: 1 }],
    video: async (reader: RangeReader): Promise<VideoInfo> => {
      const tail = await reader.read(reader.size - 10, reader.size - 1);
      inspector.videoReads.push(tail.length);
      return { width: 320, height: 240, durationSeconds: 2 };
    },
    ...overrides,
  };
  return inspector;
}

function world() {
  const media = memoryMediaStore();
  const content = memoryContentStore();
  const clock = fixedClock();
  return { media, content, clock, newId: sequentialIds(), settings, inspector: fakeInspector() };
}

async function rejected(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(HttpError);
    return error as HttpError;
  }
  throw new Error('expected a rejection');
}

describe('media domain', () => {
  const caller = { userId: ulid() };

  describe('createMedia', () => {
    it('writes the pending item first, then presigns an upload bound to its key, type and size', async () => {
      const w = world();
      const createPending = sinon.spy(w.media, 'createPending');
      const presign = sinon.spy(w.content, 'presignUpload');
      const { media, upload } = await createMedia(w, caller, { filename: 'a.jpg', contentType: 'image/jpeg', size: 1234 });
      expect(createPending.calledBefore(presign)).to.equal(true);
      expect(presign.firstCall.args.slice(0, 4)).to.deep.equal([originalKey(caller.userId, media.id), 'image/jpeg', 1234, 900]);
      expect(upload.expiresAt).to.equal('2026-11-21T10:15:00.000Z');
      expect(media).to.include({ status: 'pending', type: 'image', size: 1234, views: 0 });
    });

    it('refuses unknown types (415) and sizes over the limit of the kind (413) before writing anything', async () => {
      const w = world();
      expect((await rejected(createMedia(w, caller, { filename: 'a', contentType: 'text/plain', size: 1 }))).status).to.equal(415);
      expect((await rejected(createMedia(w, caller, { filename: 'a', contentType: 'image/png', size: settings.maxImageBytes + 1 }))).status).to.equal(413);
      expect((await rejected(createMedia(w, caller, { filename: 'a', contentType: 'video/mp4', size: settings.maxVideoBytes + 1 }))).status).to.equal(413);
      expect(w.media.items.size).to.equal(0);
      await createMedia(w, caller, { filename: 'a', contentType: 'video/mp4', size: settings.maxImageBytes + 1 });
    });

    it('names the accepted types in a 415, never the type it was given', async () => {
      const refused = await rejected(createMedia(world(), caller, { filename: 'a', contentType: 'text/x-<script>probe', size: 1 }));
      expect(refused.status).to.equal(415);
      expect(refused.message).not.to.contain('probe');
      expect(refused.message).to.contain('image/jpeg');
    });

    it('answers a second upload of the same content (sha256) with 409 duplicate and the existing id', async () => {
      const w = world();
      const sha256 = 'A'.repeat(64);
      const first = await createMedia(w, caller, { filename: 'a.jpg', contentType: 'image/jpeg', size: 10, sha256 });
      const error = await rejected(createMedia(w, caller, { filename: 'b.jpg', contentType: 'image/jpeg', size: 10, sha256: sha256.toLowerCase() }));
      expect(error.status).to.equal(409);
      expect(error.code).to.equal('duplicate');
      expect(error.extra).to.deep.equal({ existingId: first.media.id });
      await createMedia(w, { userId: ulid() }, { filename: 'c.jpg', contentType: 'image/jpeg', size: 10, sha256 });
    });

    it('answers 401 once the account is being deleted (the caller’s own session outlives the deletion mark): no item, no form', async () => {
      const users = memoryUserStore();
      const profile = { id: caller.userId, email: 'ann@example.com', name: 'Ann', createdAt: '', updatedAt: '', status: 'active' as const };
      await users.create(profile, 'hash');
      const w = { ...world(), media: memoryMediaStore(users) };
      await createMedia(w, caller, { filename: 'a.jpg', contentType: 'image/jpeg', size: 10 });
      await users.beginDeletion(profile);
      const presign = sinon.spy(w.content, 'presignUpload');
      const error = await rejected(createMedia(w, caller, { filename: 'b.jpg', contentType: 'image/jpeg', size: 10 }));
      expect([error.status, error.code]).to.deep.equal([401, 'unauthenticated']);
      expect(w.media.items.size).to.equal(1);
      expect(presign.called).to.equal(false);
    });
  });

  describe('names and tags', () => {
    it('keeps only the last segment of a filename, without control characters', () => {
      expect(cleanFilename('../../etc/passwd')).to.equal('passwd');
      expect(cleanFilename('C:\\Users\\ann\\IMG_0001.JPG')).to.equal('IMG_0001.JPG');
      expect(cleanFilename('a\u0000b\u001fc.jpg')).to.equal('abc.jpg');
      expect(cleanFilename('dir/')).to.equal('upload');
      expect(cleanFilename('x'.repeat(300))).to.have.length(255);
    });

    it('normalises tags: trimmed, lower-case, NFC, deduplicated', () => {
      expect(normalizeTags([' Beach', 'beach ', 'BEACH', 'Cafe\u0301', 'café', ' '])).to.deep.equal(['beach', 'café']);
    });
  });

  describe('processUpload', () => {
    async function uploaded(w: ReturnType<typeof world>, bytes: Buffer, contentType: string, declared: Partial<{ size: number; sha256: string }> = {}) {
      const { media } = await createMedia(w, caller, { filename: 'f', contentType, size: declared.size ?? bytes.length, ...(declared.sha256 === undefined ? {} : { sha256: declared.sha256 }) });
      const key = originalKey(caller.userId, media.id);
      await w.content.put(key, bytes, contentType);
      return { id: media.id, key };
    }

    it('an image becomes ready with its metadata and two thumbnails', async () => {
      const w = world();
      const { id, key } = await uploaded(w, JPEG, 'image/jpeg');
      expect(await processUpload(w, key)).to.equal('ready');
      const record = await w.media.get(caller.userId, id);
      expect(record).to.include({ status: 'ready', width: 40, height: 30, takenAt: '2024-01-01T00:00:00.000Z', perceptualHash: 'f0f0f0f0f0f0f0f0' });
      expect(record?.dominantColors, 'kept for analysis').to.deep.equal([{ hex: '#ff0000', ratio: 1 }]);
      expect(record?.thumbnails).to.deep.equal(thumbnailKeys(caller.userId, id));
      expect(w.content.objects.get(thumbnailKeys(caller.userId, id).small)?.contentType).to.equal('image/webp');
      expect(await processUpload(w, key), 'a repeated delivery').to.equal('duplicate-delivery');
    });

    it('a video is read through ranges only, with the first read reused', async () => {
      const w = world();
      const big = Buffer.concat([MP4, Buffer.alloc(FIRST_READ_BYTES * 3)]);
      const { id, key } = await uploaded(w, big, 'video/mp4');
      expect(await processUpload(w, key)).to.equal('ready');
      expect(await w.media.get(caller.userId, id)).to.include({ width: 320, height: 240, durationSeconds: 2 });
      expect(w.content.bytesRead, 'the first 64 KB and the 10 bytes the reader asked for').to.equal(FIRST_READ_BYTES + 10);
    });

    for (const [reason, setup] of [
      ['size_mismatch', (w: ReturnType<typeof world>) => uploaded(w, JPEG, 'image/jpeg', { size: JPEG.length + 1 })],
      ['type_mismatch', (w: ReturnType<typeof world>) => uploaded(w, Buffer.from('just some text, not an image'), 'image/jpeg')],
      ['checksum_mismatch', (w: ReturnType<typeof world>) => uploaded(w, JPEG, 'image/jpeg', { sha256: 'b'.repeat(64) })],
    ] as const) {
      it(`rejects with ${reason}, deleting the object and releasing the hash claim`, async () => {
        const w = world();
        const { id, key } = await setup(w);
        expect(await processUpload(w, key)).to.equal('rejected');
        expect(await w.media.get(caller.userId, id)).to.include({ status: 'rejected', rejectReason: reason });
        expect(w.content.objects.has(key)).to.equal(false);
        expect(w.media.shaClaims.size).to.equal(0);
      });
    }

    it('rejects as type_mismatch what was stored with another Content-Type than declared (a page served as text/html)', async () => {
      const w = world();
      const { id, key } = await uploaded(w, JPEG, 'image/jpeg');
      await w.content.put(key, JPEG, 'text/html');
      expect(await processUpload(w, key)).to.equal('rejected');
      expect(await w.media.get(caller.userId, id)).to.include({ status: 'rejected', rejectReason: 'type_mismatch' });
      expect(w.content.objects.has(key)).to.equal(false);
    });

    it('bytes uploaded again with the same form after a rejection are removed, with any thumbnails; the item stays rejected', async () => {
      const w = world();
      const { id, key } = await uploaded(w, Buffer.from('not an image'), 'image/jpeg');
      expect(await processUpload(w, key)).to.equal('rejected');
      await w.content.put(key, JPEG, 'image/jpeg');
      await w.content.put(thumbnailKeys(caller.userId, id).small, Buffer.from('old'), 'image/webp');
      expect(await processUpload(w, key)).to.equal('orphan-removed');
      expect(await w.content.list(`media/${caller.userId}/${id}/`)).to.deep.equal([]);
      expect(await w.media.get(caller.userId, id)).to.include({ status: 'rejected', rejectReason: 'type_mismatch' });
      expect(await processUpload(w, key), 'the event of the deletion, or a repeat').to.equal('duplicate-delivery');
    });

    it('a rejected re-upload over a ready image takes the old thumbnails with it', async () => {
      const w = world();
      const { id, key } = await uploaded(w, JPEG, 'image/jpeg');
      expect(await processUpload(w, key)).to.equal('ready');
      await w.content.put(key, Buffer.from('x'.repeat(JPEG.length)), 'image/jpeg');
      expect(await processUpload(w, key)).to.equal('rejected');
      expect(await w.content.list(`media/${caller.userId}/${id}/`), 'no thumbnail of an item that is not ready').to.deep.equal([]);
    });

    it('bytes of an item that is gone are removed with any thumbnails', async () => {
      const w = world();
      const { id, key } = await uploaded(w, JPEG, 'image/jpeg');
      await w.content.put(thumbnailKeys(caller.userId, id).large, Buffer.from('t'), 'image/webp');
      await deleteMedia(w, caller, id);
      await w.content.put(key, JPEG, 'image/jpeg');
      await w.content.put(thumbnailKeys(caller.userId, id).large, Buffer.from('t'), 'image/webp');
      expect(await processUpload(w, key)).to.equal('orphan-removed');
      expect(await w.content.list(`media/${caller.userId}/${id}/`)).to.deep.equal([]);
    });

    it('accepts a matching sha256', async () => {
      const w = world();
      const { key } = await uploaded(w, JPEG, 'image/jpeg', { sha256: createHash('sha256').update(JPEG).digest('hex') });
      expect(await processUpload(w, key)).to.equal('ready');
    });

    it('rejects as too_large what exceeds the stage limit even if declared so', async () => {
      const w = { ...world(), settings: { ...settings, maxImageBytes: 100 } };
      const { key } = await uploaded({ ...w, settings }, JPEG, 'image/jpeg');
      expect(await processUpload(w, key)).to.equal('rejected');
    });

    it('rejects undecodable media as unreadable, but lets other failures through for Lambda to retry', async () => {
      const w = world();
      const broken = { ...w, inspector: fakeInspector({ image: () => Promise.reject(new UnreadableMedia('bad pixels')) }) };
      const first = await uploaded(w, JPEG, 'image/jpeg');
      expect(await processUpload(broken, first.key)).to.equal('rejected');

      const second = await uploaded(w, MP4, 'video/mp4');
      const throttled = Object.assign(new Error('slow down'), { name: 'SlowDown' });
      const failing = { ...w, inspector: fakeInspector({ video: () => Promise.reject(throttled) }) };
      let error: unknown;
      await processUpload(failing, second.key).catch((caught: unknown) => (error = caught));
      expect(error).to.equal(throttled);
      expect((await w.media.get(caller.userId, second.id))?.status, 'still pending for the retry').to.equal('pending');
      expect(w.content.objects.has(second.key), 'the upload is kept').to.equal(true);

      const badVideo = { ...w, inspector: fakeInspector({ video: () => Promise.reject(new UnreadableMedia('no moov')) }) };
      expect(await processUpload(badVideo, second.key)).to.equal('rejected');
    });

    it('an upload whose object vanished is rejected as upload_missing', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'f', contentType: 'image/jpeg', size: 10 });
      expect(await processUpload(w, originalKey(caller.userId, media.id))).to.equal('rejected');
      expect((await w.media.get(caller.userId, media.id))?.rejectReason).to.equal('upload_missing');
    });

    it('bytes for an item that no longer exists are removed; other keys are ignored', async () => {
      const w = world();
      const key = originalKey(caller.userId, ulid());
      await w.content.put(key, JPEG, 'image/jpeg');
      expect(await processUpload(w, key)).to.equal('orphan-removed');
      expect(w.content.objects.size).to.equal(0);
      expect(await processUpload(w, 'media/x/y/thumb-small.webp')).to.equal('ignored');
    });

    it('an item deleted while processing ran loses what processing wrote', async () => {
      const w = world();
      const { id, key } = await uploaded(w, JPEG, 'image/jpeg');
      const slowInspector = fakeInspector({
        thumbnails: async () => {
          await deleteMedia(w, caller, id);
          await w.content.put(key, JPEG, 'image/jpeg');
          return { small: Buffer.from('s'), large: Buffer.from('l') };
        },
      });
      expect(await processUpload({ ...w, inspector: slowInspector }, key)).to.equal('orphan-removed');
      expect([...w.content.objects.keys()]).to.deep.equal([]);
    });

    it('two deliveries of one upload at once: one makes it ready, the other leaves its result (thumbnails) alone', async () => {
      const w = world();
      const { id, key } = await uploaded(w, JPEG, 'image/jpeg');
      const outcomes = await Promise.all([processUpload(w, key), processUpload(w, key)]);
      expect([...outcomes].sort()).to.deep.equal(['duplicate-delivery', 'ready']);
      expect((await w.media.get(caller.userId, id))?.status).to.equal('ready');
      const thumbs = thumbnailKeys(caller.userId, id);
      expect([key, thumbs.small, thumbs.large].every((stored) => w.content.objects.has(stored)), 'original and thumbnails kept').to.equal(true);
    });

    it('an item whose deletion began (not finished) while processing ran loses what processing wrote', async () => {
      const w = world();
      const { id, key } = await uploaded(w, JPEG, 'image/jpeg');
      const inspector = fakeInspector({
        thumbnails: async () => {
          // A DELETE that got as far as marking the item, then failed (its retry finishes it).
          await w.media.beginDelete((await w.media.get(caller.userId, id))!);
          return { small: Buffer.from('s'), large: Buffer.from('l') };
        },
      });
      expect(await processUpload({ ...w, inspector }, key)).to.equal('orphan-removed');
      expect([...w.content.objects.keys()]).to.deep.equal([]);
      expect((await w.media.get(caller.userId, id))?.deleting, 'left for the DELETE retry to finish').to.equal(true);
    });

    it('an image larger than the first read is read whole for decoding and its checksum', async () => {
      const w = world();
      const big = Buffer.concat([JPEG, Buffer.alloc(FIRST_READ_BYTES * 2, 3)]);
      const image = sinon.spy(async (): Promise<ImageInfo> => ({ width: 4000, height: 3000 }));
      const { id, key } = await uploaded(w, big, 'image/jpeg', { sha256: createHash('sha256').update(big).digest('hex') });
      expect(await processUpload({ ...w, inspector: fakeInspector({ image }) }, key)).to.equal('ready');
      expect((image.firstCall.args as unknown[])[0]).to.deep.equal(big);
      expect(await w.media.get(caller.userId, id)).to.include({ width: 4000, height: 3000 });
    });

    it('a re-upload through the same presigned POST (new ETag) is processed again', async () => {
      const w = world();
      const { id, key } = await uploaded(w, JPEG, 'image/jpeg');
      await processUpload(w, key);
      const changed = Buffer.concat([JPEG.subarray(0, 10), Buffer.alloc(JPEG.length - 10, 9)]);
      await w.content.put(key, changed, 'image/jpeg');
      const reprocessed = { ...w, inspector: fakeInspector({ image: async () => ({ width: 99, height: 77 }) }) };
      expect(await processUpload(reprocessed, key)).to.equal('ready');
      const record = await w.media.get(caller.userId, id);
      expect(record).to.include({ width: 99, height: 77 });
      expect(record?.takenAt, 'fields the new bytes lack are removed').to.equal(undefined);
    });
  });

  describe('reading, listing, metadata, tags, deletion', () => {
    it('getMedia counts no view and signs URLs only for ready items; recordView counts one per call', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'ann.jpg', contentType: 'image/jpeg', size: JPEG.length });
      const pending = await getMedia(w, caller, media.id);
      expect(pending).to.include({ views: 0 });
      expect(pending).not.to.have.any.keys('downloadUrl', 'thumbnails');
      await w.content.put(originalKey(caller.userId, media.id), JPEG, 'image/jpeg');
      await processUpload(w, originalKey(caller.userId, media.id));
      expect(await recordView(w, caller, media.id)).to.deep.equal({ id: media.id, views: 1 });
      const ready = await getMedia(w, caller, media.id);
      expect(ready.views).to.equal(1);
      expect(ready.downloadUrl).to.contain('filename=ann.jpg').and.contain('type=image%2Fjpeg');
      expect(ready.thumbnails?.small).to.contain('thumb-small.webp');
      expect((await rejected(getMedia(w, { userId: ulid() }, media.id))).status).to.equal(404);
      expect((await rejected(recordView(w, { userId: ulid() }, media.id))).status).to.equal(404);
    });

    it('updateMetadata retries on a concurrent change and gives up with 409 after too many', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: 1 });
      const update = sinon.stub(w.media, 'updateMetadata');
      update.onFirstCall().rejects(new VersionConflict());
      update.callThrough();
      const result = await updateMetadata(w, caller, media.id, { tags: ['Beach', 'beach'] });
      expect(result.metadata.tags).to.deep.equal(['beach']);
      expect(await listTags(w, caller)).to.deep.equal([{ tag: 'beach', count: 1 }]);

      update.reset();
      update.rejects(new VersionConflict());
      const error = await rejected(updateMetadata(w, caller, media.id, { title: 'x' }));
      expect([error.status, error.code]).to.deep.equal([409, 'concurrent_update']);
    });

    it('two concurrent tag changes of one item lose no tag and leave exact counts', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: 1 });
      await Promise.all([updateMetadata(w, caller, media.id, { tags: ['a', 'b'] }), updateMetadata(w, caller, media.id, { tags: ['b', 'c'] })]);
      const final = await getMetadata(w, caller, media.id);
      const counts = await listTags(w, caller);
      expect(counts.map((count) => count.tag).sort()).to.deep.equal([...final.metadata.tags].sort());
      expect(counts.every((count) => count.count === 1)).to.equal(true);
    });

    it('updateMetadata with accepted versions (If-Match): applies to one of them, 412 for any other, 412 when it changes under it', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: 1 });
      const read = await getMetadata(w, caller, media.id);
      const first = await updateMetadata(w, caller, media.id, { tags: ['a'] }, [read.version + 5, read.version]);
      expect(first.version).to.equal(read.version + 1);
      expect(first.metadata.tags).to.deep.equal(['a']);
      for (const stale of [[read.version], []]) {
        const error = await rejected(updateMetadata(w, caller, media.id, { tags: ['b'] }, stale));
        expect([error.status, error.code]).to.deep.equal([412, 'precondition_failed']);
      }
      // Read-modify-write that lost a race: no retry on top of the other change, a 412 instead.
      const update = sinon.stub(w.media, 'updateMetadata').rejects(new VersionConflict());
      const error = await rejected(updateMetadata(w, caller, media.id, { tags: ['a', 'c'] }, [first.version]));
      expect([error.status, error.code]).to.deep.equal([412, 'precondition_failed']);
      expect(update.callCount).to.equal(1);
      update.restore();
      expect((await getMetadata(w, caller, media.id)).metadata.tags).to.deep.equal(['a']);
      expect(await listTags(w, caller)).to.deep.equal([{ tag: 'a', count: 1 }]);
    });

    it('updateMetadata answers 200 once its change is committed even if the tag sync is outrun by other writers; other sync failures go through', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: 1 });
      const sync = sinon.stub(w.media, 'syncTags').rejects(new TagSyncContended());
      const result = await updateMetadata(w, caller, media.id, { tags: ['x'] });
      expect(result.metadata.tags).to.deep.equal(['x']);
      const outage = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      sync.rejects(outage);
      let thrown: unknown;
      await updateMetadata(w, caller, media.id, { tags: ['y'] }).catch((caught: unknown) => (thrown = caught));
      expect(thrown).to.equal(outage);
      // Contention is a 503 (retry) wherever it is not ignored.
      expect(new TagSyncContended().status).to.equal(503);
    });

    it('listMedia normalises the tag filter and adds thumbnails of ready items', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: JPEG.length });
      await w.content.put(originalKey(caller.userId, media.id), JPEG, 'image/jpeg');
      await processUpload(w, originalKey(caller.userId, media.id));
      await updateMetadata(w, caller, media.id, { tags: ['beach'] });
      const page = await listMedia(w, caller, { limit: 10, tag: ' BEACH ' });
      expect(page.items.map((item) => item.id)).to.deep.equal([media.id]);
      expect(page.items[0]?.thumbnails?.large).to.contain('thumb-large.webp');
      expect(page.items[0]).not.to.have.property('downloadUrl');
    });

    it('items carry their title once they have one (a grid needs no extra read for alt text); none while it is empty', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a.jpg', contentType: 'image/jpeg', size: JPEG.length });
      expect(media).not.to.have.property('title');
      expect((await listMedia(w, caller, { limit: 10 })).items[0]).not.to.have.property('title');
      await updateMetadata(w, caller, media.id, { title: 'Calanques at dusk' });
      expect((await listMedia(w, caller, { limit: 10 })).items[0]).to.include({ id: media.id, title: 'Calanques at dusk' });
      expect(await getMedia(w, caller, media.id)).to.include({ title: 'Calanques at dusk' });
      await updateMetadata(w, caller, media.id, { title: '' });
      expect((await listMedia(w, caller, { limit: 10 })).items[0]).not.to.have.property('title');
      expect(await getMedia(w, caller, media.id)).not.to.have.property('title');
    });

    it('deleteMedia finishes after a conflicting change, and a half-done deletion is completed by a retry', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: 1 });
      await updateMetadata(w, caller, media.id, { tags: ['x'] });
      const begin = sinon.stub(w.media, 'beginDelete');
      begin.onFirstCall().rejects(new VersionConflict());
      begin.callThrough();
      const finish = sinon.stub(w.media, 'finishDelete');
      finish.onFirstCall().rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
      finish.callThrough();
      await deleteMedia(w, caller, media.id).catch(() => undefined);
      expect((await w.media.get(caller.userId, media.id))?.deleting, 'marked, not yet removed').to.equal(true);
      expect((await rejected(getMetadata(w, caller, media.id))).status, 'already invisible').to.equal(404);
      await deleteMedia(w, caller, media.id);
      expect(await w.media.get(caller.userId, media.id)).to.equal(undefined);
      expect(await listTags(w, caller)).to.deep.equal([]);
      expect((await rejected(deleteMedia(w, caller, media.id))).status).to.equal(404);
    });

    it('shows why an item was rejected, without URLs', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a.jpg', contentType: 'image/jpeg', size: JPEG.length + 1 });
      await w.content.put(originalKey(caller.userId, media.id), JPEG, 'image/jpeg');
      await processUpload(w, originalKey(caller.userId, media.id));
      const shown = await getMedia(w, caller, media.id);
      expect(shown).to.include({ status: 'rejected', rejectReason: 'size_mismatch' });
      expect(shown).not.to.have.any.keys('downloadUrl', 'thumbnails');
      expect((await listMedia(w, caller, { limit: 10 })).items[0]).to.include({ id: media.id, rejectReason: 'size_mismatch' });
    });

    it('a ready video: its duration, a download URL and no thumbnails', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'clip.mp4', contentType: 'video/mp4', size: MP4.length });
      await w.content.put(originalKey(caller.userId, media.id), MP4, 'video/mp4');
      expect(await processUpload(w, originalKey(caller.userId, media.id))).to.equal('ready');
      const shown = await getMedia(w, caller, media.id);
      expect(shown).to.include({ type: 'video', width: 320, height: 240, durationSeconds: 2 });
      expect(shown.downloadUrl).to.contain('filename=clip.mp4');
      expect(shown).not.to.have.property('thumbnails');
      expect((await getMetadata(w, caller, media.id)).metadata).to.deep.equal({ width: 320, height: 240, durationSeconds: 2, title: '', description: '', tags: [], favorite: false, archived: false });
    });

    it('getMetadata shows camera, location and orientation where processing found them; null sizes before', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a.jpg', contentType: 'image/jpeg', size: JPEG.length });
      expect((await getMetadata(w, caller, media.id)).metadata).to.deep.equal({ width: null, height: null, title: '', description: '', tags: [], favorite: false, archived: false });
      await w.content.put(originalKey(caller.userId, media.id), JPEG, 'image/jpeg');
      const location = { latitude: 48.8584, longitude: 2.2945, altitude: 35 };
      const image = async (): Promise<ImageInfo> => ({ width: 30, height: 40, orientation: 6, camera: { make: 'Canon', model: 'EOS R6' }, location });
      await processUpload({ ...w, inspector: fakeInspector({ image }) }, originalKey(caller.userId, media.id));
      expect((await getMetadata(w, caller, media.id)).metadata).to.deep.equal({
        width: 30,
        height: 40,
        camera: { make: 'Canon', model: 'EOS R6' },
        location,
        orientation: 6,
        title: '',
        description: '',
        tags: [],
        favorite: false,
        archived: false,
      });
    });

    it('updateMetadata lets failures other than a conflict through at once, changing nothing', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: 1 });
      const throttled = Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      const update = sinon.stub(w.media, 'updateMetadata').rejects(throttled);
      let thrown: unknown;
      await updateMetadata(w, caller, media.id, { title: 'x' }).catch((caught: unknown) => (thrown = caught));
      expect(thrown).to.equal(throttled);
      expect(update.callCount, 'not retried here: the client gets 503 and retries').to.equal(1);
      expect((await getMetadata(w, caller, media.id)).metadata.title).to.equal('');
    });

    it('deleteMedia lets failures other than a conflict through at once; the item stays', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: 1 });
      const throttled = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      const begin = sinon.stub(w.media, 'beginDelete').rejects(throttled);
      let thrown: unknown;
      await deleteMedia(w, caller, media.id).catch((caught: unknown) => (thrown = caught));
      expect(thrown).to.equal(throttled);
      expect(begin.callCount).to.equal(1);
      expect((await getMetadata(w, caller, media.id)).metadata.title).to.equal('');
    });

    it('deleteMedia gives up after 9 conflicting changes in a row with 409 concurrent_update, leaving the item as it was', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: 1 });
      const begin = sinon.stub(w.media, 'beginDelete').rejects(new VersionConflict());
      let thrown: unknown;
      await deleteMedia(w, caller, media.id).catch((caught: unknown) => (thrown = caught));
      expect(thrown).to.be.instanceOf(HttpError);
      expect([(thrown as HttpError).status, (thrown as HttpError).code]).to.deep.equal([409, 'concurrent_update']);
      expect(begin.callCount).to.equal(9);
      expect((await w.media.get(caller.userId, media.id))?.deleting).to.equal(undefined);
    });

    it('deleteMedia that conflicts with a concurrent DELETE which then finishes: done, quietly', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: JPEG.length });
      await w.content.put(originalKey(caller.userId, media.id), JPEG, 'image/jpeg');
      const begin = sinon.stub(w.media, 'beginDelete');
      begin.onFirstCall().callsFake(async () => {
        begin.callThrough();
        await deleteMedia(w, caller, media.id); // the other request wins and removes everything
        throw new VersionConflict();
      });
      await deleteMedia(w, caller, media.id);
      expect(await w.media.get(caller.userId, media.id)).to.equal(undefined);
      expect(w.content.objects.size).to.equal(0);
      expect((await rejected(deleteMedia(w, caller, media.id))).status).to.equal(404);
    });

    it('deleteAllMedia removes every object and item of the user, and nothing of others', async () => {
      const w = world();
      const other = { userId: ulid() };
      for (const who of [caller, caller, other]) {
        const { media } = await createMedia(w, who, { filename: 'a', contentType: 'image/jpeg', size: JPEG.length });
        await w.content.put(originalKey(who.userId, media.id), JPEG, 'image/jpeg');
      }
      await deleteAllMedia(w, caller.userId);
      expect([...w.content.objects.keys()].every((key) => key.startsWith(`media/${other.userId}/`))).to.equal(true);
      expect(w.content.objects.size).to.equal(1);
      expect((await listMedia(w, caller, { limit: 10 })).items).to.deep.equal([]);
      expect((await listMedia(w, other, { limit: 10 })).items).to.have.length(1);
    });

    it('deleteAllMedia deletes the items before the bytes, so an upload landing after it is an orphan processUpload removes', async () => {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: JPEG.length });
      const itemsWhenBytesWent: number[] = [];
      const deletePrefix = w.content.deletePrefix.bind(w.content);
      w.content.deletePrefix = async (prefix) => {
        itemsWhenBytesWent.push(w.media.items.size);
        return deletePrefix(prefix);
      };
      await deleteAllMedia(w, caller.userId);
      expect(itemsWhenBytesWent).to.deep.equal([0]);
      // The form issued before the deletion is used afterwards: its S3 event finds no item.
      await w.content.put(originalKey(caller.userId, media.id), JPEG, 'image/jpeg');
      expect(await processUpload(w, originalKey(caller.userId, media.id))).to.equal('orphan-removed');
      expect(w.content.objects.size).to.equal(0);
    });

    it('deleteAllMedia goes over the partition again after deleting items, for what was written for them just before they went', async () => {
      const w = world();
      await createMedia(w, caller, { filename: 'a', contentType: 'image/jpeg', size: JPEG.length });
      const deleteUserData = sinon.stub(w.media, 'deleteUserData');
      deleteUserData.onFirstCall().resolves(1).onSecondCall().resolves(0);
      await deleteAllMedia(w, caller.userId);
      expect(deleteUserData.callCount).to.equal(2);
      deleteUserData.resetHistory();
      deleteUserData.onFirstCall().resolves(0);
      await deleteAllMedia(w, caller.userId);
      expect(deleteUserData.callCount, 'no items: nothing could have been written for one').to.equal(1);
    });
  });

  describe('thumbnail URLs: signed per window, so the browser can cache the images', () => {
    const WINDOW = THUMBNAIL_URL_WINDOW_SECONDS * 1000;
    // Real SigV4 presigning (offline: signing sends nothing), checked by the local gateway's verifier.
    const credentials = { accessKeyId: 'media-library-local-listMedia', secretAccessKey: 'local-secret' };
    const secretFor = (accessKeyId: string): string | undefined => (accessKeyId === credentials.accessKeyId ? credentials.secretAccessKey : undefined);
    const s3 = s3ContentStore(new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4569', forcePathStyle: true, credentials }), 'media-bucket');
    let timers: sinon.SinonFakeTimers;
    afterEach(() => timers.restore());

    /** A ready image, and deps that read it through the real S3 presigner; Date is faked from here on (at()). */
    async function readyImage(): Promise<{ id: string; deps: Parameters<typeof getMedia>[0] & Parameters<typeof listMedia>[0] }> {
      const w = world();
      const { media } = await createMedia(w, caller, { filename: 'a.jpg', contentType: 'image/jpeg', size: JPEG.length });
      await w.content.put(originalKey(caller.userId, media.id), JPEG, 'image/jpeg');
      expect(await processUpload(w, originalKey(caller.userId, media.id))).to.equal('ready');
      timers = sinon.useFakeTimers({ toFake: ['Date'] });
      return { id: media.id, deps: { media: w.media, content: s3, clock: systemClock, settings } };
    }
    const at = (iso: string): void => timers.setSystemTime(new Date(iso));
    async function urlsAt(iso: string, deps: Parameters<typeof getMedia>[0], id: string) {
      at(iso);
      const listed = (await listMedia(deps, caller, { limit: 10 })).items[0];
      const shown = await getMedia(deps, caller, id);
      return { listed: listed?.thumbnails, shown: shown.thumbnails, downloadUrl: shown.downloadUrl as string };
    }
    const wire = (url: string): WireRequest => {
      const parsed = new URL(url);
      return { method: 'GET', rawPath: parsed.pathname, rawQuery: parsed.search.slice(1), headers: { host: parsed.host } };
    };

    it('two calls within a window give byte-identical thumbnail URLs, in lists and in GET; the download URL stays per request', async () => {
      const { id, deps } = await readyImage();
      const early = await urlsAt('2026-11-21T10:00:00.000Z', deps, id);
      const late = await urlsAt('2026-11-21T10:59:59.999Z', deps, id);
      expect(early.listed?.small).to.match(/thumb-small\.webp\?.*X-Amz-Signature=/);
      expect(late.listed).to.deep.equal(early.listed);
      expect(late.shown).to.deep.equal(early.shown);
      expect(early.shown, 'GET signs thumbnails as lists do').to.deep.equal(early.listed);
      const query = new URL(early.listed?.large as string).searchParams;
      expect(query.get('X-Amz-Date'), 'signed at the start of the window').to.equal('20261121T100000Z');
      expect(query.get('X-Amz-Expires')).to.equal(String(2 * THUMBNAIL_URL_WINDOW_SECONDS));
      expect(query.get('response-cache-control')).to.equal(`private, max-age=${THUMBNAIL_URL_WINDOW_SECONDS}`);
      expect(query.get('response-content-type')).to.equal('image/webp');
      // The download is a one-off with its own disposition: signed when asked, for downloadUrlSeconds.
      expect(late.downloadUrl).not.to.equal(early.downloadUrl);
      expect(new URL(late.downloadUrl).searchParams.get('X-Amz-Date')).to.equal('20261121T105959Z');
      expect(new URL(late.downloadUrl).searchParams.get('X-Amz-Expires')).to.equal(String(settings.downloadUrlSeconds));
      expect(new URL(late.downloadUrl).searchParams.get('response-cache-control')).to.equal(null);
    });

    it('across a window boundary the URLs change', async () => {
      const { id, deps } = await readyImage();
      const before = await urlsAt('2026-11-21T10:59:59.999Z', deps, id);
      const after = await urlsAt('2026-11-21T11:00:00.000Z', deps, id);
      expect(after.listed?.small).not.to.equal(before.listed?.small);
      expect(after.listed?.large).not.to.equal(before.listed?.large);
      expect(after.shown?.small).not.to.equal(before.shown?.small);
      expect(new URL(after.listed?.small as string).searchParams.get('X-Amz-Date')).to.equal('20261121T110000Z');
    });

    it('a URL handed out at any moment of a window, its last millisecond too, is accepted for at least one whole window after', async () => {
      const { id, deps } = await readyImage();
      for (const handedOut of ['2026-11-21T10:00:00.000Z', '2026-11-21T10:30:00.000Z', '2026-11-21T10:59:59.999Z']) {
        const { listed } = await urlsAt(handedOut, deps, id);
        const request = wire(listed?.small as string);
        const then = new Date(handedOut).getTime();
        expect(verifySignature(request, secretFor, new Date(then)).ok, `${handedOut}: valid when handed out`).to.equal(true);
        expect(verifySignature(request, secretFor, new Date(then + WINDOW)).ok, `${handedOut}: valid one window later`).to.equal(true);
        expect(verifySignature(request, secretFor, new Date('2026-11-21T12:00:01.000Z')).ok, 'expired two windows after the window began').to.equal(false);
      }
    });
  });

  describe('sweepUploads', () => {
    it('removes pending items older than 24 hours with their bytes; keeps newer and processed ones', async () => {
      const w = world();
      const old = await createMedia(w, caller, { filename: 'old', contentType: 'image/jpeg', size: JPEG.length });
      await w.content.put(originalKey(caller.userId, old.media.id), JPEG, 'image/jpeg');
      const done = await createMedia(w, caller, { filename: 'done', contentType: 'image/jpeg', size: JPEG.length });
      await w.content.put(originalKey(caller.userId, done.media.id), JPEG, 'image/jpeg');
      await processUpload(w, originalKey(caller.userId, done.media.id));
      w.clock.advance(23 * 3600_000);
      const fresh = await createMedia(w, caller, { filename: 'fresh', contentType: 'image/jpeg', size: 1 });
      w.clock.advance(2 * 3600_000);
      expect(await sweepUploads(w)).to.equal(1);
      expect(await w.media.get(caller.userId, old.media.id)).to.equal(undefined);
      expect(w.content.objects.has(originalKey(caller.userId, old.media.id))).to.equal(false);
      expect((await w.media.get(caller.userId, fresh.media.id))?.status).to.equal('pending');
      expect((await w.media.get(caller.userId, done.media.id))?.status).to.equal('ready');
    });
  });

  describe('sweepUploads and the eventually consistent pending index', () => {
    it('skips listed items that are gone, no longer pending or not old enough by their own record', async () => {
      const w = world();
      const old = await createMedia(w, caller, { filename: 'old', contentType: 'image/jpeg', size: JPEG.length });
      const done = await createMedia(w, caller, { filename: 'done', contentType: 'image/jpeg', size: JPEG.length });
      await w.content.put(originalKey(caller.userId, done.media.id), JPEG, 'image/jpeg');
      await processUpload(w, originalKey(caller.userId, done.media.id));
      w.clock.advance(25 * 3600_000);
      const fresh = await createMedia(w, caller, { filename: 'fresh', contentType: 'image/jpeg', size: 1 });
      const gone = { userId: caller.userId, mediaId: ulid() };
      // The index still lists what changed since (GSI reads are eventually consistent).
      sinon.stub(w.media, 'listPendingBefore').resolves([gone, { userId: caller.userId, mediaId: done.media.id }, { userId: caller.userId, mediaId: fresh.media.id }, { userId: caller.userId, mediaId: old.media.id }]);
      const deleteObjects = sinon.spy(w.content, 'delete');
      expect(await sweepUploads(w)).to.equal(1);
      expect(deleteObjects.args, 'only the old item\'s upload').to.deep.equal([[[originalKey(caller.userId, old.media.id)]]]);
      expect(await w.media.get(caller.userId, old.media.id)).to.equal(undefined);
      expect((await w.media.get(caller.userId, done.media.id))?.status).to.equal('ready');
      expect((await w.media.get(caller.userId, fresh.media.id))?.status).to.equal('pending');
    });
  });

  it('countingReader serves the first read from memory and counts what it fetches', async () => {
    const content = memoryContentStore();
    await content.put('k', Buffer.from('0123456789'), 'text/plain');
    const reader = countingReader(content, 'k', 10, Buffer.from('0123'));
    expect((await reader.read(0, 3)).toString()).to.equal('0123');
    expect(reader.bytesRead()).to.equal(4);
    expect((await reader.read(6, 9)).toString()).to.equal('6789');
    expect(reader.bytesRead()).to.equal(8);
  });
});
