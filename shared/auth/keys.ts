import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { getParameter } from '../aws/ssm';

/**
 * Signing keys for access tokens (ES256, P-256). Two sources, named by a URI in the
 * environment:
 *   JWT_PRIVATE_KEYS  ssm:/media-library/<stage>/jwt/private   SecureString, read by signers only
 *   JWT_PUBLIC_KEYS   ssm:/media-library/<stage>/jwt/public    the JWKS, read by verifiers
 * Locally both are `file:` paths, generated on first start. The private document lists
 * keys newest first: the first signs; the public JWKS carries current and previous keys so
 * tokens signed before a rotation stay valid until they expire (docs/security.md).
 */
export interface PrivateKeysDocument {
  keys: Array<{ kid: string; privateKeyPem: string }>;
}
export interface PublicJwk {
  kid: string;
  kty: 'EC';
  crv: 'P-256';
  alg: 'ES256';
  use: 'sig';
  x: string;
  y: string;
}
export interface Jwks {
  keys: PublicJwk[];
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}
export interface VerificationKeys {
  jwks: Jwks;
  byKid: Map<string, KeyObject>;
}

/** Keys are re-read this often, so a rotation reaches warm functions without a redeploy. */
export const KEY_CACHE_MS = 5 * 60 * 1000;

async function readSource(uri: string): Promise<string> {
  if (uri.startsWith('file:')) return readFile(uri.slice('file:'.length), 'utf8');
  if (uri.startsWith('ssm:')) return getParameter(uri.slice('ssm:'.length));
  throw new Error(`Unsupported key source "${uri}" (expected file:<path> or ssm:<parameter name>)`);
}

function cached<T>(load: () => Promise<T>, now: () => number): () => Promise<T> {
  let value: { promise: Promise<T>; at: number } | undefined;
  return () => {
    if (value === undefined || now() - value.at > KEY_CACHE_MS) {
      const promise = load();
      value = { promise, at: now() };
      // A failed load is not cached: the next request tries again.
      promise.catch(() => {
        if (value?.promise === promise) value = undefined;
      });
    }
    return value.promise;
  };
}

export function parseSigningKey(document: string): SigningKey {
  const parsed = JSON.parse(document) as PrivateKeysDocument;
  const current = parsed.keys?.[0];
  if (current === undefined) throw new Error('The private key document lists no keys');
  const privateKey = createPrivateKey(current.privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`Signing key ${current.kid} is not a P-256 key`);
  }
  return { kid: current.kid, privateKey };
}

export function parseVerificationKeys(document: string): VerificationKeys {
  const jwks = JSON.parse(document) as Jwks;
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error('The public JWKS lists no keys');
  const byKid = new Map<string, KeyObject>();
  for (const jwk of jwks.keys) {
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || jwk.alg !== 'ES256' || jwk.use !== 'sig' || typeof jwk.kid !== 'string' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
      throw new Error(`JWKS entry ${String(jwk.kid)} is not an ES256 P-256 key`);
    }
    byKid.set(jwk.kid, createPublicKey({ key: jwk as unknown as JsonWebKey, format: 'jwk' }));
  }
  return { jwks: { keys: jwks.keys.map(({ kty, crv, x, y, kid, alg, use }) => ({ kty, crv, x, y, kid, alg, use })) }, byKid };
}

export function signingKeyLoader(uri: string, now: () => number = Date.now): () => Promise<SigningKey> {
  return cached(async () => parseSigningKey(await readSource(uri)), now);
}

export function verificationKeyLoader(uri: string, now: () => number = Date.now): () => Promise<VerificationKeys> {
  return cached(async () => parseVerificationKeys(await readSource(uri)), now);
}
