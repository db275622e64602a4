import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ID_PATTERN } from '../ids';
import type { SigningKey, VerificationKeys } from './keys';

/**
 * Access tokens: JWTs signed ES256 with header `kid` and `typ: at+jwt` (RFC 9068), claims
 * iss, aud, sub (user id), sid (session id), jti, iat, exp. Verification pins the algorithm,
 * issuer, audience and type, and only trusts keys listed in the JWKS.
 * (Refresh tokens are in ./refreshTokens.ts: functions that only handle those must not bundle
 * jsonwebtoken.)
 */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
}

export interface AccessTokenSubject {
  userId: string;
  sessionId: string;
}

export interface IssuedAccessToken {
  accessToken: string;
  accessTokenExpiresAt: Date;
}

export class InvalidToken extends Error {
  override readonly name = 'InvalidToken';
}

export function signAccessToken(key: SigningKey, settings: TokenSettings, subject: AccessTokenSubject, now: Date): IssuedAccessToken {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + settings.accessTokenTtlSeconds;
  const accessToken = jwt.sign(
    { iss: settings.issuer, aud: settings.audience, sub: subject.userId, sid: subject.sessionId, jti: randomUUID(), iat, exp },
    key.privateKey,
    { algorithm: 'ES256', header: { alg: 'ES256', kid: key.kid, typ: ACCESS_TOKEN_TYPE } },
  );
  return { accessToken, accessTokenExpiresAt: new Date(exp * 1000) };
}

/** The subject of a valid access token; InvalidToken (with the reason, for logs) otherwise. */
export function verifyAccessToken(token: string, keys: VerificationKeys, settings: Omit<TokenSettings, 'accessTokenTtlSeconds'>, now: Date): AccessTokenSubject {
  let decoded: jwt.Jwt | null;
  try {
    decoded = jwt.decode(token, { complete: true });
  } catch {
    // jws parses the payload as JSON when the header says typ JWT: junk must still be a 401.
    throw new InvalidToken('not a JWT');
  }
  if (decoded === null || typeof decoded.payload === 'string') throw new InvalidToken('not a JWT');
  const { kid, typ } = decoded.header;
  if (typeof kid !== 'string') throw new InvalidToken('no kid');
  const key = keys.byKid.get(kid);
  if (key === undefined) throw new InvalidToken('unknown kid');
  if (typ !== ACCESS_TOKEN_TYPE) throw new InvalidToken('wrong typ');
  let payload: jwt.JwtPayload;
  try {
    const verified = jwt.verify(token, key, {
      algorithms: ['ES256'],
      issuer: settings.issuer,
      audience: settings.audience,
      clockTimestamp: Math.floor(now.getTime() / 1000),
      complete: true,
    });
    payload = verified.payload as jwt.JwtPayload;
  } catch (error) {
    throw new InvalidToken((error as Error).message);
  }
  const { sub, sid, jti, exp } = payload as { sub?: unknown; sid?: unknown; jti?: unknown; exp?: unknown };
  // A token without an expiry would be valid forever: never accept one, even if well signed.
  if (typeof exp !== 'number' || typeof sub !== 'string' || !ID_PATTERN.test(sub) || typeof sid !== 'string' || !ID_PATTERN.test(sid) || typeof jti !== 'string') {
    throw new InvalidToken('missing claims');
  }
  return { userId: sub, sessionId: sid };
}

/** `Authorization: Bearer <token>` -> the token (scheme case-insensitive, RFC 7235). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
