import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startLocalGateways, type Denial, type LocalGateways } from '../gateway';
import type { FunctionRole } from '../gateway/roles';
import { packagedTemplate } from '../gateway/template';
import { ensureLocalKeys } from './keys';
import { freePortsSync } from './ports';
import { exited, stopChild } from './processes';
import { bucketsOf } from './s3';
import { startStreamPollers, type StreamPollers } from './streams';
import { REPO_ROOT, serviceConfig } from './serviceConfig';

/** The ports clients use: the API, Lambda's invoke endpoint, and the local AWS gateway per service. */
export interface OfflinePorts {
  api: number;
  lambda: number;
  s3: number;
  sns: number;
  ssm: number;
  dynamodb: number;
  /** The live-updates WebSocket API (and its Management API), through the local AWS gateway. */
  live: number;
}

export interface RunningOffline {
  baseUrl: string;
  /** The S3 endpoint clients use: the gateway in front of the s3rver serverless-s3-local runs (its events reach processUpload). */
  s3Endpoint: string;
  /** serverless-offline's Lambda invoke endpoint (what `npm run sweep` talks to). */
  lambdaPort: number;
  /** Where clients open the live-updates WebSocket (ws://…, through the local AWS gateway). */
  liveUrl: string;
  /** Resolves once the stream pollers have read every table stream to its end (tests wait on it). */
  streamsIdle(): Promise<void>;
  process: ChildProcess;
  /** Every call the gateways refused (IAM or presigned-policy conditions), in order. */
  denials(): Denial[];
  output(): string;
  stop(): Promise<void>;
}

/**
 * `serverless offline start --stage local`: every function behind the HTTP API on
 * `ports.api`, the S3 stand-in with S3 events (serverless-s3-local) and SNS topics and
 * subscriptions (serverless-offline-sns) on internal ports behind the local AWS gateway
 * (`ports.s3`, `ports.sns`, and SSM on `ports.ssm`), talking to DynamoDB Local (`dynamodbBackend`,
 * started by the caller) through the gateway on `ports.dynamodb`. Resolves once /v1/health answers.
 */
export async function startOffline({
  ports,
  dynamodbBackend,
  dataDir,
  stdio = 'pipe',
  extraEnv = {},
  timeoutMs = 90_000,
  onSpawn = () => undefined,
  workFolder,
  removeWorkFolder = false,
  watch = true,
  outputLimit = 200_000,
  roles,
  onDenied,
  onLine,
  appOrigins = [],
  tablesReady = Promise.resolve(),
  inspect,
}: {
  ports: OfflinePorts;
  /**
   * Resolves once the tables exist (npm start creates them while serverless-offline starts): the
   * stream pollers start after it, as AWS creates a table's stream before its event source mapping.
   */
  tablesReady?: Promise<unknown>;
  /** DynamoDB Local itself (its owner started it); the functions reach it through this stack's gateway. */
  dynamodbBackend: string;
  dataDir: string;
  stdio?: 'pipe' | 'inherit';
  extraEnv?: Record<string, string>;
  timeoutMs?: number;
  /** esbuild work folder (relative to the repo) when it must not be the shared `.esbuild`. */
  workFolder?: string;
  /** Remove the work folder when stopped (its bundles are otherwise reused by the next start). */
  removeWorkFolder?: boolean;
  /** Rebuild bundles when sources change (npm start); tests run what they started with. */
  watch?: boolean;
  /** Called as soon as the process exists, so a caller can stop it even before it is ready. */
  onSpawn?: (running: RunningOffline) => void;
  /**
   * How many characters of its output (stdout and stderr, its Lambda workers' included) the
   * process keeps for `output()`, newest last; `Infinity` keeps everything (log scans).
   */
  outputLimit?: number;
  /** The IAM roles the gateway enforces (default: the packaged local roles). */
  roles?: Map<string, FunctionRole>;
  onDenied?: (denial: Denial) => void;
  /** Called with every line serverless-offline (and its functions) print, as they come. */
  onLine?: (line: string) => void;
  /** Origins of a web app served beside the API (npm start's edge): allowed by the bucket's CORS. */
  appOrigins?: string[];
  /**
   * `host:port` of a Node inspector on the serverless-offline process (`npm run start:debug`). The
   * functions run in its worker threads, which a debugger attached there reaches (VS Code and
   * Chrome DevTools list them); their bundles' source maps lead to the .ts files.
   */
  inspect?: string;
}): Promise<RunningOffline> {
  const bin = path.join(REPO_ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
  // serverless-s3-local takes bucket CORS as an XML file: write the one serverless.yml declares.
  const cors = bucketsOf(serviceConfig('local'), appOrigins).find((bucket) => bucket.cors !== undefined)?.cors;
  const corsFile = path.join(dataDir, 's3-cors.xml');
  fs.mkdirSync(dataDir, { recursive: true });
  if (cors !== undefined) fs.writeFileSync(corsFile, cors);
  const [s3Backend, snsBackend, liveBackend] = freePortsSync(3) as [number, number, number];
  const gateways: LocalGateways = await startLocalGateways({
    ports: { dynamodb: ports.dynamodb, s3: ports.s3, sns: ports.sns, ssm: ports.ssm, live: ports.live },
    backends: { dynamodb: dynamodbBackend, s3: `http://127.0.0.1:${s3Backend}`, sns: `http://127.0.0.1:${snsBackend}`, live: `http://127.0.0.1:${liveBackend}` },
    ssm: true,
    corsOrigins: appOrigins,
    keyFiles: ensureLocalKeys(dataDir),
    ...(roles === undefined ? {} : { roles }),
    ...(onDenied === undefined ? {} : { onDenied }),
  });
  const child = spawn(process.execPath, [...(inspect === undefined ? [] : [`--inspect=${inspect}`]), bin, 'offline', 'start', '--stage', 'local'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...extraEnv,
      ML_API_PORT: String(ports.api),
      ML_LAMBDA_PORT: String(ports.lambda),
      ML_S3_PORT: String(ports.s3),
      ML_SNS_PORT: String(ports.sns),
      ML_SSM_PORT: String(ports.ssm),
      ML_DYNAMODB_PORT: String(ports.dynamodb),
      ML_WS_PORT: String(ports.live),
      ML_WS_BACKEND_PORT: String(liveBackend),
      ML_S3_BACKEND_PORT: String(s3Backend),
      ML_SNS_BACKEND_PORT: String(snsBackend),
      ML_DATA_DIR: dataDir,
      ...(cors === undefined ? {} : { ML_S3_CORS_FILE: corsFile }),
      ...(workFolder === undefined ? {} : { ML_ESBUILD_WORK_FOLDER: workFolder }),
      ML_OFFLINE_WATCH: String(watch),
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      // serverless-offline-sns runs subscribers inside this process, where Lambda's own
      // AWS_REGION is not set; the local stage lives in us-east-1.
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // s3rver uses DES for ListObjectsV2 continuation tokens (TOOLCHAIN.md).
      NODE_OPTIONS: [process.env['NODE_OPTIONS'], '--openssl-legacy-provider'].filter(Boolean).join(' '),
    },
    stdio: ['ignore', stdio, stdio],
  });
  let output = '';
  let partial = '';
  const keep = (chunk: string): void => {
    output = output + chunk;
    if (output.length > outputLimit) output = output.slice(-outputLimit);
    if (onLine === undefined) return;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() as string;
    for (const line of lines) onLine(line);
  };
  // Decoded as streams: a character split across two chunks is not mangled.
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);

  const baseUrl = `http://127.0.0.1:${ports.api}`;
  // Started once the API is up (below).
  let streams: StreamPollers | undefined;
  const running: RunningOffline = {
    baseUrl,
    s3Endpoint: `http://127.0.0.1:${ports.s3}`,
    lambdaPort: ports.lambda,
    liveUrl: `ws://127.0.0.1:${ports.live}`,
    streamsIdle: async () => streams?.idle(),
    process: child,
    denials: () => gateways.denials(),
    output: () => output,
    // serverless-offline shuts down cleanly on SIGINT (it closes s3rver and its workers).
    stop: async () => {
      await streams?.stop();
      streams = undefined;
      await stopChild(child, 'SIGINT', 10_000);
      await gateways.stop();
      if (workFolder !== undefined && removeWorkFolder) fs.rmSync(path.join(REPO_ROOT, workFolder), { recursive: true, force: true });
    },
  };
  onSpawn(running);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await gateways.stop();
      throw new Error(`serverless offline exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output.slice(-5000)}`);
    }
    try {
      // A first invocation loads the function (seconds on a busy machine): an answer on its way is waited for.
      const response = await fetch(`${baseUrl}/v1/health`, { signal: AbortSignal.timeout(10_000) });
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await running.stop();
      await exited(child);
      throw new Error(`serverless offline did not serve /v1/health within ${timeoutMs} ms:\n${output.slice(-5000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Lambda's event source mappings of the DynamoDB streams (pushChanges): a role that may not read
  // its stream fails the start, as AWS refuses to create that mapping.
  try {
    await tablesReady;
    streams = await startStreamPollers({
      template: await packagedTemplate('local'),
      dynamodbEndpoint: gateways.endpoints.dynamodb as string,
      lambdaEndpoint: `http://127.0.0.1:${ports.lambda}`,
      onLine: (line) => keep(`[streams] ${line}\n`),
    });
  } catch (error) {
    await running.stop();
    await exited(child);
    throw error;
  }
  return running;
}
