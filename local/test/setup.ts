/**
 * Loaded by mocha (`--require`) before any test file. Gives every test the environment
 * the functions get on the `local` stage, resolved from serverless.yml (one source of
 * truth), and points the AWS SDK at loopback ports chosen now, where the harness
 * (./stack.ts) starts the local AWS gateway in front of DynamoDB Local and the S3 stand-in if a
 * suite asks for them.
 */
import fs from 'node:fs';
import Module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { TOOLING_CREDENTIALS } from '../stack/credentials';
import { Agent, setGlobalDispatcher } from 'undici';
import { ensureLocalKeys } from '../stack/keys';
import { freePortsSync } from '../stack/ports';
import { serviceConfig } from '../stack/serviceConfig';
import { startSharedStack, stopEverything } from './stack';

// esbuild bundles `import x from '…' with { type: 'text' }` as the file's text (the docs page's
// Swagger UI assets). ts-node turns the same import into a require(): answer it with the text too.
const TEXT_IMPORTS = /^swagger-ui-dist\/(swagger-ui-bundle\.js|swagger-ui\.css)$/;
const moduleInternals = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const load = moduleInternals._load;
moduleInternals._load = function loadText(request: string, parent: unknown, isMain: boolean): unknown {
  if (TEXT_IMPORTS.test(request)) return { __esModule: true, default: fs.readFileSync(require.resolve(request), 'utf8') };
  return load.call(this, request, parent, isMain);
};

const config = serviceConfig('local');
const functionEnv: Record<string, string> = { ...config.provider.environment };
for (const fn of Object.values(config.functions)) Object.assign(functionEnv, fn.environment);
for (const [name, value] of Object.entries(functionEnv)) process.env[name] ??= value;

// Ports and keys are chosen once per run: by the main process, whose choice parallel workers
// (forked after it) inherit through ML_TEST_RUN.
interface TestRun {
  dynamodbPort: number;
  s3Port: number;
  keysDir: string;
  owner: number;
}
const inherited = process.env['ML_TEST_RUN'];
const run: TestRun = inherited === undefined ? newRun() : (JSON.parse(inherited) as TestRun);
function newRun(): TestRun {
  const [dynamodbPort, s3Port] = freePortsSync(2) as [number, number];
  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-keys-'));
  const created = { dynamodbPort, s3Port, keysDir, owner: process.pid };
  process.env['ML_TEST_RUN'] = JSON.stringify(created);
  // Signing keys of this test run, in a temporary folder removed at exit.
  process.on('exit', () => fs.rmSync(keysDir, { recursive: true, force: true }));
  return created;
}
process.env['ML_TEST_DYNAMODB_PORT'] = String(run.dynamodbPort);
process.env['ML_TEST_S3_PORT'] = String(run.s3Port);
process.env['DYNAMODB_ENDPOINT'] = `http://127.0.0.1:${run.dynamodbPort}`;
process.env['S3_ENDPOINT'] = `http://127.0.0.1:${run.s3Port}`;
const keyFiles = ensureLocalKeys(run.keysDir);
process.env['JWT_PRIVATE_KEYS'] = `file:${keyFiles.privateFile}`;
process.env['JWT_PUBLIC_KEYS'] = `file:${keyFiles.publicFile}`;

// Credentials for the local stand-ins only; nothing here can reach AWS. Tests sign as local
// tooling; a handler run in process signs as its function when AWS_LAMBDA_FUNCTION_NAME names it.
process.env['AWS_ACCESS_KEY_ID'] = TOOLING_CREDENTIALS.accessKeyId;
process.env['AWS_SECRET_ACCESS_KEY'] = TOOLING_CREDENTIALS.secretAccessKey;
process.env['AWS_REGION'] = config.provider.region;
process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
delete process.env['AWS_PROFILE'];
delete process.env['AWS_SESSION_TOKEN'];

// Under load a test process's timers run late, and a pooled connection that a server already
// closed (Node's servers keep idle connections 5 s) could be reused: "other side closed". Idle
// connections are dropped after 1 s here, far inside that.
setGlobalDispatcher(new Agent({ keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000 }));

// Parallel runs: mocha's worker pool (workerpool) gives a finished worker 1 s to exit before it
// kills it, and a killed worker's coverage is lost (mochajs/mocha#6219): our workers stop local
// stacks on their way out. They get a minute.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the very module object mocha's pool module holds
const workerpool = require('workerpool') as { pool: (script: string, options?: Record<string, unknown>) => unknown };
const createPool = workerpool.pool;
workerpool.pool = (script, options) => createPool(script, { ...options, workerTerminateTimeout: 60_000 });

// Lambda runs Node 22; the SDK's notice about local Node 20 is known (TOOLCHAIN.md) and only noise here.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

// Handlers log JSON lines; keep test output readable unless asked (TEST_LOG_LEVEL=DEBUG).
process.env['POWERTOOLS_LOG_LEVEL'] = process.env['TEST_LOG_LEVEL'] ?? 'SILENT';
// Their metrics are log lines too: off in process unless a test turns them on to read them.
process.env['POWERTOOLS_METRICS_DISABLED'] ??= 'true';

/**
 * Mocha global fixture, once per run in the main process (before parallel workers start): the
 * local stack the run's test files ask for, started while the first files run. Workers find it
 * through the environment (./stack.ts).
 */
export async function mochaGlobalSetup(): Promise<void> {
  await startSharedStack(process.argv.filter((argument) => argument.endsWith('.test.ts')));
}

/** Mocha global fixture: whatever the harness started is stopped, once, after all suites. */
export async function mochaGlobalTeardown(): Promise<void> {
  await stopEverything();
}
