/**
 * Running a stage of pipelines.gocd.yaml as a Go.cd agent would, for the stage-command tests
 * (local/checks/*StageCommands*.e2e.test.ts): the tasks' shapes, the agent's environment and one
 * task's run.
 */
import { spawn } from 'node:child_process';
import { withoutCoverage } from './uninstrumented';

export interface Exec {
  command: string;
  arguments: string[];
}
export interface Fetch {
  stage: string;
  job: string;
  source: string;
  destination: string;
}
export interface Job {
  tasks: Array<{ exec?: Exec; fetch?: Fetch }>;
  artifacts?: Array<{ build?: { source: string; destination: string } }>;
}
export interface Stage {
  environment_variables?: Record<string, string>;
  jobs: Record<string, Job>;
}

/**
 * The environment of a Go.cd agent: the basics of this machine and what the pipeline sets, with
 * nothing of this test run (its ports, keys, coverage hooks) leaking in.
 */
export function agentEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TMPDIR', 'TERM', 'JAVA_HOME', 'SHELL'];
  const base = Object.fromEntries(keep.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name] as string]));
  return { ...base, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extra };
}

/**
 * Secret references become throwaway values (the only AWS in these tests is a loopback stand-in),
 * or what the test's own secret store holds under the secret's key (`{{SECRET:[config][key]}}`).
 */
export const resolveSecrets = (variables: Record<string, string> = {}, store: Record<string, string> = {}): Record<string, string> =>
  Object.fromEntries(
    Object.entries(variables).map(([name, value]) => {
      const key = /^\{\{SECRET:\[[^\]]+\]\[([^\]]+)\]\}\}$/.exec(value)?.[1];
      if (key === undefined) return [name, value];
      return [name, store[key] ?? `fake-${name.toLowerCase()}`];
    }),
  );

export interface Outcome {
  code: number | null;
  output: string;
}

/** One exec task, its output (stdout and stderr) collected. */
export function runTask(cwd: string, exec: Exec, env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const [command, args] = withoutCoverage(exec.command, exec.arguments);
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

export const isNpmCi = (exec: Exec): boolean => exec.command === 'npm' && exec.arguments[0] === 'ci';
