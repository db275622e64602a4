/**
 * Handler overhead, warm, in one process: the deployed bundle of a function against the bare
 * handler doing the same SDK calls (local/bench/bare/), both against DynamoDB Local. After a
 * warm-up, rounds of invocations alternate between the two (which goes first flips every time),
 * so drift of the shared machine hits both alike.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { httpEvent, lambdaContext } from '../../test/events';
import type { OverheadRow } from '../results';
import { median, summarize } from '../stats';
import { seeder } from './seed';

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface OverheadInput {
  /** Absolute paths of the bundles: the function's and the bare one, per function. */
  bundles: Record<string, { real: string; bare: string }>;
  warmup: number;
  rounds: number;
  perRound: number;
}

const ROUTES: Record<string, { route: string; calls: string }> = {
  getMedia: { route: 'GET /v1/media/{id}', calls: 'GetItem (consistent) + 3 presigned GET URLs (ready image)' },
  getMe: { route: 'GET /v1/users/me', calls: 'GetItem (consistent)' },
};

function load(file: string): Handler {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { handler: Handler }).handler;
}

async function timed(handler: Handler, event: APIGatewayProxyEventV2, context: Context): Promise<number> {
  const started = performance.now();
  const result = await handler(event, context);
  const elapsed = performance.now() - started;
  if (result.statusCode !== 200) throw new Error(`expected 200, got ${result.statusCode}: ${result.body ?? ''}`);
  return elapsed;
}

export async function run(input: OverheadInput): Promise<OverheadRow[]> {
  const seed = seeder();
  const profile = await seed.user('$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g', 'overhead');
  const session = await seed.session(profile.id);
  const image = await seed.readyImage(profile.id);
  const caller = { userId: profile.id, sessionId: session.sessionId };
  const eventFor: Record<string, () => APIGatewayProxyEventV2> = {
    getMedia: () => httpEvent({ method: 'GET', path: `/v1/media/${image.id}`, routeKey: 'GET /v1/media/{id}', pathParameters: { id: image.id }, caller }),
    getMe: () => httpEvent({ method: 'GET', path: '/v1/users/me', caller }),
  };

  const rows: OverheadRow[] = [];
  for (const [name, files] of Object.entries(input.bundles)) {
    const route = ROUTES[name];
    const makeEvent = eventFor[name];
    if (route === undefined || makeEvent === undefined) throw new Error(`no overhead scenario for ${name}`);
    const real = load(files.real);
    const bare = load(files.bare);
    for (let i = 0; i < input.warmup; i++) {
      await timed(real, makeEvent(), lambdaContext(name));
      await timed(bare, makeEvent(), lambdaContext(name));
    }
    const realTimes: number[] = [];
    const bareTimes: number[] = [];
    const overheadMs: number[] = [];
    const overheadFraction: number[] = [];
    const paired: number[] = [];
    for (let round = 0; round < input.rounds; round++) {
      const realRound: number[] = [];
      const bareRound: number[] = [];
      for (let i = 0; i < input.perRound; i++) {
        const realFirst = (i + round) % 2 === 0;
        const first = await timed(realFirst ? real : bare, makeEvent(), lambdaContext(name));
        const second = await timed(realFirst ? bare : real, makeEvent(), lambdaContext(name));
        const [realMs, bareMs] = realFirst ? [first, second] : [second, first];
        realRound.push(realMs);
        bareRound.push(bareMs);
        paired.push(realMs - bareMs);
      }
      realTimes.push(...realRound);
      bareTimes.push(...bareRound);
      const difference = median(realRound) - median(bareRound);
      overheadMs.push(difference);
      overheadFraction.push(difference / median(bareRound));
    }
    rows.push({
      route: route.route,
      functionName: name,
      calls: route.calls,
      invocations: realTimes.length,
      real: summarize(realTimes),
      bare: summarize(bareTimes),
      overheadMs: summarize(overheadMs),
      pairedOverheadMs: summarize(paired),
      overheadFraction: summarize(overheadFraction),
      rounds: input.rounds,
    });
  }
  return rows;
}
