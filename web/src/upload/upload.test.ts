import { expect } from 'chai';
import sinon from 'sinon';
import type { Api } from '../api/client';
import { describeError, NETWORK_ERROR } from '../api/errors';
import { contentTypeOf, uploadFile, type PostResult, type Progress, type UploadDeps, type UploadOutcome } from './upload';

const SHA256 = 'ab'.repeat(32);
const FORM = {
  media: { id: 'm1' },
  upload: { method: 'POST', url: 'http://s3.test/bucket', fields: { key: 'u1/m1', policy: 'p', 'x-amz-signature': 's' }, expiresAt: '2024-05-01T12:15:00.000Z' },
};

interface CreateInit {
  body: { filename: string; contentType: string; size: number; sha256?: string };
  signal: AbortSignal;
}
interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

const created = (): FetchResult => ({ data: FORM, error: undefined, response: new Response(null, { status: 201 }) });
const refused = (status: number, error: unknown): FetchResult => ({ data: undefined, error, response: new Response(null, { status }) });
const s3Error = (status: number, code: string, message: string): PostResult => ({
  status,
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>R1</RequestId></Error>`,
});

const photo = (name = 'beach.jpg', type = 'image/jpeg', bytes = 1000): File => new File([new Uint8Array(bytes)], name, { type });

/** Rejects like the real steps do when their signal is aborted. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(new DOMException('cancelled', 'AbortError'));
    signal.addEventListener('abort', () => reject(new DOMException('cancelled', 'AbortError')), { once: true });
  });
}

function setup() {
  const createMedia = sinon.stub<[string, CreateInit], Promise<FetchResult>>().resolves(created());
  const hash = sinon.stub<[File, AbortSignal], Promise<string | undefined>>().resolves(SHA256);
  const post = sinon
    .stub<[string, Record<string, string>, File, (fraction: number) => void, AbortSignal], Promise<PostResult>>()
    .callsFake(async (_url, _fields, _file, onProgress) => {
      onProgress(0.5);
      onProgress(1);
      return { status: 204, body: '' };
    });
  const deps: UploadDeps = { api: { POST: createMedia } as unknown as Api, hash, post };
  const progress: Progress[] = [];
  const controller = new AbortController();
  const run = (file: File): Promise<UploadOutcome> => uploadFile(file, deps, (step) => progress.push(step), controller.signal);
  return { createMedia, hash, post, progress, controller, run };
}

describe('web upload', () => {
  describe('contentTypeOf', () => {
    it('takes an accepted type the browser gives', () => {
      expect(contentTypeOf({ name: 'IMG_1.jpg', type: 'image/jpeg' })).to.equal('image/jpeg');
      expect(contentTypeOf({ name: 'clip', type: 'video/quicktime' })).to.equal('video/quicktime');
      expect(contentTypeOf({ name: 'a.png', type: 'image/png' })).to.equal('image/png');
    });

    it('goes by the extension, in any case, when the browser gives no type', () => {
      expect(contentTypeOf({ name: 'IMG_1.JPG', type: '' })).to.equal('image/jpeg');
      expect(contentTypeOf({ name: 'holiday.2024.jpeg', type: '' })).to.equal('image/jpeg');
      expect(contentTypeOf({ name: 'clip.m4v', type: 'application/octet-stream' })).to.equal('video/mp4');
      expect(contentTypeOf({ name: 'clip.MOV', type: '' })).to.equal('video/quicktime');
      expect(contentTypeOf({ name: 'a.webp', type: '' })).to.equal('image/webp');
    });

    it('refuses other types, whatever the name says', () => {
      expect(contentTypeOf({ name: 'photo.jpg', type: 'text/plain' })).to.equal(null);
      expect(contentTypeOf({ name: 'photo.heic', type: 'image/heic' })).to.equal(null);
      expect(contentTypeOf({ name: 'notes.txt', type: '' })).to.equal(null);
      expect(contentTypeOf({ name: 'README', type: '' })).to.equal(null);
    });
  });

  describe('uploadFile', () => {
    it('asks for a form with the file name, type, size and hash, then posts the file with the form fields', async () => {
      const { createMedia, hash, post, progress, controller, run } = setup();
      const file = photo('beach.jpg', 'image/jpeg', 1234);
      expect(await run(file)).to.deep.equal({ kind: 'uploaded', mediaId: 'm1' });
      expect(hash.calledOnceWithExactly(file, controller.signal)).to.equal(true);
      expect(createMedia.callCount).to.equal(1);
      const [path, init] = createMedia.firstCall.args;
      expect(path).to.equal('/v1/media');
      expect(init.body).to.deep.equal({ filename: 'beach.jpg', contentType: 'image/jpeg', size: 1234, sha256: SHA256 });
      expect(init.signal).to.equal(controller.signal);
      expect(post.callCount).to.equal(1);
      const [url, fields, sent, , signal] = post.firstCall.args;
      expect([url, fields, sent, signal]).to.deep.equal([FORM.upload.url, FORM.upload.fields, file, controller.signal]);
      expect(progress).to.deep.equal([
        { phase: 'hashing', fraction: 0 },
        { phase: 'uploading', fraction: 0 },
        { phase: 'uploading', fraction: 0.5 },
        { phase: 'uploading', fraction: 1 },
      ]);
    });

    it('declares the type found from the extension', async () => {
      const { createMedia, run } = setup();
      await run(photo('IMG_2.MOV', ''));
      expect(createMedia.firstCall.args[1].body.contentType).to.equal('video/quicktime');
    });

    it('sends a file too big to hash (HASH_LIMIT, 512 MiB) without sha256', async () => {
      const { createMedia, hash, post, run } = setup();
      const video = photo('long.mp4', 'video/mp4');
      Object.defineProperty(video, 'size', { value: 600 * 1024 * 1024 });
      hash.resolves(undefined); // what hashInWorker answers over its limit
      expect(await run(video)).to.deep.equal({ kind: 'uploaded', mediaId: 'm1' });
      expect(createMedia.firstCall.args[1].body).to.deep.equal({ filename: 'long.mp4', contentType: 'video/mp4', size: 600 * 1024 * 1024 });
      expect(createMedia.firstCall.args[1].body).to.not.have.property('sha256');
      expect(post.callCount).to.equal(1);
    });

    it('refuses a file of another type before anything is sent', async () => {
      const { createMedia, hash, run } = setup();
      expect(await run(photo('notes.txt', 'text/plain'))).to.deep.equal({ kind: 'rejected', message: describeError(415) });
      expect(hash.called).to.equal(false);
      expect(createMedia.called).to.equal(false);
    });

    it('refuses an empty file before anything is sent', async () => {
      const { createMedia, hash, run } = setup();
      expect(await run(photo('empty.jpg', 'image/jpeg', 0))).to.deep.equal({ kind: 'rejected', message: 'This file is empty.' });
      expect(hash.called).to.equal(false);
      expect(createMedia.called).to.equal(false);
    });

    it('answers a duplicate with the item already in the library, without sending the file', async () => {
      const { createMedia, post, run } = setup();
      createMedia.resolves(refused(409, { error: { code: 'duplicate', message: 'Duplicate', existingId: 'm0' } }));
      expect(await run(photo())).to.deep.equal({ kind: 'duplicate', existingId: 'm0' });
      expect(post.called).to.equal(false);
    });

    it('answers another 409 in words', async () => {
      const { createMedia, run } = setup();
      createMedia.resolves(refused(409, { error: { code: 'concurrent_update', message: 'x' } }));
      expect(await run(photo())).to.deep.equal({ kind: 'rejected', message: 'Someone changed this in the meantime. Please try again.' });
    });

    for (const [status, code, sentence] of [
      [415, 'unsupported_media_type', 'This kind of file cannot be added: photos (JPEG, PNG, WebP, GIF) and videos (MP4, MOV) can.'],
      [413, 'payload_too_large', 'This file is too large.'],
    ] as const) {
      it(`answers a ${status} in words, without sending the file`, async () => {
        const { createMedia, post, run } = setup();
        createMedia.resolves(refused(status, { error: { code, message: 'raw' } }));
        expect(await run(photo())).to.deep.equal({ kind: 'rejected', message: sentence });
        expect(post.called).to.equal(false);
      });
    }

    it('answers S3 EntityTooLarge (the file changed size) in words', async () => {
      const { post, run } = setup();
      post.resolves(s3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size'));
      expect(await run(photo())).to.deep.equal({ kind: 'rejected', message: 'The file changed size while it was being uploaded. Please try again.' });
    });

    it('answers an expired S3 form in words', async () => {
      const { post, run } = setup();
      post.resolves(s3Error(403, 'AccessDenied', 'Invalid according to Policy: Policy expired.'));
      expect(await run(photo())).to.deep.equal({ kind: 'rejected', message: 'The upload took too long and its form expired. Please try again.' });
    });

    it('answers another S3 refusal in general words', async () => {
      const { post, run } = setup();
      post.resolves(s3Error(403, 'AccessDenied', 'Invalid according to Policy: Policy Condition failed'));
      expect(await run(photo())).to.deep.equal({ kind: 'rejected', message: 'The storage refused the file. Please try again.' });
    });

    it('refuses a file that cannot be read, without asking for a form', async () => {
      const { createMedia, hash, run } = setup();
      hash.rejects(new Error('NotReadableError: the file was moved'));
      expect(await run(photo())).to.deep.equal({ kind: 'rejected', message: 'This file cannot be read (NotReadableError: the file was moved).' });
      expect(createMedia.called).to.equal(false);
    });

    it('is cancelled when aborted while hashing', async () => {
      const { createMedia, hash, controller, run } = setup();
      hash.callsFake((_file, signal) => untilAborted(signal));
      const outcome = run(photo());
      controller.abort();
      expect(await outcome).to.deep.equal({ kind: 'cancelled' });
      expect(createMedia.called).to.equal(false);
    });

    it('is cancelled when aborted just as the hash is done', async () => {
      const { createMedia, hash, controller, run } = setup();
      hash.callsFake(async () => {
        controller.abort();
        return SHA256;
      });
      expect(await run(photo())).to.deep.equal({ kind: 'cancelled' });
      expect(createMedia.called).to.equal(false);
    });

    it('is cancelled when aborted while asking for the form', async () => {
      const { createMedia, post, controller, run } = setup();
      createMedia.callsFake((_path, init) => untilAborted(init.signal));
      const outcome = run(photo());
      await Promise.resolve();
      await Promise.resolve();
      controller.abort();
      expect(await outcome).to.deep.equal({ kind: 'cancelled' });
      expect(post.called).to.equal(false);
    });

    it('is cancelled, and sends nothing to S3, when aborted just as the form arrives', async () => {
      const { createMedia, post, controller, run } = setup();
      createMedia.callsFake(async () => {
        controller.abort();
        return created();
      });
      expect(await run(photo())).to.deep.equal({ kind: 'cancelled' });
      expect(post.called).to.equal(false);
    });

    it('is cancelled when aborted while posting the file', async () => {
      const { post, progress, controller, run } = setup();
      post.callsFake((_url, _fields, _file, onProgress, signal) => {
        onProgress(0.3);
        controller.abort();
        return untilAborted(signal);
      });
      expect(await run(photo())).to.deep.equal({ kind: 'cancelled' });
      expect(progress.at(-1)).to.deep.equal({ phase: 'uploading', fraction: 0.3 });
    });

    it('answers a network failure asking for the form with the network message', async () => {
      const { createMedia, run } = setup();
      createMedia.rejects(new TypeError('Failed to fetch'));
      expect(await run(photo())).to.deep.equal({ kind: 'rejected', message: NETWORK_ERROR });
    });

    it('answers a network failure while posting the file with the network message', async () => {
      const { post, run } = setup();
      post.rejects(new TypeError('network error'));
      expect(await run(photo())).to.deep.equal({ kind: 'rejected', message: NETWORK_ERROR });
    });
  });
});
