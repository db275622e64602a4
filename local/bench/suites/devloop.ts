/**
 * The developer's loop, as a new developer meets it on this machine, in a fresh clone of the
 * committed tree (node_modules linked, as after `npm install`): the first `npm start` (nothing
 * cached), a second one, the memory of the whole process tree at rest after ready, what it prints
 * before its banner; the pre-commit hook for one-file changes; and `npm test` from end to end
 * (skipped with --quick). Every process is started in its own group and ended by SIGINT, as a
 * person would, then checked gone.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePortsSync } from '../../stack/ports';
import { REPO_ROOT } from '../../stack/serviceConfig';
import type { BenchContext } from '../context';
import type { DevloopResult, PrecommitRun } from '../results';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The environment of a developer's shell: nothing of this run (ports, AWS settings, coverage hooks). */
function developerEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(ML_|AWS_|NYC_|NODE_PRELOAD_)/.test(name) && name !== 'NODE_OPTIONS'));
}

/** RSS of a process and all its descendants, MiB. */
export function treeRssMiB(root: number): number {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,rss='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number, number]);
  const inTree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of rows) {
      if (!inTree.has(pid) && inTree.has(ppid)) {
        inTree.add(pid);
        grew = true;
      }
    }
  }
  return rows.filter(([pid]) => inTree.has(pid)).reduce((sum, [, , rss]) => sum + rss, 0) / 1024;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Started {
  child: ChildProcess;
  output(): string;
  readyAfterMs: number;
}

async function start(context: BenchContext, clone: string): Promise<Started> {
  const [api, lambda, dynamodb, s3, sns, ssm, live] = freePortsSync(7) as [number, number, number, number, number, number, number];
  const began = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('local', 'start.ts')], {
    cwd: clone,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...developerEnv(),
      ML_API_PORT: String(api),
      ML_LAMBDA_PORT: String(lambda),
      ML_DYNAMODB_PORT: String(dynamodb),
      ML_S3_PORT: String(s3),
      ML_SNS_PORT: String(sns),
      ML_SSM_PORT: String(ssm),
      ML_WS_PORT: String(live),
    },
  });
  if (child.pid !== undefined) {
    context.startedPids.add(child.pid);
    context.groups.add(child.pid);
  }
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  for (const deadline = Date.now() + 240_000; Date.now() < deadline; await pause(100)) {
    if (child.exitCode !== null) throw new Error(`npm start exited before it was ready:\n${output.slice(-3000)}`);
    if (output.includes('Ctrl-C stops everything')) return { child, output: () => output, readyAfterMs: Date.now() - began };
  }
  throw new Error(`npm start was not ready within 240 s:\n${output.slice(-3000)}`);
}

async function stop(context: BenchContext, started: Started): Promise<void> {
  const group = started.child.pid as number;
  process.kill(-group, 'SIGINT');
  for (const deadline = Date.now() + 30_000; groupAlive(group) && Date.now() < deadline; ) await pause(200);
  if (groupAlive(group)) process.kill(-group, 'SIGKILL');
  context.groups.delete(group);
}

/** One pre-commit hook run over a one-line change of `file` (a comment appended), staged. */
async function precommit(clone: string, file: string): Promise<PrecommitRun> {
  fs.appendFileSync(path.join(clone, file), `\n// a one-line change (devloop benchmark)\n`);
  execFileSync('git', ['add', file], { cwd: clone });
  const began = Date.now();
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('local', 'precommit.ts')], { cwd: clone, env: developerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('close', (code) => resolve({ code, output }));
  });
  execFileSync('git', ['checkout', 'HEAD', '--', file], { cwd: clone });
  const tests = Number(/(\d+) test file\(s\) the change can reach/.exec(result.output)?.[1] ?? 0);
  if (result.code !== 0) throw new Error(`the pre-commit hook failed on a comment in ${file}:\n${result.output.slice(-3000)}`);
  return { file, seconds: (Date.now() - began) / 1000, testFiles: tests };
}

export async function devloop(context: BenchContext): Promise<DevloopResult> {
  const clone = path.join(context.tempDir('ml-devloop-'), 'clone');
  execFileSync('git', ['clone', '--quiet', REPO_ROOT, clone]);
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
  context.log('devloop: a fresh clone; first npm start (nothing cached)…');

  const first = await start(context, clone);
  const beforeBanner = first.output().slice(0, first.output().indexOf('[local] ready in'));
  // npm's own echo of the script (`> media-library@… start`, `> node …`) is not ours to shorten.
  const linesBeforeBanner = beforeBanner.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('> ')).length;
  const bannerLines = first.output().slice(first.output().indexOf('[local] ready in')).split('\n').filter((line) => line.trim() !== '').length;
  const api = /App\s+(http:\/\/localhost:\d+)\//.exec(first.output())?.[1] as string;
  const landing = await fetch(`${api}/`);
  const health = await fetch(`${api}/v1/health`);
  // At rest: a few seconds after ready, nothing asked of it.
  await pause(10_000);
  const rssMiB = treeRssMiB(first.child.pid as number);
  await stop(context, first);

  context.log('devloop: second npm start (warm)…');
  const warm = await start(context, clone);
  await stop(context, warm);

  context.log('devloop: the pre-commit hook on one-file changes…');
  const precommitRuns: PrecommitRun[] = [];
  // The first run builds the incremental type information; the figures are the runs after it.
  await precommit(clone, 'shared/content/keys.ts');
  for (const file of ['functions/media/getMedia.ts', 'shared/content/keys.ts', 'shared/domain/media.ts']) precommitRuns.push(await precommit(clone, file));

  let test: DevloopResult['test'];
  if (!context.options.quick) {
    context.log('devloop: npm test in the fresh clone (about 6–7 minutes)…');
    const began = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('npm', ['test'], { cwd: clone, env: developerEnv(), stdio: ['ignore', 'ignore', 'ignore'], detached: true });
      if (child.pid !== undefined) context.groups.add(child.pid);
      child.once('close', (exit) => {
        if (child.pid !== undefined) context.groups.delete(child.pid);
        resolve(exit);
      });
    });
    test = { seconds: (Date.now() - began) / 1000, passed: code === 0 };
  }
  return {
    firstStartSeconds: first.readyAfterMs / 1000,
    warmStartSeconds: warm.readyAfterMs / 1000,
    rssAtRestMiB: rssMiB,
    linesBeforeBanner,
    bannerLines,
    landingStatus: landing.status,
    healthStatus: health.status,
    precommit: precommitRuns,
    ...(test === undefined ? {} : { test }),
  };
}
