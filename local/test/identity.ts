/**
 * In-process integration tests run handlers inside the test process, whose AWS clients sign as
 * local tooling (bound by no role). `asFunction` runs a handler as its function instead: while
 * it runs, every AWS call signs with the function's name (shared/aws/localCredentials.ts) and
 * the local AWS gateway authorises it against that function's packaged role, as on AWS. Calls
 * of the test itself (seeding, checking) made while no handler runs stay tooling.
 */
const running = new Map<string, number>();

export async function asFunction<T>(fn: string, work: () => Promise<T>): Promise<T> {
  const name = `media-library-local-${fn}`;
  const others = [...running.keys()].filter((other) => other !== name && (running.get(other) ?? 0) > 0);
  if (others.length > 0) throw new Error(`asFunction(${fn}) while ${others.join(', ')} runs: one function at a time in a process`);
  running.set(name, (running.get(name) ?? 0) + 1);
  process.env['AWS_LAMBDA_FUNCTION_NAME'] = name;
  try {
    return await work();
  } finally {
    const left = (running.get(name) ?? 1) - 1;
    running.set(name, left);
    if (left === 0) delete process.env['AWS_LAMBDA_FUNCTION_NAME'];
  }
}
