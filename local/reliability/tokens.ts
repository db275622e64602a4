/**
 * Authorizer events carrying generated tokens: tokens as the API issues them (for live,
 * revoked and expired sessions), the hand-made attacks of local/test/tokens.ts, valid tokens
 * with bytes changed, tokens signed with the real key over mutated headers and claims, and
 * junk; in Authorization headers of odd case and scheme, or only in the identity source.
 *
 * The oracle: every token signed with our key is remembered with its header and claims; an
 * allow is right only if one of the tokens in the event is such a token, its header and
 * claims pass every rule (alg, typ, kid, iss, aud, exp, nbf, ids), its session is live, and
 * the context names exactly its subject.
 */
import { sign } from 'node:crypto';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { newRefreshToken } from '../../shared/auth/refreshTokens';
import { ID_PATTERN } from '../../shared/ids';
import { attackTokens, audience, testSigningKey, validToken } from '../test/tokens';
import { anyString, headerValue, weirdValue, wellFormedString } from './arbitraries';
import { summary } from './requests';
import { A, B, fixedId } from './world';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

export interface Signed {
  header: unknown;
  payload: unknown;
}

/** Every token signed with the API's key during the run, by signing input (`header.payload`). */
export const signedByUs = new Map<string, Signed>();

function remember(token: string): string {
  const [header, payload] = token.split('.') as [string, string];
  const decode = (part: string): unknown => {
    try {
      return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
  };
  signedByUs.set(`${header}.${payload}`, { header: decode(header), payload: decode(payload) });
  return token;
}

/** A JWS over exactly these header and payload texts, signed ES256 with the API's key. */
function signRaw(headerText: string, payloadText: string): string {
  const input = `${b64(headerText)}.${b64(payloadText)}`;
  const signature = sign('sha256', Buffer.from(input), { key: testSigningKey().privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return remember(`${input}.${signature}`);
}

export interface Subject {
  userId: string;
  sessionId: string;
}

const live: Subject[] = [
  { userId: A.userId, sessionId: A.sessionId },
  { userId: A.userId, sessionId: A.otherSessionId },
  { userId: B.userId, sessionId: B.sessionId },
];
const notLive: Subject[] = [
  { userId: A.userId, sessionId: A.expiredSessionId },
  { userId: A.userId, sessionId: fixedId('A:session-revoked') },
  // The ids of two users crossed: no such session.
  { userId: A.userId, sessionId: B.sessionId },
  { userId: B.userId, sessionId: A.sessionId },
  { userId: fixedId('nobody'), sessionId: fixedId('nobody:session') },
];

function goodHeader(): Record<string, unknown> {
  return { alg: 'ES256', kid: testSigningKey().kid, typ: 'at+jwt' };
}

function goodClaims(subject: Subject): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: audience().issuer, aud: audience().audience, sub: subject.userId, sid: subject.sessionId, jti: 'fuzz-jti', iat, exp: iat + 900 };
}

/** Would a careful verifier accept this header and these claims? (The session is checked apart.) */
export function claimsAcceptable(signed: Signed, before: number, after: number): Subject | undefined {
  const header = signed.header as Record<string, unknown> | null;
  const payload = signed.payload as Record<string, unknown> | null;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  if (header['alg'] !== 'ES256' || header['typ'] !== 'at+jwt' || header['kid'] !== testSigningKey().kid) return undefined;
  const { iss, aud, exp, nbf, sub, sid, jti } = payload;
  const ours = audience();
  if (iss !== ours.issuer) return undefined;
  if (!(aud === ours.audience || (Array.isArray(aud) && aud.includes(ours.audience)))) return undefined;
  // The verifier ran between `before` and `after` (epoch seconds): judge each rule at its kindest moment.
  if (typeof exp !== 'number' || !(exp > before)) return undefined;
  if (nbf !== undefined && !(typeof nbf === 'number' && nbf <= after)) return undefined;
  if (typeof sub !== 'string' || !ID_PATTERN.test(sub) || typeof sid !== 'string' || !ID_PATTERN.test(sid) || typeof jti !== 'string') return undefined;
  return { userId: sub, sessionId: sid };
}

export interface TokenCase {
  kind: string;
  event: APIGatewayRequestAuthorizerEventV2;
  /** Every token string in the event (header values and identity source, scheme stripped). */
  tokens: string[];
  /** A token exactly as issued, for a live session, sent plainly: it must be allowed, for this subject. */
  mustAllow?: Subject;
}

const issued = (subject: Subject): string => remember(validToken(subject));

const tokenText = (): fc.Arbitrary<{ kind: string; token: string; mustAllow?: Subject }> => fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...live).map((subject) => ({ kind: 'token: issued, live session', token: issued(subject), mustAllow: subject })) },
  { weight: 2, arbitrary: fc.constantFrom(...notLive).map((subject) => ({ kind: 'token: issued, session not live', token: issued(subject) })) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...Object.values(attackTokens(live[0] as Subject, newRefreshToken(A.userId, A.sessionId).token))).map((token) => ({ kind: 'token: known attack', token })),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...live),
        fc.oneof(
          fc.tuple(fc.nat(), fc.constantFrom('A', 'B', '_', '-', '.', '=', '+', '/', ' ', '\u0000', 'é')).map(([at, char]) => (token: string): string => {
            const index = at % token.length;
            return `${token.slice(0, index)}${token[index] === char ? 'Q' : char}${token.slice(index + 1)}`;
          }),
          fc.nat().map((at) => (token: string): string => token.slice(0, at % token.length)),
          fc.nat().map((at) => (token: string): string => {
            const index = at % token.length;
            return token.slice(0, index) + token.slice(index + 1);
          }),
          fc.constant((token: string): string => token.split('.').reverse().join('.')),
          fc.constant((token: string): string => `${token}.`),
          fc.constant((token: string): string => `${token}.${token.split('.')[2] ?? ''}`),
          fc.constant((token: string): string => token.split('.').slice(0, 2).join('.')),
          fc.constant((token: string): string => `${token.split('.').slice(0, 2).join('.')}.`),
          fc.constant((token: string): string => token.toUpperCase()),
          // B's claims under A's signature, and A's under B's.
          fc.constant((token: string): string => {
            const [header, , signature] = token.split('.');
            const other = validToken({ userId: B.userId, sessionId: B.sessionId }).split('.')[1];
            return `${header}.${other}.${signature}`;
          }),
          // The payload re-encoded with the subject changed, signature kept.
          fc.constantFrom(B.userId, fixedId('nobody')).map((sub) => (token: string): string => {
            const [header, payload, signature] = token.split('.') as [string, string, string];
            const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
            return `${header}.${b64(JSON.stringify({ ...claims, sub }))}.${signature}`;
          }),
        ),
      )
      .map(([subject, tamper]) => ({ kind: 'token: issued, then bytes changed', token: tamper(issued(subject)) })),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...live, ...notLive),
        fc.oneof(
          fc.constantFrom('alg', 'kid', 'typ', 'crit', 'jku', 'x5u', 'b64').chain((name) => fc.oneof(weirdValue, fc.constantFrom('none', 'HS256', 'ES384', 'es256', 'RS256', 'AT+JWT', 'JWT', 'at+jwt ', 'other-kid', '')).map((value) => ({ part: 'header' as const, name, value }))),
          fc.constantFrom('iss', 'aud', 'exp', 'nbf', 'iat', 'sub', 'sid', 'jti').chain((name) =>
            fc
              .oneof(
                weirdValue,
                fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53, 1e300, Math.floor(Date.now() / 1000) - 1, Math.floor(Date.now() / 1000) + 10, Math.floor(Date.now() / 1000) + 10 ** 9, `${Math.floor(Date.now() / 1000) + 900}`),
                fc.constantFrom(B.userId, B.sessionId, A.userId.toLowerCase(), `${A.userId} `, 'https://evil.example', audience().issuer.toUpperCase(), `${audience().issuer}/`),
                fc.constant([audience().audience, 'another-api']),
                fc.constant(['another-api']),
                fc.constant(undefined),
              )
              .map((value) => ({ part: 'payload' as const, name, value })),
          ),
        ),
        fc.option(fc.constantFrom('null', '[]', '"x"', '1', '{}', 'not json'), { freq: 8 }),
      )
      .map(([subject, change, replaceWhole]) => {
        const header = goodHeader();
        const claims = goodClaims(subject);
        const target = change.part === 'header' ? header : claims;
        if (change.value === undefined) delete target[change.name];
        else target[change.name] = change.value;
        const headerText = replaceWhole !== null && change.part === 'header' ? replaceWhole : JSON.stringify(header);
        const payloadText = replaceWhole !== null && change.part === 'payload' ? replaceWhole : JSON.stringify(claims);
        return { kind: 'token: signed by our key, header or claims changed', token: signRaw(headerText, payloadText) };
      }),
  },
  {
    weight: 3,
    arbitrary: fc.oneof(
      anyString(200),
      fc.tuple(fc.base64String({ maxLength: 80 }), fc.base64String({ maxLength: 200 }), fc.base64String({ maxLength: 90 })).map((parts) => parts.join('.').replace(/=/g, '')),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,40}\.[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{0,90}$/),
      fc.tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 })).map(([header, payload]) => `${b64(JSON.stringify(header) ?? 'null')}.${b64(JSON.stringify(payload) ?? 'null')}.`),
      fc.integer({ min: 10_000, max: 200_000 }).map((length) => `${'e'.repeat(length)}.${'e'.repeat(10)}.${'e'.repeat(86)}`),
      fc.constantFrom('', '.', '..', '...', 'null', 'undefined', `${A.userId}.${A.sessionId}.${A.refreshSecret}`),
    ).map((token) => ({ kind: 'token: junk', token })),
  },
);

/** How the token travels: the scheme, the header's name, or only the identity source. */
const carrier = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ format: (t: string) => `Bearer ${t}`, name: 'authorization', identity: true, plain: true, kind: undefined as string | undefined }) },
  { weight: 2, arbitrary: fc.constantFrom('Authorization', 'AUTHORIZATION').map((name) => ({ format: (t: string) => `Bearer ${t}`, name, identity: true, plain: true, kind: 'header: name in another case' })) },
  { weight: 1, arbitrary: fc.constant({ format: (t: string) => `bearer  ${t}`, name: 'authorization', identity: true, plain: true, kind: 'scheme: lower case, two spaces' }) },
  { weight: 1, arbitrary: fc.constant({ format: (t: string) => `Bearer ${t}`, name: undefined, identity: true, plain: true, kind: 'only in the identity source' }) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(
        (t: string) => t,
        (t: string) => `Basic ${t}`,
        (t: string) => `Bearer\t${t}`,
        (t: string) => ` Bearer ${t}`,
        (t: string) => `Bearer ${t} extra`,
        (t: string) => `Bearer ${t}, Bearer ${t}`,
        (t: string) => `Bearer ${t}\n`,
        () => `Bearer`,
        (t: string) => `Bearer ${t.split('').join(' ')}`,
        (t: string) => `BearerX ${t}`,
        (t: string) => `Token ${t}`,
      )
      .map((format) => ({ format, name: 'authorization', identity: true, plain: false, kind: 'scheme: odd' })),
  },
);

const routes = ['GET /v1/users/me', 'DELETE /v1/media/{id}', 'GET /v1/sessions'];

/** Built when the suite runs (the signing key comes from the test set-up). */
export const tokenCaseArbitrary = (): fc.Arbitrary<TokenCase> => fc
  .tuple(tokenText(), carrier, fc.constantFrom(...routes), fc.dictionary(fc.constantFrom('origin', 'user-agent', 'x-forwarded-for', 'cookie'), headerValue, { maxKeys: 2 }), fc.option(wellFormedString(40), { freq: 6 }))
  .map(([text, how, routeKey, extraHeaders, otherAuthorization]) => {
    const value = how.format(text.token);
    const headers: Record<string, string> = { ...extraHeaders };
    if (how.name !== undefined) headers[how.name] = value;
    // Sometimes a second Authorization header in another case, as serverless-offline may keep both.
    if (otherAuthorization !== null && how.name !== undefined) headers[how.name === 'authorization' ? 'Authorization' : 'authorization'] = otherAuthorization;
    const identitySource = how.identity ? [value] : [];
    const [method, path] = routeKey.split(' ') as [string, string];
    const event = {
      version: '2.0',
      type: 'REQUEST',
      routeArn: `arn:aws:execute-api:us-east-1:123456789012:api/$default/${method}${path}`,
      identitySource,
      routeKey,
      rawPath: path,
      rawQueryString: '',
      headers,
      requestContext: {} as APIGatewayRequestAuthorizerEventV2['requestContext'],
    } as APIGatewayRequestAuthorizerEventV2;
    const tokens = [...Object.values(headers), ...identitySource].flatMap((entry) => entry.split(/[\s,]+/)).filter((part) => part.length > 0);
    const kinds = [text.kind, ...(how.kind === undefined ? [] : [how.kind]), ...(otherAuthorization === null ? [] : ['header: two Authorization headers'])];
    const plain = how.plain && otherAuthorization === null;
    const result: TokenCase & { [fc.toStringMethod]: () => string } = {
      kind: kinds.join(' + '),
      event,
      tokens,
      ...(plain && text.mustAllow !== undefined ? { mustAllow: text.mustAllow } : {}),
      [fc.toStringMethod]: () => summary({ kind: result.kind, headers, identitySource }),
    };
    return result;
  });
