/**
 * Releases what `serverless deploy function` just put on a function's $LATEST to its alias
 * `live`, the way the stack's own deploys do (local/serverless/safe-deploys.cjs): through
 * CodeDeploy, shifted as the stage's deployment group says and rolled back by its alarms.
 *
 *   node --import tsx local/delivery/release.ts --function getHealth --stage test --zip .serverless/getHealth.zip
 *
 * 1. $LATEST must hold exactly the zip the stage deployed (its SHA-256): nothing else is published.
 * 2. PublishVersion, guarded by that SHA-256 (Lambda refuses if $LATEST changed meanwhile).
 * 3. A CodeDeploy deployment moves `live` from its current version to the new one (AppSpec).
 * 4. It waits for the deployment: Succeeded passes; Failed or Stopped (an alarm fired, so
 *    CodeDeploy already moved `live` back) fails the stage with CodeDeploy's reason.
 *
 * Rolling back by hand: `--version N` releases an earlier published version the same way.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { CodeDeployClient, CreateDeploymentCommand, GetDeploymentCommand, type DeploymentInfo } from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient, PublishVersionCommand } from '@aws-sdk/client-lambda';

export const SERVICE = 'media-library';
export const ALIAS = 'live';
const FINAL = new Set(['Succeeded', 'Failed', 'Stopped']);

export interface ReleaseClients {
  lambda: LambdaClient;
  codeDeploy: CodeDeployClient;
}

export interface ReleaseOptions {
  /** The function's name in serverless.yml (getHealth). */
  fn: string;
  stage: string;
  /** The zip this stage deployed: $LATEST must be exactly it. */
  zip?: string;
  /** Release this published version instead of publishing $LATEST (a rollback). */
  version?: string;
  pollMs: number;
  timeoutMs: number;
  log: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface Release {
  functionName: string;
  from: string;
  to: string;
  deploymentId?: string;
  status: string;
}

/** Names as serverless and the canary plugin make them (the function, the application, its deployment group). */
export function releaseNames(fn: string, stage: string): { functionName: string; application: string; deploymentGroup: string } {
  const stack = `${SERVICE}-${stage}`;
  const logicalId = `${fn.charAt(0).toUpperCase()}${fn.slice(1).replace(/-/g, 'Dash').replace(/_/g, 'Underscore')}LambdaFunction`;
  return { functionName: `${stack}-${fn}`, application: stack, deploymentGroup: `${stack}-${logicalId}DeploymentGroup`.slice(0, 100) };
}

/** Lambda's CodeSha256: the base64 SHA-256 of the zip. */
export const codeSha256 = (zip: Buffer): string => createHash('sha256').update(zip).digest('base64');

/** The AppSpec that moves the alias from one version to another. */
export function appSpec(fn: string, functionName: string, from: string, to: string): string {
  return JSON.stringify({ version: 0.0, Resources: [{ [fn]: { Type: 'AWS::Lambda::Function', Properties: { Name: functionName, Alias: ALIAS, CurrentVersion: from, TargetVersion: to } } }] });
}

function why(info: DeploymentInfo | undefined): string {
  const parts = [info?.errorInformation?.code, info?.errorInformation?.message, info?.rollbackInfo?.rollbackMessage].filter((part): part is string => part !== undefined && part !== '');
  return parts.length === 0 ? 'no reason given' : parts.join(': ');
}

export async function release(clients: ReleaseClients, options: ReleaseOptions): Promise<Release> {
  const { functionName, application, deploymentGroup } = releaseNames(options.fn, options.stage);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let to = options.version;
  if (to === undefined) {
    const latest = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    if (options.zip !== undefined) {
      const expected = codeSha256(fs.readFileSync(options.zip));
      if (latest.CodeSha256 !== expected) throw new Error(`${functionName}: $LATEST holds code ${String(latest.CodeSha256)}, not ${options.zip} (${expected}): nothing released`);
    }
    const published = await clients.lambda.send(new PublishVersionCommand({ FunctionName: functionName, CodeSha256: latest.CodeSha256, Description: process.env['GO_PIPELINE_LABEL'] ?? 'released by hand' }));
    if (published.Version === undefined) throw new Error(`${functionName}: Lambda published no version`);
    to = published.Version;
    options.log(`published ${functionName} version ${to} (code ${String(published.CodeSha256)})`);
  }
  const alias = await clients.lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: ALIAS }));
  const from = alias.FunctionVersion as string;
  if (from === to) {
    options.log(`${functionName}:${ALIAS} already runs version ${to}`);
    return { functionName, from, to, status: 'Unchanged' };
  }
  const { deploymentId } = await clients.codeDeploy.send(
    new CreateDeploymentCommand({
      applicationName: application,
      deploymentGroupName: deploymentGroup,
      description: `${functionName}:${ALIAS} ${from} → ${to}`,
      revision: { revisionType: 'AppSpecContent', appSpecContent: { content: appSpec(options.fn, functionName, from, to) } },
    }),
  );
  options.log(`CodeDeploy ${String(deploymentId)}: ${functionName}:${ALIAS} ${from} → ${to} (${deploymentGroup})`);
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    const { deploymentInfo } = await clients.codeDeploy.send(new GetDeploymentCommand({ deploymentId }));
    const status = deploymentInfo?.status ?? 'Unknown';
    if (status !== last) options.log(`CodeDeploy ${String(deploymentId)}: ${status}`);
    last = status;
    if (status === 'Succeeded') return { functionName, from, to, deploymentId, status };
    if (FINAL.has(status)) {
      throw new Error(`${functionName}:${ALIAS} stays on version ${from}: CodeDeploy deployment ${String(deploymentId)} ${status} (${why(deploymentInfo)})`);
    }
    if (Date.now() >= deadline) throw new Error(`CodeDeploy deployment ${String(deploymentId)} still ${status} after ${options.timeoutMs / 1000} s: see the CodeDeploy console`);
    await sleep(options.pollMs);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { function: { type: 'string' }, stage: { type: 'string' }, zip: { type: 'string' }, version: { type: 'string' }, 'poll-seconds': { type: 'string', default: '15' }, 'timeout-minutes': { type: 'string', default: '25' } },
  });
  const fn = values.function;
  const stage = values.stage;
  if (fn === undefined || stage === undefined || !['dev', 'test', 'prod'].includes(stage)) {
    throw new Error('usage: release.ts --function <name> --stage dev|test|prod [--zip .serverless/<name>.zip | --version <n>] [--poll-seconds 15] [--timeout-minutes 25]');
  }
  const region = process.env['AWS_REGION'] ?? 'us-east-1';
  const result = await release(
    { lambda: new LambdaClient({ region }), codeDeploy: new CodeDeployClient({ region }) },
    {
      fn,
      stage,
      ...(values.zip === undefined ? {} : { zip: values.zip }),
      ...(values.version === undefined ? {} : { version: values.version }),
      pollMs: Number(values['poll-seconds']) * 1000,
      timeoutMs: Number(values['timeout-minutes']) * 60_000,
      log: (line) => console.log(line),
    },
  );
  console.log(`${result.functionName}:${ALIAS} runs version ${result.to}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
