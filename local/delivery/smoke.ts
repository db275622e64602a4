/**
 * The smoke test a deploy stage runs after its deploy: does the stage answer, and can a person sign
 * in and read their library? Against the stage's own URL (the stack's output HttpApiUrl, or
 * --url), with the stage's dedicated smoke account (SMOKE_EMAIL and SMOKE_PASSWORD, from the
 * stage's secrets; docs/operations.md says how to create it once):
 *
 *   node --import tsx local/delivery/smoke.ts --stage test [--url https://…]
 *
 * GET /v1/health; POST /v1/sessions; GET /v1/users/me (the account's own e-mail);
 * GET /v1/media?limit=1; DELETE /v1/sessions/current. It writes nothing but that account's own
 * session, which it ends again. Every answer is checked against the API's own schemas; the first
 * failure fails the stage, naming the step, the status and the request id to look up
 * (docs/operations.md, query request-story).
 */
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import * as z from 'zod/mini';
import { HealthResponse } from '../../shared/schemas/health';
import { MediaListResponse } from '../../shared/schemas/media';
import { SessionTokensResponse } from '../../shared/schemas/sessions';
import { UserResponse } from '../../shared/schemas/users';

export const SERVICE = 'media-library';
const REQUEST_TIMEOUT_MS = 15_000;

export interface SmokeOptions {
  baseUrl: string;
  stage: string;
  email: string;
  password: string;
  log: (line: string) => void;
}

export interface SmokeStep {
  step: string;
  status: number;
  ms: number;
  requestId: string;
}

/** The stage's API URL: the stack output HttpApiUrl. */
export async function stageUrl(cloudFormation: CloudFormationClient, stage: string): Promise<string> {
  const stackName = `${SERVICE}-${stage}`;
  const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const url = Stacks?.[0]?.Outputs?.find((output) => output.OutputKey === 'HttpApiUrl')?.OutputValue;
  if (url === undefined) throw new Error(`stack ${stackName} has no output HttpApiUrl: is the service stack deployed?`);
  return url;
}

export async function smokeTest(options: SmokeOptions): Promise<SmokeStep[]> {
  const steps: SmokeStep[] = [];
  const base = options.baseUrl.replace(/\/+$/, '');
  async function call<T>(step: string, method: string, route: string, expected: number, schema: z.ZodMiniType<T> | undefined, init: { token?: string; body?: unknown } = {}): Promise<T> {
    const started = Date.now();
    let response: Response;
    try {
      response = await fetch(`${base}${route}`, {
        method,
        headers: { accept: 'application/json', ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }) },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new Error(`smoke ${step}: ${method} ${base}${route} did not answer (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
    const text = await response.text();
    const requestId = response.headers.get('x-request-id') ?? 'none';
    const ms = Date.now() - started;
    steps.push({ step, status: response.status, ms, requestId });
    options.log(`smoke ${step}: ${method} ${route} → ${response.status} in ${ms} ms (request ${requestId})`);
    if (response.status !== expected) throw new Error(`smoke ${step}: ${method} ${route} answered ${response.status}, expected ${expected} (request ${requestId}): ${text.slice(0, 300)}`);
    if (schema === undefined) return undefined as T;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`smoke ${step}: ${method} ${route} answered no JSON (request ${requestId}): ${text.slice(0, 300)}`);
    }
    const parsed = z.safeParse(schema, body);
    if (!parsed.success) throw new Error(`smoke ${step}: ${method} ${route} answered a body the API does not promise (request ${requestId}): ${parsed.error.message}`);
    return parsed.data;
  }

  const health = await call('health', 'GET', '/v1/health', 200, HealthResponse);
  options.log(`smoke health: ${base} runs version ${health.version} of stage ${health.stage}`);
  const session = await call('sign in', 'POST', '/v1/sessions', 201, SessionTokensResponse, { body: { email: options.email, password: options.password } });
  try {
    const me = await call('own account', 'GET', '/v1/users/me', 200, UserResponse, { token: session.accessToken });
    if (me.email !== options.email.trim().toLowerCase()) throw new Error(`smoke own account: signed in as ${options.email} but /v1/users/me is ${me.email}`);
    await call('library', 'GET', '/v1/media?limit=1', 200, MediaListResponse, { token: session.accessToken });
  } finally {
    // The smoke account keeps no session behind, whatever happened above.
    await call('sign out', 'DELETE', '/v1/sessions/current', 204, undefined, { token: session.accessToken });
  }
  return steps;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { stage: { type: 'string' }, url: { type: 'string' } } });
  const stage = values.stage;
  if (stage === undefined || !['dev', 'test', 'prod'].includes(stage)) throw new Error('usage: smoke.ts --stage dev|test|prod [--url <API URL>] (SMOKE_EMAIL and SMOKE_PASSWORD set)');
  const email = process.env['SMOKE_EMAIL'];
  const password = process.env['SMOKE_PASSWORD'];
  if (email === undefined || email === '' || password === undefined || password === '') throw new Error('SMOKE_EMAIL and SMOKE_PASSWORD must be set (the stage’s smoke account, from its secrets)');
  const baseUrl = values.url ?? (await stageUrl(new CloudFormationClient({ region: process.env['AWS_REGION'] ?? 'us-east-1' }), stage));
  const steps = await smokeTest({ baseUrl, stage, email, password, log: (line) => console.log(line) });
  console.log(`smoke test of ${stage} passed: ${steps.length} requests against ${baseUrl}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
