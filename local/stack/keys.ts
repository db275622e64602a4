import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Jwks, PrivateKeysDocument, PublicJwk } from '../../shared/auth/keys';

/** A new ES256 (P-256) signing key with a date-stamped key id. */
export function newSigningKey(now = new Date()): { kid: string; privateKeyPem: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = `${now.toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`;
  return { kid, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** The JWKS (public keys only) matching a private key document. */
export function publicJwks(document: PrivateKeysDocument): Jwks {
  return {
    keys: document.keys.map(({ kid, privateKeyPem }) => {
      const jwk = createPublicKey(createPrivateKey(privateKeyPem)).export({ format: 'jwk' });
      return { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string, kid, alg: 'ES256', use: 'sig' } satisfies PublicJwk;
    }),
  };
}

/**
 * Rotation: a new current key; the old current key stays as `previous` so tokens it signed
 * verify until they expire. Older keys drop out.
 */
export function rotate(document: PrivateKeysDocument, now = new Date()): PrivateKeysDocument {
  return { keys: [newSigningKey(now), ...document.keys.slice(0, 1)] };
}

export interface LocalKeyFiles {
  privateFile: string;
  publicFile: string;
}

/** Writes a key pair under `<dataDir>/keys/` unless one is there: local stages only. */
export function ensureLocalKeys(dataDir: string): LocalKeyFiles {
  const dir = path.join(dataDir, 'keys');
  const privateFile = path.join(dir, 'jwt-private.json');
  const publicFile = path.join(dir, 'jwt-public.json');
  if (!fs.existsSync(privateFile) || !fs.existsSync(publicFile)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const document: PrivateKeysDocument = { keys: [newSigningKey()] };
    fs.writeFileSync(privateFile, JSON.stringify(document, null, 2), { mode: 0o600 });
    fs.writeFileSync(publicFile, JSON.stringify(publicJwks(document), null, 2));
  }
  return { privateFile, publicFile };
}
