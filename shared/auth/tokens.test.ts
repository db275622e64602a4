import { createHmac, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { newSigningKey, publicJwks } from '../../local/stack/keys';
import { newId } from '../ids';
import { parseSigningKey, parseVerificationKeys, type SigningKey, type VerificationKeys } from './keys';
import { hashSecret, newRefreshToken, parseRefreshToken } from './refreshTokens';
import { ACCESS_TOKEN_TYPE, bearerToken, InvalidToken, signAccessToken, verifyAccessToken, type TokenSettings } from './tokens';

const settings: TokenSettings = { issuer: 'https://auth.test.example', audience: 'media-library-test', accessTokenTtlSeconds: 900 };
const audience = { issuer: settings.issuer, audience: settings.audience };
const NOW = new Date('2030-01-02T03:04:05.000Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
const decodePart = (part: string | undefined): Record<string, unknown> => JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/** An ES256 JWS built by hand, so header and claims can be anything at all. */
function es256(header: Record<string, unknown>, payload: Record<string, unknown>, privateKey: KeyObject): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${input}.${signature}`;
}

interface Fixture {
  signingKey: SigningKey;
  keys: VerificationKeys;
  publicPem: string;
  userId: string;
  sessionId: string;
  claims: () => Record<string, unknown>;
  header: () => Record<string, unknown>;
}

function fixture(): Fixture {
  const document = { keys: [newSigningKey(NOW)] };
  const signingKey = parseSigningKey(JSON.stringify(document));
  const keys = parseVerificationKeys(JSON.stringify(publicJwks(document)));
  const publicPem = createPublicKey(signingKey.privateKey).export({ type: 'spki', format: 'pem' }).toString();
  const userId = newId();
  const sessionId = newId();
  return {
    signingKey,
    keys,
    publicPem,
    userId,
    sessionId,
    header: () => ({ alg: 'ES256', kid: signingKey.kid, typ: ACCESS_TOKEN_TYPE }),
    claims: () => ({ iss: settings.issuer, aud: settings.audience, sub: userId, sid: sessionId, jti: 'a-jti', iat: NOW_SECONDS, exp: NOW_SECONDS + 900 }),
  };
}

describe('shared/auth/tokens', () => {
  const f = fixture();
  const verify = (token: string, now: Date = NOW, keys: VerificationKeys = f.keys): ReturnType<typeof verifyAccessToken> => verifyAccessToken(token, keys, audience, now);
  const expectInvalid = (token: string, now: Date = NOW, reason?: RegExp): void => {
    let caught: unknown;
    try {
      verify(token, now);
    } catch (error) {
      caught = error;
    }
    expect(caught, 'verifyAccessToken should throw').to.be.instanceOf(InvalidToken);
    if (reason !== undefined) expect((caught as InvalidToken).message).to.match(reason);
  };

  describe('signAccessToken / verifyAccessToken', () => {
    it('signs a token that verifies and yields the subject', () => {
      const { accessToken, accessTokenExpiresAt } = signAccessToken(f.signingKey, settings, { userId: f.userId, sessionId: f.sessionId }, NOW);
      expect(verify(accessToken)).to.deep.equal({ userId: f.userId, sessionId: f.sessionId });
      expect(accessTokenExpiresAt.toISOString()).to.equal(new Date((NOW_SECONDS + 900) * 1000).toISOString());
    });

    it('puts kid and typ at+jwt in the header and iss, aud, sub, sid, jti, iat, exp in the claims', () => {
      const { accessToken } = signAccessToken(f.signingKey, settings, { userId: f.userId, sessionId: f.sessionId }, NOW);
      const [headerPart, payloadPart, signature] = accessToken.split('.');
      expect(decodePart(headerPart)).to.deep.equal({ alg: 'ES256', kid: f.signingKey.kid, typ: 'at+jwt' });
      const claims = decodePart(payloadPart);
      expect(claims).to.have.all.keys('iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp');
      expect(claims).to.include({ iss: settings.issuer, aud: settings.audience, sub: f.userId, sid: f.sessionId, iat: NOW_SECONDS, exp: NOW_SECONDS + 900 });
      expect(claims['jti']).to.be.a('string').and.not.equal('');
      // ES256 signatures are 64 raw bytes (r || s): 86 base64url characters.
      expect(signature).to.match(/^[A-Za-z0-9_-]{86}$/);
    });

    it('gives every token its own jti', () => {
      const subject = { userId: f.userId, sessionId: f.sessionId };
      const first = decodePart(signAccessToken(f.signingKey, settings, subject, NOW).accessToken.split('.')[1]);
      const second = decodePart(signAccessToken(f.signingKey, settings, subject, NOW).accessToken.split('.')[1]);
      expect(first['jti']).to.not.equal(second['jti']);
    });

    it('accepts a hand-built ES256 token with the same header and claims (the fixture itself is sound)', () => {
      expect(verify(es256(f.header(), f.claims(), f.signingKey.privateKey))).to.deep.equal({ userId: f.userId, sessionId: f.sessionId });
    });

    it('is valid until just before exp and expired from exp on', () => {
      const { accessToken } = signAccessToken(f.signingKey, settings, { userId: f.userId, sessionId: f.sessionId }, NOW);
      expect(verify(accessToken, new Date((NOW_SECONDS + 899) * 1000))).to.deep.equal({ userId: f.userId, sessionId: f.sessionId });
      expectInvalid(accessToken, new Date((NOW_SECONDS + 900) * 1000), /expired/);
      expectInvalid(accessToken, new Date(NOW.getTime() + 24 * 3600 * 1000), /expired/);
    });

    it('verifies tokens signed by a previous key still listed in the JWKS (rotation)', () => {
      const previous = newSigningKey(NOW);
      const current = newSigningKey(NOW);
      const document = { keys: [current, previous] };
      const keys = parseVerificationKeys(JSON.stringify(publicJwks(document)));
      const oldKey = parseSigningKey(JSON.stringify({ keys: [previous] }));
      const { accessToken } = signAccessToken(oldKey, settings, { userId: f.userId, sessionId: f.sessionId }, NOW);
      expect(verify(accessToken, NOW, keys)).to.deep.equal({ userId: f.userId, sessionId: f.sessionId });
      expect(parseSigningKey(JSON.stringify(document)).kid).to.equal(current.kid);
    });

    describe('rejects with InvalidToken', () => {
      it('garbage strings', () => {
        for (const token of ['garbage', '', 'a.b.c', '...', 'Bearer x', `${b64url(f.header())}.!!!.sig`]) expectInvalid(token);
      });

      it('a token with alg none and an empty signature', () => {
        const token = `${b64url({ alg: 'none', typ: 'at+jwt', kid: f.signingKey.kid })}.${b64url(f.claims())}.`;
        expectInvalid(token);
      });

      it('an HS256 token using the public key PEM as the HMAC secret (algorithm confusion)', () => {
        const input = `${b64url({ alg: 'HS256', typ: 'at+jwt', kid: f.signingKey.kid })}.${b64url(f.claims())}`;
        const signature = createHmac('sha256', f.publicPem).update(input).digest('base64url');
        expectInvalid(`${input}.${signature}`);
      });

      it('a token whose issuer is another', () => {
        const { accessToken } = signAccessToken(f.signingKey, { ...settings, issuer: 'https://evil.example' }, { userId: f.userId, sessionId: f.sessionId }, NOW);
        expectInvalid(accessToken, NOW, /issuer/);
      });

      it('a token for another audience', () => {
        const { accessToken } = signAccessToken(f.signingKey, { ...settings, audience: 'another-stage' }, { userId: f.userId, sessionId: f.sessionId }, NOW);
        expectInvalid(accessToken, NOW, /audience/);
      });

      it('a token with typ JWT (e.g. an ID token) or another typ', () => {
        expectInvalid(es256({ ...f.header(), typ: 'JWT' }, f.claims(), f.signingKey.privateKey), NOW, /typ/);
        expectInvalid(es256({ ...f.header(), typ: 'AT+JWT ' }, f.claims(), f.signingKey.privateKey), NOW, /typ/);
      });

      it('a token without typ', () => {
        const header = f.header();
        delete header['typ'];
        expectInvalid(es256(header, f.claims(), f.signingKey.privateKey), NOW, /typ/);
      });

      it('a token without kid or with an unknown kid', () => {
        const header = f.header();
        delete header['kid'];
        expectInvalid(es256(header, f.claims(), f.signingKey.privateKey), NOW, /kid/);
        expectInvalid(es256({ ...f.header(), kid: 'not-a-listed-kid' }, f.claims(), f.signingKey.privateKey), NOW, /kid/);
        expectInvalid(es256({ ...f.header(), kid: 42 }, f.claims(), f.signingKey.privateKey), NOW, /kid/);
      });

      it('a token signed by another key pair that claims the real kid', () => {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        expectInvalid(es256(f.header(), f.claims(), privateKey), NOW, /signature/);
        const impostor = signAccessToken({ kid: f.signingKey.kid, privateKey }, settings, { userId: f.userId, sessionId: f.sessionId }, NOW);
        expectInvalid(impostor.accessToken, NOW, /signature/);
      });

      it('a token whose payload was changed (another sub) with the original signature', () => {
        const { accessToken } = signAccessToken(f.signingKey, settings, { userId: f.userId, sessionId: f.sessionId }, NOW);
        const [header, payload, signature] = accessToken.split('.');
        const tampered = b64url({ ...decodePart(payload), sub: newId() });
        expect(tampered).to.not.equal(payload);
        expectInvalid(`${header}.${tampered}.${signature}`, NOW, /signature/);
      });

      it('a token without sid, exp or jti, or with a sub or sid that is not an id (a token without exp would never expire)', () => {
        for (const claim of ['sid', 'sub', 'jti', 'exp']) {
          const claims = f.claims();
          delete claims[claim];
          expectInvalid(es256(f.header(), claims, f.signingKey.privateKey), NOW, /missing claims/);
        }
        expectInvalid(es256(f.header(), { ...f.claims(), sub: 'user-1' }, f.signingKey.privateKey), NOW, /missing claims/);
        expectInvalid(es256(f.header(), { ...f.claims(), sid: 12345 }, f.signingKey.privateKey), NOW, /missing claims/);
        expectInvalid(es256(f.header(), { ...f.claims(), sid: f.sessionId.toLowerCase() }, f.signingKey.privateKey), NOW, /missing claims/);
      });

      it('a token signed by jsonwebtoken itself, valid in every other way, but without sid', () => {
        const withoutSid = jwt.sign({ iss: settings.issuer, aud: settings.audience, sub: f.userId, jti: 'j' }, f.signingKey.privateKey, {
          algorithm: 'ES256',
          header: { alg: 'ES256', kid: f.signingKey.kid, typ: ACCESS_TOKEN_TYPE },
          expiresIn: 900,
        });
        expectInvalid(withoutSid, new Date(), /missing claims/);
      });

      it('a refresh token presented as an access token', () => {
        const { token } = newRefreshToken(f.userId, f.sessionId);
        expect(parseRefreshToken(token)).to.not.equal(undefined);
        expectInvalid(token);
      });

      it('a token whose payload is JSON but not an object', () => {
        expectInvalid(`${b64url(f.header())}.${b64url('just a string')}.c2ln`, NOW, /not a JWT/);
        expectInvalid(`${b64url(f.header())}.${b64url(null)}.c2ln`, NOW, /not a JWT/);
      });

      // jws.decode JSON.parses the payload when the header says typ JWT; its SyntaxError must
      // still come out as InvalidToken (a 401), not crash the authorizer (a 500).
      it('a token with typ JWT and a payload that is not JSON', () => {
        expectInvalid(`${b64url({ ...f.header(), typ: 'JWT' })}.${Buffer.from('not json').toString('base64url')}.c2ln`);
      });
    });
  });

  describe('bearerToken', () => {
    it('returns the token of a Bearer header, scheme case-insensitive, with extra spaces', () => {
      expect(bearerToken('Bearer abc.def.ghi')).to.equal('abc.def.ghi');
      expect(bearerToken('bearer abc.def.ghi')).to.equal('abc.def.ghi');
      expect(bearerToken('BEARER abc.def.ghi')).to.equal('abc.def.ghi');
      expect(bearerToken('bEaReR abc')).to.equal('abc');
      expect(bearerToken('Bearer    abc.def.ghi')).to.equal('abc.def.ghi');
      expect(bearerToken('Bearer abc.def.ghi   ')).to.equal('abc.def.ghi');
    });

    it('returns undefined for a missing or empty header, no token, or another scheme', () => {
      expect(bearerToken(undefined)).to.equal(undefined);
      expect(bearerToken('')).to.equal(undefined);
      expect(bearerToken('Bearer')).to.equal(undefined);
      expect(bearerToken('Bearer ')).to.equal(undefined);
      expect(bearerToken('Bearer    ')).to.equal(undefined);
      expect(bearerToken('Basic dXNlcjpwYXNz')).to.equal(undefined);
      expect(bearerToken('Token abc')).to.equal(undefined);
      expect(bearerToken('Bearerabc')).to.equal(undefined);
      expect(bearerToken('abc.def.ghi')).to.equal(undefined);
    });

    it('returns undefined when more than one token follows the scheme', () => {
      expect(bearerToken('Bearer abc def')).to.equal(undefined);
    });
  });

  describe('refresh tokens', () => {
    it('newRefreshToken and parseRefreshToken round-trip; the hash is the SHA-256 hex of the secret', () => {
      const userId = newId();
      const sessionId = newId();
      const { token, hash } = newRefreshToken(userId, sessionId);
      const parsed = parseRefreshToken(token);
      expect(parsed).to.not.equal(undefined);
      expect(parsed?.userId).to.equal(userId);
      expect(parsed?.sessionId).to.equal(sessionId);
      expect(parsed?.secret).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(token).to.equal(`${userId}.${sessionId}.${parsed?.secret ?? ''}`);
      expect(hash).to.match(/^[0-9a-f]{64}$/);
      expect(hash).to.equal(hashSecret(parsed?.secret ?? ''));
      expect(hash).to.not.equal(parsed?.secret);
    });

    it('hashSecret is SHA-256 in hex', () => {
      expect(hashSecret('abc')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      expect(hashSecret('abd')).to.not.equal(hashSecret('abc'));
    });

    it('two tokens for the same session differ, in secret and hash', () => {
      const userId = newId();
      const sessionId = newId();
      const first = newRefreshToken(userId, sessionId);
      const second = newRefreshToken(userId, sessionId);
      expect(first.token).to.not.equal(second.token);
      expect(first.hash).to.not.equal(second.hash);
    });

    it('parseRefreshToken returns undefined for malformed tokens', () => {
      const userId = newId();
      const sessionId = newId();
      const secret = 'A'.repeat(42) + '_';
      expect(parseRefreshToken(`${userId}.${sessionId}.${secret}`)).to.deep.equal({ userId, sessionId, secret });
      const malformed = [
        '',
        'garbage',
        `${userId}.${sessionId}`,
        `${userId.slice(0, 25)}I.${sessionId}.${secret}`, // I is not a ULID character
        `${userId.slice(0, 25)}L.${sessionId}.${secret}`,
        `${userId}.${sessionId.slice(0, 25)}O.${secret}`,
        `${userId}.${sessionId.slice(0, 25)}U.${secret}`,
        `${userId.toLowerCase()}.${sessionId}.${secret}`,
        `${userId.slice(1)}.${sessionId}.${secret}`,
        `${userId}0.${sessionId}.${secret}`,
        `${userId}.${sessionId}.${secret.slice(1)}`, // 42 characters
        `${userId}.${sessionId}.${secret}A`, // 44 characters
        `${userId}.${sessionId}.${secret.slice(1)}=`, // padding
        `${userId}.${sessionId}.${secret.slice(1)}+`, // base64, not base64url
        `${userId}.${sessionId}.${secret}.`,
        `${userId}.${sessionId}.${secret}.extra`,
        `.${userId}.${sessionId}.${secret}`,
        `${userId}..${sessionId}.${secret}`,
        ` ${userId}.${sessionId}.${secret}`,
        `${userId}.${sessionId}.${secret}\n`,
      ];
      for (const token of malformed) expect(parseRefreshToken(token), JSON.stringify(token)).to.equal(undefined);
    });

    it('an access token is not a refresh token', () => {
      const { accessToken } = signAccessToken(f.signingKey, settings, { userId: f.userId, sessionId: f.sessionId }, NOW);
      expect(parseRefreshToken(accessToken)).to.equal(undefined);
    });
  });
});
