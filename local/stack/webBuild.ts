/**
 * The web app's build for `npm start` and the browser tests: `vite build` into web/dist, skipped
 * when nothing it is built from changed since the last build (a digest of the sources, the Vite
 * config and the lock file, kept beside the output). Runs as a child process so Vite's memory is
 * given back once the build is done.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './serviceConfig';

const execFileAsync = promisify(execFile);
export const WEB_DIR = path.join(REPO_ROOT, 'web');
export const WEB_DIST = path.join(WEB_DIR, 'dist');
const DIGEST_FILE = path.join(WEB_DIST, '.source-digest');

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

/** A digest of everything the app's build reads (unit tests beside the code excluded). */
export function webSourceDigest(): string {
  const hash = createHash('sha256');
  const inputs = [...filesUnder(path.join(WEB_DIR, 'src')).filter((file) => !file.endsWith('.test.ts')), path.join(WEB_DIR, 'index.html'), path.join(WEB_DIR, 'vite.config.mts'), path.join(REPO_ROOT, 'package-lock.json')].sort();
  for (const file of inputs) hash.update(path.relative(REPO_ROOT, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  return hash.digest('hex');
}

const LOCK = path.join(WEB_DIR, '.build-lock');

/** One build at a time across processes (test runs start several stacks at once). */
async function withBuildLock<T>(task: () => Promise<T>): Promise<T> {
  for (let waited = 0; ; waited += 200) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch {
      // A lock older than two minutes belongs to a build that died.
      const age = Date.now() - (fs.statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 120_000) fs.rmSync(LOCK, { recursive: true, force: true });
      if (waited > 180_000) throw new Error(`${LOCK} is held by another build for 3 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await task();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

const isCurrent = (digest: string): boolean => fs.existsSync(DIGEST_FILE) && fs.readFileSync(DIGEST_FILE, 'utf8') === digest && fs.existsSync(path.join(WEB_DIST, 'index.html'));

/** Builds web/dist unless it is current; answers whether a build ran. */
export async function buildWebApp(options: { force?: boolean } = {}): Promise<boolean> {
  const digest = webSourceDigest();
  if (!options.force && isCurrent(digest)) return false;
  return withBuildLock(async () => {
    if (!options.force && isCurrent(digest)) return false;
    await viteBuild();
    fs.writeFileSync(DIGEST_FILE, digest);
    return true;
  });
}

async function viteBuild(): Promise<void> {
  try {
    // Vite where Node finds it (the checkout's node_modules, or a parent folder's for a pipeline workspace).
    const vite = path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
    await execFileAsync(process.execPath, [vite, 'build', '--config', path.join(WEB_DIR, 'vite.config.mts'), '--logLevel', 'error'], {
      cwd: REPO_ROOT,
      env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string };
    throw new Error(`the web app did not build:\n${output.stderr ?? ''}${output.stdout ?? ''}`, { cause: error });
  }
}

if (require.main === module) {
  buildWebApp({ force: process.argv.includes('--force') }).then(
    (built) => console.log(built ? `web/dist built` : 'web/dist is current'),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
