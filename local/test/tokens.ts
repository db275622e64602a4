/** Hand-made tokens for attack tests: each is something a client could send. */
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import jwt from 'jsonwebtoken';
import { parseSigningKey, parseVerificationKeys, type SigningKey } from '../../shared/auth/keys';
import { signAccessToken } from '../../shared/auth/tokens';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The signing key the tests and the API under test share (local/test/setup.ts). */
export function testSigningKey(): SigningKey {
  return parseSigningKey(fs.readFileSync((process.env['JWT_PRIVATE_KEYS'] as string).slice('file:'.length), 'utf8'));
}

export function testPublicKeyPem(): string {
  const keys = parseVerificationKeys(fs.readFileSync((process.env['JWT_PUBLIC_KEYS'] as string).slice('file:'.length), 'utf8'));
  const [key] = [...keys.byKid.values()];
  return key?.export({ type: 'spki', format: 'pem' }).toString() as string;
}

export const audience = (): { issuer: string; audience: string } => ({
  issuer: process.env['JWT_ISSUER'] as string,
  audience: process.env['JWT_AUDIENCE'] as string,
});

export interface Subject {
  userId: string;
  sessionId: string;
}

/** A token exactly as the API issues it. */
export function validToken(subject: Subject, now = new Date()): string {
  return signAccessToken(testSigningKey(), { ...audience(), accessTokenTtlSeconds: 900 }, subject, now).accessToken;
}

function claims(subject: Subject, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: audience().issuer, aud: audience().audience, sub: subject.userId, sid: subject.sessionId, jti: randomUUID(), iat, exp: iat + 900, ...overrides };
}

function signWith(subject: Subject, header: Record<string, unknown>, overrides: Record<string, unknown> = {}): string {
  const key = testSigningKey();
  return jwt.sign(claims(subject, overrides), key.privateKey, { algorithm: 'ES256', header: { alg: 'ES256', kid: key.kid, typ: 'at+jwt', ...header } });
}

/** Every way a token can be wrong that the issue names; each must be answered 401. */
export function attackTokens(subject: Subject, refreshToken: string): Record<string, string> {
  const key = testSigningKey();
  const valid = validToken(subject);
  const [header, payload] = valid.split('.') as [string, string, string];
  const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const hsHeader = b64({ alg: 'HS256', typ: 'at+jwt', kid: key.kid });
  const hsPayload = b64(claims(subject));
  const hsSignature = createHmac('sha256', testPublicKeyPem()).update(`${hsHeader}.${hsPayload}`).digest('base64url');
  const tamperedPayload = b64({ ...(JSON.parse(Buffer.from(payload, 'base64url').toString()) as object), sub: '01ARZ3NDEKTSV4RRFFQ69G5FAV' });
  return {
    garbage: 'not-a-token-at-all',
    'alg none': `${b64({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${b64(claims(subject))}.`,
    'HS256 signed with the public key': `${hsHeader}.${hsPayload}.${hsSignature}`,
    expired: signWith(subject, {}, { iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 60 }),
    'wrong iss': signWith(subject, {}, { iss: 'https://evil.example' }),
    'wrong aud': signWith(subject, {}, { aud: 'some-other-api' }),
    'wrong typ': signWith(subject, { typ: 'JWT' }),
    'unknown kid': signWith(subject, { kid: 'no-such-key' }),
    'signed by another key': jwt.sign(claims(subject), otherKey, { algorithm: 'ES256', header: { alg: 'ES256', kid: key.kid, typ: 'at+jwt' } }),
    'tampered payload': `${header}.${tamperedPayload}.${valid.split('.')[2]}`,
    'refresh token as access token': refreshToken,
  };
}
