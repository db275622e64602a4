/**
 * Browser-based uploads with a presigned POST (createPresignedPost), checked the way S3 checks
 * them: s3rver ignores the policy, so a form that AWS refuses (another key, another type, a byte
 * too many, a field the policy does not cover) would work locally. Follows AWS's "Authenticating
 * Requests in Browser-Based Uploads Using POST (AWS Signature Version 4)" and "POST Policy".
 *
 * The body (videos: up to 2 GB) is never held in memory: spoolPostUpload tees the raw bytes to a
 * temporary file, for the gateway to forward unchanged, while busboy parses the form from the
 * same bytes, keeping the fields and only counting the file.
 */
import { once } from 'node:events';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Readable, type Writable } from 'node:stream';
import busboy from 'busboy';
import { signingKey } from './sigv4';

/** What the policy check needs of a parsed form. */
export interface PostForm {
  /** The form fields before the file, in order, names as sent. S3 ignores every part after the file. */
  fields: Array<[name: string, value: string]>;
  /** How many parts are named `file`. */
  fileCount: number;
  /** The first file's name as the browser sent it, without any path (what `${filename}` stands for). */
  fileName?: string;
  /** The first file's size in bytes. */
  fileSize: number;
  /** Why the body is not a form S3 would read; undefined when it is one. */
  formError?: 'not-multipart' | 'malformed';
}

export interface SpooledPostUpload extends PostForm {
  /** Names of the parts after the file (ignored, as S3 ignores them). */
  fieldsAfterFile: string[];
  /** The untouched request body, for the gateway to forward byte for byte. */
  rawBodyPath: string;
  rawBodySize: number;
  /** Removes the spooled body. */
  dispose(): Promise<void>;
}

export type PostPolicyResult =
  | { ok: true; accessKeyId: string; region: string; key: string; contentType?: string }
  | { ok: false; status: number; code: string; message: string; details?: Record<string, string> };

type Refusal = Extract<PostPolicyResult, { ok: false }>;

/** S3 reads at most 20 KB of form fields before the file. */
const MAX_FIELD_BYTES_BEFORE_FILE = 20 * 1024;
/** The largest object a POST can create: 5 GB. */
const MAX_POST_OBJECT_BYTES = 5 * 1024 ** 3;
const MAX_KEY_BYTES = 1024;
/** Largest text part busboy keeps (a field, or a `file` sent without a filename). */
const MAX_TEXT_PART_BYTES = 1024 * 1024;
/** Parts after the file are only named, for the log; a form of a million of them stays small. */
const MAX_NAMES_AFTER_FILE = 100;
const ALGORITHM = 'AWS4-HMAC-SHA256';
/** Fields that need no condition: the signature's own and the file; x-ignore-* are the client's notes. */
const FIELDS_WITHOUT_CONDITION = new Set(['policy', 'x-amz-signature', 'file']);
/** The fields a Signature Version 4 POST must carry, in the order S3 names a missing one. */
const REQUIRED_AUTH_FIELDS = ['x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature', 'policy'];

/**
 * Reads a multipart/form-data POST body to its end: the raw bytes go to a temporary file under
 * `tempDir`, the fields before the file are kept, the file is only counted. Resolves with what
 * S3 would make of the form (formError when it would not read it at all); rejects only when the
 * body stream or the disk fails, after removing the temporary file.
 */
export async function spoolPostUpload(body: NodeJS.ReadableStream, contentType: string, tempDir: string): Promise<SpooledPostUpload> {
  const folder = await fs.promises.mkdtemp(path.join(tempDir, 'post-upload-'));
  const rawBodyPath = path.join(folder, 'body');
  const dispose = (): Promise<void> => fs.promises.rm(folder, { recursive: true, force: true });
  const form: ParsedForm = { fields: [], fieldsAfterFile: [], fileCount: 0, fileSize: 0 };
  const file = fs.createWriteStream(rawBodyPath);
  // The disk can fail between writes (a full disk, the folder removed): kept here, thrown below.
  let diskError: Error | undefined;
  file.on('error', (error) => (diskError = error));
  const parser = formParser(contentType, form);
  let rawBodySize = 0;

  try {
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      if (diskError) throw diskError;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      rawBodySize += bytes.length;
      await Promise.all([write(file, bytes, 'reject'), parser?.write(bytes)]);
    }
    file.end();
    await Promise.all([once(file, 'close'), parser?.end()]);
    if (diskError) throw diskError;
    return { ...form, rawBodyPath, rawBodySize, dispose };
  } catch (error) {
    parser?.abort();
    file.destroy();
    await dispose();
    throw error;
  }
}

type ParsedForm = Omit<SpooledPostUpload, 'rawBodyPath' | 'rawBodySize' | 'dispose'>;

/** Writes, waiting for the stream to drain when it asks to; a failing stream rejects, or ends the wait. */
async function write(stream: Writable, chunk: Buffer, onError: 'reject' | 'resolve'): Promise<void> {
  if (stream.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: unknown): void => {
      stream.off('drain', settle).off('close', settle).off('error', settle);
      if (error instanceof Error && onError === 'reject') reject(error);
      else resolve();
    };
    stream.on('drain', settle).on('close', settle).on('error', settle);
  });
}

/**
 * Busboy over the body, filling `form` part by part; undefined when the body is not
 * multipart/form-data at all (then `form.formError` says so).
 */
function formParser(contentType: string, form: ParsedForm): { write(chunk: Buffer): Promise<void>; end(): Promise<void>; abort(): void } | undefined {
  if (!/^multipart\/form-data\s*(;|$)/i.test(contentType.trim())) {
    form.formError = 'not-multipart';
    return undefined;
  }
  let parser: ReturnType<typeof busboy>;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, defParamCharset: 'utf8', limits: { fieldSize: MAX_TEXT_PART_BYTES, fieldNameSize: 1024 } });
  } catch {
    // No boundary, or a content type busboy cannot read.
    form.formError = 'malformed';
    return undefined;
  }

  let broken = false;
  let fileSeen = false;
  let fieldBytes = 0;
  /** A field's place is taken when its part starts, so the order holds while its value streams in. */
  const placeField = (name: string): [string, string] => {
    const entry: [string, string] = [name, ''];
    if (fileSeen) {
      if (form.fieldsAfterFile.length < MAX_NAMES_AFTER_FILE) form.fieldsAfterFile.push(name);
    }
    // Past S3's 20 KB one field more shows the form is too large; the rest is not kept.
    else if (fieldBytes <= MAX_FIELD_BYTES_BEFORE_FILE) form.fields.push(entry);
    return entry;
  };
  const setValue = (entry: [string, string], value: string): void => {
    entry[1] = value;
    if (!fileSeen) fieldBytes += Buffer.byteLength(entry[0]) + Buffer.byteLength(value);
  };
  const fileFound = (fileName: string | undefined): boolean => {
    form.fileCount += 1;
    if (form.fileCount > 1) return false;
    fileSeen = true;
    if (fileName !== undefined) form.fileName = fileName;
    return true;
  };

  parser.on('field', (name, value, info) => {
    if (name.toLowerCase() !== 'file') {
      setValue(placeField(name), value);
      return;
    }
    // A `file` part without a filename is text to busboy; S3 takes it as the file. Busboy keeps
    // at most MAX_TEXT_PART_BYTES of it, so a longer one cannot be measured: a local limitation.
    if (info.valueTruncated) broken = true;
    if (fileFound(undefined)) form.fileSize = Buffer.byteLength(value);
  });
  parser.on('file', (name, stream: Readable, info) => {
    // A body cut short inside a part fails that part's stream as well as the parser.
    stream.on('error', () => (broken = true));
    if (name.toLowerCase() === 'file') {
      // Counted, never kept: the bytes are in the spooled body already.
      if (fileFound(info.filename)) stream.on('data', (chunk: Buffer) => (form.fileSize += chunk.length));
      else stream.resume();
      return;
    }
    // Any other part with a filename (or typed application/octet-stream) is a field to S3.
    const entry = placeField(name);
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      if (size <= MAX_TEXT_PART_BYTES) chunks.push(chunk);
      size += chunk.length;
    });
    stream.on('end', () => setValue(entry, Buffer.concat(chunks).toString('utf8')));
  });
  // Busboy closes once every part has ended (or on its first error).
  const closed = new Promise<void>((resolve) => {
    parser.on('error', () => {
      broken = true;
      resolve();
    });
    parser.on('close', resolve);
  });

  return {
    write: async (chunk) => {
      if (!broken && !parser.destroyed) await write(parser, chunk, 'resolve');
    },
    end: async () => {
      if (!parser.destroyed) parser.end();
      await closed;
      if (broken) form.formError = 'malformed';
    },
    abort: () => parser.destroy(),
  };
}

/**
 * Checks a spooled POST upload to `bucket` (the bucket of the URL) the way S3 does: the form's
 * shape, the signature over the policy, the policy's expiration and every condition, the fields
 * no condition covers, and the file's size. `now` is the gateway's clock.
 */
export function checkPostPolicy(upload: PostForm, bucket: string, secretFor: (accessKeyId: string) => string | undefined, now: Date): PostPolicyResult {
  if (upload.formError === 'not-multipart') {
    return refuse(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' });
  }
  if (upload.formError === 'malformed') return refuse(400, 'MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.');
  if (upload.fileCount !== 1) {
    return refuse(400, 'InvalidArgument', 'POST requires exactly one file upload per request.', { ArgumentName: 'file', ArgumentValue: String(upload.fileCount) });
  }
  const fieldBytes = upload.fields.reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);
  if (fieldBytes > MAX_FIELD_BYTES_BEFORE_FILE) {
    return refuse(400, 'MaxPostPreDataLengthExceeded', 'Your POST request fields preceeding the upload file was too large.', {
      MaxPostPreDataLengthBytes: String(MAX_FIELD_BYTES_BEFORE_FILE),
    });
  }

  // Names are case-insensitive (createPresignedPost sends `Policy` and `X-Amz-Signature`);
  // `${filename}` is replaced in every value before anything is compared.
  const fields = upload.fields.map(([name, value]): [string, string] => [name, value.replaceAll('${filename}', upload.fileName ?? '')]);
  const field = (name: string): string | undefined => fields.find(([candidate]) => candidate.toLowerCase() === name)?.[1];
  const duplicated = fields.map(([name]) => name.toLowerCase()).find((name, index, names) => names.indexOf(name) !== index);
  if (duplicated !== undefined) {
    return refuse(400, 'InvalidArgument', `POST form fields must be unique; '${duplicated}' appears more than once.`, { ArgumentName: duplicated, ArgumentValue: '' });
  }

  const key = field('key');
  if (key === undefined) return missingField('key');
  if (key === '') return refuse(400, 'InvalidArgument', 'User key must have a length greater than 0.', { ArgumentName: 'key', ArgumentValue: '' });
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    return refuse(400, 'KeyTooLongError', 'Your key is too long', { MaxSizeAllowed: String(MAX_KEY_BYTES), Size: String(Buffer.byteLength(key)) });
  }

  if (REQUIRED_AUTH_FIELDS.every((name) => field(name) === undefined)) {
    // No policy, no signature: an anonymous upload, which only a publicly writable bucket takes.
    return refuse(403, 'AccessDenied', 'Access Denied');
  }
  const missing = REQUIRED_AUTH_FIELDS.find((name) => field(name) === undefined);
  if (missing !== undefined) return missingField(missing);
  // All present from here on.
  const [algorithm = '', credential = '', policy = '', signature = ''] = ['x-amz-algorithm', 'x-amz-credential', 'policy', 'x-amz-signature'].map(field);

  if (algorithm !== ALGORITHM) {
    return refuse(400, 'InvalidArgument', `X-Amz-Algorithm only supports "${ALGORITHM}"`, { ArgumentName: 'x-amz-algorithm', ArgumentValue: algorithm });
  }
  const [accessKeyId = '', scopeDate = '', region = '', service = '', terminator = '', ...extra] = credential.split('/');
  if (accessKeyId === '' || !/^\d{8}$/.test(scopeDate) || region === '' || service !== 's3' || terminator !== 'aws4_request' || extra.length > 0) {
    return refuse(
      400,
      'InvalidArgument',
      'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
      { ArgumentName: 'x-amz-credential', ArgumentValue: credential },
    );
  }
  const secret = secretFor(accessKeyId);
  if (secret === undefined) {
    return refuse(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKeyId });
  }
  // The signature covers the base64 policy as sent, so nothing in the policy can change unseen.
  const expected = createHmac('sha256', signingKey(secret, scopeDate, region, 's3')).update(policy, 'utf8').digest('hex');
  if (!sameText(expected, signature)) {
    return refuse(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
      AWSAccessKeyId: accessKeyId,
      StringToSign: policy,
      SignatureProvided: signature,
    });
  }

  const document = parsePolicy(policy);
  if (typeof document === 'string') return refuse(400, 'InvalidPolicyDocument', `Invalid Policy: ${document}`);
  if (now.getTime() > document.expiration.getTime()) return refuse(403, 'AccessDenied', 'Invalid according to Policy: Policy expired.');

  const covered = new Set<string>();
  const ranges: Array<[min: number, max: number]> = [];
  for (const condition of document.conditions) {
    if (condition.kind === 'content-length-range') {
      ranges.push([condition.min, condition.max]);
      continue;
    }
    covered.add(condition.field);
    // The bucket is the one the form was posted to, whatever a `bucket` field says.
    const actual = condition.field === 'bucket' ? bucket : (field(condition.field) ?? '');
    const holds = condition.kind === 'eq' ? actual === condition.value : actual.startsWith(condition.value);
    if (!holds) return refuse(403, 'AccessDenied', `Invalid according to Policy: Policy Condition failed: ${condition.text}`);
  }
  const uncovered = fields.map(([name]) => name).find((name) => !FIELDS_WITHOUT_CONDITION.has(name.toLowerCase()) && !name.toLowerCase().startsWith('x-ignore-') && !covered.has(name.toLowerCase()));
  if (uncovered !== undefined) return refuse(403, 'AccessDenied', `Invalid according to Policy: Extra input fields: ${uncovered}`);

  // Checked last, as S3 can only know the size once the file has streamed through.
  for (const [min, max] of [...ranges, [0, MAX_POST_OBJECT_BYTES] as [number, number]]) {
    if (upload.fileSize > max) {
      return refuse(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { ProposedSize: String(upload.fileSize), MaxSizeAllowed: String(max) });
    }
    if (upload.fileSize < min) {
      return refuse(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', { ProposedSize: String(upload.fileSize), MinSizeAllowed: String(min) });
    }
  }

  const contentType = field('content-type');
  return { ok: true, accessKeyId, region, key, ...(contentType === undefined ? {} : { contentType }) };
}

type Condition =
  | { kind: 'eq' | 'starts-with'; field: string; value: string; text: string }
  | { kind: 'content-length-range'; min: number; max: number };

/** The policy document, or what is wrong with it (after "Invalid Policy: "). */
function parsePolicy(policy: string): { expiration: Date; conditions: Condition[] } | string {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(policy, 'base64').toString('utf8'));
  } catch {
    return 'Invalid JSON.';
  }
  if (!isRecord(document)) return 'Invalid JSON.';
  if (document['expiration'] === undefined) return 'Policy missing expiration.';
  if (document['conditions'] === undefined) return 'Policy missing conditions.';
  const expirationText = document['expiration'];
  const expiration = typeof expirationText === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(expirationText) ? new Date(expirationText) : undefined;
  if (expiration === undefined || Number.isNaN(expiration.getTime())) return `Invalid 'expiration' value: '${typeof expirationText === 'string' ? expirationText : JSON.stringify(expirationText)}'`;
  if (!Array.isArray(document['conditions'])) return "Invalid 'conditions' value: must be an array.";

  const conditions: Condition[] = [];
  for (const raw of document['conditions'] as unknown[]) {
    const condition = parseCondition(raw);
    if (typeof condition === 'string') return condition;
    conditions.push(condition);
  }
  return { expiration, conditions };
}

function parseCondition(raw: unknown): Condition | string {
  if (isRecord(raw)) {
    const entries = Object.entries(raw);
    const [name, value] = entries[0] ?? [];
    if (entries.length !== 1 || name === undefined) return 'Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.';
    if (!isScalar(value)) return `Invalid Simple-Condition: value of ${name} must be a string.`;
    // S3 reports an exact-match object in its array form: {"bucket": "b"} fails as ["eq", "$bucket", "b"].
    return { kind: 'eq', field: name.toLowerCase(), value: String(value), text: conditionText(['eq', `$${name}`, String(value)]) };
  }
  if (!Array.isArray(raw) || raw.length !== 3) return `Invalid Condition: ${JSON.stringify(raw)}`;
  const [operator, subject, operand] = raw as [unknown, unknown, unknown];
  if (typeof operator === 'string' && operator.toLowerCase() === 'content-length-range') {
    const min = Number(subject);
    const max = Number(operand);
    if (!isScalar(subject) || !isScalar(operand) || !Number.isInteger(min) || !Number.isInteger(max)) return `Invalid Condition: ${JSON.stringify(raw)}`;
    return { kind: 'content-length-range', min, max };
  }
  if (typeof operator !== 'string' || !['eq', 'starts-with'].includes(operator.toLowerCase())) return `Invalid Condition: unknown condition operation: ${JSON.stringify(operator)}`;
  if (typeof subject !== 'string' || !subject.startsWith('$') || !isScalar(operand)) return `Invalid Condition: ${JSON.stringify(raw)}`;
  return {
    kind: operator.toLowerCase() === 'eq' ? 'eq' : 'starts-with',
    field: subject.slice(1).toLowerCase(),
    value: String(operand),
    text: conditionText(raw),
  };
}

/** A condition as S3 quotes it in "Policy Condition failed": JSON with a space after each comma. */
function conditionText(condition: unknown[]): string {
  return `[${condition.map((part) => JSON.stringify(part)).join(', ')}]`;
}

function missingField(name: string): Refusal {
  return refuse(400, 'InvalidArgument', `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`, {
    ArgumentName: name,
    ArgumentValue: '',
  });
}

/**
 * An S3 error document. HostId is derived from the request id (S3's is opaque too); characters
 * XML 1.0 cannot carry (a control character in a field name) become U+FFFD.
 */
export function s3ErrorXml(code: string, message: string, requestId: string, details: Record<string, string> = {}): string {
  const element = (name: string, value: string): string => `<${name}>${escapeXml(value)}</${name}>`;
  const hostId = createHash('sha256').update(requestId).digest('base64');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' +
    element('Code', code) +
    element('Message', message) +
    Object.entries(details)
      .map(([name, value]) => element(name, value))
      .join('') +
    element('RequestId', requestId) +
    element('HostId', hostId) +
    '</Error>'
  );
}

function escapeXml(text: string): string {
  return text
    .toWellFormed()
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function sameText(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuse(status: number, code: string, message: string, details?: Record<string, string>): Refusal {
  return { ok: false, status, code, message, ...(details === undefined ? {} : { details }) };
}
