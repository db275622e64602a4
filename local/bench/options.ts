/** The command line of `npm run bench` (local/bench/run.ts). */
import path from 'node:path';

export const SUITES = ['footprint', 'overhead', 'roundtrips', 'login', 'upload', 'api', 'devloop', 'web'] as const;
export type SuiteName = (typeof SUITES)[number];

/** Where a full run writes its report (relative to the repository). */
export const DEFAULT_REPORT = path.join('docs', 'benchmarks.md');

/** `--only a,b` → the suites to run, in the canonical order; `cost` means roundtrips (the cost table comes from it). */
export function selectSuites(only: string | undefined): SuiteName[] {
  if (only === undefined || only.trim() === '') return [...SUITES];
  const wanted = new Set(
    only
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '')
      .map((name) => (name === 'cost' ? 'roundtrips' : name)),
  );
  const unknown = [...wanted].filter((name) => !(SUITES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${SUITES.join(', ')}, cost`);
  return SUITES.filter((name) => wanted.has(name));
}
