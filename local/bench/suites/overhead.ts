/**
 * Handler overhead (middleware, validation, logging) of representative endpoints: the deployed
 * bundle of the function against a bare handler making the same SDK calls (local/bench/bare/),
 * bundled with the same settings, both warm, in one process, against DynamoDB Local.
 */
import path from 'node:path';
import { buildBundle, deployBuildOptions } from '../bundles';
import { runTask } from '../child';
import type { BenchContext } from '../context';
import type { OverheadResult, OverheadRow } from '../results';
import type { OverheadInput } from '../tasks/overhead';

export const OVERHEAD_FUNCTIONS = ['getMedia', 'getMe'];

export async function overhead(context: BenchContext): Promise<OverheadResult> {
  const bundles = await context.bundles();
  const options = deployBuildOptions();
  const input: OverheadInput = { bundles: {}, warmup: context.options.quick ? 20 : 200, rounds: context.options.quick ? 2 : 5, perRound: context.options.quick ? 50 : 300 };
  for (const name of OVERHEAD_FUNCTIONS) {
    const real = bundles[name];
    if (real === undefined) throw new Error(`no function ${name} in serverless.yml`);
    const bare = await buildBundle(options, path.join(context.work, 'bare', `${name}.js`), { file: path.join(__dirname, '..', 'bare', `${name}.ts`) });
    input.bundles[name] = { real: real.built.file, bare: bare.file };
  }
  context.log(`overhead: ${OVERHEAD_FUNCTIONS.join(', ')}, ${input.rounds} × ${input.perRound} invocations each, interleaved…`);
  const rows = await runTask<OverheadRow[]>('overhead', input, await context.env(), context.work, 300_000);
  return { rows };
}
