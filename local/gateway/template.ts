/**
 * The CloudFormation template `serverless package` emits for a stage: the source of every
 * function's IAM role the local gateway enforces. Packaging for real bundles every function
 * (~25 s); the roles do not depend on the bundles, so this packages with placeholder artefacts
 * (serverless-esbuild's prebuilt mode over empty zips, ~3 s), which yields the very same template
 * minus code hashes (local/checks/policy.test.ts compares the roles with a full package). The
 * result is cached under .local-data/cache, keyed by every file that shapes it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheKey, REPO_ROOT, serviceConfig } from '../stack/serviceConfig';

const execFileAsync = promisify(execFile);

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: unknown;
}
export interface PackagedTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, unknown>;
}

/** The smallest valid zip: an end-of-central-directory record and nothing else. */
export const EMPTY_ZIP = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)]);

const pending = new Map<string, Promise<PackagedTemplate>>();

async function packageTemplate(stage: string): Promise<PackagedTemplate> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ml-template-${stage}-`));
  try {
    for (const name of Object.keys(serviceConfig(stage).functions)) fs.writeFileSync(path.join(dir, `${name}.zip`), EMPTY_ZIP);
    const bin = path.join(REPO_ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('ML_')));
    await execFileAsync(process.execPath, [bin, 'package', '--stage', stage, '--package', dir], {
      cwd: REPO_ROOT,
      env: { ...env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', ML_DEPLOY_PREBUILT: 'true' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(fs.readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as PackagedTemplate;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const cacheFileOf = (stage: string): string => path.join(REPO_ROOT, '.local-data', 'cache', `template-${stage}-${cacheKey(stage)}.json`);

/** The packaged template of `stage` if it is cached on disk for the current inputs. */
export function cachedTemplate(stage = 'local'): PackagedTemplate | undefined {
  const file = cacheFileOf(stage);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as PackagedTemplate) : undefined;
}

/** The packaged template of `stage` (cached on disk and in this process). */
export function packagedTemplate(stage = 'local'): Promise<PackagedTemplate> {
  let result = pending.get(stage);
  if (result === undefined) {
    result = (async () => {
      const cacheFile = cacheFileOf(stage);
      const cacheDir = path.dirname(cacheFile);
      const cached = cachedTemplate(stage);
      if (cached !== undefined) return cached;
      const template = await packageTemplate(stage);
      fs.mkdirSync(cacheDir, { recursive: true });
      for (const stale of fs.readdirSync(cacheDir).filter((file) => file.startsWith(`template-${stage}-`))) fs.rmSync(path.join(cacheDir, stale), { force: true });
      // Written whole, then renamed: a concurrent reader never sees half a file.
      const temporary = `${cacheFile}.${process.pid}`;
      fs.writeFileSync(temporary, JSON.stringify(template));
      fs.renameSync(temporary, cacheFile);
      return template;
    })();
    pending.set(stage, result);
  }
  return result;
}
