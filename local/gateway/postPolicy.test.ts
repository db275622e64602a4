/**
 * Presigned POST uploads checked as S3 checks them, on forms made by the real
 * createPresignedPost exactly as shared/content/s3Content.ts makes them, encoded to bytes by
 * the platform's own FormData (what a browser sends), then spooled and checked.
 */
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { expect } from 'chai';
import { checkPostPolicy, s3ErrorXml, spoolPostUpload, type PostPolicyResult, type SpooledPostUpload } from './postPolicy';
import { signingKey } from './sigv4';

const ACCESS_KEY_ID = 'media-library-local-createMedia';
const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: 'local-secret' };
const secretFor = (accessKeyId: string): string | undefined => (accessKeyId === ACCESS_KEY_ID ? 'local-secret' : undefined);
const BUCKET = 'media-library-local-content';
const KEY = 'media/u1/01JEXAMPLE/original';
const CONTENT_TYPE = 'image/jpeg';
const SIZE = 1000;
const client = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4569', forcePathStyle: true, credentials });

type Field = [name: string, value: string];
type FilePart = [name: string, content: Buffer, filename: string];
type Part = Field | FilePart;

/** The form our server hands out (shared/content/s3Content.ts presignUpload), as ordered fields. */
async function presignedForm(options: { key?: string; size?: number; expires?: number; client?: S3Client } = {}): Promise<{ bucket: string; fields: Field[] }> {
  const key = options.key ?? KEY;
  const size = options.size ?? SIZE;
  const { url, fields } = await createPresignedPost(options.client ?? client, {
    Bucket: BUCKET,
    Key: key,
    Conditions: [{ bucket: BUCKET }, key.endsWith('${filename}') ? ['starts-with', '$key', key.slice(0, -'${filename}'.length)] : ['eq', '$key', key], ['eq', '$Content-Type', CONTENT_TYPE], ['content-length-range', size, size]],
    Fields: { 'Content-Type': CONTENT_TYPE },
    Expires: options.expires ?? 300,
  });
  expect(url).to.equal(`http://127.0.0.1:4569/${BUCKET}`);
  return { bucket: new URL(url).pathname.slice(1), fields: Object.entries(fields) };
}

const file = (size = SIZE, name = 'photo.jpg'): FilePart => ['file', Buffer.alloc(size, 0xab), name];

/** The bytes and content type a browser would send for these parts. */
async function encode(parts: Part[]): Promise<{ bytes: Buffer; contentType: string }> {
  const form = new FormData();
  for (const [name, value, filename] of parts) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([value], { type: 'application/octet-stream' }), filename);
  }
  const response = new Response(form);
  return { bytes: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type') ?? '' };
}

/** A stream of `bytes` in small chunks, so boundaries and headers straddle chunk edges. */
function trickle(bytes: Buffer, chunkSize = 97): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkSize) chunks.push(bytes.subarray(offset, offset + chunkSize));
  return Readable.from(chunks);
}

function refusal(result: PostPolicyResult): Omit<Extract<PostPolicyResult, { ok: false }>, 'ok'> {
  expect(result.ok, JSON.stringify(result)).to.equal(false);
  const { status, code, message, details } = result as Extract<PostPolicyResult, { ok: false }>;
  return { status, code, message, ...(details === undefined ? {} : { details }) };
}

const policyFailed = (condition: string): { status: number; code: string; message: string } => ({
  status: 403,
  code: 'AccessDenied',
  message: `Invalid according to Policy: Policy Condition failed: ${condition}`,
});

describe('local gateway: presigned POST uploads', function () {
  let tempDir: string;
  const spooled: SpooledPostUpload[] = [];

  before(() => {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-post-policy-'));
  });
  afterEach(async () => {
    await Promise.all(spooled.splice(0).map((upload) => upload.dispose()));
  });
  after(() => {
    fs.rmSync(tempDir, { recursive: true, force: true });
  });

  async function spool(parts: Part[]): Promise<SpooledPostUpload> {
    const { bytes, contentType } = await encode(parts);
    const upload = await spoolPostUpload(trickle(bytes), contentType, tempDir);
    spooled.push(upload);
    return upload;
  }

  async function check(parts: Part[], options: { bucket?: string; now?: Date } = {}): Promise<PostPolicyResult> {
    return checkPostPolicy(await spool(parts), options.bucket ?? BUCKET, secretFor, options.now ?? new Date());
  }

  const without = (fields: Field[], name: string): Field[] => fields.filter(([candidate]) => candidate !== name);
  const replaced = (fields: Field[], name: string, value: string): Field[] => fields.map(([candidate, old]) => [candidate, candidate === name ? value : old]);

  describe('a correct upload', () => {
    it('passes, naming the signer, the key and the type; the body is spooled byte for byte', async () => {
      const { bucket, fields } = await presignedForm();
      const { bytes, contentType } = await encode([...fields, file()]);
      const upload = await spoolPostUpload(trickle(bytes), contentType, tempDir);
      spooled.push(upload);

      expect(upload).to.deep.include({ fileCount: 1, fileSize: SIZE, fileName: 'photo.jpg', fieldsAfterFile: [], rawBodySize: bytes.length });
      expect(upload.fields.map(([name]) => name)).to.deep.equal(fields.map(([name]) => name));
      expect(fs.readFileSync(upload.rawBodyPath).equals(bytes)).to.equal(true);
      expect(checkPostPolicy(upload, bucket, secretFor, new Date())).to.deep.equal({ ok: true, accessKeyId: ACCESS_KEY_ID, region: 'us-east-1', key: KEY, contentType: CONTENT_TYPE });

      await upload.dispose();
      expect(fs.existsSync(upload.rawBodyPath)).to.equal(false);
    });

    it('field names are case-insensitive, as S3 reads them', async () => {
      const { fields } = await presignedForm();
      for (const rename of [(name: string) => name.toLowerCase(), (name: string) => name.toUpperCase()]) {
        const result = await check([...fields.map(([name, value]): Field => [rename(name), value]), file()]);
        expect(result, JSON.stringify(result)).to.deep.include({ ok: true, key: KEY });
      }
    });

    it('fields named x-ignore-* need no condition, before or after the file', async () => {
      const { fields } = await presignedForm();
      expect((await check([...fields, ['x-ignore-note', 'from the web app'], file(), ['x-ignore-after', '1']])).ok).to.equal(true);
    });

    it('${filename} in the key becomes the name of the file sent, and a starts-with condition holds', async () => {
      const { fields } = await presignedForm({ key: 'uploads/u1/${filename}' });
      const result = await check([...fields, file(SIZE, 'Été 2026.jpg')]);
      expect(result).to.deep.include({ ok: true, key: 'uploads/u1/Été 2026.jpg' });
    });

    it('is valid until its expiration, not after', async () => {
      const { fields } = await presignedForm({ expires: 60 });
      const upload = await spool([...fields, file()]);
      const policy = JSON.parse(Buffer.from(fields.find(([name]) => name === 'Policy')![1], 'base64').toString('utf8')) as { expiration: string };
      const expiration = new Date(policy.expiration);
      expect(checkPostPolicy(upload, BUCKET, secretFor, expiration).ok).to.equal(true);
      expect(refusal(checkPostPolicy(upload, BUCKET, secretFor, new Date(expiration.getTime() + 1000)))).to.deep.equal({
        status: 403,
        code: 'AccessDenied',
        message: 'Invalid according to Policy: Policy expired.',
      });
    });
  });

  describe('each violation, refused as S3 refuses it', () => {
    it('another key', async () => {
      const { fields } = await presignedForm();
      expect(refusal(await check([...replaced(fields, 'key', 'media/u2/other/original'), file()]))).to.deep.equal(policyFailed(`["eq", "$key", "${KEY}"]`));
    });

    it('another Content-Type', async () => {
      const { fields } = await presignedForm();
      expect(refusal(await check([...replaced(fields, 'Content-Type', 'text/html'), file()]))).to.deep.equal(policyFailed('["eq", "$Content-Type", "image/jpeg"]'));
    });

    it('a byte more, a byte less', async () => {
      const { fields } = await presignedForm();
      expect(refusal(await check([...fields, file(SIZE + 1)]))).to.deep.equal({
        status: 400,
        code: 'EntityTooLarge',
        message: 'Your proposed upload exceeds the maximum allowed size',
        details: { ProposedSize: String(SIZE + 1), MaxSizeAllowed: String(SIZE) },
      });
      expect(refusal(await check([...fields, file(SIZE - 1)]))).to.deep.equal({
        status: 400,
        code: 'EntityTooSmall',
        message: 'Your proposed upload is smaller than the minimum allowed size',
        details: { ProposedSize: String(SIZE - 1), MinSizeAllowed: String(SIZE) },
      });
    });

    it('another bucket in the URL', async () => {
      const { fields } = await presignedForm();
      expect(refusal(await check([...fields, file()], { bucket: 'media-library-local-other' }))).to.deep.equal(policyFailed(`["eq", "$bucket", "${BUCKET}"]`));
    });

    it('a policy changed after signing, a signature changed, a key we do not know', async () => {
      const { fields } = await presignedForm();
      const policy = fields.find(([name]) => name === 'Policy')![1];
      const widened = Buffer.from(Buffer.from(policy, 'base64').toString('utf8').replace(`["content-length-range",${SIZE},${SIZE}]`, '["content-length-range",0,5368709120]')).toString('base64');
      expect(widened).to.not.equal(policy);
      expect(refusal(await check([...replaced(fields, 'Policy', widened), file(SIZE * 10)]))).to.deep.include({ status: 403, code: 'SignatureDoesNotMatch' });

      const signature = fields.find(([name]) => name === 'X-Amz-Signature')![1];
      const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
      expect(refusal(await check([...replaced(fields, 'X-Amz-Signature', flipped), file()]))).to.deep.include({
        status: 403,
        code: 'SignatureDoesNotMatch',
        message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      });

      const stranger = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4569', forcePathStyle: true, credentials: { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'x' } });
      const strangers = await presignedForm({ client: stranger });
      expect(refusal(await check([...strangers.fields, file()]))).to.deep.equal({
        status: 403,
        code: 'InvalidAccessKeyId',
        message: 'The AWS Access Key Id you provided does not exist in our records.',
        details: { AWSAccessKeyId: 'AKIDSTRANGER' },
      });
    });

    it('a field no condition covers', async () => {
      const { fields } = await presignedForm();
      expect(refusal(await check([...fields, ['foo', 'bar'], file()]))).to.deep.equal({
        status: 403,
        code: 'AccessDenied',
        message: 'Invalid according to Policy: Extra input fields: foo',
      });
      // success_action_status is a field like any other: unsigned, it is extra.
      expect(refusal(await check([...fields, ['success_action_status', '201'], file()]))).to.deep.include({ message: 'Invalid according to Policy: Extra input fields: success_action_status' });
    });

    it('fields after the file are ignored, as S3 ignores them: a key there is missing, a type there fails its condition', async () => {
      const { fields } = await presignedForm();
      const keyAfter = await check([...without(fields, 'key'), file(), ['key', KEY]]);
      expect(refusal(keyAfter)).to.deep.equal({
        status: 400,
        code: 'InvalidArgument',
        message: "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
        details: { ArgumentName: 'key', ArgumentValue: '' },
      });
      const typeAfter = await check([...without(fields, 'Content-Type'), file(), ['Content-Type', CONTENT_TYPE]]);
      expect(refusal(typeAfter)).to.deep.equal(policyFailed('["eq", "$Content-Type", "image/jpeg"]'));
      const upload = await spool([...without(fields, 'Content-Type'), file(), ['Content-Type', CONTENT_TYPE]]);
      expect(upload.fieldsAfterFile).to.deep.equal(['Content-Type']);
    });

    it('no key field at all', async () => {
      const { fields } = await presignedForm();
      expect(refusal(await check([...without(fields, 'key'), file()]))).to.deep.include({
        status: 400,
        code: 'InvalidArgument',
        message: "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
      });
    });

    it('no signature field, or no policy and no signature at all (anonymous)', async () => {
      const { fields } = await presignedForm();
      expect(refusal(await check([...without(fields, 'X-Amz-Signature'), file()]))).to.deep.include({
        status: 400,
        code: 'InvalidArgument',
        message: "Bucket POST must contain a field named 'x-amz-signature'.  If it is specified, please check the order of the fields.",
      });
      const anonymous = fields.filter(([name]) => ['key', 'Content-Type', 'bucket'].includes(name));
      expect(refusal(await check([...anonymous, file()]))).to.deep.equal({ status: 403, code: 'AccessDenied', message: 'Access Denied' });
    });

    it('two files, or none', async () => {
      const { fields } = await presignedForm();
      expect(refusal(await check([...fields, file(), file()]))).to.deep.equal({
        status: 400,
        code: 'InvalidArgument',
        message: 'POST requires exactly one file upload per request.',
        details: { ArgumentName: 'file', ArgumentValue: '2' },
      });
      expect(refusal(await check(fields))).to.deep.include({ status: 400, code: 'InvalidArgument', details: { ArgumentName: 'file', ArgumentValue: '0' } });
    });

    it('a body that is not multipart/form-data: garbage, cut short, or another enclosure type', async () => {
      const malformed = { status: 400, code: 'MalformedPOSTRequest', message: 'The body of your POST request is not well-formed multipart/form-data.' };
      const garbage = await spoolPostUpload(Readable.from([Buffer.from('this is not a form\r\n--nope')]), 'multipart/form-data; boundary=----B', tempDir);
      spooled.push(garbage);
      expect(refusal(checkPostPolicy(garbage, BUCKET, secretFor, new Date()))).to.deep.equal(malformed);
      expect(fs.readFileSync(garbage.rawBodyPath, 'utf8')).to.equal('this is not a form\r\n--nope');

      const { fields } = await presignedForm();
      const { bytes, contentType } = await encode([...fields, file()]);
      const cut = await spoolPostUpload(trickle(bytes.subarray(0, bytes.length - 200)), contentType, tempDir);
      spooled.push(cut);
      expect(refusal(checkPostPolicy(cut, BUCKET, secretFor, new Date()))).to.deep.equal(malformed);

      const noBoundary = await spoolPostUpload(trickle(bytes), 'multipart/form-data', tempDir);
      spooled.push(noBoundary);
      expect(refusal(checkPostPolicy(noBoundary, BUCKET, secretFor, new Date()))).to.deep.equal(malformed);

      const urlencoded = await spoolPostUpload(Readable.from([Buffer.from('key=a&policy=b')]), 'application/x-www-form-urlencoded', tempDir);
      spooled.push(urlencoded);
      expect(refusal(checkPostPolicy(urlencoded, BUCKET, secretFor, new Date()))).to.deep.equal({
        status: 412,
        code: 'PreconditionFailed',
        message: 'At least one of the pre-conditions you specified did not hold',
        details: { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' },
      });
    });

    it('more than 20 KB of fields before the file', async () => {
      const { fields } = await presignedForm();
      expect(refusal(await check([...fields, ['x-ignore-padding', 'x'.repeat(21 * 1024)], file()]))).to.deep.include({
        status: 400,
        code: 'MaxPostPreDataLengthExceeded',
        details: { MaxPostPreDataLengthBytes: '20480' },
      });
    });
  });

  describe('policies of other shapes, signed here', () => {
    const scopeDate = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    /** A form whose policy is `document` (any text), correctly signed. */
    function signedForm(document: string, extra: Field[]): Field[] {
      const policy = Buffer.from(document).toString('base64');
      const signature = createHmac('sha256', signingKey('local-secret', scopeDate, 'us-east-1', 's3')).update(policy).digest('hex');
      return [
        ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
        ['x-amz-credential', `${ACCESS_KEY_ID}/${scopeDate}/us-east-1/s3/aws4_request`],
        ['x-amz-date', `${scopeDate}T000000Z`],
        ...extra,
        ['policy', policy],
        ['x-amz-signature', signature],
      ];
    }
    const policyOf = (conditions: unknown[]): string =>
      JSON.stringify({
        expiration: new Date(Date.now() + 60_000).toISOString(),
        conditions: [{ 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, ['starts-with', '$x-amz-credential', ''], ['starts-with', '$x-amz-date', ''], ...conditions],
      });

    it('starts-with: "" takes anything, a prefix takes what starts with it; exact matches on any field', async () => {
      const conditions = [['starts-with', '$key', ''], ['starts-with', '$Content-Type', 'image/'], { 'x-amz-meta-owner': 'u1' }, ['content-length-range', 0, SIZE]];
      const form = (type: string, owner: string): Field[] => signedForm(policyOf(conditions), [['key', 'any/key'], ['Content-Type', type], ['x-amz-meta-owner', owner]]);
      expect(await check([...form('image/png', 'u1'), file()])).to.deep.include({ ok: true, key: 'any/key', contentType: 'image/png' });
      expect(refusal(await check([...form('text/html', 'u1'), file()]))).to.deep.equal(policyFailed('["starts-with", "$Content-Type", "image/"]'));
      expect(refusal(await check([...form('image/png', 'u2'), file()]))).to.deep.equal(policyFailed('["eq", "$x-amz-meta-owner", "u1"]'));
    });

    it('a policy that is not JSON, or lacks its expiration, is InvalidPolicyDocument (400)', async () => {
      expect(refusal(await check([...signedForm('{not json', [['key', 'k']]), file()]))).to.deep.equal({ status: 400, code: 'InvalidPolicyDocument', message: 'Invalid Policy: Invalid JSON.' });
      expect(refusal(await check([...signedForm('{"conditions":[]}', [['key', 'k']]), file()]))).to.deep.equal({
        status: 400,
        code: 'InvalidPolicyDocument',
        message: 'Invalid Policy: Policy missing expiration.',
      });
    });

    it('a field given twice is refused rather than guessed at (a local choice: S3 documents no rule)', async () => {
      const form = signedForm(policyOf([['starts-with', '$key', '']]), [['key', 'a'], ['Key', 'b']]);
      expect(refusal(await check([...form, file()]))).to.deep.include({ status: 400, code: 'InvalidArgument' });
    });
  });

  describe('a large upload', () => {
    it('spools 20 MB keeping memory far below 20 MB, byte for byte, and counts every byte', async function () {
      this.timeout(60_000);
      const size = 20 * 1024 * 1024;
      const { fields } = await presignedForm({ size });
      const boundary = '----MediaLibraryBoundary7MA4YWxkTrZu0gW';
      const head = fields.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join('');
      const fileHead = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="video.mp4"\r\nContent-Type: video/mp4\r\n\r\n`;

      // Memory still held (after a collection) while the body streams through, against before it started.
      v8.setFlagsFromString('--expose-gc');
      const collectGarbage = vm.runInNewContext('gc') as () => void;
      const held = (): number => {
        collectGarbage();
        const usage = process.memoryUsage();
        return usage.arrayBuffers + usage.heapUsed;
      };
      const sent = createHash('sha256');
      const samples: number[] = [];
      async function* body(): AsyncGenerator<Buffer> {
        const emit = (chunk: Buffer): Buffer => (sent.update(chunk), chunk);
        yield emit(Buffer.from(head + fileHead));
        const block = Buffer.alloc(64 * 1024);
        for (let offset = 0; offset < size; offset += block.length) {
          block.fill(offset % 251);
          yield emit(Buffer.from(block));
          if (offset % (4 * 1024 * 1024) === 0 && offset > 0) samples.push(held());
        }
        yield emit(Buffer.from(`\r\n--${boundary}--\r\n`));
      }
      const baseline = held();
      const upload = await spoolPostUpload(Readable.from(body()), `multipart/form-data; boundary=${boundary}`, tempDir);
      spooled.push(upload);

      // What the spool holds is bounded by its buffers (a few MB in flight between the generator, busboy
      // and the file), not by what went through: the median sample stays far below the body, and no
      // sample reaches half of it (buffering the body would hold 4 MB more at every sample, 16 MB by the
      // last). The median: one stray allocation elsewhere in the process (a socket's buffer) is not the
      // spool's doing; no comparison between samples, as a collection between two of them moves them by MBs.
      const growths = samples.map((sample) => sample - baseline);
      const median = [...growths].sort((a, b) => a - b)[Math.floor(growths.length / 2)] ?? Infinity;
      const described = `memory held while spooling: ${growths.map((bytes) => (bytes / 1024 / 1024).toFixed(1)).join(', ')} MB`;
      expect(samples.length).to.be.at.least(4);
      expect(median, described).to.be.below(8 * 1024 * 1024);
      expect(Math.max(...growths), described).to.be.below(size / 2);
      expect(upload.fileSize).to.equal(size);
      const spooledHash = createHash('sha256');
      for await (const chunk of fs.createReadStream(upload.rawBodyPath)) spooledHash.update(chunk as Buffer);
      expect(spooledHash.digest('hex')).to.equal(sent.digest('hex'));
      expect(checkPostPolicy(upload, BUCKET, secretFor, new Date())).to.deep.include({ ok: true, key: KEY });
    });
  });

  describe('a body that fails while it streams', () => {
    it('rejects, leaving no spooled file behind', async () => {
      async function* broken(): AsyncGenerator<Buffer> {
        yield Buffer.from('--B\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc');
        throw new Error('client went away');
      }
      const before = fs.readdirSync(tempDir);
      let failure: unknown;
      await spoolPostUpload(Readable.from(broken()), 'multipart/form-data; boundary=B', tempDir).catch((error: unknown) => (failure = error));
      expect((failure as Error).message).to.equal('client went away');
      expect(fs.readdirSync(tempDir)).to.deep.equal(before);
    });
  });

  describe('s3ErrorXml', () => {
    it('is S3’s error document, extra elements before the request id, everything escaped', () => {
      const xml = s3ErrorXml('AccessDenied', 'Invalid according to Policy: Extra input fields: <a&b>"\u0001', 'REQ123', { ProposedSize: '1001' });
      expect(xml).to.match(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code>/);
      expect(xml).to.contain('<Message>Invalid according to Policy: Extra input fields: &lt;a&amp;b&gt;&quot;\uFFFD</Message><ProposedSize>1001</ProposedSize><RequestId>REQ123</RequestId><HostId>');
      expect(xml).to.match(/<HostId>[A-Za-z0-9+/=]+<\/HostId><\/Error>$/);
    });
  });
});
