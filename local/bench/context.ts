/**
 * What the benchmark suites share within one run: a scratch folder, the stand-ins (started on
 * first use), the deploy bundles of every function (built on first use), the functions'
 * environment, and the processes started, so the run can prove none is left behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listFunctions, type FunctionInfo } from '../functions';
import { REPO_ROOT } from '../stack/serviceConfig';
import { buildBundle, deployBuildOptions, type BuiltBundle } from './bundles';
import { functionEnv, workDir } from './environment';
import { startBenchStack, type BenchStack } from './stack';

export interface FunctionBundle extends FunctionInfo {
  built: BuiltBundle;
}

export interface BenchOptions {
  /** Fewer repetitions everywhere: a smoke run of the benchmark itself, not figures to keep. */
  quick: boolean;
}

export class BenchContext {
  readonly work = workDir();
  private stackStarting: Promise<BenchStack> | undefined;
  private bundlesBuilding: Promise<Record<string, FunctionBundle>> | undefined;
  /** PIDs of every process a suite started (checked to be gone at the end). */
  readonly startedPids = new Set<number>();
  /** Process groups a suite started (the local API): ended if the run is interrupted. */
  readonly groups = new Set<number>();
  private readonly tempDirs: string[] = [];
  /** Set when the run is interrupted: suites stop at their next check. */
  aborted = false;

  constructor(readonly options: BenchOptions) {
    fs.mkdirSync(this.work, { recursive: true });
  }

  /** Throws once the run has been interrupted (long loops call this). */
  checkAborted(): void {
    if (this.aborted) throw new Error('interrupted');
  }

  log(line: string): void {
    console.log(`[bench] ${line}`);
  }

  stack(): Promise<BenchStack> {
    this.stackStarting ??= startBenchStack().then((stack) => {
      if (stack.dynamodbPid !== undefined) this.startedPids.add(stack.dynamodbPid);
      this.log(`DynamoDB Local on ${stack.dynamodbEndpoint}, S3 stand-in on ${stack.s3Endpoint}`);
      return stack;
    });
    return this.stackStarting;
  }

  /** The functions' environment against this run's stand-ins (starts them). */
  async env(): Promise<Record<string, string>> {
    const stack = await this.stack();
    return functionEnv({ dynamodb: stack.dynamodbEndpoint, s3: stack.s3Endpoint }, path.join(this.work, 'keys'));
  }

  /** The environment for loading bundles only (nothing is called: the endpoints need not exist). */
  initEnv(): Record<string, string> {
    return functionEnv({ dynamodb: 'http://127.0.0.1:9', s3: 'http://127.0.0.1:9' }, path.join(this.work, 'keys'));
  }

  /** Every function of serverless.yml, bundled as `serverless package` bundles it. */
  bundles(): Promise<Record<string, FunctionBundle>> {
    this.bundlesBuilding ??= (async () => {
      const options = deployBuildOptions();
      const functions = listFunctions();
      this.log(`bundling ${functions.length} functions with the deploy settings of local/esbuild.config.cjs…`);
      const built = await Promise.all(
        functions.map(async (fn) => {
          const outFile = path.join(this.work, 'bundles', fn.source.replace(/\.ts$/, '.js'));
          return { ...fn, built: await buildBundle(options, outFile, { file: path.join(REPO_ROOT, fn.source) }) };
        }),
      );
      return Object.fromEntries(built.map((fn) => [fn.name, fn]));
    })();
    return this.bundlesBuilding;
  }

  /** Last resort on an interrupted run: every process group a suite started is killed now. */
  killGroups(): void {
    for (const group of this.groups) {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** PIDs this run started that are still alive (there should be none after close()). */
  survivors(): number[] {
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    return [...this.startedPids].filter(alive).concat([...this.groups].filter((group) => alive(-group)).map((group) => -group));
  }

  /** A folder under the system's temporary folder, removed by close() (also on Ctrl-C). */
  tempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.tempDirs.push(dir);
    return dir;
  }

  /** Stops DynamoDB Local and s3rver (started again on next use). */
  async stopStack(): Promise<void> {
    const starting = this.stackStarting;
    this.stackStarting = undefined;
    if (starting !== undefined) await (await starting.catch(() => undefined))?.stop();
  }

  async close(): Promise<void> {
    await this.stopStack();
    for (const dir of [this.work, ...this.tempDirs.splice(0)]) fs.rmSync(dir, { recursive: true, force: true });
  }
}
