import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The parts of the resolved serverless.yml the local tooling reads. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}
export interface ServiceConfig {
  service: string;
  provider: { stage: string; region: string; environment?: Record<string, string> };
  functions: Record<string, { handler: string; environment?: Record<string, string>; events?: unknown[] }>;
  resources?: { Resources?: Record<string, CfnResource> };
  custom?: Record<string, unknown>;
}

// Environment variables that change what `serverless print` resolves (ports, data dir).
// They are left out so the cached answer is the canonical one for the stage; callers
// override endpoints themselves.
const VOLATILE_ENV = /^ML_/;

/**
 * A short hash of everything that shapes what the framework resolves or packages for a stage:
 * serverless.yml, the stage settings, the framework and plugin versions, the local plugins.
 */
export function cacheKey(stage: string): string {
  const hash = createHash('sha256');
  hash.update(stage);
  const inputs = ['serverless.yml', 'package.json', 'package-lock.json', 'node_modules/serverless/package.json'];
  for (const dir of [path.join('shared', 'config'), path.join('local', 'serverless')]) {
    for (const file of fs.readdirSync(path.join(REPO_ROOT, dir), { recursive: true }).map(String).sort()) inputs.push(path.join(dir, file));
  }
  for (const input of inputs) {
    const full = path.join(REPO_ROOT, input);
    if (fs.existsSync(full) && fs.statSync(full).isFile()) {
      hash.update(input);
      hash.update(fs.readFileSync(full));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * serverless.yml resolved for a stage, exactly as the framework sees it: the single
 * source of truth for table and bucket definitions and for the functions' environment.
 * Resolving takes the framework ~4 s, so the answer is cached under .local-data/cache,
 * keyed by the content of every file that feeds it.
 */
export function serviceConfig(stage = 'local'): ServiceConfig {
  const cacheDir = path.join(REPO_ROOT, '.local-data', 'cache');
  const cacheFile = path.join(cacheDir, `serverless-${stage}-${cacheKey(stage)}.json`);
  if (fs.existsSync(cacheFile)) return JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as ServiceConfig;

  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !VOLATILE_ENV.test(name)));
  const bin = path.join(REPO_ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
  const output = execFileSync(process.execPath, [bin, 'print', '--stage', stage, '--format', 'json'], {
    cwd: REPO_ROOT,
    env: { ...env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const start = output.indexOf('{');
  const config = JSON.parse(output.slice(start)) as ServiceConfig;
  fs.mkdirSync(cacheDir, { recursive: true });
  for (const stale of fs.readdirSync(cacheDir).filter((file) => file.startsWith(`serverless-${stage}-`))) {
    fs.rmSync(path.join(cacheDir, stale), { force: true });
  }
  fs.writeFileSync(cacheFile, JSON.stringify(config));
  return config;
}

export function resourcesOfType(config: ServiceConfig, type: string): Array<[string, CfnResource]> {
  return Object.entries(config.resources?.Resources ?? {}).filter(([, resource]) => resource.Type === type);
}
