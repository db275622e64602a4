/**
 * Runs one measuring task (local/bench/tasks/*.ts) in a fresh Node process with exactly the
 * environment given: the functions' environment, so their modules configure themselves as on
 * Lambda, and nothing else runs in that process while it measures. Its stdout (the functions'
 * JSON logs) goes to /dev/null, as cheap as Lambda's log pipe; the result comes back in a file.
 * A task that overruns its time is killed, so a run always ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../stack/serviceConfig';

const WORKER = path.join(__dirname, 'worker.ts');

const running = new Set<ChildProcess>();

/** Ends every task process still running (an interrupted run). */
export function killRunningTasks(): void {
  for (const child of running) child.kill('SIGKILL');
}

export async function runTask<Result>(task: string, input: unknown, env: Record<string, string>, scratch: string, timeoutMs: number): Promise<Result> {
  fs.mkdirSync(scratch, { recursive: true });
  const stamp = `${task}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const inputFile = path.join(scratch, `${stamp}.in.json`);
  const outputFile = path.join(scratch, `${stamp}.out.json`);
  fs.writeFileSync(inputFile, JSON.stringify(input));
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, task, inputFile, outputFile], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8000)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | string>((resolve) => {
    child.once('error', (error) => resolve(error.message));
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? signal ?? 'unknown'));
  });
  clearTimeout(timer);
  running.delete(child);
  try {
    if (code !== 0) throw new Error(`benchmark task ${task} ended with ${code}${timedOut ? ` (over its ${timeoutMs / 1000} s)` : ''}:\n${stderr.trim()}`);
    return JSON.parse(fs.readFileSync(outputFile, 'utf8')) as Result;
  } finally {
    fs.rmSync(inputFile, { force: true });
    fs.rmSync(outputFile, { force: true });
  }
}
