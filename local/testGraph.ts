/**
 * Which test files can be affected by which source files, from TypeScript's own resolution of
 * every import in the project: the pre-commit hook runs the tests a change can reach, and a
 * function's pipeline runs the tests of the shared modules its bundle is made of.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './stack/serviceConfig';

export interface TestGraph {
  /** Every test file (repository-relative). */
  tests: string[];
  /** For each file, the files that import it directly. */
  importers: Map<string, Set<string>>;
}

const relative = (file: string): string => path.relative(REPO_ROOT, file).split(path.sep).join('/');

/** Tests that load code by a name from a table, not by an import: what they reach, as a pattern. */
const DYNAMIC_REACH: Record<string, RegExp> = {
  // Every route's handler, from the route table and serverless.yml.
  'local/reliability/fuzz.test.ts': /^(functions|shared)\//,
  'local/checks/openapi.test.ts': /^(functions\/|shared\/schemas\/|local\/openapi\/)/,
};

/** The file a test is beside: `x.test.ts`, `x.int.test.ts`, `x.e2e.test.ts`, `x.faults.test.ts` test `x.ts`. */
export const testedFile = (test: string): string => test.replace(/(\.(int|e2e|faults))?\.test\.ts$/, '.ts');

export function importGraph(): TestGraph {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(REPO_ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const importers = new Map<string, Set<string>>();
  const host = ts.createCompilerHost(config.options);
  for (const fileName of config.fileNames) {
    const from = relative(fileName);
    const info = ts.preProcessFile(fs.readFileSync(fileName, 'utf8'), true, true);
    for (const reference of info.importedFiles) {
      const resolved = ts.resolveModuleName(reference.fileName, fileName, config.options, host).resolvedModule;
      if (resolved === undefined || resolved.isExternalLibraryImport === true) continue;
      const to = relative(resolved.resolvedFileName);
      if (!importers.has(to)) importers.set(to, new Set());
      importers.get(to)?.add(from);
    }
  }
  const tests = config.fileNames.map(relative).filter((file) => file.endsWith('.test.ts'));
  return { tests, importers };
}

/** The changed files and every file that imports one of them, directly or through others. */
export function dependents(changed: string[], graph: TestGraph): Set<string> {
  const reached = new Set<string>(changed);
  const queue = [...changed];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    for (const importer of graph.importers.get(file) ?? []) {
      if (!reached.has(importer)) {
        reached.add(importer);
        queue.push(importer);
      }
    }
  }
  return reached;
}

/**
 * The tests a change to `changed` can reach: a test that imports a changed file, directly or
 * through others, or is the test beside such a file (handler tests load their handler by path).
 */
export function reachableTests(changed: string[], graph: TestGraph): string[] {
  const reached = dependents(changed, graph);
  return graph.tests.filter(
    (test) =>
      reached.has(test) ||
      reached.has(testedFile(test)) ||
      (DYNAMIC_REACH[test] !== undefined && [...reached].some((file) => !file.endsWith('.test.ts') && (DYNAMIC_REACH[test] as RegExp).test(file))),
  );
}

/**
 * The shared tests of the modules a bundle is made of: the test beside each of those modules, and
 * a shared test with no module beside it (a suite over several modules of its folder) when one of
 * the modules of its own folder it imports is in the bundle.
 */
export function sharedTestsOf(inputs: string[], graph: TestGraph): string[] {
  const bundled = new Set(inputs);
  return graph.tests.filter((test) => {
    if (!test.startsWith('shared/') || test.endsWith('.e2e.test.ts')) return false;
    const beside = testedFile(test);
    if (fs.existsSync(path.join(REPO_ROOT, beside))) return bundled.has(beside);
    return inputs.some((input) => path.posix.dirname(input) === path.posix.dirname(test) && graph.importers.get(input)?.has(test) === true);
  });
}
