/**
 * What the fuzzer needs to know about each operation of local/openapi/routes.ts beyond the
 * table: which file serves it (serverless.yml), valid bodies to mutate (with A's real
 * password and tokens, so some requests get through to the domain), A's and B's ids for its
 * path parameter, and real cursors of A and B for its list.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type * as core from 'zod/v4/core';
import { OPERATIONS, type Operation } from '../openapi/routes';
import { serviceConfig } from '../stack/serviceConfig';
import * as analysesDomain from '../../shared/domain/analyses';
import { ALLOWED_TYPES } from '../../shared/media-info/types';
import { anyString, wellFormedString } from './arbitraries';
import { A, B } from './world';

export interface PathParameter {
  name: string;
  /** A's ids of the kind the route names (valid requests). */
  own: string[];
  /** A's ids of other kinds: valid syntax, no such object here. */
  ownOtherKind: string[];
  /** B's ids: must never be served to A. */
  other: string[];
}

export interface RouteFuzz {
  /** operationId (the function name unless the table says otherwise). */
  name: string;
  op: Operation;
  modulePath: string;
  extraStubs: Record<string, unknown>;
  /** Valid bodies to start from; undefined for routes without one. */
  validBody?: fc.Arbitrary<Record<string, unknown>>;
  bodyFields: string[];
  pathParameter?: PathParameter;
  /** Valid values of the list filters other than limit and cursor. */
  filters?: fc.Arbitrary<Record<string, string>>;
}

type Def = { type?: string; shape?: Record<string, unknown>; innerType?: core.$ZodType; in?: core.$ZodType };

/** The field names of an object schema (through optional, pipe and checks). */
export function fieldsOf(schema: core.$ZodType | undefined): string[] {
  let current: core.$ZodType | undefined = schema;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    const def = current._zod.def as Def;
    if (def.shape !== undefined) return Object.keys(def.shape);
    current = def.innerType ?? def.in;
  }
  return [];
}

const wrongPassword = fc.oneof(fc.constant('wrong password 123'), anyString(40, 1));
const newPassword = fc.oneof(fc.constant('a brand new passphrase'), anyString(300, 1));
const displayName = fc.oneof(fc.constant('Zed'), wellFormedString(110));
const email = fc.oneof(
  { weight: 3, arbitrary: fc.emailAddress() },
  { weight: 1, arbitrary: fc.constantFrom(A.email, ` ${A.email.toUpperCase()} `) },
  { weight: 1, arbitrary: anyString(60) },
);

/** Callback URLs resolve through this instead of DNS: the fuzz run stays off the network. */
export async function fakeResolver(hostname: string): Promise<string[]> {
  if (hostname === 'localhost') return ['127.0.0.1'];
  if (hostname === 'internal.example') return ['10.1.2.3'];
  if (hostname.endsWith('.example') || hostname.endsWith('.example.com')) return ['93.184.215.14'];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
}

const createAnalysisStubs = {
  '../../shared/domain/analyses': {
    requestAnalysis: (deps: analysesDomain.RequestDeps, ...rest: [{ userId: string }, string, { callbackUrl?: string | undefined }]) =>
      analysesDomain.requestAnalysis({ ...deps, resolve: fakeResolver }, ...rest),
  },
};

function validBodyOf(functionName: string): fc.Arbitrary<Record<string, unknown>> | undefined {
  switch (functionName) {
    case 'createUser':
      return fc.record({
        email: fc.oneof({ weight: 4, arbitrary: email }, { weight: 1, arbitrary: fc.constantFrom(B.email, ` ${B.email.toUpperCase()}`) }),
        password: fc.oneof(fc.constant('correct horse battery staple'), newPassword),
        name: displayName,
      });
    case 'updateMe':
      return fc.oneof(
        fc.record({ name: displayName }),
        fc.record({ password: newPassword, currentPassword: fc.constant(A.password) }),
        fc.record({ password: newPassword, currentPassword: wrongPassword }),
        fc.record({ name: displayName, password: newPassword, currentPassword: fc.oneof(fc.constant(A.password), wrongPassword) }),
      );
    case 'deleteMe':
      return fc.record({ password: fc.oneof(fc.constant(A.password), wrongPassword) });
    case 'createSession':
      return fc.record(
        {
          // B's email too: guessing B's password must fail like any other wrong password.
          email: fc.oneof({ weight: 3, arbitrary: fc.constant(A.email) }, { weight: 2, arbitrary: fc.constant(B.email) }, { weight: 2, arbitrary: email }),
          password: fc.oneof({ weight: 3, arbitrary: fc.constant(A.password) }, { weight: 2, arbitrary: wrongPassword }, { weight: 1, arbitrary: fc.constant(B.password.replace('bravo', 'alfa')) }),
          remember: fc.boolean(),
        },
        { requiredKeys: ['email', 'password'] },
      );
    case 'refreshSession':
      return fc.record({
        refreshToken: fc.oneof(
          { weight: 3, arbitrary: fc.constant(`${A.userId}.${A.sessionId}.${A.refreshSecret}`) },
          { weight: 1, arbitrary: fc.constantFrom(`${A.userId}.${A.otherSessionId}.${A.refreshSecret}`, `${A.userId}.${A.expiredSessionId}.${A.refreshSecret}-expired`) },
          // B's real session ids with secrets the fuzzer makes up, and A's secret under B's ids.
          { weight: 2, arbitrary: fc.tuple(fc.constantFrom(B.sessionId, B.otherSessionId), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)).map(([session, secret]) => `${B.userId}.${session}.${secret}`) },
          { weight: 1, arbitrary: fc.constant(`${B.userId}.${B.sessionId}.${A.refreshSecret}`) },
          { weight: 1, arbitrary: fc.constant(`${A.userId}.${B.sessionId}.${A.refreshSecret}`) },
          { weight: 2, arbitrary: anyString(600, 1) },
        ),
      });
    case 'createMedia':
      return fc.record(
        {
          filename: fc.oneof(fc.constantFrom('photo.jpg', '../../etc/passwd', 'C:\\x\\y.png', '.jpg', ' '), anyString(260, 1)),
          contentType: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ALLOWED_TYPES) }, { weight: 1, arbitrary: fc.constantFrom('image/svg+xml', 'IMAGE/JPEG', 'image/jpeg; x=y', 'application/pdf', 'text/html') }, { weight: 1, arbitrary: anyString(110, 1) }),
          size: fc.oneof(fc.integer({ min: 1, max: 10_000_000 }), fc.constantFrom(0, -1, 1.5, 50 * 1024 * 1024, 50 * 1024 * 1024 + 1, 2 * 1024 ** 3 + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2)),
          sha256: fc.oneof(
            fc.stringMatching(/^[0-9a-fA-F]{64}$/),
            // A's own content (409 duplicate) and B's (another user's content is no duplicate of A's).
            fc.constantFrom(...[...Object.values(A.media), ...Object.values(B.media)].map((id) => sha256Hex(id))),
            anyString(70),
          ),
        },
        { requiredKeys: ['filename', 'contentType', 'size'] },
      );
    case 'updateMetadata':
      return fc.record(
        {
          title: fc.oneof(fc.constant('A new title'), anyString(210)),
          description: fc.oneof(fc.constant('words'), anyString(2100)),
          tags: fc.oneof(fc.constant(['alfa-new']), fc.array(fc.oneof(fc.constantFrom(...A.tags, ' Alfa-NEW ', 'ǅ', 'e\u0301'), anyString(55, 1)), { maxLength: 55 })),
          favorite: fc.oneof({ arbitrary: fc.boolean(), weight: 6 }, fc.constantFrom('true', 1, null, 'yes')),
          archived: fc.oneof({ arbitrary: fc.boolean(), weight: 6 }, fc.constantFrom('false', 0, null, {})),
        },
        { requiredKeys: [] },
      );
    case 'batchEditMedia': {
      // A's items, B's (each must come back 404 and stay unchanged), and ids of nothing.
      const ids = fc.constantFrom(...Object.values(A.media), ...Object.values(B.media), '01JD8X2M6Q7T9W3Y5A7C9E1G3K');
      return fc.record(
        {
          ids: fc.oneof({ weight: 4, arbitrary: fc.uniqueArray(ids, { minLength: 1, maxLength: 6 }) }, fc.array(fc.oneof(ids, anyString(30)), { maxLength: 8 })),
          addTags: fc.oneof(fc.constant(['alfa-batch']), fc.array(fc.oneof(fc.constantFrom(...A.tags, ' Batch '), anyString(55, 1)), { maxLength: 55 })),
          removeTags: fc.oneof(fc.constant([A.tags[0] as string]), fc.array(anyString(55, 1), { maxLength: 3 })),
          favorite: fc.oneof({ arbitrary: fc.boolean(), weight: 6 }, fc.constantFrom('true', null)),
          archived: fc.oneof({ arbitrary: fc.boolean(), weight: 6 }, fc.constantFrom(0, {})),
        },
        { requiredKeys: ['ids'] },
      );
    }
    case 'createAnalysis':
      return fc.oneof(
        fc.constant({}),
        fc.record({
          callbackUrl: fc.oneof(
            fc.constantFrom('https://hooks.example/done', 'http://127.0.0.1:9/x', 'https://localhost/x', 'https://10.0.0.1/', 'https://internal.example/x', 'http://169.254.169.254/latest', 'file:///etc/passwd', 'https://user:pw@hooks.example/', 'https://[::1]/', 'https://[::ffff:10.0.0.1]/', 'javascript:alert(1)', 'https://hooks.example:99999/'),
            fc.webUrl().map((url) => url.replace(/^http:/, 'https:')),
            anyString(2100, 1),
          ),
        }),
      );
    default:
      return undefined;
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const mediaIds = (who: typeof A): string[] => Object.values(who.media);
const analysisIds = (who: typeof A): string[] => Object.values(who.analyses);
const sessionIds = (who: typeof A): string[] => [who.sessionId, who.otherSessionId, who.expiredSessionId];

function pathParameterOf(op: Operation): PathParameter | undefined {
  const name = /\{(\w+)\}/.exec(op.path)?.[1];
  if (name === undefined) return undefined;
  if (op.path.startsWith('/docs/')) {
    return { name, own: ['swagger-ui.css', 'init.js', 'swagger-ui-bundle.js'], ownOtherKind: ['index.html', 'swagger-ui.js', 'openapi.json', '.env', 'favicon.ico'], other: [] };
  }
  if (op.path.startsWith('/v1/analyses/')) {
    return { name, own: analysisIds(A), ownOtherKind: [...mediaIds(A), ...sessionIds(A), A.userId], other: [...analysisIds(B), ...mediaIds(B)] };
  }
  if (op.path.startsWith('/v1/sessions/')) {
    return { name, own: [...sessionIds(A), 'current'], ownOtherKind: [...mediaIds(A), A.userId], other: [...sessionIds(B), B.userId] };
  }
  if (op.path.startsWith('/v1/media/')) {
    return { name, own: mediaIds(A), ownOtherKind: [...analysisIds(A), ...sessionIds(A), A.userId], other: [...mediaIds(B), ...analysisIds(B)] };
  }
  throw new Error(`no path parameter plan for ${op.path}`);
}

function filtersOf(functionName: string): fc.Arbitrary<Record<string, string>> | undefined {
  if (functionName !== 'listMedia') return undefined;
  return fc.record(
    {
      type: fc.oneof(fc.constantFrom('image', 'video'), fc.constantFrom('IMAGE', 'audio', '', 'image,video'), wellFormedString(12)),
      status: fc.oneof(fc.constantFrom('pending', 'ready', 'rejected'), fc.constantFrom('deleting', 'READY', ''), wellFormedString(12)),
      // A's tags, B's tags (must find nothing of B's), odd ones.
      tag: fc.oneof(fc.constantFrom(...A.tags, ...B.tags, ` ${(A.tags[0] ?? '').toUpperCase()} `, '%', '#', 'a#b'), wellFormedString(60, 1)),
      // Mostly valid: a request with one bad filter of five is a 400, and the views must be served too.
      favorite: fc.oneof({ arbitrary: fc.constantFrom('true', 'false'), weight: 6 }, fc.constantFrom('TRUE', '1', '', 'yes'), wellFormedString(8)),
      archived: fc.oneof({ arbitrary: fc.constantFrom('exclude', 'include', 'only'), weight: 6 }, fc.constantFrom('true', 'ONLY', '', 'all'), wellFormedString(8)),
    },
    { requiredKeys: [] },
  );
}

export function routesToFuzz(): RouteFuzz[] {
  const functions = serviceConfig('local').functions;
  return OPERATIONS.map((op) => {
    const fn = functions[op.functionName];
    if (fn === undefined) throw new Error(`${op.functionName} is not a function of serverless.yml`);
    const validBody = op.body === undefined ? undefined : validBodyOf(op.functionName);
    if (op.body !== undefined && validBody === undefined) throw new Error(`no valid body plan for ${op.functionName}: add one to local/reliability/routes.ts`);
    const pathParameter = pathParameterOf(op);
    const filters = filtersOf(op.functionName);
    return {
      name: op.operationId ?? op.functionName,
      op,
      modulePath: fn.handler.slice(0, fn.handler.lastIndexOf('.')),
      extraStubs: op.functionName === 'createAnalysis' ? createAnalysisStubs : {},
      ...(validBody === undefined ? {} : { validBody }),
      bodyFields: fieldsOf(op.body),
      ...(pathParameter === undefined ? {} : { pathParameter }),
      ...(filters === undefined ? {} : { filters }),
    };
  });
}
