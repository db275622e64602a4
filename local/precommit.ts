/**
 * The pre-commit hook's work (.githooks/pre-commit), on what is being committed (the staged
 * content, not the working tree), in one process:
 *
 *  1. typecheck: an incremental TypeScript program in which every staged file reads as staged
 *     (the build info in node_modules/.cache makes a one-file change cost a second or two);
 *  2. lint the staged content of every staged script with the project's ESLint rules;
 *  3. run the tests the change can reach (started first, beside 1 and 2), by the import graph:
 *     a test runs when it imports a changed file, directly or through others, or is the test
 *     beside such a file (handler tests load their handler by path), in-process: suites that start the local stack (end-to-end,
 *     integration over DynamoDB Local and s3rver), the peak-memory measurement of the format
 *     suite and, unless the OpenAPI document or its ruleset is staged, Spectral's check of it are left
 *     to `npm test`, which runs everything (PRECOMMIT_FULL=1 runs them here too); one test worker
 *     beside 1 and 2, two for more than PARALLEL_FROM files;
 *     a change to the toolchain (package.json, tsconfig, serverless.yml, the mocha set-up) runs
 *     every in-process test.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import ts from 'typescript';
import { REPO_ROOT } from './stack/serviceConfig';
import { dependents, importGraph, reachableTests } from './testGraph';
import { USES_LOCAL_STACK } from './test/usesStack';

/** Above how many test files the hook's tests run in two workers. */
const PARALLEL_FROM = 40;

/** The Spectral check of the OpenAPI document (local/checks/openapi.test.ts): its title and its inputs. */
export const SPECTRAL_TEST = 'passes Spectral’s OpenAPI rules';
const SPECTRAL_INPUTS = ['docs/openapi.v1.json', '.spectral.yaml'];

const BUILD_INFO = path.join(REPO_ROOT, 'node_modules', '.cache', 'ml-precommit.tsbuildinfo');

/** Files that shape every test run: a change to one of them is a change to everything. */
const EVERYTHING = ['package.json', 'package-lock.json', 'tsconfig.json', 'serverless.yml', '.mocharc.cjs', 'local/test/setup.ts', 'eslint.config.mjs'];

const relative = (file: string): string => path.relative(REPO_ROOT, file).split(path.sep).join('/');

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** The staged content of a file. */
const stagedContent = (file: string): string => git(['show', `:${file}`]);

/**
 * Type-checks `roots` (and what they import) with the staged content. Only a changed file or a file
 * that imports one, directly or through others, can gain a type error, so the roots are those
 * files; a change to the configuration or to a declaration file checks the whole project.
 */
function typecheck(staged: Map<string, string>, roots: string[] | 'all'): { ok: boolean; program: ts.Program } {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(REPO_ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const options: ts.CompilerOptions = { ...config.options, incremental: true, tsBuildInfoFile: BUILD_INFO, noEmit: true };
  const host = ts.createIncrementalCompilerHost(options);
  const readFile = host.readFile.bind(host);
  host.readFile = (file) => staged.get(relative(file)) ?? readFile(file);
  // Staged files that are new are not in the working tree's file list if they were deleted there.
  const stagedScripts = [...staged.keys()].filter((file) => file.endsWith('.ts')).map((file) => path.join(REPO_ROOT, file));
  const rootNames = [...new Set([...(roots === 'all' ? config.fileNames : roots.map((file) => path.join(REPO_ROOT, file))), ...stagedScripts])];
  const program = ts.createIncrementalProgram({ rootNames, options, host });
  // The builder's own queries reuse the results stored in the build info for every file the change
  // cannot affect; ts.getPreEmitDiagnostics would check the whole program again.
  const diagnostics = [
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getSyntacticDiagnostics(),
    ...program.getSemanticDiagnostics(),
  ];
  program.emit(); // writes the build info only (noEmit), so the next run starts from here
  if (diagnostics.length > 0) console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, { getCanonicalFileName: (file) => file, getCurrentDirectory: () => REPO_ROOT, getNewLine: () => '\n' }));
  return { ok: diagnostics.length === 0, program: program.getProgram() };
}

/** Lints the staged scripts with the type information of the program just checked (no second program). */
async function lint(staged: Map<string, string>, program: ts.Program): Promise<boolean> {
  const eslint = new ESLint({
    cwd: REPO_ROOT,
    overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false, programs: [program] } } },
  });
  let problems = 0;
  const formatter = await eslint.loadFormatter('stylish');
  for (const [file, content] of staged) {
    if (!/\.(ts|cjs|mjs)$/.test(file) || (await eslint.isPathIgnored(file))) continue;
    const results = await eslint.lintText(content, { filePath: path.join(REPO_ROOT, file) });
    problems += results.reduce((sum, result) => sum + result.errorCount + result.warningCount, 0);
    const text = await formatter.format(results);
    if (text.trim() !== '') console.error(text);
  }
  return problems === 0;
}

async function main(): Promise<void> {
  const started = Date.now();
  const files = git(['diff', '--cached', '--name-only', '--diff-filter=ACMR'])
    .split('\n')
    .filter(Boolean);
  if (files.length === 0) return;
  const staged = new Map(files.filter((file) => /\.(ts|cjs|mjs|json)$/.test(file)).map((file) => [file, stagedContent(file)]));

  const graph = importGraph();
  const everything = files.some((file) => EVERYTHING.includes(file) || file.endsWith('.d.ts'));
  const full = process.env['PRECOMMIT_FULL'] === '1';
  const reachable = everything ? graph.tests : reachableTests(files, graph);
  // A quick gate, not the whole run: what needs the local stack (Java, s3rver, serverless-offline:
  // seconds to start, tens of seconds to run) is for `npm test` and CI.
  const leftOut = full ? [] : reachable.filter((test) => test.endsWith('.e2e.test.ts') || USES_LOCAL_STACK.test(fs.readFileSync(path.join(REPO_ROOT, test), 'utf8')));
  const tests = reachable.filter((test) => !leftOut.includes(test));
  // The tests start at once and run beside the typecheck and lint (which cannot change what they
  // find); their output is shown after the verdict of those two.
  const testing = tests.length === 0 ? undefined : startTests(tests, full, files);

  const affected = [...dependents(files, graph)].filter((file) => file.endsWith('.ts'));
  const { ok: typed, program } = typecheck(staged, everything ? 'all' : affected);
  const typechecked = Date.now();
  const linted = await lint(staged, program);
  const seconds = (from: number, to = Date.now()): string => ((to - from) / 1000).toFixed(1);
  if (!typed || !linted) {
    testing?.stop();
    console.error(`pre-commit: ${typed ? '' : 'type errors'}${!typed && !linted ? ' and ' : ''}${linted ? '' : 'lint problems'} in what is staged (git commit --no-verify skips this check)`);
    process.exit(1);
  }
  console.log(`pre-commit: typecheck (${seconds(started, typechecked)} s) and lint (${seconds(typechecked)} s) passed`);
  if (leftOut.length > 0) console.log(`pre-commit: ${leftOut.length} reachable suite(s) that start the local stack are left to npm test (PRECOMMIT_FULL=1 runs them here)`);
  if (testing === undefined) {
    console.log('pre-commit: no in-process test can be affected by this change');
    return;
  }
  console.log(`pre-commit: ${tests.length} test file(s) the change can reach`);
  const { status, output } = await testing.finished;
  process.stdout.write(output);
  if (status !== 0) process.exit(status ?? 1);
  console.log(`pre-commit: done in ${seconds(started)} s`);
}

/**
 * Mocha arguments that leave out the Spectral check unless it can find something new. Spectral
 * reads nothing but the committed OpenAPI document and its ruleset (3 s of a one-file hook):
 * unless one of them is staged its verdict cannot change. (A code change that should change the
 * document fails the test that the document is up to date, which runs.)
 */
export function spectralFilter(staged: string[], full: boolean): string[] {
  return full || staged.some((file) => SPECTRAL_INPUTS.includes(file)) ? [] : ['--grep', SPECTRAL_TEST, '--invert'];
}

/**
 * Mocha over `tests` in the background, its output kept. The property suites (route and
 * file-format fuzzing) run a few cases each here and their full counts (and the format suite's
 * peak-memory measurement) in `npm test`; files share both cores.
 */
function startTests(tests: string[], full: boolean, staged: string[]): { finished: Promise<{ status: number | null; output: string }>; stop: () => void } {
  // One core runs the tests, the other the typecheck and lint beside them; a second test worker
  // pays off only for a long list (measured on 23 files: 12.8 s alone in one worker, 11.8 s in two
  // but 19 CPU-s instead of 15, so 18 s instead of 14 s for the whole hook beside the typecheck).
  const parallel = tests.length > PARALLEL_FROM ? ['--parallel', '--jobs', '2'] : [];
  const spectral = spectralFilter(staged, full);
  const quick = full ? {} : { FORMATS_MEMORY: process.env['FORMATS_MEMORY'] ?? 'off' };
  const env = { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : '0', FUZZ_RUNS: process.env['FUZZ_RUNS'] ?? '8', FORMATS_RUNS: process.env['FORMATS_RUNS'] ?? '4', ...quick };
  const child = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'mocha'), [...quickMochaOptions(), '--reporter', 'dot', ...parallel, ...spectral, ...tests], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const finished = new Promise<{ status: number | null; output: string }>((resolve) => child.on('close', (status) => resolve({ status, output })));
  const stop = (): void => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already ended
    }
  };
  process.once('exit', stop);
  return { finished, stop };
}

interface MochaConfig {
  require: string[];
  extension: string[];
  timeout: number;
  slow: number;
  exit: boolean;
}

/**
 * Mocha as .mocharc.cjs sets it up, with tsx (esbuild) transpiling in place of ts-node: `npm test`
 * needs TypeScript's own emit for exact coverage, the hook measures none, and tsx takes about
 * 30% off its test time (14 s to 10 s for the 23 in-process suites a change to a core module reaches).
 */
function quickMochaOptions(): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the project's mocha configuration, a CommonJS module
  const config = require(path.join(REPO_ROOT, '.mocharc.cjs')) as MochaConfig;
  const requires = config.require.map((module) => (module === 'ts-node/register' ? 'tsx/cjs' : module));
  return [
    '--no-config',
    ...requires.flatMap((module) => ['--require', module]),
    ...config.extension.flatMap((extension) => ['--extension', extension]),
    ...['--timeout', String(config.timeout), '--slow', String(config.slow)],
    ...(config.exit ? ['--exit'] : []),
  ];
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
