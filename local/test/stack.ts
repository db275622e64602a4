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
import { startLocalGateways, type Denial, type LocalGateways } from '../gateway';
import type { FunctionRole } from '../gateway/roles';
import { startOffline, type RunningOffline } from '../stack/offline';
import { freePortsSync } from '../stack/ports';
import { killNow } from '../stack/processes';
import { startS3Local, type RunningS3 } from '../stack/s3';
import { serviceConfig } from '../stack/serviceConfig';

export interface LocalStack {
  /** DynamoDB and S3 as the functions reach them: through the local AWS gateway. */
  dynamodbEndpoint: string;
  s3Endpoint: string;
  /** The stand-ins themselves, behind the gateway (for tests of the gateway). */
  backends: { dynamodb: string; s3: string };
  tables: string[];
}

let dynamo: RunningDynamoDb | undefined;
let s3: RunningS3 | undefined;
let gateways: LocalGateways | undefined;
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

/** The signing keys of this test run (local/test/setup.ts made them). */
function keyFiles(): { privateFile: string; publicFile: string } {
  const file = (variable: string): string => (process.env[variable] as string).slice('file:'.length);
  return { privateFile: file('JWT_PRIVATE_KEYS'), publicFile: file('JWT_PUBLIC_KEYS') };
}

function portFromEnv(name: string): number {
  const value = Number(process.env[name]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} is not set: is local/test/setup.ts loaded?`);
  return value;
}

async function startStack(): Promise<LocalStack> {
  const config = serviceConfig('local');
  const [dynamodbBackend, s3Backend] = freePortsSync(2) as [number, number];
  dynamo = await startDynamoDbLocal({ port: dynamodbBackend });
  const tables = await ensureTables(dynamo.endpoint, config);
  s3 = await startS3Local({ port: s3Backend, directory: tempDir('ml-s3-'), config });
  // Every call of the tests goes through the gateway, as the functions' calls do under npm start.
  gateways = await startLocalGateways({
    ports: { dynamodb: portFromEnv('ML_TEST_DYNAMODB_PORT'), s3: portFromEnv('ML_TEST_S3_PORT') },
    backends: { dynamodb: dynamo.endpoint, s3: s3.endpoint },
  });
  return { dynamodbEndpoint: gateways.endpoints.dynamodb as string, s3Endpoint: gateways.endpoints.s3 as string, backends: { dynamodb: dynamo.endpoint, s3: s3.endpoint }, tables };
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
  options: {
    extraEnv?: Record<string, string>;
    outputLimit?: number;
    roles?: Map<string, FunctionRole>;
    onDenied?: (denial: Denial) => void;
    workFolder: (apiPort: number) => string;
    onSpawn: (running: RunningOffline) => void;
  },
): Promise<RunningOffline> {
  const stack = await localStack();
  const [api, lambda, s3Port, snsPort, ssmPort, dynamodbPort] = freePortsSync(6) as [number, number, number, number, number, number];
  const dataDir = tempDir(label);
  fs.mkdirSync(path.join(dataDir, 'keys'));
  const keys = keyFiles();
  fs.copyFileSync(keys.privateFile, path.join(dataDir, 'keys', 'jwt-private.json'));
  fs.copyFileSync(keys.publicFile, path.join(dataDir, 'keys', 'jwt-public.json'));
  return startOffline({
    ports: { api, lambda, s3: s3Port, sns: snsPort, ssm: ssmPort, dynamodb: dynamodbPort },
    dynamodbBackend: stack.backends.dynamodb,
    dataDir,
    ...(options.extraEnv === undefined ? {} : { extraEnv: options.extraEnv }),
    ...(options.outputLimit === undefined ? {} : { outputLimit: options.outputLimit }),
    ...(options.roles === undefined ? {} : { roles: options.roles }),
    ...(options.onDenied === undefined ? {} : { onDenied: options.onDenied }),
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
 * Local. `outputLimit` as in startOffline (`Infinity`: keep all it prints); `roles` replaces the
 * IAM roles its gateway enforces (a test that takes a permission away). The caller may stop
 * it early; the global teardown stops it otherwise.
 */
export function extraOfflineApi(
  extraEnv: Record<string, string>,
  { outputLimit, roles, onDenied }: { outputLimit?: number; roles?: Map<string, FunctionRole>; onDenied?: (denial: Denial) => void } = {},
): Promise<RunningOffline> {
  return startTestOffline('ml-offline-extra-', {
    extraEnv,
    ...(outputLimit === undefined ? {} : { outputLimit }),
    ...(roles === undefined ? {} : { roles }),
    ...(onDenied === undefined ? {} : { onDenied }),
    workFolder: (api) => `.esbuild-test-${process.pid}-${api}`,
    onSpawn: (running) => extraOfflines.push(running),
  });
}

export async function stopEverything(): Promise<void> {
  await offline?.stop();
  for (const running of extraOfflines.splice(0)) await running.stop();
  await gateways?.stop();
  await s3?.stop();
  await dynamo?.stop();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}
