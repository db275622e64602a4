/**
 * The environment the benchmarked code runs with: what serverless.yml gives the functions on the
 * `local` stage, pointed at the benchmark's own stand-ins and signing keys, with the production log
 * level. Nothing of the caller's environment leaks in (no AWS_PROFILE, no ML_FAULTS, no NODE_OPTIONS).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ensureLocalKeys } from '../stack/keys';
import { REPO_ROOT, serviceConfig } from '../stack/serviceConfig';

export interface Endpoints {
  dynamodb: string;
  s3: string;
  /** Nothing listens here unless a benchmark says so: SNS is stubbed in-process where it is needed. */
  sns?: string;
}

/** Signing keys of this benchmark run (generated in `dir`). */
export function benchKeys(dir: string): { JWT_PRIVATE_KEYS: string; JWT_PUBLIC_KEYS: string } {
  const files = ensureLocalKeys(dir);
  return { JWT_PRIVATE_KEYS: `file:${files.privateFile}`, JWT_PUBLIC_KEYS: `file:${files.publicFile}` };
}

export function functionEnv(endpoints: Endpoints, keysDir: string): Record<string, string> {
  const config = serviceConfig('local');
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, config.provider.environment);
  for (const fn of Object.values(config.functions)) Object.assign(env, fn.environment);
  return {
    ...env,
    ...benchKeys(keysDir),
    DYNAMODB_ENDPOINT: endpoints.dynamodb,
    S3_ENDPOINT: endpoints.s3,
    SNS_ENDPOINT: endpoints.sns ?? 'http://127.0.0.1:9',
    ML_FAULTS: '',
    // The production stages' level: the cost of logging is part of what is measured.
    POWERTOOLS_LOG_LEVEL: 'INFO',
    AWS_REGION: config.provider.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_EC2_METADATA_DISABLED: 'true',
    // Lambda runs Node 22, where the SDK prints no notice; here (Node 20) it would, at every start.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  java: string;
  commit: string;
}

function quiet(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function machine(): Machine {
  // `java -version` writes to stderr.
  const java = quiet('sh', ['-c', 'java -version 2>&1 | head -1']);
  const commit = quiet('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = quiet('git', ['status', '--porcelain', '--', 'functions', 'shared', 'serverless.yml', 'local/esbuild.config.cjs']) === '' ? '' : ' + uncommitted changes';
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    java: java.replace(/\s+/g, ' '),
    commit: `${commit}${dirty}`,
  };
}

/** Where bundles and scratch files of one benchmark run go: ignored by git, eslint and tsc, removed at the end. */
export function workDir(): string {
  return path.join(REPO_ROOT, 'node_modules', '.cache', `ml-bench-${process.pid}`);
}
