/**
 * The local API under `npm start` (local/start.ts: DynamoDB Local, serverless-offline with the
 * S3 stand-in and every function), on free loopback ports with its own data folder, loaded by
 * autocannon at concurrency 10 for a bounded time per run. The figures are for the record: they
 * measure serverless-offline on this machine, not Lambda. Everything started is stopped after,
 * and its process group is checked to be empty.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePortsSync } from '../../stack/ports';
import { REPO_ROOT } from '../../stack/serviceConfig';
import type { BenchContext } from '../context';
import type { ApiEndpointResult, ApiResult } from '../results';
import { summarize } from '../stats';

const CONNECTIONS = 10;

interface RunningApi {
  baseUrl: string;
  child: ChildProcess;
  output(): string;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startApi(context: BenchContext, dataDir: string, workFolder: string, onSpawn: (running: RunningApi) => void): Promise<RunningApi> {
  const [api, lambda, dynamodb, s3, sns, ssm, live] = freePortsSync(7) as [number, number, number, number, number, number, number];
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ML_') && !name.startsWith('AWS_') && name !== 'NODE_OPTIONS'));
  // Its own process group, so that whatever it leaves behind can be found (and, as a last resort, ended).
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('local', 'start.ts')], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...inherited,
      ML_API_PORT: String(api),
      ML_LAMBDA_PORT: String(lambda),
      ML_DYNAMODB_PORT: String(dynamodb),
      ML_S3_PORT: String(s3),
      ML_SNS_PORT: String(sns),
      ML_SSM_PORT: String(ssm),
      ML_WS_PORT: String(live),
      ML_DATA_DIR: dataDir,
      ML_ESBUILD_WORK_FOLDER: workFolder,
      LOG_LEVEL: 'INFO',
    },
  });
  if (child.pid !== undefined) {
    context.startedPids.add(child.pid);
    context.groups.add(child.pid);
  }
  let output = '';
  const keep = (chunk: string): void => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  const running = { baseUrl: `http://127.0.0.1:${api}`, child, output: () => output };
  onSpawn(running);
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`npm start exited before it was ready:\n${output.slice(-3000)}`);
    if (output.includes('[local] ready')) return running;
    await pause(250);
  }
  throw new Error(`npm start was not ready within 240 s:\n${output.slice(-3000)}`);
}

async function stopApi(running: RunningApi): Promise<void> {
  const { child } = running;
  const pgid = child.pid;
  if (pgid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await Promise.race([exited, pause(45_000)]);
  }
  // local/start.ts stops DynamoDB Local and serverless-offline and waits for them; anything of
  // its group still alive after that is ended here.
  for (let i = 0; i < 50 && groupAlive(pgid); i++) await pause(200);
  if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
}

async function call(baseUrl: string, method: string, route: string, body?: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** A user with 5 ready photos (uploaded through the presigned POST, processed by the S3 event) and 20 pending items. */
async function seed(baseUrl: string): Promise<{ token: string; mediaId: string }> {
  const email = `api-${Date.now()}@example.org`;
  const password = 'correct horse battery staple';
  const created = await call(baseUrl, 'POST', '/v1/users', { email, password, name: 'Api Bench' });
  if (created.status !== 201) throw new Error(`sign-up answered ${created.status}`);
  const session = await call(baseUrl, 'POST', '/v1/sessions', { email, password, remember: false });
  const token = session.json['accessToken'];
  if (typeof token !== 'string') throw new Error(`login answered ${session.status}`);
  const photo = fs.readFileSync(path.join(REPO_ROOT, 'local', 'fixtures', 'media', 'photo-exif.jpg'));
  const ready: string[] = [];
  for (let i = 0; i < 5; i++) {
    const media = await call(baseUrl, 'POST', '/v1/media', { filename: `photo-${i}.jpg`, contentType: 'image/jpeg', size: photo.length }, token);
    const upload = media.json['upload'] as { url: string; fields: Record<string, string> } | undefined;
    const id = (media.json['media'] as { id?: string } | undefined)?.id;
    if (media.status !== 201 || upload === undefined || id === undefined) throw new Error(`POST /v1/media answered ${media.status}`);
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', new Blob([photo], { type: 'image/jpeg' }), `photo-${i}.jpg`);
    const posted = await fetch(upload.url, { method: 'POST', body: form });
    if (posted.status >= 300) throw new Error(`the presigned POST answered ${posted.status}`);
    ready.push(id);
  }
  for (let i = 0; i < 20; i++) await call(baseUrl, 'POST', '/v1/media', { filename: `pending-${i}.jpg`, contentType: 'image/jpeg', size: 1000 }, token);
  const deadline = Date.now() + 60_000;
  for (const id of ready) {
    for (;;) {
      const item = await call(baseUrl, 'GET', `/v1/media/${id}`, undefined, token);
      if (item.json['status'] === 'ready') break;
      if (item.json['status'] === 'rejected' || Date.now() > deadline) throw new Error(`upload ${id} did not become ready: ${JSON.stringify(item.json)}`);
      await pause(250);
    }
  }
  return { token, mediaId: ready[0] as string };
}

export async function localApi(context: BenchContext): Promise<ApiResult> {
  const quick = context.options.quick;
  const seconds = quick ? 3 : 8;
  const runs = quick ? 1 : 3;
  const dataDir = context.tempDir('ml-bench-api-');
  const workFolder = path.relative(REPO_ROOT, path.join(context.work, 'offline'));
  context.log('local API: npm start on free ports (bundles every function)…');
  let running: RunningApi | undefined;
  try {
    let baseUrl: string;
    try {
      ({ baseUrl } = await startApi(context, dataDir, workFolder, (started) => (running = started)));
    } catch (error) {
      // `npm start` gives serverless-offline 120 s to bundle every function and answer; on a busy
      // shared machine that can run out. Once more, from a clean state.
      context.log(`local API: npm start did not come up (${(error as Error).message.split('\n')[0] ?? ''}); trying once more`);
      if (running !== undefined) await stopApi(running);
      ({ baseUrl } = await startApi(context, dataDir, workFolder, (started) => (running = started)));
    }
    const { token, mediaId } = await seed(baseUrl);
    const targets = [
      { route: 'GET /v1/media/{id}', url: `${baseUrl}/v1/media/${mediaId}` },
      { route: 'GET /v1/media', url: `${baseUrl}/v1/media` },
    ];
    const headers = { authorization: `Bearer ${token}` };
    // Warm-up: serverless-offline starts a Lambda worker per concurrent request of a function
    // (each a cold start of seconds on a busy machine), and keeps them.
    for (const target of targets) await autocannon({ url: target.url, connections: CONNECTIONS, duration: 6, headers, timeout: 20 });
    const measured = new Map<string, autocannon.Result[]>();
    context.log(`local API: ${runs} runs × ${seconds} s per route at concurrency ${CONNECTIONS}…`);
    for (let run = 0; run < runs; run++) {
      for (const target of targets) {
        context.checkAborted();
        const result = await autocannon({ url: target.url, connections: CONNECTIONS, duration: seconds, headers, timeout: 10 });
        measured.set(target.route, [...(measured.get(target.route) ?? []), result]);
      }
    }
    const endpoints: ApiEndpointResult[] = targets.map(({ route }) => {
      const results = measured.get(route) ?? [];
      return {
        route,
        requestsPerSecond: summarize(results.map((result) => result['2xx'] / result.duration)),
        p50Ms: summarize(results.map((result) => result.latency.p50)),
        p99Ms: summarize(results.map((result) => result.latency.p99)),
        requests: results.reduce((sum, result) => sum + result.requests.total, 0),
        errors: results.reduce((sum, result) => sum + result.errors, 0),
        non2xx: results.reduce((sum, result) => sum + result.non2xx, 0),
      };
    });
    return { connections: CONNECTIONS, seconds, runs, endpoints, seeded: '1 user, 5 ready photos (uploaded and processed through the stack), 20 pending items' };
  } finally {
    if (running !== undefined) {
      await stopApi(running);
      const group = running.child.pid;
      if (group !== undefined && !groupAlive(group)) context.groups.delete(group);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(path.join(REPO_ROOT, workFolder), { recursive: true, force: true });
  }
}
