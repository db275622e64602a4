import { createHash, randomUUID } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import jwt from 'jsonwebtoken';
import type { SigningKey } from '../auth/keys';
import { addressAllowed, CallbackUrlRejected, checkCallbackUrl, type CallbackPolicy, type Resolver, systemResolver } from '../net/callbackUrl';

/**
 * Signed callbacks. The body is the job resource (JSON, exactly as GET /v1/analyses/{id} shows
 * it). The header `X-Media-Library-Signature` carries a JWT signed ES256 with the same keys as
 * access tokens (so receivers verify it with GET /v1/.well-known/jwks.json), header
 * `typ: callback+jwt`, claims: iss (the API), aud (the callback URL), iat, exp (+5 minutes),
 * jti (unique per attempt: receivers can drop repeats), body_sha256 (base64url SHA-256 of the
 * exact body bytes). A receiver verifies the JWT (alg, kid, iss, aud, exp) and compares
 * body_sha256 with the hash of the raw body it received. docs/analysis.md has the code.
 */
export const SIGNATURE_HEADER = 'x-media-library-signature';
export const CALLBACK_TOKEN_TYPE = 'callback+jwt';
export const CALLBACK_TOKEN_SECONDS = 300;

export const bodyDigest = (body: string): string => createHash('sha256').update(body, 'utf8').digest('base64url');

export function signCallback(body: string, url: string, key: SigningKey, issuer: string, now: Date): string {
  const iat = Math.floor(now.getTime() / 1000);
  return jwt.sign({ iss: issuer, aud: url, iat, exp: iat + CALLBACK_TOKEN_SECONDS, jti: randomUUID(), body_sha256: bodyDigest(body) }, key.privateKey, {
    algorithm: 'ES256',
    header: { alg: 'ES256', kid: key.kid, typ: CALLBACK_TOKEN_TYPE },
  });
}

export interface CallbackOutcome {
  url: string;
  status: 'delivered' | 'failed';
  attempts: number;
  /** HTTP status of the last attempt, when one was received. */
  statusCode?: number;
  /** Why the last attempt failed. */
  error?: string;
  lastAttemptAt: string;
}

/** Connections may only go to addresses the policy allows, whatever DNS says at that moment. */
function guardedLookup(policy: CallbackPolicy) {
  return (
    hostname: string,
    options: LookupOptions,
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true }, (error, addresses) => {
      if (error !== null) return callback(error, []);
      const list = addresses;
      if (list.length === 0 || !list.every((entry) => addressAllowed(entry.address, policy))) {
        return callback(Object.assign(new CallbackUrlRejected('resolved to a forbidden address'), { code: 'EFORBIDDEN' }), []);
      }
      if (options.all === true) return callback(null, list);
      const [first] = list as [LookupAddress];
      return callback(null, first.address, first.family);
    });
  };
}

export interface PostResult {
  statusCode: number;
}

/** One POST: no redirects followed, a hard timeout, the response body discarded. */
export function postOnce(url: URL, body: string, headers: Record<string, string>, policy: CallbackPolicy, timeoutMs: number): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'media-library-callbacks/1', ...headers },
        lookup: guardedLookup(policy),
        timeout: timeoutMs,
      },
      (response) => {
        response.resume();
        // A client-side response always has its status code (only server-side requests lack one).
        response.on('end', () => resolve({ statusCode: response.statusCode as number }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

const RETRYABLE_STATUS = (status: number): boolean => status === 408 || status === 429 || status >= 500;

export interface DeliveryOptions {
  url: string;
  body: string;
  /** A fresh signature per attempt (its own iat and jti). */
  sign: () => Promise<string>;
  policy: CallbackPolicy;
  /** The id of the request that asked for the analysis, sent as X-Request-Id (receivers can quote it to us). */
  requestId?: string;
  maxAttempts?: number;
  /** Waits between attempts (backoff). */
  delaysMs?: number[];
  timeoutMs?: number;
  resolve?: Resolver;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Up to 3 attempts with backoff (1 s, then 4 s): network errors, timeouts, 408, 429 and 5xx are
 * retried; 2xx is delivered; redirects and other 4xx end the delivery. The URL is checked again
 * before each attempt (its DNS may have changed since the job was requested).
 */
export async function deliverCallback(options: DeliveryOptions): Promise<CallbackOutcome> {
  const maxAttempts = options.maxAttempts ?? 3;
  const delays = options.delaysMs ?? [1000, 4000];
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let outcome: CallbackOutcome = { url: options.url, status: 'failed', attempts: 0, lastAttemptAt: now().toISOString() };
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) await sleep(delays[attempt - 2] ?? delays[delays.length - 1] ?? 1000);
    outcome = { url: options.url, status: 'failed', attempts: attempt, lastAttemptAt: now().toISOString() };
    let retry: boolean;
    try {
      const url = await checkCallbackUrl(options.url, options.policy, options.resolve ?? systemResolver);
      const headers = { [SIGNATURE_HEADER]: await options.sign(), ...(options.requestId === undefined ? {} : { 'x-request-id': options.requestId }) };
      const { statusCode } = await postOnce(url, options.body, headers, options.policy, options.timeoutMs ?? 5000);
      outcome.statusCode = statusCode;
      if (statusCode >= 200 && statusCode < 300) return { ...outcome, status: 'delivered' };
      outcome.error = statusCode >= 300 && statusCode < 400 ? 'redirects are not followed' : `the receiver answered ${statusCode}`;
      retry = RETRYABLE_STATUS(statusCode);
    } catch (error) {
      outcome.error = error instanceof CallbackUrlRejected ? `callback URL refused: ${error.message}` : (error as Error).message;
      retry = !(error instanceof CallbackUrlRejected);
    }
    if (!retry) return outcome;
  }
  return outcome;
}
