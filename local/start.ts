/**
 * `npm start`: the whole API on this machine, no AWS account needed.
 *
 *   API (serverless-offline, all functions)  http://localhost:3000   ML_API_PORT
 *   Lambda invoke endpoint                   http://localhost:3002   ML_LAMBDA_PORT
 *   DynamoDB (DynamoDB Local, Java)          http://localhost:8000   ML_DYNAMODB_PORT
 *   S3 (s3rver, with S3 events)              http://localhost:4569   ML_S3_PORT
 *   SNS (serverless-offline-sns)             http://localhost:4002   ML_SNS_PORT
 *   SSM (the JWT key parameters)             http://localhost:4583   ML_SSM_PORT
 *
 * Each AWS port is the local AWS gateway (local/gateway/), which authorises every call against
 * the calling function's IAM role and enforces presigned-POST policies, in front of the stand-in
 * on an internal port.
 *
 * Tables and buckets come from serverless.yml's `resources`. Data persists under
 * .local-data/ (ML_DATA_DIR) across restarts; `npm run local:reset` wipes it.
 * Ctrl-C (SIGINT) or SIGTERM stops everything this started, and waits until it is gone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ensureTables, startDynamoDbLocal, type RunningDynamoDb } from './stack/dynamodb';
import { ensureLocalKeys } from './stack/keys';
import { startOffline, type RunningOffline } from './stack/offline';
import { assertPortFree, freePortsSync, portFromEnv } from './stack/ports';
import { killNow } from './stack/processes';
import { REPO_ROOT, serviceConfig } from './stack/serviceConfig';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const say = (line: string): void => console.log(`[local] ${line}`);

let dynamo: RunningDynamoDb | undefined;
let offline: RunningOffline | undefined;
let stopping: Promise<void> | undefined;

function stop(exitCode: number): Promise<void> {
  stopping ??= (async () => {
    say('stopping…');
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

async function main(): Promise<void> {
  const ports = {
    api: portFromEnv('ML_API_PORT', 3000),
    lambda: portFromEnv('ML_LAMBDA_PORT', 3002),
    dynamodb: portFromEnv('ML_DYNAMODB_PORT', 8000),
    s3: portFromEnv('ML_S3_PORT', 4569),
    sns: portFromEnv('ML_SNS_PORT', 4002),
    ssm: portFromEnv('ML_SSM_PORT', 4583),
  };
  const dataDir = path.resolve(REPO_ROOT, process.env['ML_DATA_DIR'] ?? '.local-data');
  fs.mkdirSync(dataDir, { recursive: true });
  const pidFile = path.join(dataDir, 'local.pid');
  fs.writeFileSync(pidFile, String(process.pid));
  process.on('exit', () => fs.rmSync(pidFile, { force: true }));

  await assertPortFree(ports.api, 'API', 'ML_API_PORT');
  await assertPortFree(ports.lambda, 'Lambda invoke endpoint', 'ML_LAMBDA_PORT');
  await assertPortFree(ports.dynamodb, 'DynamoDB Local', 'ML_DYNAMODB_PORT');
  await assertPortFree(ports.s3, 'S3 stand-in', 'ML_S3_PORT');
  await assertPortFree(ports.sns, 'SNS stand-in', 'ML_SNS_PORT');
  await assertPortFree(ports.ssm, 'SSM parameters', 'ML_SSM_PORT');

  say('resolving serverless.yml for the local stage…');
  const config = serviceConfig('local');

  const keys = ensureLocalKeys(dataDir);
  say(`access tokens signed with the local key in ${path.relative(REPO_ROOT, keys.privateFile)}`);

  fs.mkdirSync(path.join(dataDir, 'dynamodb'), { recursive: true });
  const [dynamodbBackend] = freePortsSync(1) as [number];
  dynamo = await startDynamoDbLocal({ port: dynamodbBackend, dbPath: path.join(dataDir, 'dynamodb') });
  dynamo.process.once('exit', (code) => onChildExit('DynamoDB Local', code));
  await ensureTables(dynamo.endpoint, config, say);
  say(`DynamoDB Local ready (data in ${path.relative(REPO_ROOT, path.join(dataDir, 'dynamodb')) || '.'})`);

  say('starting serverless-offline (bundles every function with esbuild)…');
  await startOffline({
    ports,
    dynamodbBackend: dynamo.endpoint,
    dataDir,
    stdio: 'inherit',
    timeoutMs: 120_000,
    ...(process.env['ML_ESBUILD_WORK_FOLDER'] ? { workFolder: process.env['ML_ESBUILD_WORK_FOLDER'] } : {}),
    onSpawn: (running) => {
      offline = running;
      running.process.once('exit', (code) => onChildExit('serverless-offline', code));
    },
  });
  say(
    `ready: API http://localhost:${ports.api}/v1 (try curl http://localhost:${ports.api}/v1/health) · docs http://localhost:${ports.api}/docs · ` +
      `DynamoDB http://localhost:${ports.dynamodb} · S3 http://localhost:${ports.s3} · SNS http://localhost:${ports.sns} · SSM http://localhost:${ports.ssm} · Ctrl-C stops everything`,
  );
}

main().catch((error: unknown) => {
  console.error(`[local] ${error instanceof Error ? error.message : String(error)}`);
  void stop(1);
});
