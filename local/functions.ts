/**
 * The inventory of functions (from serverless.yml) and the repository source files each
 * one's bundle is built from (from esbuild's metafile, bundling exactly as the deploy
 * does, minus writing output). Used by the pre-commit hook to find the functions a change
 * affects, and by the delivery tooling.
 */
import path from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT, serviceConfig } from './stack/serviceConfig';

export interface FunctionInfo {
  name: string;
  /** functions/<area>/<name>.ts */
  source: string;
}

export function listFunctions(): FunctionInfo[] {
  const config = serviceConfig('local');
  return Object.entries(config.functions).map(([name, fn]) => {
    const modulePath = fn.handler.slice(0, fn.handler.lastIndexOf('.'));
    return { name, source: `${modulePath}.ts` };
  });
}

/** Repository files (relative, posix) that end up in each function's bundle. npm packages excluded. */
export async function functionInputs(functions: FunctionInfo[] = listFunctions()): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const fn of functions) {
    const { metafile } = await build({
      entryPoints: [path.join(REPO_ROOT, fn.source)],
      absWorkingDir: REPO_ROOT,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      mainFields: ['module', 'main'],
      packages: 'external',
      logLevel: 'silent',
    });
    result[fn.name] = Object.keys(metafile.inputs)
      .filter((input) => !input.startsWith('node_modules/') && !input.includes('/node_modules/'))
      .map((input) => input.split(path.sep).join('/'))
      .sort();
  }
  return result;
}
