/**
 * Cold-start footprint per function: the deploy bundle's size, and the time `require()` of it
 * takes in a fresh `node` process with the function's environment (NODE_OPTIONS as deployed,
 * i.e. with --enable-source-maps), against a baseline bundle built with the same settings from an
 * entry that only creates the AWS SDK clients the function uses (with the commands its bundle
 * contains). Functions that must load a native module (sharp, argon2) or carry Swagger UI's assets
 * are documented exceptions: their baseline holds that too, and the SDK-only figure is shown beside.
 * Fresh processes of all bundles alternate round after round, so drift hits them alike.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { functionPermissions, stageFacts } from '../../delivery/policy';
import { packagedTemplate } from '../../gateway/template';
import { REPO_ROOT } from '../../stack/serviceConfig';
import { baselineSource, buildBundle, bundleProblems, deployBuildOptions, servicesOf, type BaselineExtras, type BuiltBundle } from '../bundles';
import type { BenchContext } from '../context';
import type { FootprintResult, FootprintRow } from '../results';
import { summarize } from '../stats';

interface Sample {
  requireMs: number;
  wallMs: number;
}

const PROBE = 'const t0 = performance.now(); require(process.argv[1]); const t1 = performance.now(); process.stdout.write(JSON.stringify([t0, t1])); process.exit(0);';

/** One fresh process that requires `file`: the require's time inside it, and the process's from spawn to exit. */
export function measureInit(file: string, env: Record<string, string>): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['-e', PROBE, file], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) {
        reject(new Error(`require(${path.basename(file)}) exited with ${code}: ${stderr.trim()}`));
        return;
      }
      const [t0, t1] = JSON.parse(stdout) as [number, number];
      resolve({ requireMs: t1 - t0, wallMs });
    });
  });
}

function extrasOf(name: string, built: BuiltBundle): { extras: BaselineExtras; why: string } | undefined {
  const natives = built.analysis.externals;
  const swagger = built.analysis.packages.includes('swagger-ui-dist');
  const tracer = built.analysis.packages.includes('aws-xray-sdk-core');
  if (natives.length === 0 && !swagger && !tracer) return undefined;
  const reasons = [
    ...(natives.length === 0 ? [] : [`loads the native module${natives.length > 1 ? 's' : ''} ${natives.join(', ')} (shipped in its zip)`]),
    ...(swagger ? [`carries Swagger UI's script and styles as text (${(built.analysis.bytes.textAssets / 1024 / 1024).toFixed(1)} MiB)`] : []),
    ...(tracer ? ['records X-Ray traces (Powertools Tracer and the X-Ray SDK, capturing its clients)'] : []),
  ];
  return { extras: { natives, swaggerAssets: swagger, tracer }, why: `${name} ${reasons.join(' and ')}` };
}

export async function footprint(context: BenchContext): Promise<FootprintResult> {
  const runs = context.options.quick ? 3 : 15;
  const runsWithoutSourceMaps = context.options.quick ? 1 : 5;
  const bundles = await context.bundles();
  const options = deployBuildOptions();
  const env = context.initEnv();
  const envWithoutSourceMaps = { ...env, NODE_OPTIONS: '' };

  // Baselines are shared by functions with the same clients and commands.
  const baselines = new Map<string, Promise<BuiltBundle>>();
  const baselineOf = (source: string): Promise<BuiltBundle> => {
    let pending = baselines.get(source);
    if (pending === undefined) {
      const name = `baseline-${baselines.size}`;
      pending = buildBundle(options, path.join(context.work, 'baselines', `${name}.js`), { source, name });
      baselines.set(source, pending);
    }
    return pending;
  };

  // What each function's role grants (the roles the local gateway enforces): a bundle may carry
  // the SDK client of a service only if its role can call that service.
  const granted = functionPermissions(await packagedTemplate('local'), stageFacts('local'));
  const plans = await Promise.all(
    Object.values(bundles).map(async (fn) => {
      const permissions = granted[fn.name] ?? {};
      const services = servicesOf(permissions);
      const exception = extrasOf(fn.name, fn.built);
      const strict = await baselineOf(baselineSource(fn.built.analysis, services));
      const baseline = exception === undefined ? strict : await baselineOf(baselineSource(fn.built.analysis, services, exception.extras));
      const problems = granted[fn.name] === undefined ? [`${fn.name}: has no role in the packaged local stage`] : bundleProblems(fn.name, fn.built.analysis, permissions);
      return { fn, services, exception, strict, baseline, problems };
    }),
  );
  const uniqueBaselines = [...new Set(plans.flatMap((plan) => [plan.strict, plan.baseline]))];
  context.log(`footprint: ${plans.length} functions, ${uniqueBaselines.length} distinct baselines, ${runs} fresh processes each…`);

  const samples = new Map<string, Sample[]>();
  const record = async (key: string, file: string, withEnv: Record<string, string>): Promise<void> => {
    context.checkAborted();
    const list = samples.get(key) ?? [];
    list.push(await measureInit(file, withEnv));
    samples.set(key, list);
  };
  for (let round = 0; round < runs; round++) {
    for (const plan of plans) {
      await record(`fn:${plan.fn.name}`, plan.fn.built.file, env);
      if (round < runsWithoutSourceMaps) await record(`nosm:${plan.fn.name}`, plan.fn.built.file, envWithoutSourceMaps);
    }
    for (const baseline of uniqueBaselines) await record(`base:${baseline.file}`, baseline.file, env);
    if ((round + 1) % 5 === 0 || round === runs - 1) context.log(`footprint: round ${round + 1}/${runs}`);
  }

  const requireOf = (key: string) => summarize((samples.get(key) ?? []).map((sample) => sample.requireMs));
  const wallOf = (key: string) => summarize((samples.get(key) ?? []).map((sample) => sample.wallMs));
  const rows: FootprintRow[] = plans.map(({ fn, services, exception, strict, baseline, problems }) => ({
    name: fn.name,
    services,
    bytes: fn.built.bytes,
    mapBytes: fn.built.mapBytes,
    sdkBytes: fn.built.analysis.bytes.awsSdk,
    serviceBytes: fn.built.analysis.bytes.service,
    libraryBytes: fn.built.analysis.bytes.libraries,
    textAssetBytes: fn.built.analysis.bytes.textAssets,
    externals: fn.built.analysis.externals,
    baselineBytes: baseline.bytes,
    initMs: requireOf(`fn:${fn.name}`),
    wallMs: wallOf(`fn:${fn.name}`),
    baselineInitMs: requireOf(`base:${baseline.file}`),
    baselineWallMs: wallOf(`base:${baseline.file}`),
    initWithoutSourceMapsMs: requireOf(`nosm:${fn.name}`),
    ...(exception === undefined ? {} : { exception: exception.why, strictBaselineBytes: strict.bytes, strictBaselineInitMs: requireOf(`base:${strict.file}`) }),
    problems,
  }));
  return { runs, rows };
}
