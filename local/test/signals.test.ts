/**
 * A test run stopped by a signal to its main process alone (a CI runner cancelling the job, `kill
 * PID`) stops what it started: DynamoDB Local, the S3 stand-in, its workers, and removes its
 * temporary folders. Without the harness's signal handlers (local/test/stack.ts) the process
 * died without its exit handlers, and DynamoDB Local went on running.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { descendants, exited } from '../stack/processes';
import { REPO_ROOT } from '../stack/serviceConfig';
import { withoutCoverage } from './uninstrumented';

const MOCHA = path.join(REPO_ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
/** Where local/stack/ports.ts reserves ports for every process of the machine. */
const RESERVATIONS = path.join(os.tmpdir(), 'media-library-ports');

/**
 * What any run leaves in the temporary folder on purpose, one of each, reused by the next: the port
 * reservations' folder, ts-node's compile cache, DynamoDB Local's metadata file (in memory, it has
 * no data folder of its own).
 */
const SHARED_BY_DESIGN = /^(media-library-ports|v8-compile-cache-\d+|dynamodb-local-metadata\.json)$/;

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** A test file that starts the local stack, says so, and then waits for ever (in a folder of its own, outside the repository). */
function holdingTestFile(dir: string): string {
  const file = path.join(dir, 'holds.test.ts');
  const stack = JSON.stringify(path.join(REPO_ROOT, 'local', 'test', 'stack'));
  const ready = JSON.stringify(path.join(dir, 'ready.json'));
  fs.writeFileSync(
    file,
    // require, not import: outside the repository there is no tslib for TypeScript's import helpers.
    `const fs = require('node:fs');
const { localStack } = require(${stack});
it('holds the local stack', async function () {
  this.timeout(0);
  await localStack();
  fs.writeFileSync(${ready}, '');
  await new Promise(() => undefined);
});
`,
  );
  return file;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; ) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Those of `pids` still running (a zombie waiting for its parent to reap it has ended). */
function stillRunning(pids: number[]): number[] {
  const states = new Map(
    execFileSync('ps', ['-e', '-o', 'pid=,stat='], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .map(([pid, stat]) => [Number(pid), stat ?? '']),
  );
  return pids.filter((pid) => states.has(pid) && !(states.get(pid) as string).startsWith('Z'));
}

/** The executable names of `pids` that still exist. */
function execNames(pids: number[]): string[] {
  return pids.flatMap((pid) => {
    try {
      return [fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()];
    } catch {
      return [];
    }
  });
}

/** The environment of a run of its own: nothing of this run's shared stack. */
function ownRunEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ML_TEST_') && name !== 'ML_IAM_EVIDENCE'));
}

describe('a test run stopped by a signal to its main process alone (local/test/stack.ts)', function () {
  this.timeout(120_000);
  const cases: Array<{ signal: 'SIGINT' | 'SIGTERM'; number: number; mode: string[]; how: string; when: 'ready' | 'starting' }> = [
    { signal: 'SIGINT', number: 2, mode: ['--parallel', '--jobs', '1'], how: 'parallel workers, the stack in the main process', when: 'ready' },
    { signal: 'SIGTERM', number: 15, mode: ['--parallel', '--jobs', '1'], how: 'parallel workers', when: 'starting' },
  ];
  for (const { signal, number, mode, how, when } of cases) {
    it(`${signal} (${how}) while the stack is ${when}: the run ends with ${128 + number} and leaves no process or folder of its own`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-signal-'));
      let child: ChildProcess | undefined;
      try {
        // Its temporary folders go to a folder of its own, to see them all gone; its port
        // reservations to the machine's, so it takes no port another run holds.
        const tmp = path.join(dir, 'tmp');
        fs.mkdirSync(tmp);
        fs.symlinkSync(RESERVATIONS, path.join(tmp, path.basename(RESERVATIONS)));
        // Not measured by the run's coverage (uninstrumented.ts): `env -u` execs mocha, same pid.
        const [program, args] = withoutCoverage(process.execPath, [MOCHA, ...mode, '--reporter', 'dot', holdingTestFile(dir)]);
        child = spawn(program, args, { cwd: REPO_ROOT, env: { ...ownRunEnv(), TMPDIR: tmp }, stdio: 'ignore' });
        const ended = exited(child);
        const pid = child.pid as number;
        const ready = (): boolean => fs.existsSync(path.join(dir, 'ready.json'));
        // Every process below the run once DynamoDB Local (java) is one of them, and the stack ready or not yet.
        const started = await waitFor(
          `DynamoDB Local to start${when === 'ready' ? ' and the stack to be ready' : ''}`,
          () => {
            const pids = descendants(pid);
            return execNames(pids).includes('java') && (when === 'starting' || ready()) ? pids : undefined;
          },
          90_000,
        );
        if (when === 'starting') expect(ready(), 'the stack is ready already').to.equal(false);

        child.kill(signal);
        expect(await ended).to.equal(128 + number);
        await waitFor('its processes to end', () => (stillRunning(started).length === 0 ? true : undefined), 10_000).catch(() => undefined);
        expect(stillRunning(started), 'processes of the run still running').to.deep.equal([]);
        expect(fs.readdirSync(tmp).filter((name) => !SHARED_BY_DESIGN.test(name)), 'its temporary folders').to.deep.equal([]);
        const reservations = fs.readdirSync(RESERVATIONS).filter((port) => readOrEmpty(path.join(RESERVATIONS, port)) === String(child?.pid));
        expect(reservations, 'its port reservations').to.deep.equal([]);
      } finally {
        // A failed check must not leave the run behind: it stops on SIGTERM (or did not start).
        if (child !== undefined && child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited(child);
        }
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

