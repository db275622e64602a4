import { requireEnv, requireIntEnv } from '../config/env';
import type { TokenIssuer } from '../domain/accounts';
import { signingKeyLoader } from './keys';
import { tokenAudience } from './settings';
import { signAccessToken } from './tokens';

const accessTokenTtlSeconds = requireIntEnv('ACCESS_TOKEN_TTL_SECONDS', { min: 60, max: 24 * 3600 });
const signingKey = signingKeyLoader(requireEnv('JWT_PRIVATE_KEYS'));

/** Signs access tokens with the stage's current private key (functions that log people in). */
export const tokenIssuer: TokenIssuer = {
  async issue(subject, now, notAfter) {
    const key = await signingKey();
    const ttl = Math.max(1, Math.min(accessTokenTtlSeconds, Math.floor((notAfter.getTime() - now.getTime()) / 1000)));
    return signAccessToken(key, { ...tokenAudience, accessTokenTtlSeconds: ttl }, subject, now);
  },
};

export const sessionSettings = {
  shortSessionSeconds: requireIntEnv('SHORT_SESSION_SECONDS', { min: 60 }),
  longSessionSeconds: requireIntEnv('LONG_SESSION_SECONDS', { min: 60 }),
};
