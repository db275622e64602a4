import { execFileSync, type ChildProcess } from 'node:child_process';

/** Resolves with the exit code once the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Stops a child we started: the polite signal first, SIGKILL if it has not exited
 * within `graceMs`. Resolves once the process is gone, so callers can promise that
 * nothing is left running.
 */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/**
 * Last-resort synchronous cleanup for `process.on('exit')`, where nothing async can run. SIGKILL
 * by default; SIGTERM lets a child that stops promptly clean up after itself on its own.
 */
export function killNow(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill(signal);
}

/** Every process below `pid` (children, their children…), from `ps`: what a test must see gone. */
export function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}
