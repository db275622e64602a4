/**
 * Fuzzing (fast-check): every operation of local/openapi/routes.ts, in process, against its
 * real handler over in-memory stores holding two users. A is the caller; B is someone else.
 * Generated requests mix wrong types, missing and extra fields, huge and unicode strings, raw
 * JSON tokens, broken JSON, wrong content types and encodings, odd headers, bad path
 * parameters (B's ids among them), bad limits and cursors (B's, forged, broken). The
 * authorizer gets generated, tampered and re-signed tokens.
 *
 * Property of every answer: 2xx or 4xx, never 5xx; the handler never throws; the answer is
 * what docs/openapi.v1.json documents (status, error code, body shape); a 4xx carries
 * {error: {code, message}}; nothing of B's (ids, email, name, tags, filenames, titles) is in
 * the body, the headers or a returned cursor; a request naming B's object is refused; and
 * B's records are exactly as before. The authorizer allows a token only if we signed it, its
 * claims pass every rule and its session is live, and refuses with exactly "Unauthorized".
 *
 *   npx mocha local/reliability/fuzz.test.ts                      fixed seed, small budget (npm test)
 *   npm run fuzz                                                  FUZZ_RUNS=2000, a random seed (printed)
 *   FUZZ_SEED=<seed> FUZZ_RUNS=<n> npx mocha local/reliability/fuzz.test.ts --grep <operation>   replay
 */
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'chai';
import fc from 'fast-check';
import { ContractViolation, checkHandlerResponse } from '../test/contract';
import { lambdaContext } from '../test/events';
import { loadHandler } from '../test/handlers';
import { OPERATIONS } from '../openapi/routes';
import { Figures } from './figures';
import { fuzzInvoke, type FuzzRequest, type Outcome } from './invoke';
import { requestArbitrary, summary, type Generated, type ListCursors } from './requests';
import { routesToFuzz, type RouteFuzz } from './routes';
import { anyString, wellFormedString } from './arbitraries';
import { claimsAcceptable, signedByUs, tokenCaseArbitrary, type Subject } from './tokens';
import { A, B, distinctiveStrings, fuzzWorld, sameSnapshot, type FuzzWorld } from './world';

function runsFromEnv(): number {
  const raw = process.env['FUZZ_RUNS'];
  if (raw === undefined || raw === '') return 40;
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`FUZZ_RUNS must be a positive integer, got "${raw}"`);
  return runs;
}

function seedFromEnv(): number {
  const raw = process.env['FUZZ_SEED'];
  if (raw === undefined || raw === '') return 20_261_121;
  if (raw === 'random') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(raw);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer or "random", got "${raw}"`);
  return seed;
}

const RUNS = runsFromEnv();
const SEED = seedFromEnv();
/** Each property gets its own seed, derived from the run's: replaying one needs only FUZZ_SEED (and --grep). */
const seedOf = (index: number): number => (SEED + index * 7919) | 0;

const B_STRINGS = distinctiveStrings(B);
const A_CALLER = { userId: A.userId, sessionId: A.sessionId };

/** B's strings in a response: body, headers, and inside a returned cursor. */
function leaksIn(outcome: Outcome): string[] {
  const haystacks = [outcome.text, ...Object.values(outcome.headers)];
  const cursor = (outcome.json as { nextCursor?: unknown } | undefined)?.nextCursor;
  if (typeof cursor === 'string') haystacks.push(Buffer.from(cursor, 'base64url').toString('utf8'));
  const lower = haystacks.filter((text) => text.length < 500_000).map((text) => text.toLowerCase());
  return B_STRINGS.filter((needle) => haystacks.some((text) => text.includes(needle)) || lower.some((text) => text.includes(needle.toLowerCase())));
}

function statusLabel(outcome: Outcome): string {
  if (outcome.threw !== undefined) return 'threw';
  const code = (outcome.json as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? `${outcome.status} ${code}` : String(outcome.status);
}

/** What is wrong with an answer, if anything. */
function problemsOf(outcome: Outcome, namesOther: boolean): string[] {
  if (outcome.threw !== undefined) {
    const error = outcome.threw as Error;
    return [`the handler threw instead of answering: ${error?.stack ?? String(error)}`];
  }
  const problems: string[] = [];
  const { status } = outcome;
  if (status >= 500) problems.push(`answered ${status} (never a 5xx for a request): ${outcome.text.slice(0, 300)}`);
  else if (!((status >= 200 && status < 300) || (status >= 400 && status < 500))) problems.push(`answered ${status}: neither 2xx nor 4xx`);
  if (outcome.violation !== undefined) problems.push(`not what docs/openapi.v1.json documents: ${outcome.violation}`);
  if (status >= 400 && status < 500) {
    const error = (outcome.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (typeof error?.code !== 'string' || typeof error.message !== 'string') problems.push(`a ${status} without the error shape {error: {code, message}}: ${outcome.text.slice(0, 300)}`);
  }
  if (namesOther && status < 300) problems.push(`answered ${status} to a request naming one of B's objects`);
  const leaked = leaksIn(outcome);
  if (leaked.length > 0) problems.push(`B's data in the answer: ${leaked.join(', ')}`);
  return problems;
}

describe('fuzzing: every route answers hostile requests with a documented 2xx/4xx, never 5xx, never B’s data', function () {
  // The budget is the number of runs; the time limit only stops a hang.
  this.timeout(Math.max(30_000, RUNS * 150));

  const figures = new Figures();
  const authorizerFigures = new Map<string, { allowed: number; refused: number; other: number }>();
  let fw: FuzzWorld;
  let routes: RouteFuzz[];
  const handlers = new Map<string, unknown>();
  const cursors = new Map<string, ListCursors>();
  let bSeeded: unknown;
  const startedAt = Date.now();

  const route = (name: string): RouteFuzz => routes.find((candidate) => candidate.name === name) as RouteFuzz;
  const handlerOf = (name: string): unknown => handlers.get(name);

  /** A list request of A or B, straight through the handler: real cursors, as clients get them. */
  async function listCursor(name: string, who: typeof A, query: Record<string, string>): Promise<string | undefined> {
    const listing = route(name);
    fw.restore();
    const outcome = await fuzzInvoke(handlerOf(name), {
      method: 'GET',
      template: listing.op.path,
      query,
      headers: { host: 'api.test' },
      caller: { userId: who.userId, sessionId: who.sessionId },
    });
    expect(outcome.status, outcome.text).to.equal(200);
    const cursor = (outcome.json as { nextCursor: string | null }).nextCursor;
    return cursor ?? undefined;
  }

  before(async function () {
    this.timeout(120_000);
    fw = await fuzzWorld();
    routes = routesToFuzz();
    for (const candidate of routes) handlers.set(candidate.name, loadHandler(candidate.modulePath, fw.world, candidate.extraStubs));
    bSeeded = fw.snapshotOf(B);
    const mediaCursors = async (who: typeof A): Promise<string[]> => {
      const found: string[] = [];
      const filters: Array<Record<string, string>> = [{}, { type: 'image' }, { status: 'ready' }, { tag: who.tags[0] as string }];
      for (const filter of filters) {
        const cursor = await listCursor('listMedia', who, { limit: '1', ...filter });
        if (cursor !== undefined) found.push(cursor);
      }
      return found;
    };
    cursors.set('listMedia', { own: await mediaCursors(A), others: await mediaCursors(B) });
    const sessionCursor = async (who: typeof A): Promise<string[]> => [(await listCursor('listSessions', who, { limit: '1' })) as string];
    cursors.set('listSessions', { own: await sessionCursor(A), others: await sessionCursor(B) });
    for (const [name, found] of cursors) {
      expect(found.own.length, `${name}: A's cursors`).to.be.greaterThan(0);
      expect(found.others.length, `${name}: B's cursors`).to.be.greaterThan(0);
    }
    fw.restore();
  });

  after(function () {
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    const authorizerLines = ['', '| authorizer: token | events | allowed | refused ("Unauthorized") | anything else |', '|---|---:|---:|---:|---:|'];
    for (const [kind, counts] of [...authorizerFigures].sort(([a], [b]) => (a < b ? -1 : 1))) {
      authorizerLines.push(`| ${kind} | ${counts.allowed + counts.refused + counts.other} | ${counts.allowed} | ${counts.refused} | ${counts.other} |`);
    }
    figures.notes.push(...authorizerLines);
    console.log(
      `\n${figures.render([
        `## Fuzzing figures (fast-check ${fc.__version})`,
        '',
        `seed ${SEED} (FUZZ_SEED), ${RUNS} runs per property (FUZZ_RUNS), ${seconds} s; replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npx mocha local/reliability/fuzz.test.ts`,
      ])}\n`,
    );
  });

  it('checks every answer against the contract: an undocumented status from any of these handlers would fail', function () {
    expect(routes.map((candidate) => candidate.name).sort()).to.deep.equal(OPERATIONS.map((op) => op.operationId ?? op.functionName).sort());
    for (const candidate of routes) {
      const path = candidate.op.path.replace(/\{\w+\}/g, 'x');
      expect(() => checkHandlerResponse(handlerOf(candidate.name), candidate.op.method, path, { status: 599, headers: {}, text: '' }), candidate.name).to.throw(ContractViolation);
    }
  });

  OPERATIONS.forEach((op, index) => {
    const name = op.operationId ?? op.functionName;
    it(`${name}: ${op.method} ${op.path}`, async function () {
      const target = route(name);
      const handler = handlerOf(name);
      const label = `${name} (${op.method} ${op.path})`;
      const arbitrary = requestArbitrary(target, cursors.get(name));
      await fc.assert(
        fc.asyncProperty(arbitrary, async (generated: Generated) => {
          fw.restore();
          const outcome = await fuzzInvoke(handler, generated.request);
          const routeFigures = figures.route(label);
          figures.count(label, statusLabel(outcome), generated.kinds);
          const problems = problemsOf(outcome, generated.namesOther);
          if (outcome.threw !== undefined) routeFigures.crashes++;
          if (outcome.violation !== undefined) routeFigures.contractViolations++;
          if (outcome.threw === undefined && leaksIn(outcome).length > 0) routeFigures.leaks++;
          if (generated.namesOther) {
            routeFigures.namingOther++;
            if (outcome.status >= 200 && outcome.status < 300) routeFigures.namingOtherServed++;
          }
          if (!sameSnapshot(fw.snapshotOf(B), bSeeded)) {
            routeFigures.otherUserChanges++;
            problems.push("B's records changed");
          }
          if (problems.length > 0) throw new Error(`${problems.join('\n')}\nrequest: ${summary({ kinds: generated.kinds, request: generated.request })}`);
        }),
        { numRuns: RUNS, seed: seedOf(index), endOnFailure: true },
      );
    });
  });

  it('authorizer: allows only tokens we signed, with valid claims, of a live session; refuses anything else with "Unauthorized"', async function () {
    const authorize = loadHandler('functions/sessions/authorizer', fw.world) as (event: unknown, context: unknown) => Promise<{ isAuthorized?: unknown; context?: unknown }>;
    const isLive = (subject: Subject): boolean => {
      const session = fw.world.sessions.records.get(`${subject.userId}/${subject.sessionId}`);
      return session !== undefined && Date.parse(session.expiresAt) > Date.now();
    };
    await fc.assert(
      fc.asyncProperty(tokenCaseArbitrary(), async (tokenCase) => {
        fw.restore();
        const before = Math.floor(Date.now() / 1000);
        let result: { isAuthorized?: unknown; context?: unknown } | undefined;
        let error: unknown;
        try {
          result = await authorize(tokenCase.event, lambdaContext('authorizer'));
        } catch (thrown) {
          error = thrown;
        }
        const after = Math.ceil(Date.now() / 1000);
        const counts = authorizerFigures.get(tokenCase.kind) ?? { allowed: 0, refused: 0, other: 0 };
        authorizerFigures.set(tokenCase.kind, counts);
        const problems: string[] = [];
        if (error !== undefined) {
          if (error instanceof Error && error.message === 'Unauthorized') counts.refused++;
          else {
            counts.other++;
            problems.push(`failed with something other than the documented refusal: ${error instanceof Error ? error.stack : JSON.stringify(error)}`);
          }
          if (tokenCase.mustAllow !== undefined) problems.push('refused a token exactly as issued, of a live session');
        } else if (result?.isAuthorized === true) {
          counts.allowed++;
          const justified = tokenCase.tokens.some((token) => {
            const [header, payload, signature, ...rest] = token.split('.');
            if (signature === undefined || rest.length > 0) return false;
            const signed = signedByUs.get(`${header}.${payload}`);
            const subject = signed === undefined ? undefined : claimsAcceptable(signed, before, after);
            return subject !== undefined && isLive(subject) && isDeepStrictEqual(result?.context, { userId: subject.userId, sessionId: subject.sessionId });
          });
          if (!justified) problems.push(`allowed a token it must refuse, as ${JSON.stringify(result.context)}`);
          if (tokenCase.mustAllow !== undefined && !isDeepStrictEqual(result.context, tokenCase.mustAllow)) problems.push(`allowed as ${JSON.stringify(result.context)}, not as the token's subject`);
        } else {
          counts.other++;
          problems.push(`answered neither an allow nor the documented refusal: ${JSON.stringify(result)}`);
        }
        if (problems.length > 0) throw new Error(`${problems.join('\n')}\n${summary({ kind: tokenCase.kind, headers: tokenCase.event.headers, identitySource: tokenCase.event.identitySource })}`);
      }),
      { numRuns: RUNS, seed: seedOf(OPERATIONS.length), endOnFailure: true },
    );
    const total = [...authorizerFigures.values()].reduce((sum, counts) => sum + counts.allowed, 0);
    expect(total, 'some generated tokens were valid and allowed').to.be.greaterThan(0);
  });

  it('what A stores through the API (any unicode in filenames, tags, titles, names, user agents), A can read back: never a 5xx', async function () {
    const label = 'round trip: write, then read back';
    const json = { host: 'api.test', 'user-agent': 'fast-check', 'content-type': 'application/json' };
    const call = async (name: string, request: Omit<FuzzRequest, 'method' | 'template' | 'headers'> & { headers?: Record<string, string> }): Promise<Outcome> => {
      const target = route(name);
      const outcome = await fuzzInvoke(handlerOf(name), { method: target.op.method, template: target.op.path, headers: json, caller: A_CALLER, ...request });
      figures.count(label, statusLabel(outcome), [`round trip: ${name}`]);
      return outcome;
    };
    const writes = fc.record({
      filename: anyString(255, 1),
      contentType: fc.constantFrom('image/jpeg', 'image/png', 'image/webp', 'image/gif'),
      title: anyString(200),
      description: anyString(300),
      tags: fc.array(anyString(50, 1), { maxLength: 6 }),
      name: anyString(100, 1),
      userAgent: wellFormedString(400),
    });
    await fc.assert(
      fc.asyncProperty(writes, async (input) => {
        fw.restore();
        const problems: string[] = [];
        const judge = (what: string, outcome: Outcome, mustSucceed: boolean): void => {
          const found = problemsOf(outcome, false);
          if (mustSucceed && !(outcome.status >= 200 && outcome.status < 300)) found.push(`answered ${statusLabel(outcome)}, not 2xx`);
          if (found.length > 0) problems.push(`${what}: ${found.join('; ')}`);
        };
        const created = await call('createMedia', { body: JSON.stringify({ filename: input.filename, contentType: input.contentType, size: 1000 }) });
        judge('POST /v1/media', created, false);
        let id = A.media.readyImage;
        if (created.status === 201) {
          id = (created.json as { media: { id: string } }).media.id;
          // What processUpload does once the bytes arrive: the item becomes ready, with thumbnails.
          const record = await fw.world.media.get(A.userId, id);
          const prefix = `media/${A.userId}/${id}/`;
          await fw.world.content.put(`${prefix}original`, Buffer.from('bytes'), input.contentType);
          await fw.world.media.markReady(record as NonNullable<typeof record>, { width: 10, height: 10, thumbnails: { small: `${prefix}thumb-small.webp`, large: `${prefix}thumb-large.webp` } }, '"etag"', new Date().toISOString());
        }
        judge('PATCH metadata', await call('updateMetadata', { pathParameters: { id }, body: JSON.stringify({ title: input.title, description: input.description, tags: input.tags }) }), false);
        judge('PATCH /v1/users/me', await call('updateMe', { body: JSON.stringify({ name: input.name }) }), false);
        judge('POST /v1/sessions', await call('createSession', { body: JSON.stringify({ email: A.email, password: A.password }), headers: { ...json, 'user-agent': input.userAgent } }), true);
        judge('GET /v1/media/{id}', await call('getMedia', { pathParameters: { id } }), true);
        judge('GET /v1/media/{id}/metadata', await call('getMetadata', { pathParameters: { id } }), true);
        judge('GET /v1/media', await call('listMedia', { query: { limit: '100' } }), true);
        judge('GET /v1/media?type=image', await call('listMedia', { query: { type: 'image' } }), true);
        judge('GET /v1/media?status=ready', await call('listMedia', { query: { status: 'ready' } }), true);
        const stored = await fw.world.media.get(A.userId, id);
        // A URL carries well-formed text only: what API Gateway hands over for a tag that was not.
        for (const tag of stored?.tags ?? []) judge(`GET /v1/media?tag=${JSON.stringify(tag)}`, await call('listMedia', { query: { tag: tag.toWellFormed() } }), true);
        judge('GET /v1/tags', await call('listTags', {}), true);
        judge('GET /v1/users/me', await call('getMe', {}), true);
        judge('GET /v1/sessions', await call('listSessions', { query: { limit: '100' } }), true);
        if (!sameSnapshot(fw.snapshotOf(B), bSeeded)) problems.push("B's records changed");
        if (problems.length > 0) throw new Error(problems.join('\n'));
      }),
      { numRuns: RUNS, seed: seedOf(OPERATIONS.length + 1), endOnFailure: true },
    );
  });
});
