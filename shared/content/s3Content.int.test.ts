import { type ListObjectsV2CommandInput, type ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import { localStack } from '../../local/test/stack';
import { s3 } from '../aws/s3';
import { requireEnv } from '../config/env';
import type { ContentStore } from './content';
import { s3ContentStore } from './s3Content';
import { TOOLING_CREDENTIALS } from '../../local/stack/credentials';

/** The prefix of one test: media/<ulid>/<ulid>/, so tests never see each other's objects. */
const freshPrefix = (): string => `media/${ulid()}/${ulid()}/`;

interface Policy {
  expiration: string;
  conditions: unknown[];
}

function decodePolicy(fields: Record<string, string>): Policy {
  const encoded = fields['Policy'] ?? fields['policy'];
  expect(encoded, 'Policy field').to.be.a('string');
  return JSON.parse(Buffer.from(encoded as string, 'base64').toString('utf8')) as Policy;
}

/** RFC 5987 attr-char: what may appear unencoded in a `filename*` value. */
const ATTR_CHARS = /^[A-Za-z0-9!#$&+\-.^_`|~%]*$/;

function dispositionOf(url: string): string | null {
  return new URL(url).searchParams.get('response-content-disposition');
}

/** The `filename*=UTF-8''…` value of a Content-Disposition, decoded; undefined when absent. */
function extendedFilename(disposition: string): { raw: string; decoded: string } | undefined {
  const match = /filename\*=UTF-8''([^;\s]*)/i.exec(disposition);
  if (match === null) return undefined;
  const raw = match[1] as string;
  return { raw, decoded: decodeURIComponent(raw) };
}

describe('ContentStore: S3 (s3rver)', function () {
  this.timeout(60_000);
  let bucket: string;
  let store: ContentStore;
  const prefixes: string[] = [];

  /** A prefix removed after the suite, whatever the test did. */
  const prefix = (): string => {
    const value = freshPrefix();
    prefixes.push(value);
    return value;
  };

  before(async () => {
    await localStack();
    bucket = requireEnv('MEDIA_BUCKET');
    store = s3ContentStore(s3, bucket);
  });

  after(async () => {
    if (store === undefined) return;
    for (const value of prefixes.splice(0)) await store.deletePrefix(value);
  });

  describe('put, head, read, readRange', () => {
    it('put then head: size, content type and an ETag', async () => {
      const key = `${prefix()}original`;
      const body = randomBytes(1234);
      await store.put(key, body, 'image/jpeg');
      const head = await store.head(key);
      expect(head?.size).to.equal(1234);
      expect(head?.contentType).to.equal('image/jpeg');
      expect(head?.eTag).to.be.a('string').and.not.equal('');
    });

    it('the ETag changes when the object is replaced', async () => {
      const key = `${prefix()}original`;
      await store.put(key, Buffer.from('first'), 'text/plain');
      const first = await store.head(key);
      await store.put(key, Buffer.from('second version'), 'image/png');
      const second = await store.head(key);
      expect(second?.eTag).to.not.equal(first?.eTag);
      expect(second).to.include({ size: 14, contentType: 'image/png' });
    });

    it('read returns exactly the bytes put (binary-safe)', async () => {
      const key = `${prefix()}original`;
      const body = Buffer.concat([randomBytes(70_000), Buffer.from([0, 0xff, 0x0d, 0x0a, 0x00])]);
      await store.put(key, body, 'application/octet-stream');
      expect((await store.read(key)).equals(body)).to.equal(true);
    });

    it('an empty object', async () => {
      const key = `${prefix()}original`;
      await store.put(key, Buffer.alloc(0), 'image/png');
      expect(await store.head(key)).to.include({ size: 0, contentType: 'image/png' });
      expect((await store.read(key)).length).to.equal(0);
    });

    it('readRange returns bytes [start, end] inclusive', async () => {
      const key = `${prefix()}original`;
      const body = randomBytes(10_000);
      await store.put(key, body, 'video/mp4');
      // Not (0, 0): s3rver treats an end of 0 as "no end" and returns the whole object (real S3 returns 1 byte).
      expect((await store.readRange(key, 0, 1)).equals(body.subarray(0, 2))).to.equal(true);
      expect((await store.readRange(key, 0, 4099)).equals(body.subarray(0, 4100))).to.equal(true);
      expect((await store.readRange(key, 1234, 5678)).equals(body.subarray(1234, 5679))).to.equal(true);
      expect((await store.readRange(key, 9_999, 9_999)).equals(body.subarray(9_999))).to.equal(true);
    });

    it('readRange past the end is clamped to the last byte', async () => {
      const key = `${prefix()}original`;
      const body = randomBytes(1000);
      await store.put(key, body, 'video/mp4');
      expect((await store.readRange(key, 900, 65_535)).equals(body.subarray(900))).to.equal(true);
      expect((await store.readRange(key, 0, 1_000_000)).equals(body)).to.equal(true);
    });

    it('head of a missing key is undefined', async () => {
      expect(await store.head(`${prefix()}original`)).to.equal(undefined);
    });

    it('read of a missing key fails (it is not an empty object)', async () => {
      let failed = false;
      try {
        await store.read(`${prefix()}original`);
      } catch {
        failed = true;
      }
      expect(failed).to.equal(true);
    });
  });

  describe('delete, deletePrefix, list', () => {
    it('delete removes existing keys and ignores missing ones', async () => {
      const base = prefix();
      await store.put(`${base}a`, Buffer.from('a'), 'text/plain');
      await store.put(`${base}b`, Buffer.from('b'), 'text/plain');
      await store.put(`${base}keep`, Buffer.from('c'), 'text/plain');
      await store.delete([`${base}a`, `${base}missing`, `${base}b`]);
      expect(await store.head(`${base}a`)).to.equal(undefined);
      expect(await store.head(`${base}b`)).to.equal(undefined);
      expect(await store.list(base)).to.deep.equal([`${base}keep`]);
    });

    it('delete is repeatable, and a no-op for an empty list or only missing keys', async () => {
      const base = prefix();
      await store.put(`${base}a`, Buffer.from('a'), 'text/plain');
      await store.delete([`${base}a`]);
      await store.delete([`${base}a`]);
      await store.delete([]);
      await store.delete([`${base}never-1`, `${base}never-2`]);
      expect(await store.list(base)).to.deep.equal([]);
    });

    it('list returns every key under the prefix, and only those', async () => {
      const base = prefix();
      const sibling = `${base.slice(0, -1)}Z/`; // shares all but the separator with base
      prefixes.push(sibling);
      const keys = ['original', 'thumb-large.webp', 'thumb-small.webp'].map((name) => `${base}${name}`);
      for (const key of [...keys, `${sibling}original`]) await store.put(key, Buffer.from(key), 'text/plain');
      expect((await store.list(base)).sort()).to.deep.equal(keys);
      expect(await store.list(prefix())).to.deep.equal([]);
    });

    it('deletePrefix removes everything under the prefix (30 objects) and counts them, leaving neighbours', async () => {
      const base = prefix();
      const neighbour = `${base.slice(0, -1)}X/`;
      prefixes.push(neighbour);
      await Promise.all(Array.from({ length: 30 }, (_, i) => store.put(`${base}${String(i).padStart(2, '0')}`, Buffer.from([i]), 'text/plain')));
      await store.put(`${neighbour}original`, Buffer.from('keep'), 'text/plain');
      expect(await store.list(base)).to.have.length(30);
      expect(await store.deletePrefix(base)).to.equal(30);
      expect(await store.list(base)).to.deep.equal([]);
      expect(await store.list(neighbour)).to.deep.equal([`${neighbour}original`]);
      expect(await store.deletePrefix(base), 'repeatable').to.equal(0);
    });

    describe('across pages (listings cut to 2 keys a page)', () => {
      const PAGE = 2;
      /** The ContinuationToken of every ListObjectsV2 the store sent, in order. */
      let tokens: Array<string | undefined>;
      let paged: ContentStore;
      let client: S3Client;

      before(() => {
        // s3rver cannot page itself: its continuation tokens use DES, which OpenSSL 3 (Node 18+)
        // refuses, so any truncated listing is a 500. This client emulates S3's paging contract
        // around it instead: each response is cut to PAGE keys with IsTruncated and an opaque
        // NextContinuationToken, which the next request must send back to get the rest (the
        // stand-in is asked for the keys after the one the token names). The store code is the
        // real one, so its continuation loop is exercised exactly as against S3.
        client = new S3Client({
          endpoint: requireEnv('S3_ENDPOINT'),
          forcePathStyle: true,
          credentials: TOOLING_CREDENTIALS,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        });
        client.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName !== 'ListObjectsV2Command') return next(args);
            const input = args.input as ListObjectsV2CommandInput;
            tokens.push(input.ContinuationToken);
            const startAfter = input.ContinuationToken === undefined ? input.StartAfter : Buffer.from(input.ContinuationToken, 'base64url').toString('utf8');
            const result = await next({ ...args, input: { ...input, ContinuationToken: undefined, StartAfter: startAfter } });
            const output = result.output as ListObjectsV2CommandOutput;
            const contents = output.Contents ?? [];
            expect(output.IsTruncated, 'the stand-in listed everything in one go').to.not.equal(true);
            if (contents.length > PAGE) {
              output.Contents = contents.slice(0, PAGE);
              output.KeyCount = PAGE;
              output.IsTruncated = true;
              output.NextContinuationToken = Buffer.from(contents[PAGE - 1]?.Key as string, 'utf8').toString('base64url');
            }
            return result;
          },
          { step: 'initialize', name: 'pagesOfTwo' },
        );
        paged = s3ContentStore(client, bucket);
      });

      after(() => client.destroy());

      beforeEach(() => {
        tokens = [];
      });

      it('list collects all 5 keys over 3 pages, sending back each continuation token', async () => {
        const base = prefix();
        const keys = Array.from({ length: 5 }, (_, i) => `${base}object-${i}`);
        for (const key of keys) await store.put(key, Buffer.from(key), 'text/plain');
        expect((await paged.list(base)).sort()).to.deep.equal(keys);
        expect(tokens).to.have.length(3);
        expect(tokens[0]).to.equal(undefined);
        expect(tokens.slice(1).map((token) => Buffer.from(token ?? '', 'base64url').toString('utf8'))).to.deep.equal([keys[1], keys[3]]);
      });

      it('deletePrefix deletes all 5 over the pages and reports 5', async () => {
        const base = prefix();
        for (let i = 0; i < 5; i++) await store.put(`${base}object-${i}`, Buffer.from('x'), 'text/plain');
        expect(await paged.deletePrefix(base)).to.equal(5);
        expect(await store.list(base)).to.deep.equal([]);
        expect(tokens).to.have.length(3);
      });

      it('an exact multiple of the page size ends on the last full page', async () => {
        const base = prefix();
        const keys = Array.from({ length: 4 }, (_, i) => `${base}object-${i}`);
        for (const key of keys) await store.put(key, Buffer.from(key), 'text/plain');
        expect((await paged.list(base)).sort()).to.deep.equal(keys);
        expect(tokens).to.have.length(2);
      });
    });
  });

  describe('presignDownload', () => {
    it('a URL that a plain GET can fetch: the exact bytes', async () => {
      const key = `${prefix()}original`;
      const body = randomBytes(5000);
      await store.put(key, body, 'image/png');
      const url = await store.presignDownload(key, 300, { contentType: 'image/png' });
      expect(url).to.match(/X-Amz-Signature=/);
      expect(url).to.match(/X-Amz-Expires=300(&|$)/);
      expect(dispositionOf(url)).to.equal('inline');
      const response = await fetch(url);
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.equal('image/png');
      expect(Buffer.from(await response.arrayBuffer()).equals(body)).to.equal(true);
    });

    it('signed at a given earlier time (a thumbnail window\'s start): the same URL each time, fetchable until that time plus its life, with our Cache-Control', async () => {
      const key = `${prefix()}thumb-small.webp`;
      const body = randomBytes(300);
      await store.put(key, body, 'image/webp');
      const response = { contentType: 'image/webp', cacheControl: 'private, max-age=3600' };
      const signedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 59 * 60_000);
      const url = await store.presignDownload(key, 7200, response, signedAt);
      expect(await store.presignDownload(key, 7200, response, signedAt), 'byte-identical').to.equal(url);
      expect(new URL(url).searchParams.get('X-Amz-Date')).to.equal(signedAt.toISOString().replace(/[-:]/g, '').replace('.000', ''));
      const fetched = await fetch(url);
      expect(fetched.status).to.equal(200);
      expect(fetched.headers.get('cache-control')).to.equal('private, max-age=3600');
      expect(fetched.headers.get('content-type')).to.equal('image/webp');
      expect(Buffer.from(await fetched.arrayBuffer()).equals(body)).to.equal(true);
      // Signed long enough ago that its life is over: the local gateway refuses it as S3 would.
      const expired = await fetch(await store.presignDownload(key, 3600, response, new Date(signedAt.getTime() - 2 * 60_000)));
      expect(expired.status).to.equal(403);
      expect(await expired.text()).to.contain('Request has expired');
    });

    it('answers with the type and disposition we chose, never the Content-Type the object was stored with', async () => {
      const key = `${prefix()}original`;
      await store.put(key, Buffer.from('<html><script>alert(1)</script></html>'), 'text/html');
      const response = await fetch(await store.presignDownload(key, 60, { contentType: 'image/jpeg', attachmentName: 'photo.jpg' }));
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.equal('image/jpeg');
      expect(response.headers.get('content-disposition')).to.match(/^attachment; filename="photo.jpg"/);
    });

    it('with a non-ASCII filename: an RFC 6266 attachment (ASCII fallback + UTF-8 filename*)', async () => {
      const key = `${prefix()}original`;
      const body = Buffer.from('bytes of a summer photo');
      await store.put(key, body, 'image/jpeg');
      const filename = 'Été à Paris 東京.jpg';
      const url = await store.presignDownload(key, 60, { contentType: 'image/jpeg', attachmentName: filename });
      const disposition = dispositionOf(url);
      expect(disposition).to.be.a('string');
      const expected = `attachment; filename="_t_ _ Paris __.jpg"; filename*=UTF-8''${encodeURIComponent(filename)}`;
      expect(disposition).to.equal(expected);
      const response = await fetch(url);
      expect(response.status).to.equal(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(body)).to.equal(true);
      const header = response.headers.get('content-disposition');
      expect(header).to.equal(expected);
      expect(extendedFilename(header as string)?.decoded).to.equal(filename);
    });

    it('quotes and backslashes in the filename cannot break out of the quoted ASCII fallback', async () => {
      const url = await store.presignDownload(`${prefix()}original`, 60, { contentType: 'image/jpeg', attachmentName: 'a"b\\c; filename="evil.exe' });
      const disposition = dispositionOf(url) as string;
      const fallback = /filename="([^"]*)"/.exec(disposition)?.[1];
      expect(fallback).to.equal('a_b_c; filename=_evil.exe');
      expect(disposition.match(/"/g)).to.have.length(2);
      expect(extendedFilename(disposition)?.decoded).to.equal('a"b\\c; filename="evil.exe');
    });

    // Regression: encodeURIComponent leaves ' ( ) * ! unescaped, which RFC 8187 attr-chars
    // exclude ("it's (1).jpg" must become UTF-8''it%27s%20%281%29.jpg).
    it('filename* only uses RFC 5987 attr-chars (apostrophes, parentheses, asterisks escaped)', async () => {
      const filename = "it's (1)*.jpg";
      const disposition = dispositionOf(await store.presignDownload(`${prefix()}original`, 60, { contentType: 'image/jpeg', attachmentName: filename })) as string;
      const extended = extendedFilename(disposition);
      expect(extended?.raw).to.match(ATTR_CHARS);
      expect(extended?.decoded).to.equal(filename);
    });
  });

  describe('presignUpload', () => {
    it('a form POST with the returned fields uploads the object with its bytes and content type', async () => {
      const key = `${prefix()}original`;
      const body = randomBytes(2048);
      const now = new Date();
      const form = await store.presignUpload(key, 'image/webp', body.length, 600, now);
      expect(form.method).to.equal('POST');
      expect(form.expiresAt).to.equal(new Date(now.getTime() + 600_000).toISOString());
      expect(form.fields['key']).to.equal(key);
      expect(form.fields['Content-Type']).to.equal('image/webp');

      const data = new FormData();
      for (const [name, value] of Object.entries(form.fields)) data.append(name, value);
      data.append('file', new Blob([body], { type: 'image/webp' }), 'upload.webp'); // the file goes last
      const response = await fetch(form.url, { method: 'POST', body: data });
      expect(response.status, await response.text()).to.be.within(200, 299);

      expect(await store.head(key)).to.include({ size: body.length, contentType: 'image/webp' });
      expect((await store.read(key)).equals(body)).to.equal(true);
    });

    it('the id of the request that issued the form is bound by the policy and stored with the object (HeadObject gives it back)', async () => {
      const key = `${prefix()}original`;
      const body = randomBytes(64);
      const form = await store.presignUpload(key, 'image/png', body.length, 600, new Date(), 'req-0123');
      expect(form.fields['x-amz-meta-request-id']).to.equal('req-0123');
      expect(decodePolicy(form.fields).conditions).to.deep.include(['eq', '$x-amz-meta-request-id', 'req-0123']);
      const data = new FormData();
      for (const [name, value] of Object.entries(form.fields)) data.append(name, value);
      data.append('file', new Blob([body], { type: 'image/png' }), 'upload.png');
      const response = await fetch(form.url, { method: 'POST', body: data });
      expect(response.status, await response.text()).to.be.within(200, 299);
      expect(await store.head(key)).to.include({ size: body.length, requestId: 'req-0123' });
      // Without one, no field and no metadata.
      const plain = await store.presignUpload(`${prefix()}original`, 'image/png', 1, 600, new Date());
      expect(Object.keys(plain.fields).filter((field) => field.startsWith('x-amz-meta-'))).to.deep.equal([]);
    });

    // s3rver does not enforce POST policy conditions (size, type), so a wrong size or type is not
    // refused here; the policy the real S3 enforces is checked instead.
    it('the policy binds the exact key, content type and size, and expires expiresInSeconds from now', async () => {
      const key = `${prefix()}original`;
      const before = Date.now();
      const form = await store.presignUpload(key, 'video/mp4', 123_456, 900, new Date());
      const after = Date.now();
      const policy = decodePolicy(form.fields);
      expect(policy.conditions).to.deep.include(['eq', '$key', key]);
      expect(policy.conditions).to.deep.include(['eq', '$Content-Type', 'video/mp4']);
      expect(policy.conditions).to.deep.include(['content-length-range', 123_456, 123_456]);
      expect(policy.conditions).to.deep.include({ bucket });
      // No condition loosens the key to a prefix.
      expect(JSON.stringify(policy.conditions)).to.not.include('starts-with');
      const expiration = Date.parse(policy.expiration);
      expect(expiration).to.be.within(before + 900_000 - 2_000, after + 900_000 + 2_000);
    });

    it('each upload gets its own key and size in its policy', async () => {
      const base = prefix();
      const [one, two] = await Promise.all([
        store.presignUpload(`${base}a`, 'image/jpeg', 10, 60, new Date()),
        store.presignUpload(`${base}b`, 'image/png', 20, 60, new Date()),
      ]);
      expect(decodePolicy(one.fields).conditions).to.deep.include(['eq', '$key', `${base}a`]).and.deep.include(['content-length-range', 10, 10]);
      expect(decodePolicy(two.fields).conditions).to.deep.include(['eq', '$key', `${base}b`]).and.deep.include(['content-length-range', 20, 20]);
      expect(decodePolicy(one.fields).conditions).to.not.deep.include(['eq', '$key', `${base}b`]);
    });
  });
});
