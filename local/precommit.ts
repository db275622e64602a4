/**
 * The pre-commit hook's work (.githooks/pre-commit): lint the staged files, then run the
 * unit and integration tests of every function the staged files affect (a function is
 * affected when a staged file is part of its bundle, or is one of its tests), plus the
 * shared tests when shared code changed. End-to-end suites are left to `npm test` and CI
 * to keep commits fast; set PRECOMMIT_E2E=1 to include them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { functionInputs, listFunctions } from './functions';
import { REPO_ROOT } from './stack/serviceConfig';

const bin = (name: string): string => path.join(REPO_ROOT, 'node_modules', '.bin', name);

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { cwd: REPO_ROOT, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function testsBeside(source: string): string[] {
  const dir = path.dirname(source);
  const stem = path.basename(source, '.ts');
  if (!fs.existsSync(path.join(REPO_ROOT, dir))) return [];
  return fs
    .readdirSync(path.join(REPO_ROOT, dir))
    .filter((file) => file.startsWith(`${stem}.`) && file.endsWith('.test.ts'))
    .map((file) => `${dir}/${file}`);
}

async function main(): Promise<void> {
  const staged = execFileSync('git', ['diff', '--cached', '--name-only', '--diff-filter=ACMR'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  if (staged.length === 0) return;

  const lintable = staged.filter((file) => /\.(ts|cjs|mjs)$/.test(file));
  if (lintable.length > 0) run(bin('eslint'), ['--max-warnings=0', ...lintable]);

  const e2e = process.env['PRECOMMIT_E2E'] === '1';
  const keep = (file: string): boolean => e2e || !file.endsWith('.e2e.test.ts');
  const functions = listFunctions();
  const inputs = await functionInputs(functions);
  const everything = staged.some((file) => ['package.json', 'package-lock.json', 'serverless.yml', 'tsconfig.json'].includes(file));

  const tests = new Set<string>();
  for (const fn of functions) {
    const own = testsBeside(fn.source);
    const affected = everything || staged.some((file) => (inputs[fn.name] ?? []).includes(file) || own.includes(file));
    if (affected) own.filter(keep).forEach((file) => tests.add(file));
  }
  const sharedTouched = everything || staged.some((file) => file.startsWith('shared/'));
  if (sharedTouched || tests.size > 0) {
    for (const file of fs.readdirSync(path.join(REPO_ROOT, 'shared'), { recursive: true }).map(String)) {
      if (file.endsWith('.test.ts') && keep(file)) tests.add(`shared/${file.split(path.sep).join('/')}`);
    }
  }
  staged.filter((file) => file.endsWith('.test.ts') && keep(file) && fs.existsSync(path.join(REPO_ROOT, file))).forEach((file) => tests.add(file));

  if (tests.size === 0) {
    console.log('pre-commit: lint passed; no function or shared code affected, no tests to run');
    return;
  }
  console.log(`pre-commit: running ${tests.size} test file(s) of the affected code`);
  run(bin('mocha'), [...tests].sort());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
