/**
 * fast-check arbitraries for hostile requests: strings (unicode, surrogates, control, RTL,
 * zero-width, huge), JSON values of the wrong type, bodies with one field mutated, raw JSON
 * tokens JSON.stringify cannot write (-0, 1e309, NaN), broken JSON, content types, odd
 * headers, bad base64, bad path parameters and bad cursors.
 */
import fc from 'fast-check';

// --- strings ---------------------------------------------------------------------------------

/** Characters that have broken parsers, loggers, keys and URLs somewhere. */
export const NASTY = [
  '\u0000', '\u0007', '\b', '\t', '\n', '\r\n', '\u001b', '\u001f', '\u007f', '\u0085',
  '\u00a0', '\u2028', '\u2029', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u202a', '\u202e', '\u2066', '\u2069', '\ufeff', '\ufffd', '\uffff',
  'é', 'e\u0301', 'İ', 'ß', 'ﬁ', 'ǅ', '\u0345', 'Å', 'Å', '日本', '한국어', 'العربية', 'עברית',
  '😀', '👩‍👩‍👧‍👦', '🏳️‍🌈', '🇫🇷', '\u{10ffff}', '\u{1d11e}',
  '"', "'", '`', '\\', '/', '../', '..\\', '%', '%00', '%2e%2e%2f', '%ZZ', '#', '?', '&', '=', '+', '*', '~', ';', ',', ':', '|', '<', '>',
  '<script>alert(1)</script>', '${jndi:ldap://x}', '{{7*7}}', "' OR '1'='1", '__proto__', 'constructor', 'prototype', 'toString',
  'null', 'undefined', 'NaN', 'Infinity', '-0', '1e309', 'true', '[]', '{}', ' ', '',
];

const nastyChar = fc.constantFrom(...NASTY);
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** Well-formed Unicode (what a URL, a header or a path can carry once decoded). */
export function wellFormedString(maxLength = 40, minLength = 0): fc.Arbitrary<string> {
  return fc.string({
    minLength,
    maxLength,
    unit: fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
      { weight: 2, arbitrary: nastyChar },
    ),
  });
}

/** Anything a JSON string can carry, lone surrogates (`"\ud800"`) included. */
export function anyString(maxLength = 40, minLength = 0): fc.Arbitrary<string> {
  return fc.string({
    minLength,
    maxLength,
    unit: fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
      { weight: 2, arbitrary: nastyChar },
      { weight: 1, arbitrary: loneSurrogate },
    ),
  });
}

/** 1 KB to ~110 KB: below and beyond the 64 KB body limit, in 1- to 4-byte characters. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.oneof(fc.constantFrom('x', 'é', '日', '😀', '\u200b', '\u0000', 'a\u0301'), anyString(6, 1)), fc.integer({ min: 1_000, max: 110_000 }))
  .map(([unit, length]) => (unit === '' ? 'x' : unit).repeat(Math.ceil(length / Math.max(unit.length, 1))).slice(0, length));

export const numericString = fc.constantFrom('NaN', '-0', '0', '1e309', '-1e309', 'Infinity', '-Infinity', '0x10', '1_000', ' 42 ', '4.2', '1e2', '+1', '-1', '00', '9007199254740993', '', '٣');

// --- JSON values -----------------------------------------------------------------------------

/** A value of any JSON type, mostly not the one a field wants. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-0, 0, -1, 1.5, 2 ** 53 + 2, Number.MAX_VALUE, 5e-324, 1e21, -1e21),
  anyString(60),
  numericString,
  hugeString,
  fc.array(fc.oneof(anyString(12), fc.integer(), fc.constant(null)), { maxLength: 6 }),
  fc.dictionary(anyString(8), anyString(8), { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Raw JSON text for a value that JSON.stringify would never write (or writes differently). */
export const rawToken = fc.constantFrom(
  '-0', '1e309', '-1e309', '1e-400', 'NaN', 'Infinity', '-Infinity', 'undefined', '0x10', '01', '.5', '1.', '+1', '1_000', '9007199254740993',
  '123456789012345678901234567890', 'nul', 'tru', '"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"\\uZZZZ"', '"\\x41"', '"unterminated', "'single'", '[', '{}', '[[[[[]]]]]',
);

// --- bodies ----------------------------------------------------------------------------------

export interface BodyPlan {
  /** What kind of body this is, for the figures. */
  kind: string;
  /** The body text; undefined for no body. */
  text?: string | undefined;
}

const RAW = '__fuzz_raw_token__';

/** One field of a valid body changed: set to a weird value, removed, or joined by an extra field. */
export function mutatedBody(valid: fc.Arbitrary<Record<string, unknown>>, fields: string[]): fc.Arbitrary<BodyPlan> {
  const field = fc.constantFrom(...fields);
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(valid, field, weirdValue).map(([body, name, value]) => ({ kind: 'field: wrong value', text: JSON.stringify({ ...body, [name]: value }) })) },
    { weight: 2, arbitrary: fc.tuple(valid, field).map(([body, name]) => ({ kind: 'field: missing', text: JSON.stringify(Object.fromEntries(Object.entries(body).filter(([key]) => key !== name))) })) },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.oneof(fc.constantFrom('isAdmin', 'userId', 'id', 'status', 'views', '__proto__', 'constructor', ''), anyString(20)), weirdValue).map(([body, name, value]) => ({
        kind: 'field: extra',
        // A literal `__proto__` key in JSON text is an own property once parsed: build the text by hand.
        text: `${JSON.stringify(body).slice(0, -1)}${Object.keys(body).length > 0 ? ',' : ''}${JSON.stringify(name)}:${JSON.stringify(value) ?? 'null'}}`,
      })),
    },
    { weight: 1, arbitrary: fc.tuple(valid, field).map(([body, name]) => ({ kind: 'field: null', text: JSON.stringify({ ...body, [name]: null }) })) },
    { weight: 2, arbitrary: fc.tuple(valid, field, hugeString).map(([body, name, value]) => ({ kind: 'field: huge string', text: JSON.stringify({ ...body, [name]: value }) })) },
    {
      weight: 2,
      arbitrary: fc.tuple(valid, field, rawToken).map(([body, name, token]) => ({ kind: 'field: raw JSON token', text: JSON.stringify({ ...body, [name]: RAW }).replace(`"${RAW}"`, token) })),
    },
  );
}

/** Broken or surprising JSON texts made from a valid body. */
export function badJson(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<BodyPlan> {
  const text = valid.map((body) => JSON.stringify(body));
  return fc.oneof(
    fc.tuple(text, fc.nat()).map(([json, cut]) => ({ kind: 'json: truncated', text: json.slice(0, json.length > 1 ? cut % (json.length - 1) : 0) })),
    fc.tuple(text, fc.constantFrom('x', '}', ']', ',', '{}', ' //', '\u0000', 'null', '"')).map(([json, tail]) => ({ kind: 'json: trailing garbage', text: json + tail })),
    text.map((json) => ({ kind: 'json: BOM', text: `\ufeff${json}` })),
    fc.tuple(valid, weirdValue).map(([body, value]) => {
      const [first] = Object.keys(body);
      const json = JSON.stringify(body);
      return { kind: 'json: duplicate key', text: first === undefined ? json : `{${JSON.stringify(first)}:${JSON.stringify(value) ?? 'null'},${json.slice(1)}` };
    }),
    text.map((json) => ({ kind: 'json: single quotes', text: json.replace(/"/g, "'") })),
    text.map((json) => ({ kind: 'json: trailing comma', text: json.length > 2 ? `${json.slice(0, -1)},}` : '{,}' })),
    text.map((json) => ({ kind: 'json: comment', text: `/* hi */${json}` })),
    fc.integer({ min: 1_000, max: 60_000 }).map((depth) => ({ kind: 'json: deep nesting', text: `${'['.repeat(depth)}${']'.repeat(depth)}` })),
    fc.integer({ min: 1_000, max: 30_000 }).map((depth) => ({ kind: 'json: deep nesting', text: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` })),
    fc.constantFrom('', ' ', '\n', '\t\r\n ').map((blank) => ({ kind: 'json: blank', text: blank })),
    fc.constantFrom('{', '}', '[', '"', 'nul', '{"a":}', '{"a" 1}', '{a:1}', '{"a":1}}', '\u0000', '\\', '{"\\ud800":1}').map((junk) => ({ kind: 'json: junk', text: junk })),
    anyString(200).map((junk) => ({ kind: 'json: random text', text: junk })),
  );
}

/** A whole body of another shape: an array, a string, a number, null, an empty object. */
export const otherShapeBody: fc.Arbitrary<BodyPlan> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'body: other JSON value', text: JSON.stringify(value) })),
  fc.constantFrom('null', '[]', '{}', '""', '0', 'true', '[{}]').map((text) => ({ kind: 'body: other JSON value', text })),
  fc.integer({ min: 1, max: 5_000 }).map((count) => ({
    kind: 'body: many keys',
    text: JSON.stringify(Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]))),
  })),
);

// --- content type, encoding, headers ---------------------------------------------------------

export const jsonContentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  { weight: 3, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON', 'application/merge-patch+json', 'application/vnd.api+json; charset=latin1', 'application/json ; x=y') },
);

export const wrongContentType = fc.oneof(
  fc.constantFrom(
    'text/plain', 'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonp', 'application/json-seq',
    'json', '', ' ', 'application/json\u0000', ' application/json', 'application/json, text/plain', 'application/ json', 'application/*', '*/*', 'image/jpeg',
  ),
  wellFormedString(60),
  hugeString.map((value) => value.slice(0, 20_000)),
);

export interface HeaderPlan {
  kind: string;
  headers: Record<string, string>;
}

const KNOWN_HEADERS = ['user-agent', 'origin', 'accept', 'accept-encoding', 'authorization', 'cookie', 'x-request-id', 'x-forwarded-for', 'content-length', 'host', 'referer', 'if-none-match', 'range', 'content-encoding', 'transfer-encoding', 'access-control-request-method'];

/** Header names as clients, proxies and serverless-offline send them. */
export const headerName = fc.oneof(
  { weight: 3, arbitrary: fc.mixedCase(fc.constantFrom(...KNOWN_HEADERS)) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'x-amzn-trace-id', 'x-api-key') },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9-]{0,30}$/) },
);

export const headerValue = fc.oneof(
  { weight: 3, arbitrary: wellFormedString(80) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'http://localhost:5173', 'https://evil.example', 'bytes=0-', 'gzip', 'chunked', '-1', '99999999999999999999') },
  { weight: 1, arbitrary: fc.integer({ min: 4_000, max: 40_000 }).chain((length) => wellFormedString(4, 1).map((unit) => (unit === '' ? 'x' : unit).repeat(Math.ceil(length / Math.max(unit.length, 1))).slice(0, length))) },
);

/** The headers besides Content-Type: usually a browser's, sometimes none, huge, odd or duplicated in another case. */
export const otherHeaders: fc.Arbitrary<HeaderPlan> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'headers: usual', headers: { host: 'api.test', 'user-agent': 'fast-check' } }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'headers: none', headers: {} }) },
  {
    weight: 3,
    arbitrary: fc.dictionary(headerName, headerValue, { minKeys: 1, maxKeys: 4 }).map((extra) => ({
      kind: 'headers: odd',
      // Built key by key: a generated `__proto__` name becomes an own header, not a prototype.
      headers: Object.entries(extra).reduce<Record<string, string>>(
        (all, [name, value]) => Object.defineProperty(all, name, { value, enumerable: true, writable: true, configurable: true }),
        { host: 'api.test', 'user-agent': 'fast-check' },
      ),
    })),
  },
);

/** How the body is encoded on the event: as text, base64 (as API Gateway does for binary), or base64 that is not. */
export const encoding = fc.oneof(
  { weight: 12, arbitrary: fc.constant<'text' | 'base64' | 'bad-base64'>('text') },
  { weight: 1, arbitrary: fc.constant<'text' | 'base64' | 'bad-base64'>('base64') },
  { weight: 1, arbitrary: fc.constant<'text' | 'base64' | 'bad-base64'>('bad-base64') },
);

export const badBase64 = fc.oneof(
  fc.constantFrom('!!!!', '%%%', '====', 'e30', 'e30==x', 'ey', '\u0000', 'Zm9v\nYmFy', 'not base64 at all {"a":1}'),
  anyString(100),
);

// --- path parameters and cursors -------------------------------------------------------------

/** Ids and strings a path segment should never accept, made from a real id. */
export function malformedId(real: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    real.map((id) => id.toLowerCase()),
    real.map((id) => `${id} `),
    real.map((id) => ` ${id}`),
    real.map((id) => `${id}\n`),
    real.map((id) => `${id}\u0000`),
    real.map((id) => id.slice(0, 25)),
    real.map((id) => `${id}0`),
    real.map((id) => `../${id}`),
    real.map((id) => `${id}/../../etc/passwd`),
    real.map((id) => `${id}/metadata`),
    real.map((id) => `${id.slice(0, 10)}%2F${id.slice(10)}`),
    real.map((id) => id.replace(/0/g, 'O').replace(/1/g, 'I')),
    real.map((id) => `\u202e${id}`),
    real.map((id) => `${id}\u200b`),
    real.map((id) => id.normalize('NFKC').replace(/A/g, 'Ａ')),
    fc.constantFrom('', ' ', '.', '..', '../', '..%2f', '%2e%2e', '/', '\\', '*', '%', 'null', 'undefined', 'current', 'me', '0', '-1', '__proto__', 'constructor', 'toString', '00000000000000000000000000', 'ZZZZZZZZZZZZZZZZZZZZZZZZZZ', '7ZZZZZZZZZZZZZZZZZZZZZZZZZ', 'UUUUUUUUUUUUUUUUUUUUUUUUUU', 'IIIIIIIIIIIIIIIIIIIIIIIIII'),
    fc.ulid(),
    fc.uuid(),
    wellFormedString(40),
    fc.integer({ min: 27, max: 20_000 }).map((length) => 'A'.repeat(length)),
    fc.integer({ min: 100, max: 5_000 }).chain((length) => wellFormedString(3, 1).map((unit) => unit.repeat(length))),
  );
}

const b64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/**
 * Cursors a client could send: the user's own (valid), another user's (issued to B), and
 * forgeries made from the user's own: re-pointed at B's partition or index, with attributes
 * added, removed or retyped, and broken at the text level.
 */
export function cursorArbitrary(own: string[], others: string[], otherUserId: string, otherIds: string[]): fc.Arbitrary<{ kind: string; cursor: string }> {
  const decoded = own.map((cursor) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, string>);
  const ownKey = fc.constantFrom(...decoded);
  const retarget = (key: Record<string, string>, otherId: string): Record<string, string> =>
    Object.fromEntries(
      Object.entries(key).map(([name, value]) => {
        const replaced = value.replace(/USER#[0-9A-Z]{26}/, `USER#${otherUserId}`).replace(/[0-9A-HJKMNP-TV-Z]{26}$/, otherId);
        return [name, replaced];
      }),
    );
  const forgedForOther = fc.oneof(
    fc.tuple(ownKey, fc.constantFrom(...otherIds)).map(([key, id]) => b64url(JSON.stringify(retarget(key, id)))),
    ownKey.map((key) => b64url(JSON.stringify({ ...key, pk: `USER#${otherUserId}` }))),
  );
  const forged = fc.oneof(
    ownKey.map((key) => b64url(JSON.stringify({ ...key, extra: 'x' }))),
    ownKey.map((key) => b64url(JSON.stringify(Object.fromEntries(Object.entries(key).slice(1))))),
    fc.tuple(ownKey, weirdValue).map(([key, value]) => b64url(JSON.stringify({ ...key, sk: value }))),
    ownKey.map((key) => b64url(JSON.stringify({ ...key, sk: `${key['sk'] ?? ''}${'Z'.repeat(1100)}` }))),
    ownKey.map((key) => b64url(`{"__proto__":{"polluted":"yes"},${JSON.stringify(key).slice(1)}`)),
    ownKey.map((key) => b64url(JSON.stringify({ ...key, sk: (key['sk'] ?? '').replace(/^[A-Z]+#/, 'SESSION#') }))),
    ownKey.map((key) => b64url(JSON.stringify([key]))),
    fc.constantFrom('null', '"x"', '1', '{}', '[]', 'true').map(b64url),
    fc.jsonValue({ maxDepth: 2 }).map((value) => b64url(JSON.stringify(value))),
  );
  const broken = fc.oneof(
    fc.tuple(fc.constantFrom(...own), fc.nat()).map(([cursor, at]) => {
      const index = at % cursor.length;
      const flipped = cursor[index] === 'A' ? 'B' : 'A';
      return `${cursor.slice(0, index)}${flipped}${cursor.slice(index + 1)}`;
    }),
    fc.tuple(fc.constantFrom(...own), fc.nat()).map(([cursor, cut]) => cursor.slice(0, cut % cursor.length)),
    fc.constantFrom(...own).map((cursor) => `${cursor}==`),
    fc.constantFrom(...own).map((cursor) => Buffer.from(cursor, 'base64url').toString('base64')),
    fc.constantFrom(...own).map((cursor) => ` ${cursor}`),
    fc.constantFrom(...own).map((cursor) => cursor.toLowerCase()),
    fc.constantFrom(...own).map((cursor) => cursor.repeat(40)),
    fc.base64String({ minLength: 4, maxLength: 200 }),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,300}$/),
    wellFormedString(60),
    fc.integer({ min: 2_000, max: 10_000 }).map((length) => 'e'.repeat(length)),
  );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...own).map((cursor) => ({ kind: 'cursor: own', cursor })) },
    { weight: 3, arbitrary: fc.constantFrom(...others).map((cursor) => ({ kind: "cursor: B's", cursor })) },
    { weight: 2, arbitrary: forgedForOther.map((cursor) => ({ kind: 'cursor: forged for B', cursor })) },
    { weight: 3, arbitrary: forged.map((cursor) => ({ kind: 'cursor: forged', cursor })) },
    { weight: 3, arbitrary: broken.map((cursor) => ({ kind: 'cursor: broken', cursor })) },
  );
}

export const badLimit = fc.oneof(
  fc.constantFrom('0', '-1', '101', '1000', '1.5', 'abc', '', ' ', '1e2', '1e1', '0x10', 'Infinity', 'NaN', '-0', ' 5', '5 ', '٣', '99999999999999999999', '25,25', '[1]', 'null', 'true'),
  fc.integer({ min: -1_000, max: 1_000 }).map(String),
  wellFormedString(12),
);
