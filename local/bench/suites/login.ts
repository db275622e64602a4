/** POST /v1/sessions against the argon2id hash alone (local/bench/tasks/login.ts). */
import { runTask } from '../child';
import type { BenchContext } from '../context';
import type { LoginResult } from '../results';
import type { LoginInput } from '../tasks/login';

export async function login(context: BenchContext): Promise<LoginResult> {
  const bundle = (await context.bundles())['createSession'];
  if (bundle === undefined) throw new Error('no function createSession in serverless.yml');
  const input: LoginInput = { bundle: bundle.built.file, runs: context.options.quick ? 5 : 40, warmup: 3 };
  context.log(`login: ${input.runs} logins, hashes and verifications, interleaved…`);
  return runTask<LoginResult>('login', input, await context.env(), context.work, 180_000);
}
