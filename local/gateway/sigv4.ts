/**
 * AWS Signature Version 4, checked the way AWS checks it at its front door, for the local
 * gateway: s3rver and DynamoDB Local accept any signature (or none), so a client that signs the
 * wrong path, forgets a header or uses an expired presigned URL works locally and fails on AWS.
 * Pure functions over the request as it arrived on the wire; the gateway does the HTTP.
 *
 * Two shapes are verified: header-signed requests (`Authorization: AWS4-HMAC-SHA256 …`, what
 * the SDK sends to every service) and presigned query strings (`X-Amz-Signature=…`, what
 * getSignedUrl makes). Failures carry S3's code, status and message; the gateway maps them to
 * each service's own error format.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** An HTTP request as the gateway received it, before any decoding. */
export interface WireRequest {
  method: string;
  /** The path as sent on the wire, still percent-encoded, without the query. */
  rawPath: string;
  /** The query string as sent, without the leading '?'. */
  rawQuery: string;
  /** Node's IncomingMessage.headers: lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  /**
   * The body. Needed for every service but S3: DynamoDB, SNS, SSM… sign the hash of the body and
   * check it against the body itself (absent means empty). S3 takes the hash from
   * x-amz-content-sha256, so its (possibly 2 GB) body can stay out of memory; when given anyway
   * for a header-signed S3 request, it is checked against that header as S3 does.
   */
  body?: Buffer;
}

export type SignatureResult =
  | {
      ok: true;
      accessKeyId: string;
      /** Region and service of the credential scope: the gateway checks they name the endpoint called. */
      region: string;
      service: string;
      mechanism: 'header' | 'query';
      signedAt: Date;
      /** When a presigned URL stops working. */
      expiresAt?: Date;
    }
  | {
      ok: false;
      status: number;
      code: string;
      message: string;
      accessKeyId?: string;
      /** The extra elements S3 puts in its error document (StringToSign, HeadersNotSigned, …). */
      details?: Record<string, string>;
      /**
       * Neither an Authorization header nor a presigned query: anonymous. Refused as S3 refuses an
       * anonymous request on a private bucket; the gateway may answer otherwise (CORS preflight,
       * browser POST uploads, each service's own "missing authentication" error).
       */
      unsigned?: true;
    };

type Refusal = Extract<SignatureResult, { ok: false }>;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SCOPE_TERMINATOR = 'aws4_request';
/** S3 refuses header-signed requests dated more than 15 minutes from its clock. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** A presigned URL lives at most a week. */
const MAX_PRESIGNED_EXPIRES_SECONDS = 604800;
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** The literal payload "hashes" S3 accepts in x-amz-content-sha256 besides a real SHA-256. */
const PAYLOAD_HASH_LITERALS = new Set([
  UNSIGNED_PAYLOAD,
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER',
]);
const SHA256_HEX = /^[0-9a-f]{64}$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** The query parameters that make a request presigned (any one of them is an attempt at query auth). */
const QUERY_AUTH_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature'];
const CREDENTIAL_FORMAT = 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".';

const SIGNATURE_DOES_NOT_MATCH = 'The request signature we calculated does not match the signature you provided. Check your key and signing method.';

/** The key AWS derives from a secret for one day, region and service. */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  let key: Buffer = Buffer.from(`AWS4${secretAccessKey}`, 'utf8');
  for (const part of [date, region, service, SCOPE_TERMINATOR]) key = createHmac('sha256', key).update(part, 'utf8').digest();
  return key;
}

/** The access key id a request claims to be signed with (not verified); undefined when unsigned. */
export function claimedAccessKey(request: WireRequest): string | undefined {
  const authorization = headerValue(request.headers, 'authorization');
  const credential =
    authorization !== undefined ? /Credential=([^,\s]*)/.exec(authorization)?.[1] : queryParams(request.rawQuery).find(([name]) => name === 'X-Amz-Credential')?.[1];
  const accessKeyId = credential?.split('/')[0];
  return accessKeyId === '' ? undefined : accessKeyId;
}

/** What a request says about its own signature, before anything is checked. */
interface SignatureClaim {
  mechanism: 'header' | 'query';
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  signedAt: Date;
  expiresInSeconds?: number;
}

/**
 * Verifies a request's SigV4 signature against the secret `secretFor` knows for its access key,
 * at time `now`, and says who signed it, or why AWS would refuse it.
 */
export function verifySignature(request: WireRequest, secretFor: (accessKeyId: string) => string | undefined, now: Date): SignatureResult {
  const query = queryParams(request.rawQuery);
  const authorization = headerValue(request.headers, 'authorization');
  const queryAuth = query.some(([name]) => QUERY_AUTH_PARAMS.includes(name));

  if (authorization !== undefined && queryAuth) {
    return refuse(
      400,
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { ArgumentName: 'Authorization', ArgumentValue: authorization },
    );
  }
  if (authorization === undefined && !queryAuth) return { ok: false, status: 403, code: 'AccessDenied', message: 'Access Denied', unsigned: true };

  const claim = authorization !== undefined ? headerClaim(authorization, request.headers) : queryClaim(query);
  if ('ok' in claim) return claim;
  const { accessKeyId } = claim;

  const secret = secretFor(accessKeyId);
  if (secret === undefined) {
    return refuse(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKeyId }, accessKeyId);
  }

  const expiresAt = claim.expiresInSeconds === undefined ? undefined : new Date(claim.signedAt.getTime() + claim.expiresInSeconds * 1000);
  const tooEarlyOrLate = checkTime(claim, expiresAt, now);
  if (tooEarlyOrLate) return { ...tooEarlyOrLate, accessKeyId };

  const isS3 = claim.service === 's3';
  const contentSha256 = headerValue(request.headers, 'x-amz-content-sha256');
  if (isS3) {
    const s3Refusal = checkS3Headers(claim, request.headers, contentSha256);
    if (s3Refusal) return { ...s3Refusal, accessKeyId };
  }

  const payloadHash = payloadHashOf(claim, query, request, contentSha256);
  const canonicalRequest = [
    request.method.toUpperCase(),
    isS3 ? request.rawPath : canonicalPathOf(request.rawPath),
    canonicalQueryOf(claim.mechanism === 'query' ? query.filter(([name]) => name !== 'X-Amz-Signature') : query),
    ...claim.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(headerValue(request.headers, name) ?? '')}`),
    '',
    claim.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${claim.scopeDate}/${claim.region}/${claim.service}/${SCOPE_TERMINATOR}`;
  const stringToSign = [ALGORITHM, claim.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const expected = createHmac('sha256', signingKey(secret, claim.scopeDate, claim.region, claim.service)).update(stringToSign, 'utf8').digest('hex');
  if (!sameHex(expected, claim.signature)) {
    return refuse(
      403,
      'SignatureDoesNotMatch',
      SIGNATURE_DOES_NOT_MATCH,
      { AWSAccessKeyId: accessKeyId, StringToSign: stringToSign, SignatureProvided: claim.signature, CanonicalRequest: canonicalRequest },
      accessKeyId,
    );
  }

  // S3 hashes the body as it streams it and refuses a body that is not the one the header announced.
  if (isS3 && claim.mechanism === 'header' && request.body !== undefined && contentSha256 !== undefined && SHA256_HEX.test(contentSha256)) {
    const computed = createHash('sha256').update(request.body).digest('hex');
    if (computed !== contentSha256) {
      return refuse(
        400,
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { ClientComputedContentSHA256: contentSha256, S3ComputedContentSHA256: computed },
        accessKeyId,
      );
    }
  }

  return {
    ok: true,
    accessKeyId,
    region: claim.region,
    service: claim.service,
    mechanism: claim.mechanism,
    signedAt: claim.signedAt,
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
}

function headerClaim(authorization: string, headers: WireRequest['headers']): SignatureClaim | Refusal {
  const malformed = (why: string): Refusal => refuse(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; ${why}`);
  const [algorithm = '', ...rest] = authorization.trim().split(/\s+/);
  if (algorithm !== ALGORITHM) {
    return refuse(400, 'InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  }
  const components = new Map<string, string>();
  for (const component of rest.join(' ').split(',')) {
    const separator = component.indexOf('=');
    if (separator > 0) components.set(component.slice(0, separator).trim(), component.slice(separator + 1).trim());
  }
  const credential = components.get('Credential');
  const signedHeaders = components.get('SignedHeaders');
  const signature = components.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    return malformed('the authorization header requires three components: Credential, SignedHeaders, and Signature.');
  }
  const scope = parseCredential(credential);
  if (typeof scope === 'string') return malformed(scope);

  const amzDate = headerValue(headers, 'x-amz-date');
  const signedAt = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (amzDate === undefined || signedAt === undefined) {
    return refuse(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header', undefined, scope.accessKeyId);
  }
  if (amzDate.slice(0, 8) !== scope.scopeDate) return malformed('Invalid credential date. Date is not the same as X-Amz-Date.');
  return { mechanism: 'header', ...scope, signedHeaders: signedHeaders.split(';'), signature, amzDate, signedAt };
}

function queryClaim(query: Array<[string, string]>): SignatureClaim | Refusal {
  const malformed = (message: string): Refusal => refuse(400, 'AuthorizationQueryParametersError', message);
  const param = (name: string): string | undefined => query.find(([key]) => key === name)?.[1];
  const algorithm = param('X-Amz-Algorithm');
  const credential = param('X-Amz-Credential');
  const signature = param('X-Amz-Signature');
  const amzDate = param('X-Amz-Date');
  const signedHeaders = param('X-Amz-SignedHeaders');
  const expires = param('X-Amz-Expires');
  if (algorithm === undefined || credential === undefined || signature === undefined || amzDate === undefined || signedHeaders === undefined || expires === undefined) {
    return malformed(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (algorithm !== ALGORITHM) return malformed(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
  const scope = parseCredential(credential);
  if (typeof scope === 'string') return malformed(`Error parsing the X-Amz-Credential parameter; ${scope}`);
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) return malformed(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  if (amzDate.slice(0, 8) !== scope.scopeDate) return malformed('Invalid credential date. Date is not the same as X-Amz-Date.');
  if (!/^-?\d+$/.test(expires)) return malformed('X-Amz-Expires should be a number');
  const expiresInSeconds = Number(expires);
  if (expiresInSeconds < 0) return malformed('X-Amz-Expires must be non-negative');
  if (expiresInSeconds > MAX_PRESIGNED_EXPIRES_SECONDS) return malformed(`X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGNED_EXPIRES_SECONDS}`);
  return { mechanism: 'query', ...scope, signedHeaders: signedHeaders.split(';'), signature, amzDate, signedAt, expiresInSeconds };
}

/** `AKID/YYYYMMDD/region/service/aws4_request`, or why it is not. */
function parseCredential(credential: string): Pick<SignatureClaim, 'accessKeyId' | 'scopeDate' | 'region' | 'service'> | string {
  const parts = credential.split('/');
  const [accessKeyId = '', scopeDate = '', region = '', service = '', terminator = ''] = parts;
  if (parts.length !== 5 || accessKeyId === '' || !/^\d{8}$/.test(scopeDate) || region === '' || service === '') return CREDENTIAL_FORMAT;
  if (terminator !== SCOPE_TERMINATOR) return `Credential should be scoped with a valid terminator: '${SCOPE_TERMINATOR}', not '${terminator}'.`;
  return { accessKeyId, scopeDate, region, service };
}

function checkTime(claim: SignatureClaim, expiresAt: Date | undefined, now: Date): Refusal | undefined {
  const serverTime = isoSeconds(now);
  if (claim.mechanism === 'header') {
    if (Math.abs(now.getTime() - claim.signedAt.getTime()) <= MAX_CLOCK_SKEW_MS) return undefined;
    return refuse(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      RequestTime: claim.amzDate,
      ServerTime: serverTime,
      MaxAllowedSkewMilliseconds: String(MAX_CLOCK_SKEW_MS),
    });
  }
  // A URL signed by a machine whose clock runs ahead is refused until that time comes (less the skew S3 tolerates).
  if (claim.signedAt.getTime() - now.getTime() > MAX_CLOCK_SKEW_MS) return refuse(403, 'AccessDenied', 'Request is not valid yet');
  if (expiresAt !== undefined && now.getTime() > expiresAt.getTime()) {
    return refuse(403, 'AccessDenied', 'Request has expired', {
      'X-Amz-Expires': String(claim.expiresInSeconds),
      Expires: isoSeconds(expiresAt),
      ServerTime: serverTime,
    });
  }
  return undefined;
}

/** What S3 checks of the headers beyond the signature itself. */
function checkS3Headers(claim: SignatureClaim, headers: WireRequest['headers'], contentSha256: string | undefined): Refusal | undefined {
  if (claim.mechanism === 'header') {
    if (contentSha256 === undefined) return refuse(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    if (!PAYLOAD_HASH_LITERALS.has(contentSha256) && !SHA256_HEX.test(contentSha256)) {
      return refuse(
        400,
        'InvalidArgument',
        `x-amz-content-sha256 must be ${[...PAYLOAD_HASH_LITERALS].slice(0, -1).join(', ')} or ${[...PAYLOAD_HASH_LITERALS].at(-1)} or a valid sha256 value.`,
        { ArgumentName: 'x-amz-content-sha256', ArgumentValue: contentSha256 },
      );
    }
  }
  // Every x-amz-* header must be signed: S3 will not act on an instruction (an ACL, metadata, a
  // checksum) that someone other than the signer could have added.
  const unsigned = Object.keys(headers)
    .map((name) => name.toLowerCase())
    .filter((name) => name.startsWith('x-amz-') && headers[name] !== undefined && !claim.signedHeaders.includes(name))
    .sort();
  if (unsigned.length > 0) {
    return refuse(403, 'AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: unsigned.join(', ') });
  }
  return undefined;
}

function payloadHashOf(claim: SignatureClaim, query: Array<[string, string]>, request: WireRequest, contentSha256: string | undefined): string {
  // Other services hash the body they received, whatever x-amz-content-sha256 (which the SDK sends them too) says.
  if (claim.service !== 's3') return sha256Hex(request.body ?? Buffer.alloc(0));
  if (claim.mechanism === 'header') return contentSha256 ?? sha256Hex(request.body ?? Buffer.alloc(0));
  // A presigned URL cannot know its payload: UNSIGNED-PAYLOAD, which getSignedUrl also hoists into the query.
  const fromQuery = query.find(([name]) => name === 'X-Amz-Content-Sha256')?.[1];
  if (fromQuery !== undefined) return fromQuery;
  if (contentSha256 !== undefined && claim.signedHeaders.includes('x-amz-content-sha256')) return contentSha256;
  return UNSIGNED_PAYLOAD;
}

/**
 * Every service but S3 signs the path encoded once more than it travels (each segment
 * URI-encoded again), after removing empty, `.` and `..` segments, as the SDK's signer does.
 */
function canonicalPathOf(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${rawPath.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  return uriEncode(normalized).replace(/%2F/g, '/');
}

/** Parameters decoded, then each name and value encoded per RFC 3986, sorted by name, then value. */
function canonicalQueryOf(params: Array<[string, string]>): string {
  return params
    .map(([name, value]): [string, string] => [uriEncode(name), uriEncode(value)])
    .sort(([nameA, valueA], [nameB, valueB]) => compareStrings(nameA, nameB) || compareStrings(valueA, valueB))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** The raw query as decoded name/value pairs, in order. A '+' stays a '+': AWS signers never send one for a space. */
function queryParams(rawQuery: string): Array<[string, string]> {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const separator = pair.indexOf('=');
      return separator === -1 ? [percentDecode(pair), ''] : [percentDecode(pair.slice(0, separator)), percentDecode(pair.slice(separator + 1))];
    });
}

function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // A malformed escape cannot have been signed by an SDK; keep it as sent so the signature fails, not the gateway.
    return text;
  }
}

/** RFC 3986 encoding: everything but unreserved characters (A-Z a-z 0-9 - _ . ~). */
function uriEncode(text: string): string {
  return encodeURIComponent(text.toWellFormed()).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalHeaderValue(value: string): string {
  return value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').trim();
}

function headerValue(headers: WireRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function parseAmzDate(text: string): Date | undefined {
  const match = AMZ_DATE.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 20261340 over into next year; AWS refuses it.
  return isoSeconds(date).replace(/[-:]/g, '') === text ? date : undefined;
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function sameHex(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Code-unit order, as AWS sorts (localeCompare would not). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function refuse(status: number, code: string, message: string, details?: Record<string, string>, accessKeyId?: string): Refusal {
  return { ok: false, status, code, message, ...(details === undefined ? {} : { details }), ...(accessKeyId === undefined ? {} : { accessKeyId }) };
}
