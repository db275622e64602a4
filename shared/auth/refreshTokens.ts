import { createHash } from 'node:crypto';
import { randomSecret } from '../ids';

/**
 * Refresh tokens: `<userId>.<sessionId>.<secret>` where the secret is 256 random bits; the ids
 * only route the lookup, the secret is what counts and is stored as a SHA-256 hash. Apart from
 * the access tokens (./tokens.ts), so the functions that only need these bundle no JWT library.
 */
export interface RefreshToken {
  userId: string;
  sessionId: string;
  secret: string;
}

const REFRESH_TOKEN_PATTERN = /^([0-9A-HJKMNP-TV-Z]{26})\.([0-9A-HJKMNP-TV-Z]{26})\.([A-Za-z0-9_-]{43})$/;

export function newRefreshToken(userId: string, sessionId: string): { token: string; hash: string } {
  const secret = randomSecret();
  return { token: `${userId}.${sessionId}.${secret}`, hash: hashSecret(secret) };
}

export function parseRefreshToken(token: string): RefreshToken | undefined {
  const match = REFRESH_TOKEN_PATTERN.exec(token);
  if (match === null) return undefined;
  return { userId: match[1] as string, sessionId: match[2] as string, secret: match[3] as string };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
