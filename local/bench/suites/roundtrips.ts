/** DynamoDB round trips and consumed capacity per request of every route (local/bench/tasks/roundtrips.ts). */
import { runTask } from '../child';
import type { BenchContext } from '../context';
import type { RoundTripResult } from '../results';
import type { RoundTripInput } from '../tasks/roundtrips';

export async function roundtrips(context: BenchContext): Promise<RoundTripResult> {
  const input: RoundTripInput = context.options.quick ? { repeats: 3, slowRepeats: 2, warmup: 1 } : { repeats: 15, slowRepeats: 7, warmup: 3 };
  context.log(`round trips: every route in process, ${input.repeats} warm requests each (${input.slowRepeats} for password hashing and image work)…`);
  return runTask<RoundTripResult>('roundtrips', input, await context.env(), context.work, 300_000);
}
