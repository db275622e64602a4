/**
 * The test harness: starts DynamoDB Local and the S3 stand-in once per test run (only
 * when a suite asks), on the ports ./setup.ts chose, and serverless-offline for the
 * end-to-end suites. Everything started here is stopped by the global teardown, and
 * killed on exit as a last resort, so a test run leaves no process behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureTables, startDynamoDbLocal, type RunningDynamoDb } from '../stack/dynamodb';
import { startOffline, type RunningOffline } from '../stack/offline';
import { freePortsSync } from '../stack/ports';
import { killNow } from '../stack/processes';
import { startS3Local, type RunningS3 } from '../stack/s3';
import { serviceConfig } from '../stack/serviceConfig';

export interface LocalStack {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  tables: string[];
}

let dynamo: RunningDynamoDb | undefined;
let s3: RunningS3 | undefined;
let offline: RunningOffline | undefined;
let stackStarting: Promise<LocalStack> | undefined;
let offlineStarting: Promise<RunningOffline> | undefined;
const extraOfflines: RunningOffline[] = [];
const tempDirs: string[] = [];

process.on('exit', () => {
  killNow(offline?.process);
  for (const running of extraOfflines) killNow(running.process);
  killNow(dynamo?.process);
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

function portFromEnv(name: string): number {
  const value = Number(process.env[name]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} is not set: is local/test/setup.ts loaded?`);
  return value;
}

async function startStack(): Promise<LocalStack> {
  const config = serviceConfig('local');
  dynamo = await startDynamoDbLocal({ port: portFromEnv('ML_TEST_DYNAMODB_PORT') });
  const tables = await ensureTables(dynamo.endpoint, config);
  s3 = await startS3Local({ port: portFromEnv('ML_TEST_S3_PORT'), directory: tempDir('ml-s3-'), config });
  return { dynamodbEndpoint: dynamo.endpoint, s3Endpoint: s3.endpoint, tables };
}

/** DynamoDB Local (in memory, tables from serverless.yml) and s3rver, started once per run. */
export function localStack(): Promise<LocalStack> {
  stackStarting ??= startStack();
  return stackStarting;
}

/**
 * A serverless-offline of the whole API on random ports, sharing the harness's DynamoDB Local and
 * signing with the same keys as the in-process tests (so tokens interoperate).
 */
async function startTestOffline(
  label: string,
  options: { extraEnv?: Record<string, string>; outputLimit?: number; workFolder: (apiPort: number) => string; onSpawn: (running: RunningOffline) => void },
): Promise<RunningOffline> {
  await localStack();
  const [api, lambda, s3Port, snsPort] = freePortsSync(4) as [number, number, number, number];
  const dataDir = tempDir(label);
  fs.mkdirSync(path.join(dataDir, 'keys'));
  for (const [variable, file] of [['JWT_PRIVATE_KEYS', 'jwt-private.json'], ['JWT_PUBLIC_KEYS', 'jwt-public.json']] as const) {
    fs.copyFileSync((process.env[variable] as string).slice('file:'.length), path.join(dataDir, 'keys', file));
  }
  return startOffline({
    ports: { api, lambda, s3: s3Port, sns: snsPort, dynamodb: portFromEnv('ML_TEST_DYNAMODB_PORT') },
    dataDir,
    ...(options.extraEnv === undefined ? {} : { extraEnv: options.extraEnv }),
    ...(options.outputLimit === undefined ? {} : { outputLimit: options.outputLimit }),
    workFolder: options.workFolder(api),
    onSpawn: options.onSpawn,
  });
}

/** The whole API under serverless-offline on random ports, sharing the harness's DynamoDB Local. */
export function offlineApi(): Promise<RunningOffline> {
  offlineStarting ??= startTestOffline('ml-offline-', {
    workFolder: () => `.esbuild-test-${process.pid}`,
    onSpawn: (running) => (offline = running),
  });
  return offlineStarting;
}

/**
 * Another serverless-offline of the whole API, with extra environment for its functions (the
 * fault switch ML_FAULTS of the reliability suites, LOG_LEVEL), sharing the harness's DynamoDB
 * Local. `outputLimit` as in startOffline (`Infinity`: keep all it prints). The caller may stop
 * it early; the global teardown stops it otherwise.
 */
export function extraOfflineApi(extraEnv: Record<string, string>, { outputLimit }: { outputLimit?: number } = {}): Promise<RunningOffline> {
  return startTestOffline('ml-offline-extra-', {
    extraEnv,
    ...(outputLimit === undefined ? {} : { outputLimit }),
    workFolder: (api) => `.esbuild-test-${process.pid}-${api}`,
    onSpawn: (running) => extraOfflines.push(running),
  });
}

export async function stopEverything(): Promise<void> {
  await offline?.stop();
  for (const running of extraOfflines.splice(0)) await running.stop();
  await s3?.stop();
  await dynamo?.stop();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}
