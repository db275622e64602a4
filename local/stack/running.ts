/**
 * Where a running `npm start` can be found: it writes its URLs to `<data dir>/stack.json` when it
 * is ready and removes the file when it stops, so helper commands (seed, sweep, consistency check,
 * reset) talk to the stack that runs, on whatever ports it was moved to.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './serviceConfig';

export interface StackUrls {
  app: string;
  api: string;
  docs: string;
  lambda: string;
  dynamodb: string;
  s3: string;
  sns: string;
  ssm: string;
  /** The live-updates WebSocket API. */
  live: string;
}

export interface RunningStackInfo {
  pid: number;
  startedAt: string;
  dataDir: string;
  urls: StackUrls;
}

export const localDataDir = (): string => path.resolve(REPO_ROOT, process.env['ML_DATA_DIR'] ?? '.local-data');
const infoFile = (dataDir: string): string => path.join(dataDir, 'stack.json');

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function writeStackInfo(info: RunningStackInfo): void {
  fs.writeFileSync(infoFile(info.dataDir), JSON.stringify(info, null, 2));
}

export function removeStackInfo(dataDir: string): void {
  fs.rmSync(infoFile(dataDir), { force: true });
}

/** The stack `npm start` runs on this data directory, if one does. */
export function runningStack(dataDir = localDataDir()): RunningStackInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(infoFile(dataDir), 'utf8')) as RunningStackInfo;
    return processAlive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A URL of the running stack; an explicit port in `envName` wins (and is how a command reaches a
 * stack started elsewhere); without either, the default port. Says what to do when nothing runs.
 */
export function stackUrl(which: keyof StackUrls, envName: string, defaultPort: number): string {
  const explicit = process.env[envName];
  if (explicit !== undefined && explicit !== '') return which === 'api' ? `http://127.0.0.1:${explicit}/v1` : `http://127.0.0.1:${explicit}`;
  const running = runningStack();
  if (running !== undefined) return running.urls[which];
  return which === 'api' ? `http://127.0.0.1:${defaultPort}/v1` : `http://127.0.0.1:${defaultPort}`;
}
