/**
 * `npm start`: the whole product on this machine, no AWS account needed.
 *
 *   App and API (one origin, as CloudFront on AWS)   http://localhost:3000    ML_API_PORT
 *   Lambda invoke endpoint                           http://localhost:3002    ML_LAMBDA_PORT
 *   DynamoDB (DynamoDB Local, Java)                  http://localhost:8000    ML_DYNAMODB_PORT
 *   S3 (s3rver, with S3 events)                      http://localhost:4569    ML_S3_PORT
 *   SNS (serverless-offline-sns)                     http://localhost:4002    ML_SNS_PORT
 *   SSM (the JWT key parameters)                     http://localhost:4583    ML_SSM_PORT
 *   Live updates (WebSocket API, serverless-offline) ws://localhost:3001      ML_WS_PORT
 *
 * Each AWS port is the local AWS gateway (local/gateway/), which authorises every call against
 * the calling function's IAM role and enforces presigned-POST policies, in front of the stand-in
 * on an internal port. serverless-offline runs on an internal port behind the local edge.
 *
 * Tables and buckets come from serverless.yml's `resources`. Data persists under
 * .local-data/ (ML_DATA_DIR) across restarts; `npm run local:reset` wipes it.
 * Ctrl-C (SIGINT) or SIGTERM stops everything this started, and waits until it is gone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ensureTables, startDynamoDbLocal, type RunningDynamoDb } from './stack/dynamodb';
import { startEdge, type RunningEdge } from './stack/edge';
import { buildWebApp, WEB_DIST } from './stack/webBuild';
import { ensureLocalKeys } from './stack/keys';
import { startOffline, type RunningOffline } from './stack/offline';
import { assertPortFree, freePortsSync, portFromEnv } from './stack/ports';
import { killNow } from './stack/processes';
import { localDataDir, removeStackInfo, writeStackInfo, type StackUrls } from './stack/running';
import { REPO_ROOT, serviceConfig } from './stack/serviceConfig';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const startedAt = Date.now();
const say = (line: string): void => console.log(`[local] ${line}`);

let dynamo: RunningDynamoDb | undefined;
let offline: RunningOffline | undefined;
let edge: RunningEdge | undefined;
let stopping: Promise<void> | undefined;

function stop(exitCode: number): Promise<void> {
  stopping ??= (async () => {
    say('stopping…');
    await edge?.stop();
    await offline?.stop();
    await dynamo?.stop();
    say('stopped; nothing left running');
    process.exit(exitCode);
  })();
  return stopping;
}

/** A child ending on its own (Ctrl-C reaches the whole process group) takes the rest down with it. */
function onChildExit(name: string, code: number | null): void {
  if (stopping !== undefined) return;
  if (code !== 0) console.error(`[local] ${name} exited unexpectedly (${code ?? 'signal'}); stopping the rest`);
  void stop(code === 0 ? 0 : 1);
}

process.on('exit', () => {
  // Only reached past the orderly path (e.g. an uncaught error): never leave Java behind.
  killNow(offline?.process);
  killNow(dynamo?.process);
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));

/**
 * What serverless-offline prints that a developer needs: the functions' own output and every
 * problem. Its start-up banner (a table of every route and invoke URL, the authorizer wiring, the
 * function names) is left out: the ready banner below names what matters, correctly.
 */
const NOISE = [
  /^\s*$/,
  /^[│┌└]/,
  /^Configuring Authorization:/,
  /^Redirecting authorizer function:/,
  /^Function names exposed for local invocation/,
  /^\s+\* \w+: /,
  /^Starting Offline at stage/,
  /^Offline \[http for lambda\] listening/,
  /^Server ready:/,
  /^Scheduling \[/,
  /^starting handler$/,
  /^Found S3 event listener/,
  /^S3 local started/,
  /^INFO\[serverless-offline-sns\]: Creating topic/,
  /^built \d+ functions in/,
  /^bundles of \d+ functions are up to date/,
  /^Warning: Function \(\w+\) timeout setting/,
  /^Enter "rp" to replay/,
  /^Offline \[http for websocket\]/,
  /^Offline \[websocket\] listening/,
  /^route '\$(connect|disconnect|default) \(λ: \w+\)'$/,
  /^(GET|HEAD) \/v1\/health \(λ: getHealth\)$/,
];
function offlineLine(ready: () => boolean): (line: string) => void {
  const everything = process.env['ML_START_VERBOSE'] === 'true';
  return (line) => {
    // serverless-offline colours its output; the filters read the text.
    // eslint-disable-next-line no-control-regex
    const text = line.replace(/\x1b\[[0-9;]*m/g, '');
    if (everything) return console.log(text);
    if (NOISE.some((pattern) => pattern.test(text))) return;
    // The health checks of start-up are ours, not the developer's.
    if (!ready() && /getHealth|"message":"request completed"|RequestId: /.test(text)) return;
    console.log(text);
  };
}

/**
 * `npm run start:debug` (ML_INSPECT=1, or ML_INSPECT=host:port): a Node inspector on the process
 * the functions run in (docs/local-development.md#debugging-a-function).
 */
function inspectorAddress(): string | undefined {
  const wanted = process.env['ML_INSPECT'];
  if (wanted === undefined || wanted === '' || wanted === '0') return undefined;
  const address = wanted === '1' ? '127.0.0.1:9229' : wanted;
  if (!/^(127\.0\.0\.1|localhost):\d{2,5}$/.test(address)) throw new Error(`ML_INSPECT=${wanted}: use 1, or 127.0.0.1:<port> (an inspector runs any code it is sent: loopback only)`);
  return address;
}
const inspect = inspectorAddress();

function banner(urls: StackUrls, dataDir: string): string {
  const relative = path.relative(REPO_ROOT, dataDir) || dataDir;
  const debuggerLine = inspect === undefined ? [] : [`  Debugger   ${inspect}   (attach VS Code or chrome://inspect: the functions' worker threads, breakpoints in the .ts files)`];
  return [
    `[local] ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    `  App        ${urls.app}/`,
    `  API        ${urls.api}   (try: curl ${urls.api}/health)`,
    `  API docs   ${urls.docs}`,
    `  Live       ${urls.live}   (WebSocket: pushes what changed to the signed-in app)`,
    `  AWS        DynamoDB ${urls.dynamodb} · S3 ${urls.s3} · SNS ${urls.sns} · SSM ${urls.ssm}`,
    `             (the local AWS gateway: IAM per function; tooling key ml-local-tooling / ml-local-secret)`,
    `  Lambda     ${urls.lambda}   (npm run sweep)`,
    ...debuggerLine,
    `  Data in ${relative}/ (npm run local:reset wipes it) · npm run seed adds a demo account · Ctrl-C stops everything`,
  ].join('\n');
}

function landingPage(urls: StackUrls): string {
  const link = (href: string, text: string): string => `<li><a href="${href}">${text}</a></li>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Media Library (local)</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Media Library, running locally</h1>
<ul>${link('/docs', 'API documentation (Swagger UI)')}${link('/v1/health', 'API health')}${link('/v1/openapi.json', 'OpenAPI document')}</ul>
<p>The AWS stand-ins behind the local AWS gateway: DynamoDB ${urls.dynamodb}, S3 ${urls.s3}, SNS ${urls.sns}, SSM ${urls.ssm}.</p>
</body></html>`;
}

async function main(): Promise<void> {
  const ports = {
    api: portFromEnv('ML_API_PORT', 3000),
    lambda: portFromEnv('ML_LAMBDA_PORT', 3002),
    dynamodb: portFromEnv('ML_DYNAMODB_PORT', 8000),
    s3: portFromEnv('ML_S3_PORT', 4569),
    sns: portFromEnv('ML_SNS_PORT', 4002),
    ssm: portFromEnv('ML_SSM_PORT', 4583),
    live: portFromEnv('ML_WS_PORT', 3001),
  };
  const dataDir = localDataDir();
  fs.mkdirSync(dataDir, { recursive: true });
  const pidFile = path.join(dataDir, 'local.pid');
  fs.writeFileSync(pidFile, String(process.pid));
  process.on('exit', () => {
    fs.rmSync(pidFile, { force: true });
    removeStackInfo(dataDir);
  });

  await assertPortFree(ports.api, 'App and API', 'ML_API_PORT');
  await assertPortFree(ports.lambda, 'Lambda invoke endpoint', 'ML_LAMBDA_PORT');
  await assertPortFree(ports.dynamodb, 'DynamoDB', 'ML_DYNAMODB_PORT');
  await assertPortFree(ports.s3, 'S3', 'ML_S3_PORT');
  await assertPortFree(ports.sns, 'SNS', 'ML_SNS_PORT');
  await assertPortFree(ports.ssm, 'SSM', 'ML_SSM_PORT');
  await assertPortFree(ports.live, 'Live updates (WebSocket)', 'ML_WS_PORT');

  say('starting (DynamoDB Local, the local AWS gateway, every function under serverless-offline)…');
  const config = serviceConfig('local');
  ensureLocalKeys(dataDir);
  fs.mkdirSync(path.join(dataDir, 'dynamodb'), { recursive: true });
  const [dynamodbBackend, offlineApi] = freePortsSync(2) as [number, number];

  // What a first start makes (tables, the web app's build), said in one line once ready.
  const created: string[] = [];
  let builtWebApp = false;
  // DynamoDB Local (Java, seconds) and serverless-offline start side by side; only requests need both.
  const dynamoReady = (async () => {
    // Known as soon as the JVM exists: a Ctrl-C during its start stops it too.
    const started = await startDynamoDbLocal({
      port: dynamodbBackend,
      dbPath: path.join(dataDir, 'dynamodb'),
      onSpawn: (running) => {
        dynamo = running;
        running.process.once('exit', (code) => onChildExit('DynamoDB Local', code));
      },
    });
    await ensureTables(started.endpoint, config, (line) => (line.startsWith('created table ') ? created.push(line.slice('created table '.length)) : say(line)));
  })();
  let ready = false;
  const offlineReady = startOffline({
    ports: { ...ports, api: offlineApi },
    dynamodbBackend: `http://127.0.0.1:${dynamodbBackend}`,
    dataDir,
    stdio: 'pipe',
    onLine: offlineLine(() => ready),
    tablesReady: dynamoReady,
    appOrigins: [`http://localhost:${ports.api}`, `http://127.0.0.1:${ports.api}`],
    timeoutMs: 120_000,
    ...(inspect === undefined ? {} : { inspect }),
    // A work folder named in the environment is a one-off, removed afterwards, unless it is the
    // test run's shared bundle folder (ML_ESBUILD_KEEP_WORK_FOLDER=1: built once, reused under a lock).
    ...(process.env['ML_ESBUILD_WORK_FOLDER'] ? { workFolder: process.env['ML_ESBUILD_WORK_FOLDER'], removeWorkFolder: process.env['ML_ESBUILD_KEEP_WORK_FOLDER'] !== '1' } : {}),
    onSpawn: (running) => {
      offline = running;
      running.process.once('exit', (code) => onChildExit('serverless-offline', code));
    },
  });
  // The web app builds meanwhile (only when its sources changed since the last build).
  const webReady = buildWebApp().then((built) => {
    builtWebApp = built;
  });
  await Promise.all([dynamoReady, offlineReady, webReady]);
  const made = [...(created.length > 0 ? [`created tables ${created.join(', ')}`] : []), ...(builtWebApp ? ['built the web app'] : [])];
  if (made.length > 0) say(made.join('; '));

  const local = (port: number): string => `http://localhost:${port}`;
  const urls: StackUrls = {
    app: local(ports.api),
    api: `${local(ports.api)}/v1`,
    docs: `${local(ports.api)}/docs`,
    lambda: local(ports.lambda),
    dynamodb: local(ports.dynamodb),
    s3: local(ports.s3),
    sns: local(ports.sns),
    ssm: local(ports.ssm),
    live: `ws://localhost:${ports.live}`,
  };
  edge = await startEdge({ port: ports.api, api: `http://127.0.0.1:${offlineApi}`, appDir: WEB_DIST, storageOrigins: [`http://127.0.0.1:${ports.s3}`, local(ports.s3)], liveOrigins: [urls.live, `ws://127.0.0.1:${ports.live}`],
    appConfig: { liveUrl: urls.live },
    landingPage: () => landingPage(urls),
  });
  writeStackInfo({ pid: process.pid, startedAt: new Date(startedAt).toISOString(), dataDir, urls });
  ready = true;
  console.log(banner(urls, dataDir));
}

main().catch((error: unknown) => {
  console.error(`[local] ${error instanceof Error ? error.message : String(error)}`);
  void stop(1);
});
