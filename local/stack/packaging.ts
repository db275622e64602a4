import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './serviceConfig';

const execFileAsync = promisify(execFile);

export interface PackagedStage {
  dir: string;
  template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown }>; Outputs?: Record<string, unknown> };
  zips: string[];
}

const packaged = new Map<string, Promise<PackagedStage>>();
const folders: string[] = [];
let cleanupRegistered = false;

/** Packages are shared by every suite of a run (packaging takes ~20 s); they go when the process does. */
function removeAtExit(dir: string): void {
  folders.push(dir);
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  process.once('exit', () => {
    for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
  });
}

/**
 * `serverless package --stage <stage>` into a temporary folder, with no AWS credentials
 * (none exist here): what a deploy would upload, for the checks over artefacts.
 */
export function packageStage(stage: string): Promise<PackagedStage> {
  let pending = packaged.get(stage);
  if (pending === undefined) {
    pending = (async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ml-package-${stage}-`));
      removeAtExit(dir);
      const bin = path.join(REPO_ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('ML_')));
      const workFolder = `.esbuild-package-${stage}-${process.pid}`;
      try {
        await execFileAsync(process.execPath, [bin, 'package', '--stage', stage, '--package', dir], {
          cwd: REPO_ROOT,
          env: { ...env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', ML_ESBUILD_WORK_FOLDER: workFolder },
          maxBuffer: 64 * 1024 * 1024,
        });
      } finally {
        fs.rmSync(path.join(REPO_ROOT, workFolder), { recursive: true, force: true });
      }
      const template = JSON.parse(fs.readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as PackagedStage['template'];
      const zips = fs.readdirSync(dir).filter((file) => file.endsWith('.zip')).sort();
      return { dir, template, zips };
    })();
    packaged.set(stage, pending);
  }
  return pending;
}
