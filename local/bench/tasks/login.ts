/**
 * Login against the password hash alone: the deployed bundle of createSession (POST /v1/sessions)
 * in process against DynamoDB Local, and @node-rs/argon2's hash and verify with the service's
 * parameters, and the same work as login without the HTTP layer (its two DynamoDB calls with a
 * plain client, the verification, the token), interleaved so all see the same machine.
 */
import fs from 'node:fs';
import { hash, verify } from '@node-rs/argon2';
import { BatchGetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { parseSigningKey } from '../../../shared/auth/keys';
import { ARGON2_OPTIONS } from '../../../shared/auth/passwords';
import { signAccessToken } from '../../../shared/auth/tokens';
import { newId } from '../../../shared/ids';
import { credentialsKey, loginThrottleKey, sessionKey } from '../../../shared/stores/keys';
import { httpEvent, lambdaContext } from '../../test/events';
import type { LoginResult } from '../results';
import { summarize } from '../stats';
import { seeder, seedingClient } from './seed';

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface LoginInput {
  bundle: string;
  runs: number;
  warmup: number;
}

export async function run(input: LoginInput): Promise<LoginResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const login = (require(input.bundle) as { handler: Handler }).handler;
  const password = 'correct horse battery staple';
  const stored = await hash(password, ARGON2_OPTIONS);
  const user = await seeder().user(stored, 'login');
  const body = { email: user.email, password, remember: false };

  // The same work without the HTTP layer: the two DynamoDB calls, the verification, the token.
  const client = seedingClient();
  const usersTable = process.env['USERS_TABLE'] as string;
  const sessionsTable = process.env['SESSIONS_TABLE'] as string;
  const key = parseSigningKey(fs.readFileSync((process.env['JWT_PRIVATE_KEYS'] as string).slice('file:'.length), 'utf8'));
  const audience = { issuer: process.env['JWT_ISSUER'] as string, audience: process.env['JWT_AUDIENCE'] as string, accessTokenTtlSeconds: 900 };
  const bareLogin = async (): Promise<void> => {
    const { Responses } = await client.send(
      new BatchGetCommand({ RequestItems: { [usersTable]: { Keys: [credentialsKey(user.email), loginThrottleKey(user.email)], ConsistentRead: true } } }),
    );
    const credentials = Responses?.[usersTable]?.find((item) => item['sk'] === 'CREDENTIALS');
    if (!(await verify(credentials?.['passwordHash'] as string, password))) throw new Error('bare login: wrong password');
    const now = new Date();
    const sessionId = newId();
    await client.send(
      new PutCommand({
        TableName: sessionsTable,
        Item: { ...sessionKey(user.id, sessionId), id: sessionId, userId: user.id, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 86_400_000).toISOString(), ttl: 0 },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    signAccessToken(key, audience, { userId: user.id, sessionId }, now);
  };

  const times = { login: [] as number[], bare: [] as number[], hash: [] as number[], verify: [] as number[] };
  const steps: Array<[keyof typeof times, () => Promise<void>]> = [
    [
      'login',
      async () => {
        const response = await login(httpEvent({ method: 'POST', path: '/v1/sessions', body }), lambdaContext('createSession'));
        if (response.statusCode !== 201) throw new Error(`login answered ${response.statusCode}: ${response.body ?? ''}`);
      },
    ],
    ['hash', async () => void (await hash(password, ARGON2_OPTIONS))],
    [
      'verify',
      async () => {
        if (!(await verify(stored, password))) throw new Error('argon2 verify failed');
      },
    ],
    ['bare', bareLogin],
  ];
  for (let i = 0; i < input.warmup + input.runs; i++) {
    // The order rotates every round: DynamoDB Local (Java, on the same 2 cores) finishes work after
    // answering, which would otherwise always slow down the same step.
    for (let k = 0; k < steps.length; k++) {
      const [name, step] = steps[(i + k) % steps.length] as [keyof typeof times, () => Promise<void>];
      const started = performance.now();
      await step();
      if (i >= input.warmup) times[name].push(performance.now() - started);
    }
  }
  return {
    runs: input.runs,
    login: summarize(times.login),
    bareLogin: summarize(times.bare),
    hash: summarize(times.hash),
    verify: summarize(times.verify),
    parameters: `argon2id, m = ${ARGON2_OPTIONS.memoryCost} KiB, t = ${ARGON2_OPTIONS.timeCost}, p = ${ARGON2_OPTIONS.parallelism}`,
  };
}
