/**
 * The test harness: one local stack per test run, shared by every test file and every parallel
 * worker: DynamoDB Local and the S3 stand-in behind the local AWS gateway, on the ports
 * ./setup.ts chose, and serverless-offline for the end-to-end suites. The main process starts
 * what the run's files ask for (startSharedStack, from the global setup) and hands the endpoints
 * to the workers in the environment; a process started without it starts the stack on first use.
 * Everything started here is stopped by the global teardown, and killed on exit as a last
 * resort, so a test run leaves no process behind.
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
import { resourcesOfType, serviceConfig } from '../stack/serviceConfig';
import { USES_LOCAL_STACK } from './usesStack';

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
const TEST_BUNDLES = '.esbuild-test';
const tempDirs: string[] = [];

// SIGTERM, not SIGKILL: stopped this way (the global teardown did not run: a signal, a crash),
// DynamoDB Local still removes the native library it unpacked, and each offline its bundles' workers.
process.on('exit', () => {
  killNow(offline?.process, 'SIGTERM');
  for (const running of extraOfflines) killNow(running.process, 'SIGTERM');
  killNow(dynamo?.process, 'SIGTERM');
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A signal to this process alone (a CI runner stopping the job, `kill PID`) would end it without
 * its exit handlers, leaving DynamoDB Local, the offlines, the temporary folders and the port
 * reservations behind: so a signal ends the process through process.exit, and the exit handlers
 * (these, the port reservations', the key folder's) run. Mocha's parallel runner does not get to
 * stop its workers itself then: they exit when their channel to this process closes (workerpool),
 * each through the same handler and its own exit handlers.
 */
const ENDING_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
for (const [signal, number] of Object.entries(ENDING_SIGNALS)) process.once(signal, () => process.exit(128 + number));

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

async function startStack(backendPorts: [number, number] = freePortsSync(2) as [number, number]): Promise<LocalStack> {
  const config = serviceConfig('local');
  const [dynamodbBackend, s3Backend] = backendPorts;
  // Known from the moment it exists: a run stopped while the JVM starts stops it too.
  dynamo = await startDynamoDbLocal({ port: dynamodbBackend, onSpawn: (running) => (dynamo = running) });
  const tables = await ensureTables(dynamo.endpoint, config);
  s3 = await startS3Local({ port: s3Backend, directory: tempDir('ml-s3-'), config });
  // Every call of the tests goes through the gateway, as the functions' calls do under npm start.
  gateways = await startLocalGateways({
    ports: { dynamodb: portFromEnv('ML_TEST_DYNAMODB_PORT'), s3: portFromEnv('ML_TEST_S3_PORT') },
    backends: { dynamodb: dynamo.endpoint, s3: s3.endpoint },
  });
  return { dynamodbEndpoint: gateways.endpoints.dynamodb as string, s3Endpoint: gateways.endpoints.s3 as string, backends: { dynamodb: dynamo.endpoint, s3: s3.endpoint }, tables };
}

/**
 * What the main process started for the whole run, announced before it is ready: the endpoints
 * (ports are chosen first) in ML_TEST_STACK / ML_TEST_OFFLINE, and a file per part in
 * ML_TEST_READY_DIR written when that part is ready (or failed), which the workers wait for.
 */
interface Announced<T> {
  value: T;
  ready: string;
}

async function whenReady<T>(variable: string, starting: Promise<T> | undefined): Promise<T> {
  const announced = JSON.parse(process.env[variable] as string) as Announced<T>;
  if (starting !== undefined) return starting;
  for (const deadline = Date.now() + 180_000; ; ) {
    if (fs.existsSync(announced.ready)) {
      const status = JSON.parse(fs.readFileSync(announced.ready, 'utf8')) as { ok: boolean; error?: string };
      if (!status.ok) throw new Error(`the shared test stack did not start: ${status.error}`);
      return announced.value;
    }
    if (Date.now() > deadline) throw new Error(`the shared test stack was not ready in 180 s (${announced.ready})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Written whole or not at all: a worker polling for the file must never read it half-written (a CI run did). */
function writeAtomically(file: string, text: string): void {
  fs.writeFileSync(`${file}.${process.pid}.tmp`, text);
  fs.renameSync(`${file}.${process.pid}.tmp`, file);
}

function announce<T>(variable: string, value: T, starting: Promise<unknown>): void {
  const dir = process.env['ML_TEST_READY_DIR'] ?? tempDir('ml-ready-');
  process.env['ML_TEST_READY_DIR'] = dir;
  const ready = path.join(dir, `${variable}.json`);
  process.env[variable] = JSON.stringify({ value, ready } satisfies Announced<T>);
  starting.then(
    () => writeAtomically(ready, JSON.stringify({ ok: true })),
    (error: unknown) => writeAtomically(ready, JSON.stringify({ ok: false, error: error instanceof Error ? error.message : String(error) })),
  );
}

/** DynamoDB Local (in memory, tables from serverless.yml) and s3rver behind the gateway, started once per run. */
export function localStack(): Promise<LocalStack> {
  if (process.env['ML_TEST_STACK'] !== undefined) return whenReady('ML_TEST_STACK', stackStarting);
  stackStarting ??= startStack();
  return stackStarting;
}

/** What the end-to-end suites use of the shared serverless-offline. */
export type SharedOffline = Pick<RunningOffline, 'baseUrl' | 's3Endpoint' | 'lambdaPort' | 'liveUrl'>;

/**
 * Starts, in this (the main) process and in the background, what the test files of the run use:
 * the stack when a file calls localStack or starts an offline API, the shared offline API when
 * one calls offlineApi. Their endpoints go to the environment at once, so parallel workers start
 * right away (they fork with that environment) and wait only when a test needs the stack.
 */
export async function startSharedStack(files: string[]): Promise<void> {
  const sources = files.filter((file) => fs.existsSync(file)).map((file) => fs.readFileSync(file, 'utf8'));
  const uses = (pattern: RegExp): boolean => sources.some((source) => pattern.test(source));
  if (!uses(USES_LOCAL_STACK)) return;
  const backendPorts = freePortsSync(2) as [number, number];
  const stack: LocalStack = {
    dynamodbEndpoint: `http://127.0.0.1:${portFromEnv('ML_TEST_DYNAMODB_PORT')}`,
    s3Endpoint: `http://127.0.0.1:${portFromEnv('ML_TEST_S3_PORT')}`,
    backends: { dynamodb: `http://127.0.0.1:${backendPorts[0]}`, s3: `http://127.0.0.1:${backendPorts[1]}` },
    tables: resourcesOfType(serviceConfig('local'), 'AWS::DynamoDB::Table').map(([, table]) => String(table.Properties?.['TableName'])),
  };
  stackStarting = startStack(backendPorts);
  announce('ML_TEST_STACK', stack, stackStarting);
  if (!uses(/\bofflineApi\(/)) return;
  const ports = freePortsSync(7) as OfflineTestPorts;
  const [api, lambda, s3, , , , live] = ports;
  offlineStarting = startTestOffline('ml-offline-', { ports, extraEnv: QUIET_FUNCTIONS, onDenied: recordSharedDenial, onSpawn: (running) => (offline = running) });
  announce('ML_TEST_OFFLINE', { baseUrl: `http://127.0.0.1:${api}`, s3Endpoint: `http://127.0.0.1:${s3}`, lambdaPort: lambda, liveUrl: `ws://127.0.0.1:${live}` } satisfies SharedOffline, offlineStarting);
}

/**
 * Every call the shared offline's gateway refused, one JSON line each in the run's ready folder,
 * so every worker can read them. The shared offline runs the packaged roles untouched: a refusal
 * there is a bug (a missing permission, or a function calling as another), and the run fails at
 * its end if there was any (a suite that takes a permission away uses extraOfflineApi).
 */
const sharedDenialsFile = (): string => path.join(process.env['ML_TEST_READY_DIR'] as string, 'shared-offline-denials.jsonl');

function recordSharedDenial(denial: Denial): void {
  fs.appendFileSync(sharedDenialsFile(), `${JSON.stringify(denial)}\n`);
}

/** The calls of functions the shared offline's gateway refused so far in this run. */
export function sharedOfflineDenials(): Denial[] {
  if (process.env['ML_TEST_READY_DIR'] === undefined || !fs.existsSync(sharedDenialsFile())) return [];
  // Whole lines only: the last one may be half-written while a gateway appends it.
  return fs
    .readFileSync(sharedDenialsFile(), 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line) as Denial);
}

/** Waits for what startSharedStack started, so the teardown stops it whole. */
async function settled(): Promise<void> {
  await Promise.allSettled([stackStarting, offlineStarting]);
}

/**
 * The functions of the shared offline log nothing and write no metric lines: nothing reads
 * what they print (suites that read logs or metrics start their own, extraOfflineApi), and their
 * INFO logs and EMF lines went through three pipes (worker thread, serverless-offline, this
 * process) for every request, about a tenth of a whole test run (measured 8.2 to 7.4 min).
 */
const QUIET_FUNCTIONS = { LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' };

type OfflineTestPorts = [api: number, lambda: number, s3: number, sns: number, ssm: number, dynamodb: number, live: number];

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
    onSpawn: (running: RunningOffline) => void;
    ports?: OfflineTestPorts;
    inspect?: string;
  },
): Promise<RunningOffline> {
  const stack = await localStack();
  const [api, lambda, s3Port, snsPort, ssmPort, dynamodbPort, livePort] = options.ports ?? (freePortsSync(7) as OfflineTestPorts);
  const dataDir = tempDir(label);
  fs.mkdirSync(path.join(dataDir, 'keys'));
  const keys = keyFiles();
  fs.copyFileSync(keys.privateFile, path.join(dataDir, 'keys', 'jwt-private.json'));
  fs.copyFileSync(keys.publicFile, path.join(dataDir, 'keys', 'jwt-public.json'));
  return startOffline({
    ports: { api, lambda, s3: s3Port, sns: snsPort, ssm: ssmPort, dynamodb: dynamodbPort, live: livePort },
    dynamodbBackend: stack.backends.dynamodb,
    dataDir,
    ...(options.extraEnv === undefined ? {} : { extraEnv: options.extraEnv }),
    ...(options.outputLimit === undefined ? {} : { outputLimit: options.outputLimit }),
    ...(options.roles === undefined ? {} : { roles: options.roles }),
    ...(options.onDenied === undefined ? {} : { onDenied: options.onDenied }),
    ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
    // Every offline of every run shares one bundle folder: built once, reused while no source changes.
    workFolder: TEST_BUNDLES,
    watch: false,
    onSpawn: options.onSpawn,
  });
}

/** The whole API under serverless-offline on random ports, sharing the harness's DynamoDB Local. */
export function offlineApi(): Promise<SharedOffline> {
  if (process.env['ML_TEST_OFFLINE'] !== undefined) return whenReady('ML_TEST_OFFLINE', offlineStarting);
  return ownOfflineApi();
}

function ownOfflineApi(): Promise<RunningOffline> {
  offlineStarting ??= startTestOffline('ml-offline-', {
    extraEnv: QUIET_FUNCTIONS,
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
  { outputLimit, roles, onDenied, inspect }: { outputLimit?: number; roles?: Map<string, FunctionRole>; onDenied?: (denial: Denial) => void; inspect?: string } = {},
): Promise<RunningOffline> {
  return startTestOffline('ml-offline-extra-', {
    extraEnv,
    ...(inspect === undefined ? {} : { inspect }),
    ...(outputLimit === undefined ? {} : { outputLimit }),
    ...(roles === undefined ? {} : { roles }),
    ...(onDenied === undefined ? {} : { onDenied }),
    onSpawn: (running) => extraOfflines.push(running),
  });
}

export async function stopEverything(): Promise<void> {
  await settled();
  const denials = offline === undefined ? [] : sharedOfflineDenials();
  await offline?.stop();
  for (const running of extraOfflines.splice(0)) await running.stop();
  await gateways?.stop();
  await s3?.stop();
  await dynamo?.stop();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  if (denials.length > 0) {
    const lines = denials.map((denial) => `  ${denial.fn} ${denial.action} on ${denial.resource} (${denial.code})`);
    throw new Error(`the local AWS gateway of the shared offline refused ${denials.length} call(s) of functions with their packaged roles:\n${[...new Set(lines)].join('\n')}`);
  }
}
