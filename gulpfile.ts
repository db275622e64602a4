/**
 * Developer and pipeline tasks. `--function <name>` narrows lint, test and coverage to
 * one function's files plus shared/, which is what each function's Go.cd pipeline runs:
 *
 *   npx gulp verify                      typecheck + lint + all tests with coverage (npm test)
 *   npx gulp test --function getHealth   that function's tests and the shared tests
 *   npx gulp package --stage dev         serverless package (one zip per function)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import os from 'node:os';
import gulp from 'gulp';
import { AWS_CONFIG_FILE, PIPELINES_FILE, pipelinesPath, renderAwsConfig, renderPipelines } from './local/delivery/pipelines';
import { functionInputs, listFunctions } from './local/functions';
import { EMPTY_ZIP } from './local/gateway/template';
import { checkLeastPrivilege } from './local/gateway/check';
import { importGraph, sharedTestsOf } from './local/testGraph';
import { breakingChanges } from './local/openapi/breaking';
import { OPENAPI_FILE, renderOpenApi } from './local/openapi/document';
import { WEB_API_TYPES } from './local/openapi/webClient';

const ROOT = __dirname;
const BIN = path.join(ROOT, 'node_modules', '.bin');

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: { function: { type: 'string' }, stage: { type: 'string' }, grep: { type: 'string' } },
  strict: false,
  allowPositionals: true,
});
const functionName = typeof args.function === 'string' ? args.function : undefined;
const stage = typeof args.stage === 'string' ? args.stage : 'dev';

/**
 * The commands running now. A signal to gulp alone (npm passes its own on; a CI runner may signal
 * only the top process) goes on to them, so they stop what they started (local/test/stack.ts)
 * before gulp ends, instead of running on without it.
 */
const running = new Set<ChildProcess>();
for (const signal of ['SIGHUP', 'SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of running) child.kill(signal);
    if (running.size === 0) process.exit(1);
  });
}

function run(command: string, commandArgs: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
    running.add(child);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(command)} ${commandArgs.join(' ')} failed (${code ?? signal})`));
    });
  });
}

function listFiles(dir: string, suffix: string): string[] {
  const full = path.join(ROOT, dir);
  if (!fs.existsSync(full)) return [];
  return fs
    .readdirSync(full, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith(suffix) && !file.split(path.sep).includes('node_modules'))
    .map((file) => path.join(dir, file))
    .sort();
}

/** The handler file of `--function NAME` (functions/<area>/<NAME>.ts). */
function functionSource(name: string): string {
  const matches = listFiles('functions', '.ts').filter((file) => path.basename(file) === `${name}.ts`);
  if (matches.length !== 1) {
    const known = listFiles('functions', '.ts')
      .filter((file) => !file.endsWith('.test.ts'))
      .map((file) => path.basename(file, '.ts'));
    throw new Error(`No single handler file for function "${name}". Known functions: ${known.join(', ')}`);
  }
  return matches[0] as string;
}

/** A function's own files: its handler and the tests beside it. */
function ownFiles(name: string): string[] {
  const source = functionSource(name);
  const stem = source.slice(0, -'.ts'.length);
  return listFiles(path.dirname(source), '.ts').filter((file) => file === source || file.startsWith(`${stem}.`));
}

/** The repository files a function's bundle is made of (esbuild's metafile, as the deploy bundles it). */
async function bundleInputs(name: string): Promise<string[]> {
  const source = functionSource(name);
  return (await functionInputs([{ name, source }]))[name] ?? [source];
}

/**
 * Suites that need no shared stack and take longest (measured: a JSON-reporter run of the whole
 * suite; the Go.cd stage commands take ~160 s of one worker). Mocha's workers take files in the
 * order given: starting these first keeps them from running alone at the tail. Suites that need
 * the shared stack stay in place, so they do not wait for it at the start.
 */
const LONGEST_SUITES = ['local/checks/stageCommands.e2e.test.ts'];

function longestFirst(files: string[]): string[] {
  const rank = (file: string): number => (LONGEST_SUITES.includes(file) ? LONGEST_SUITES.indexOf(file) : LONGEST_SUITES.length);
  return [...files].sort((a, b) => rank(a) - rank(b));
}

/**
 * The whole suite, or with --function what that function's pipeline tests: its own tests and the
 * tests of the shared modules its bundle is made of (local/testGraph.ts).
 */
async function testFiles(): Promise<string[]> {
  if (functionName === undefined) return longestFirst(['functions', 'shared', 'local', 'web'].flatMap((dir) => listFiles(dir, '.test.ts')));
  const own = ownFiles(functionName).filter((file) => file.endsWith('.test.ts'));
  return [...own, ...sharedTestsOf(await bundleInputs(functionName), importGraph())];
}

/** The whole project, or with --function the files of its bundle and its tests. */
async function lintTargets(): Promise<string[]> {
  if (functionName === undefined) return ['.'];
  return [...new Set([...ownFiles(functionName), ...(await bundleInputs(functionName)), ...(await testFiles())])].sort();
}

/**
 * Test files run in two parallel workers (this machine has two cores, and most suites wait on
 * the local stack more than they compute), around one shared stack the main process starts
 * (local/test/setup.ts). The whole suite reports with dots (failures in full, one summary line);
 * a function's pipeline names every test it ran (spec), so its log shows what was checked.
 */
async function mochaArgs(): Promise<string[]> {
  const grep = typeof args.grep === 'string' ? ['--grep', args.grep] : [];
  const reporter = process.env['ML_TEST_REPORTER'] ?? (functionName === undefined ? 'dot' : 'spec');
  return ['--parallel', '--jobs', process.env['ML_TEST_JOBS'] ?? '2', '--reporter', reporter, ...grep, ...(await testFiles())];
}

export async function typecheck(): Promise<void> {
  await run(path.join(BIN, 'tsc'), ['-p', 'tsconfig.json']);
  // The web app: its TypeScript and the Svelte components' scripts and markup; then its browser tests.
  await run(path.join(BIN, 'svelte-check'), ['--workspace', 'web', '--tsconfig', './tsconfig.json', '--threshold', 'warning', '--output', 'human']);
  await run(path.join(BIN, 'tsc'), ['-p', path.join('web', 'e2e', 'tsconfig.json')]);
}

export async function lint(): Promise<void> {
  return run(path.join(BIN, 'eslint'), ['--max-warnings=0', ...(await lintTargets())]);
}

export async function test(): Promise<void> {
  return run(path.join(BIN, 'mocha'), await mochaArgs());
}

/**
 * With --function, coverage is measured over exactly the files that function's bundle is built
 * from (its handler and the shared modules it imports, from esbuild's metafile): shared code
 * that only other functions use is measured in their pipelines.
 */
export async function coverage(): Promise<void> {
  let include: string[] = [];
  if (functionName !== undefined) include = (await bundleInputs(functionName)).flatMap((file) => ['--include', file]);
  // The whole suite records every permission the functions used at the local AWS gateway.
  const evidence = functionName === undefined && typeof args.grep !== 'string' ? { ML_IAM_EVIDENCE: freshEvidenceFile() } : {};
  return run(path.join(BIN, 'nyc'), [...include, path.join(BIN, 'mocha'), ...(await mochaArgs())], evidence);
}

const EVIDENCE_FILE = path.join(os.tmpdir(), `ml-iam-evidence-${process.pid}.jsonl`);
function freshEvidenceFile(): string {
  fs.rmSync(EVIDENCE_FILE, { force: true });
  fs.writeFileSync(EVIDENCE_FILE, '');
  process.once('exit', () => fs.rmSync(EVIDENCE_FILE, { force: true }));
  return EVIDENCE_FILE;
}

/**
 * After the whole suite: every permission a function's role grants was used by some call of the
 * run, or has a written reason (local/gateway/leastPrivilege.ts). A surplus grant fails.
 */
export async function leastPrivilege(): Promise<void> {
  if (!checkLeastPrivilege(EVIDENCE_FILE)) throw new Error('least privilege: some permissions were never used (see above)');
}
leastPrivilege.displayName = 'least-privilege';

export function start(): Promise<void> {
  return run(process.execPath, ['--import', 'tsx', path.join('local', 'start.ts')]);
}

/**
 * `gulp package --stage S` packages the whole service into artifacts/stack-S/.
 * `gulp package --function F --stage S` leaves artifacts/F.zip and artifacts/F.zip.sha256: the
 * artefact a function pipeline publishes and later deploys unchanged.
 */
async function packageService(): Promise<void> {
  if (functionName === undefined) {
    await run(path.join(BIN, 'serverless'), ['package', '--stage', stage, '--package', path.join('artifacts', `stack-${stage}`)]);
    return;
  }
  functionSource(functionName);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-package-'));
  try {
    // Only this function is built and zipped; the others get an empty placeholder zip (the stack
    // template still needs an artefact for each, but this pipeline deploys its function alone).
    for (const other of listFunctions().map((fn) => fn.name).filter((name) => name !== functionName)) fs.writeFileSync(path.join(out, `${other}.zip`), EMPTY_ZIP);
    await run(path.join(BIN, 'serverless'), ['package', '--stage', stage, '--package', out], { ML_BUILD_ONLY: functionName });
    fs.mkdirSync(path.join(ROOT, 'artifacts'), { recursive: true });
    const zip = `${functionName}.zip`;
    fs.copyFileSync(path.join(out, zip), path.join(ROOT, 'artifacts', zip));
    const digest = createHash('sha256').update(fs.readFileSync(path.join(ROOT, 'artifacts', zip))).digest('hex');
    // The format `sha256sum -c` reads, so deploy stages can verify what they fetched.
    fs.writeFileSync(path.join(ROOT, 'artifacts', `${zip}.sha256`), `${digest}  ${zip}\n`);
    console.log(`artifacts/${zip} (sha256 ${digest})`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
export { packageService as package };

/** Writes docs/openapi.v1.json from the route table and the zod schemas (never edit it by hand). */
export function openapi(): Promise<void> {
  fs.writeFileSync(path.join(ROOT, OPENAPI_FILE), renderOpenApi());
  console.log(`wrote ${OPENAPI_FILE}`);
  return Promise.resolve();
}

/** Writes the web app's API types (web/src/api/schema.d.ts) from docs/openapi.v1.json (never edit them by hand). */
export async function webClient(): Promise<void> {
  await run(path.join(BIN, 'openapi-typescript'), [OPENAPI_FILE, '--output', WEB_API_TYPES]);
}
webClient.displayName = 'web-client';

/**
 * Releases the current OpenAPI document as the v1 contract (docs/contract/v1.json), on purpose:
 * from then on `npm test` holds every later document to it. Prints what the release adds.
 */
export function contractRelease(): Promise<void> {
  const target = path.join(ROOT, 'docs', 'contract', 'v1.json');
  const current = renderOpenApi();
  const released = fs.existsSync(target) ? (JSON.parse(fs.readFileSync(target, 'utf8')) as Record<string, unknown>) : undefined;
  if (released !== undefined) {
    const problems = breakingChanges(released, JSON.parse(current) as Record<string, unknown>);
    if (problems.length > 0) {
      return Promise.reject(new Error(`Refusing to release a breaking change as v1 (put it in /v2 instead):\n  ${problems.join('\n  ')}`));
    }
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, current);
  console.log('released docs/openapi.v1.json as docs/contract/v1.json: commit it');
  return Promise.resolve();
}
contractRelease.displayName = 'contract-release';

/** Regenerates pipelines.gocd.yaml from serverless.yml, and the agents' AWS profiles (never edit them by hand). */
export async function pipelines(): Promise<void> {
  fs.writeFileSync(pipelinesPath(ROOT), await renderPipelines());
  fs.writeFileSync(path.join(ROOT, AWS_CONFIG_FILE), renderAwsConfig());
  console.log(`wrote ${PIPELINES_FILE} and ${AWS_CONFIG_FILE}`);
}

/** Validates aws-vpc.template (and, with --stage, the packaged stack) against the CloudFormation spec. */
export function checkTemplates(): Promise<void> {
  return run(path.join(BIN, 'mocha'), ['local/checks/templates.test.ts']);
}
checkTemplates.displayName = 'check-templates';

/**
 * Runs tasks side by side and waits for every one of them before failing with all their errors.
 * (gulp.parallel fails at the first error and exits while the others still run: a lint error
 * left the whole test run, its local stack and browser going on behind the exited command.)
 */
function sideBySideToTheEnd(...tasks: Array<() => Promise<void>>): () => Promise<void> {
  const all = async (): Promise<void> => {
    const failures = (await Promise.allSettled(tasks.map((task) => task()))).flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
    if (failures.length > 0) throw new Error(failures.map((failure) => failure.message).join('\n'));
  };
  all.displayName = tasks.map((task) => (task as { displayName?: string }).displayName ?? task.name).join(' + ');
  return all;
}

/**
 * What `npm test` and CI run. Typecheck and lint run beside the tests (the tests spend most of
 * their time waiting on the local stack), then the least-privilege check reads what they used.
 */
export const verify = gulp.series(sideBySideToTheEnd(typecheck, lint, coverage), leastPrivilege);
export default verify;
