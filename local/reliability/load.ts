/**
 * `npm run load`: many users doing what users do, at once, against the stack of `npm start`.
 *
 * Each of LOAD_USERS (100) users signs up, logs in and opens a live-updates WebSocket connection
 * (all of them first: LOAD_USERS connections are open at once for the whole run). Then each
 * uploads LOAD_IMAGES (5) images through the presigned POST flow, waits until they are ready,
 * lists them, tags each, lists the tags, marks them all favourites in one batch request and lists
 * the favourites, analyses one (polling until it succeeded) and logs out;
 * LOAD_CONCURRENCY (20) users run at a time. Every connection must have received exactly its
 * person's events (media.ready for each upload, metadata.updated for each tag edit and favourite,
 * analysis.finished, then session.revoked and the close at logout) and nothing of anybody else.
 * Then the consistency checker reads every store for these users (nothing is in flight any
 * more). The run passes with zero errors (every answer 2xx), every upload `ready`, every
 * analysis `succeeded`, no live event missing or misdelivered and zero violations; it prints
 * p50/p95/p99 per route, the push latency and the throughput.
 *
 * By default it starts its own `npm start` (local/start.ts) on free ports with a throwaway data
 * folder and stops it afterwards; `--url http://localhost:3000` uses one that is running (the
 * checker then reads DynamoDB and S3 on ML_DYNAMODB_PORT/ML_S3_PORT, default 8000/4569).
 * Loopback only, bounded: LOAD_TIMEOUT_SECONDS (900) ends the run as a failure.
 *
 * Why not autocannon: it replays one request shape per connection at full speed; a user's
 * flow here spans two hosts (the API and S3), waits on asynchronous processing and carries
 * ids and tokens from one answer to the next. A small runner over fetch does that, and records
 * the same figures (per-route latency percentiles, throughput, errors).
 *
 *   npm run load
 *   LOAD_USERS=10 LOAD_CONCURRENCY=5 npm run load
 *   npm run load -- --url http://localhost:3000 --markdown
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { findOperation } from '../test/contract';
import { openLive, protocolsFor, type LiveClient } from '../test/live';
import { freePortsSync } from '../stack/ports';
import { REPO_ROOT } from '../stack/serviceConfig';
import { checkConsistency, formatFinding, localTarget } from './consistency';
import { percentile } from './resilient';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

const USERS = positive('LOAD_USERS', 100);
const IMAGES = positive('LOAD_IMAGES', 5);
const CONCURRENCY = positive('LOAD_CONCURRENCY', 20);
const TIMEOUT_SECONDS = positive('LOAD_TIMEOUT_SECONDS', 900);
/** How long one upload or analysis may take to finish before the run counts it as stuck. */
const SETTLE_MS = 120_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer<T> {
  status: number;
  body: T;
  text: string;
  etag?: string;
}

/** Per-route figures: every request's latency and status. */
class Recorder {
  readonly routes = new Map<string, { latencies: number[]; statuses: Record<string, number> }>();
  readonly errors: string[] = [];

  record(route: string, status: number, ms: number, detail: () => string): void {
    const figures = this.routes.get(route) ?? { latencies: [], statuses: {} };
    figures.latencies.push(ms);
    figures.statuses[status] = (figures.statuses[status] ?? 0) + 1;
    this.routes.set(route, figures);
    // 101: a WebSocket handshake that was accepted.
    if ((status < 200 || status >= 300) && status !== 101) this.errors.push(`${route} → ${status}: ${detail().slice(0, 300)}`);
  }

  get requests(): number {
    return [...this.routes.values()].reduce((sum, figures) => sum + figures.latencies.length, 0);
  }
}

class Client {
  constructor(
    private readonly baseUrl: string,
    private readonly recorder: Recorder,
  ) {}

  async call<T>(method: string, urlPath: string, options: { token?: string; body?: unknown } = {}): Promise<Answer<T>> {
    const started = performance.now();
    const response = await fetch(`${this.baseUrl}${urlPath}`, {
      method,
      headers: {
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    const pathOnly = urlPath.split('?')[0] as string;
    const route = `${method} ${findOperation(method, pathOnly)?.path ?? pathOnly}`;
    this.recorder.record(route, response.status, performance.now() - started, () => text);
    const etag = response.headers.get('etag');
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T, text, ...(etag === null ? {} : { etag }) };
  }
}

interface Upload {
  media: { id: string };
  upload: { url: string; fields: Record<string, string> };
}
interface MediaItem {
  id: string;
  status: string;
  thumbnails?: unknown;
}

/** A small JPEG no other user has: random pixels, so each upload is its own content. */
async function uniqueJpeg(): Promise<Buffer> {
  const width = 160;
  const height = 120;
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

interface Outcome {
  ready: number;
  analysed: boolean;
  userId?: string;
  /** Live events that did not arrive, or arrived at the wrong person. */
  missing: number;
  misdelivered: number;
  /** From the change's commit (the event's `at`) to its arrival, per event. */
  pushLatencies: number[];
}

interface Person {
  index: number;
  userId: string;
  token: string;
  live: LiveClient;
}

/** Signs a user up, logs in and opens the live connection the whole flow keeps open. */
async function prepare(api: Client, recorder: Recorder, liveUrl: string, index: number): Promise<Person | undefined> {
  const email = `load-${index}-${randomBytes(4).toString('hex')}@example.com`;
  const password = `load-password-${randomBytes(6).toString('hex')}`;
  const signUp = await api.call<{ id: string }>('POST', '/v1/users', { body: { email, password, name: `Load ${index}` } });
  if (signUp.status !== 201) return undefined;
  const login = await api.call<{ accessToken: string }>('POST', '/v1/sessions', { body: { email, password } });
  if (login.status !== 201) return undefined;
  const started = performance.now();
  try {
    const live = await openLive(liveUrl, protocolsFor(login.body.accessToken));
    recorder.record('WebSocket $connect', 101, performance.now() - started, () => '');
    return { index, userId: signUp.body.id, token: login.body.accessToken, live };
  } catch (error) {
    recorder.record('WebSocket $connect', (error as { status?: number }).status ?? 0, performance.now() - started, () => String(error));
    return undefined;
  }
}

/** Waits for one live event, counting it missing (and saying so) when it does not come. */
async function expectEvent(person: Person, outcome: Outcome, recorder: Recorder, what: string, wait: () => Promise<{ at: string; receivedAt: number }>): Promise<void> {
  try {
    const event = await wait();
    outcome.pushLatencies.push(event.receivedAt - Date.parse(event.at));
  } catch {
    outcome.missing += 1;
    recorder.errors.push(`user ${person.index}: live event ${what} never arrived`);
  }
}

async function userFlow(api: Client, recorder: Recorder, person: Person): Promise<Outcome> {
  const { index, token, live } = person;
  const outcome: Outcome = { ready: 0, analysed: false, userId: person.userId, missing: 0, misdelivered: 0, pushLatencies: [] };

  const ids: string[] = [];
  for (let image = 0; image < IMAGES; image++) {
    const bytes = await uniqueJpeg();
    const created = await api.call<Upload>('POST', '/v1/media', { token, body: { filename: `load-${index}-${image}.jpg`, contentType: 'image/jpeg', size: bytes.length } });
    if (created.status !== 201) continue;
    const form = new FormData();
    for (const [name, value] of Object.entries(created.body.upload.fields)) form.append(name, value);
    form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), `load-${index}-${image}.jpg`);
    const started = performance.now();
    const posted = await fetch(created.body.upload.url, { method: 'POST', body: form });
    const postedText = await posted.text();
    recorder.record('POST (S3) presigned upload', posted.status, performance.now() - started, () => postedText);
    if (posted.ok) ids.push(created.body.media.id);
  }

  // Processing is asynchronous: poll the list (one request for all five) until none is pending.
  const deadline = Date.now() + SETTLE_MS;
  let items: MediaItem[];
  for (;;) {
    const listed = await api.call<{ items: MediaItem[] }>('GET', `/v1/media?limit=${Math.max(IMAGES, 10)}`, { token });
    items = listed.status === 200 ? listed.body.items : [];
    if (items.length >= ids.length && items.every((item) => item.status !== 'pending')) break;
    if (Date.now() > deadline) {
      recorder.errors.push(`user ${index}: uploads still pending after ${SETTLE_MS} ms`);
      break;
    }
    await sleep(500);
  }
  outcome.ready = items.filter((item) => item.status === 'ready' && item.thumbnails !== undefined).length;

  for (const id of ids) await expectEvent(person, outcome, recorder, `media.ready ${id}`, () => live.waitFor('media.ready', (event) => event.media.id === id, SETTLE_MS));
  const etags = new Map<string, string>();
  for (const [position, id] of ids.entries()) {
    const patched = await fetchEtag(api, token, id, ['load', `user-${index}`, `image-${position}`]);
    if (patched !== undefined) etags.set(id, patched);
  }
  for (const [id, etag] of etags) await expectEvent(person, outcome, recorder, `metadata.updated ${id}`, () => live.waitFor('metadata.updated', (event) => event.mediaId === id && event.etag === etag, 30_000));
  await api.call('GET', '/v1/tags', { token });
  await api.call('GET', `/v1/media?tag=load&limit=${Math.max(IMAGES, 10)}`, { token });

  // Every image a favourite in one batch request, then the favourites view.
  const batch = await api.call<{ succeeded: number }>('POST', '/v1/media/batch', { token, body: { ids, favorite: true } });
  if (batch.status === 200 && batch.body.succeeded !== ids.length) recorder.errors.push(`user ${index}: the batch changed ${batch.body.succeeded} of ${ids.length} items`);
  for (const id of ids) await expectEvent(person, outcome, recorder, `metadata.updated ${id} (favourite)`, () => live.waitFor('metadata.updated', (event) => event.mediaId === id && event.favorite, 30_000));
  const favourites = await api.call<{ items: MediaItem[] }>('GET', `/v1/media?favorite=true&archived=include&limit=${Math.max(IMAGES, 10)}`, { token });
  if (favourites.status === 200 && favourites.body.items.length !== ids.length) recorder.errors.push(`user ${index}: ${favourites.body.items.length} favourites listed, ${ids.length} marked`);

  const first = ids[0];
  if (first !== undefined) {
    const requested = await api.call<{ id: string }>('POST', `/v1/media/${first}/analyses`, { token, body: {} });
    if (requested.status === 202) {
      const until = Date.now() + SETTLE_MS;
      for (;;) {
        const job = await api.call<{ status: string }>('GET', `/v1/analyses/${requested.body.id}`, { token });
        if (job.status === 200 && (job.body.status === 'succeeded' || job.body.status === 'failed')) {
          outcome.analysed = job.body.status === 'succeeded';
          await expectEvent(person, outcome, recorder, `analysis.finished ${requested.body.id}`, () => live.waitFor('analysis.finished', (event) => event.analysisId === requested.body.id, 30_000));
          if (!outcome.analysed) recorder.errors.push(`user ${index}: analysis ${job.text.slice(0, 200)}`);
          break;
        }
        if (Date.now() > until) {
          recorder.errors.push(`user ${index}: analysis not finished after ${SETTLE_MS} ms`);
          break;
        }
        await sleep(500);
      }
    }
  }
  await api.call('DELETE', '/v1/sessions/current', { token });
  // Logging out ends the session: its connection is told, then closed.
  await expectEvent(person, outcome, recorder, 'session.revoked', () => live.waitFor('session.revoked', () => true, 30_000));
  const closed = await Promise.race([live.closed.then(() => true), sleep(10_000).then(() => false)]);
  if (!closed) {
    outcome.missing += 1;
    recorder.errors.push(`user ${index}: the connection of the logged-out session stayed open`);
  }
  // Nothing of anybody else: every event names this person's items, analyses or session.
  for (const event of live.events) {
    const mediaId = event.type === 'media.ready' ? event.media.id : 'mediaId' in event ? event.mediaId : undefined;
    if ((mediaId !== undefined && !ids.includes(mediaId)) || live.malformed.length > 0) {
      outcome.misdelivered += 1;
      recorder.errors.push(`user ${index}: received ${JSON.stringify(event).slice(0, 200)}`);
    }
  }
  await live.close();
  return outcome;
}

/** PATCH …/metadata; the new ETag (undefined when it failed: the recorder has the error). */
async function fetchEtag(api: Client, token: string, id: string, tags: string[]): Promise<string | undefined> {
  const answer = await api.call<unknown>('PATCH', `/v1/media/${id}/metadata`, { token, body: { tags } });
  return answer.status === 200 ? answer.etag : undefined;
}

/** Runs `npm start` (local/start.ts) on free ports with its own data folder; resolves when ready. */
async function startStack(): Promise<{ baseUrl: string; liveUrl: string; dynamodbPort: number; s3Port: number; stop: () => Promise<void> }> {
  const [api, lambda, s3, sns, dynamodb, ssm, live] = freePortsSync(7) as [number, number, number, number, number, number, number];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-load-'));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'local', 'start.ts')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ML_API_PORT: String(api),
      ML_LAMBDA_PORT: String(lambda),
      ML_S3_PORT: String(s3),
      ML_SNS_PORT: String(sns),
      ML_DYNAMODB_PORT: String(dynamodb),
      ML_SSM_PORT: String(ssm),
      ML_WS_PORT: String(live),
      ML_DATA_DIR: dataDir,
      ML_ESBUILD_WORK_FOLDER: `.esbuild-load-${process.pid}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(path.join(REPO_ROOT, `.esbuild-load-${process.pid}`), { recursive: true, force: true });
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not get ready in 180 s:\n${output.slice(-2000)}`)), 180_000);
    const onData = (chunk: Buffer): void => {
      // Keep draining the pipes for the whole run, but keep only the tail (for error messages).
      output = (output + chunk.toString()).slice(-20_000);
      // The banner's last line (local/start.ts): everything is up.
      if (/\[local\] ready in [\d.]+ s[\s\S]*Ctrl-C stops everything/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code ?? 'signal'}) before it was ready:\n${output.slice(-2000)}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { baseUrl: `http://127.0.0.1:${api}`, liveUrl: `ws://127.0.0.1:${live}`, dynamodbPort: dynamodb, s3Port: s3, stop };
}

function table(recorder: Recorder, seconds: number, markdown: boolean): string[] {
  const rows = [...recorder.routes.entries()].sort(([a], [b]) => a.localeCompare(b));
  const lines: string[] = [];
  if (markdown) {
    lines.push('| route | requests | statuses | p50 ms | p95 ms | p99 ms |', '|---|---:|---|---:|---:|---:|');
    for (const [route, figures] of rows) {
      lines.push(`| ${route} | ${figures.latencies.length} | ${JSON.stringify(figures.statuses)} | ${percentile(figures.latencies, 50).toFixed(0)} | ${percentile(figures.latencies, 95).toFixed(0)} | ${percentile(figures.latencies, 99).toFixed(0)} |`);
    }
  } else {
    lines.push(`${'route'.padEnd(38)} ${'requests'.padStart(8)}  ${'p50'.padStart(6)} ${'p95'.padStart(6)} ${'p99'.padStart(6)} ms  statuses`);
    for (const [route, figures] of rows) {
      const p = (value: number): string => percentile(figures.latencies, value).toFixed(0).padStart(6);
      lines.push(`${route.padEnd(38)} ${String(figures.latencies.length).padStart(8)}  ${p(50)} ${p(95)} ${p(99)}     ${JSON.stringify(figures.statuses)}`);
    }
  }
  lines.push('', `throughput: ${recorder.requests} requests in ${seconds.toFixed(1)} s = ${(recorder.requests / seconds).toFixed(1)} requests/s (API and S3 together)`);
  return lines;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { url: { type: 'string' }, 'live-url': { type: 'string' }, markdown: { type: 'boolean', default: false } } });
  const say = (line: string): void => console.log(`[load] ${line}`);
  const stack = values.url === undefined ? (say('starting npm start on free ports (bundling every function takes a minute)…'), await startStack()) : undefined;
  const baseUrl = values.url ?? stack?.baseUrl;
  if (baseUrl === undefined || !/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\/?$/.test(baseUrl)) throw new Error('--url must be a loopback http URL such as http://localhost:3000');
  const abort = setTimeout(() => {
    console.error(`[load] not finished after ${TIMEOUT_SECONDS} s (LOAD_TIMEOUT_SECONDS): stopping`);
    void (stack?.stop() ?? Promise.resolve()).then(() => process.exit(1));
  }, TIMEOUT_SECONDS * 1000);
  try {
    const recorder = new Recorder();
    const api = new Client(baseUrl.replace(/\/$/, ''), recorder);
    const liveUrl = values['live-url'] ?? stack?.liveUrl ?? `ws://127.0.0.1:${process.env['ML_WS_PORT'] ?? 3001}`;
    say(`${USERS} users × (sign up, log in, open a live connection) at concurrency ${CONCURRENCY}; then each: ${IMAGES} presigned uploads, list, tag, favourite all in one batch, analyse one, log out`);
    const inParallel = async <T>(count: number, work: (index: number) => Promise<T>): Promise<T[]> => {
      const results: T[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
          for (let index = next++; index < count; index = next++) results.push(await work(index));
        }),
      );
      return results;
    };
    const started = performance.now();
    const people = (await inParallel(USERS, (index) => prepare(api, recorder, liveUrl, index).catch((error: unknown) => (recorder.errors.push(`user ${index}: ${String(error)}`), undefined)))).filter(
      (person): person is Person => person !== undefined,
    );
    const openAtOnce = people.filter((person) => person.live.socket.readyState === person.live.socket.OPEN).length;
    say(`${openAtOnce} live connections open`);
    const outcomes = await inParallel(people.length, (position) => {
      const person = people[position] as Person;
      return userFlow(api, recorder, person).catch(
        (error: unknown): Outcome => (recorder.errors.push(`user ${person.index}: ${String(error)}`), { ready: 0, analysed: false, userId: person.userId, missing: 0, misdelivered: 0, pushLatencies: [] }),
      );
    });
    await Promise.all(people.map((person) => person.live.close()));
    const seconds = (performance.now() - started) / 1000;
    const missing = outcomes.reduce((sum, outcome) => sum + outcome.missing, 0);
    const misdelivered = outcomes.reduce((sum, outcome) => sum + outcome.misdelivered, 0);
    const latencies = outcomes.flatMap((outcome) => outcome.pushLatencies);
    const ready = outcomes.reduce((sum, outcome) => sum + outcome.ready, 0);
    const analysed = outcomes.filter((outcome) => outcome.analysed).length;

    const target = localTarget({
      dynamodbEndpoint: `http://127.0.0.1:${stack?.dynamodbPort ?? process.env['ML_DYNAMODB_PORT'] ?? 8000}`,
      s3Endpoint: `http://127.0.0.1:${stack?.s3Port ?? process.env['ML_S3_PORT'] ?? 4569}`,
    });
    const userIds = outcomes.map((outcome) => outcome.userId).filter((id): id is string => id !== undefined);
    const report = await checkConsistency(target, { userIds, settled: true });

    for (const line of table(recorder, seconds, values.markdown)) console.log(line);
    console.log(
      `live: ${openAtOnce}/${USERS} connections open at once; ${latencies.length} events received, ${missing} missing, ${misdelivered} misdelivered; ` +
        `from commit to arrival p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms (commit times to the second)`,
    );
    console.log(
      `\nusers ${outcomes.length}/${USERS}; uploads ready ${ready}/${USERS * IMAGES}; analyses succeeded ${analysed}/${USERS}; errors ${recorder.errors.length}; ` +
        `consistency: ${report.violations.length} violation(s) over ${report.counts.users} users, ${JSON.stringify(report.counts.mediaItems)} items, ${report.counts.objects} objects, ${report.counts.tagEntries} tag entries`,
    );
    for (const error of recorder.errors.slice(0, 20)) console.log(`  error: ${error}`);
    for (const finding of report.violations.slice(0, 20)) console.log(`  violation: ${formatFinding(finding)}`);
    const passed = recorder.errors.length === 0 && ready === USERS * IMAGES && analysed === USERS && openAtOnce === USERS && missing === 0 && misdelivered === 0 && report.violations.length === 0;
    console.log(passed ? '[load] PASS' : '[load] FAIL');
    return passed ? 0 : 1;
  } finally {
    clearTimeout(abort);
    await stack?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[load] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
