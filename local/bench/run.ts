/**
 * `npm run bench`: measures what users of the API pay for, each figure next to a baseline
 * measured in the same run, judges the issue's targets and writes docs/benchmarks.md.
 *
 *   npm run bench                                   everything (about 4–6 minutes on 2 cores), writes docs/benchmarks.md
 *   npm run bench -- --only footprint,overhead      some benchmarks; prints the summary, writes nothing
 *   npm run bench -- --only login --out /tmp/b.md   …and writes their report there
 *   npm run bench -- --strict                       exit 1 when a target fails (default: report it, exit 0)
 *   npm run bench -- --quick                        few repetitions: checks the benchmark itself, figures not worth keeping
 *
 * Benchmarks: footprint, overhead, roundtrips (also the cost table), login, upload, api, devloop, web.
 * Everything started (DynamoDB Local, s3rver, measuring processes, npm start) is stopped before
 * it exits, and it checks that none of those processes is still alive.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, serviceConfig } from '../stack/serviceConfig';
import { killRunningTasks } from './child';
import { BenchContext } from './context';
import { machine } from './environment';
import { DEFAULT_REPORT, selectSuites, SUITES } from './options';
import { checks, renderReport, summaryLines } from './report';
import type { BenchResults, CostInputs } from './results';
import { localApi } from './suites/api';
import { devloop } from './suites/devloop';
import { web } from './suites/web';
import { footprint } from './suites/footprint';
import { login } from './suites/login';
import { overhead } from './suites/overhead';
import { roundtrips } from './suites/roundtrips';
import { upload } from './suites/upload';

// Lambda runs Node 22; the SDK's notice about local Node 20 is known (TOOLCHAIN.md) and only noise here.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** Memory, authorizer and HTTP routes per function on a stage, from serverless.yml as the framework resolves it. */
export function costInputs(stage: string): CostInputs {
  const config = serviceConfig(stage);
  const provider = config.provider as { memorySize?: number };
  const memoryMB: Record<string, number> = {};
  const protectedFunctions: string[] = [];
  const httpFunctions: string[] = [];
  for (const [name, fn] of Object.entries(config.functions)) {
    memoryMB[name] = (fn as { memorySize?: number }).memorySize ?? provider.memorySize ?? 1024;
    const routes = (fn.events ?? []).map((event) => (event as { httpApi?: unknown }).httpApi).filter((route) => route !== undefined);
    if (routes.length > 0) httpFunctions.push(name);
    if (routes.some((route) => typeof route === 'object' && route !== null && 'authorizer' in route)) protectedFunctions.push(name);
  }
  return { stage, memoryMB, protectedFunctions, httpFunctions };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { only: { type: 'string' }, out: { type: 'string' }, strict: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false } },
    allowPositionals: false,
  });
  const suites = selectSuites(values.only);
  const subset = suites.length < SUITES.length;
  const out = values.out ?? (subset || values.quick ? undefined : DEFAULT_REPORT);
  const context = new BenchContext({ quick: values.quick });
  // Ctrl-C: the running measurement processes and `npm start` are ended now, the stand-ins are
  // stopped by the normal path below, and no report is written. A second Ctrl-C exits at once.
  const interrupted = (): void => {
    if (context.aborted) process.exit(130);
    console.error('[bench] interrupted: stopping what it started');
    context.aborted = true;
    killRunningTasks();
    context.killGroups();
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  process.on('exit', () => {
    killRunningTasks();
    context.killGroups();
  });

  const started = performance.now();
  const results: BenchResults = { machine: machine(), errors: {}, seconds: {} };
  context.log(`running ${suites.join(', ')}${values.quick ? ' (quick)' : ''} on ${results.machine.cores} cores, Node ${results.machine.node}`);
  try {
    for (const suite of suites) {
      if (context.aborted) break;
      const suiteStarted = performance.now();
      try {
        if (suite === 'footprint') results.footprint = await footprint(context);
        if (suite === 'overhead') results.overhead = await overhead(context);
        if (suite === 'roundtrips') {
          results.roundtrips = await roundtrips(context);
          results.cost = costInputs('prod');
        }
        if (suite === 'login') results.login = await login(context);
        if (suite === 'upload') results.upload = await upload(context);
        if (suite === 'api') {
          // The API brings its own DynamoDB Local: the benchmark's stand-ins go first.
          await context.stopStack();
          results.api = await localApi(context);
        }
        if (suite === 'devloop') {
          await context.stopStack();
          results.devloop = await devloop(context);
        }
        if (suite === 'web') {
          await context.stopStack();
          results.web = await web(context);
        }
      } catch (error) {
        results.errors[suite] = error instanceof Error ? error.message : String(error);
        console.error(`[bench] ${suite} failed: ${results.errors[suite]}`);
      }
      results.seconds[suite] = Math.round((performance.now() - suiteStarted) / 100) / 10;
      context.log(`${suite} done in ${results.seconds[suite]} s`);
    }
  } finally {
    await context.close();
  }

  if (context.aborted) {
    const survivors = context.survivors();
    console.error(survivors.length === 0 ? '[bench] interrupted; every process it started has exited' : `[bench] interrupted; still alive: ${survivors.join(', ')}`);
    return 130;
  }
  const seconds = (performance.now() - started) / 1000;
  const found = checks(results);
  console.log('');
  for (const line of summaryLines(found)) console.log(line);
  if (out !== undefined) {
    const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
    fs.writeFileSync(path.resolve(REPO_ROOT, out), renderReport(results, { command, seconds }));
    console.log(`\n[bench] wrote ${out}`);
  } else {
    console.log('\n[bench] no report written (a part or --quick run; --out FILE writes one)');
  }
  const survivors = context.survivors();
  console.log(survivors.length === 0 ? `[bench] done in ${Math.round(seconds)} s; every process it started has exited` : `[bench] still alive: ${survivors.join(', ')}`);
  const failed = found.some((check) => check.verdict === 'FAIL');
  if (Object.keys(results.errors).length > 0 || survivors.length > 0) return 1;
  return values.strict && failed ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`[bench] ${error instanceof Error ? error.message : String(error)}`);
      process.exit(2);
    },
  );
}
