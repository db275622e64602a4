/**
 * The S3 content store where S3 (or a proxy in front of it) answers in ways the stand-in never
 * does: other shapes of "not found", headers left out, partial failures of a batch delete.
 * The client is a stub; the behaviour against a real S3 API is s3Content.int.test.ts.
 */
import { NoSuchKey, NotFound, type DeleteObjectsCommand, type HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import sinon from 'sinon';
import { toErrorResponse } from '../http/errorResponse';
import { s3ContentStore } from './s3Content';

function stubbed() {
  const send = sinon.stub();
  return { store: s3ContentStore({ send } as unknown as S3Client, 'bucket'), send };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('ContentStore: S3 answers the stand-in never gives', () => {
  describe('head', () => {
    it('is undefined for every shape of "no such object": NotFound, NoSuchKey, or any 404', async () => {
      const { store, send } = stubbed();
      const missing = [
        new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }),
        new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }),
        Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 404 } }),
      ];
      for (const error of missing) {
        send.reset();
        send.rejects(error);
        expect(await store.head('media/u/m/original'), error.name).to.equal(undefined);
        const command = send.firstCall.args[0] as HeadObjectCommand;
        expect(command.input).to.deep.equal({ Bucket: 'bucket', Key: 'media/u/m/original' });
      }
    });

    it('passes other failures through (403, throttling): the object may well exist', async () => {
      const { store, send } = stubbed();
      const denied = Object.assign(new Error('Forbidden'), { name: 'Forbidden', $metadata: { httpStatusCode: 403 } });
      send.rejects(denied);
      expect(await failure(store.head('k'))).to.equal(denied);
      const slowDown = Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' });
      send.rejects(slowDown);
      expect(await failure(store.head('k'))).to.equal(slowDown);
    });

    it('reads a response without length, type or ETag as size 0, no content type and an empty ETag', async () => {
      const { store, send } = stubbed();
      send.resolves({});
      expect(await store.head('k')).to.deep.equal({ size: 0, eTag: '' });
      send.resolves({ ContentLength: 12, ContentType: 'image/png', ETag: '"abc"' });
      expect(await store.head('k')).to.deep.equal({ size: 12, contentType: 'image/png', eTag: '"abc"' });
    });
  });

  describe('delete', () => {
    it('sends at most 1000 keys per request (the S3 limit), quietly', async () => {
      const { store, send } = stubbed();
      send.resolves({});
      const keys = Array.from({ length: 2500 }, (_, i) => `media/u/${i}/original`);
      await store.delete(keys);
      const batches = send.args.map(([command]) => (command as DeleteObjectsCommand).input.Delete);
      expect(batches.map((batch) => batch?.Objects?.length)).to.deep.equal([1000, 1000, 500]);
      expect(batches.flatMap((batch) => batch?.Objects?.map((object) => object.Key))).to.deep.equal(keys);
      expect(batches.every((batch) => batch?.Quiet === true)).to.equal(true);
    });

    it('sends nothing for no keys', async () => {
      const { store, send } = stubbed();
      await store.delete([]);
      expect(send.called).to.equal(false);
    });

    it('ignores keys S3 reports as already gone, and fails (503-mapped) when any other key could not be deleted', async () => {
      const { store, send } = stubbed();
      send.resolves({ Errors: [{ Key: 'a', Code: 'NoSuchKey' }] });
      await store.delete(['a', 'b']);

      send.resolves({ Errors: [{ Key: 'a', Code: 'NoSuchKey' }, { Key: 'b', Code: 'AccessDenied' }, { Key: 'c', Code: 'InternalError' }] });
      const error = await failure(store.delete(['a', 'b', 'c']));
      expect(toErrorResponse(error, 'req-1').status, 'a dependency failure: the HTTP layer answers 503').to.equal(503);
      expect(error.message).to.equal('S3 could not delete 2 object(s): AccessDenied');
    });

    it('stops at the first batch that fails, before later batches are sent', async () => {
      const { store, send } = stubbed();
      send.onFirstCall().resolves({ Errors: [{ Key: 'k0', Code: 'SlowDown' }] });
      send.resolves({});
      await failure(store.delete(Array.from({ length: 1001 }, (_, i) => `k${i}`)));
      expect(send.callCount).to.equal(1);
    });
  });
});
