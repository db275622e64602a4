/**
 * The AWS clients of shared/aws/: where their requests go and with which credentials, on AWS
 * (no endpoint setting: the regional AWS endpoint and the function's own credentials) and on
 * the local stage (the stand-in's endpoint and fixed local credentials, so real credentials
 * are never sent to a stand-in). Each case loads the module afresh under its environment and
 * stops the request before it is sent.
 */
import path from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ListTopicsCommand, type SNSClient } from '@aws-sdk/client-sns';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import proxyquire from 'proxyquire';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { PostToConnectionCommand, type ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { LOCAL_SECRET_ACCESS_KEY, LOCAL_TOOLING_ACCESS_KEY } from './localCredentials';

interface SentRequest {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
}

interface AnyClient {
  send(command: unknown): Promise<unknown>;
  middlewareStack: { add(middleware: unknown, options: { step: string; name: string }): void };
  config: { credentials(): Promise<{ accessKeyId: string }>; maxAttempts(): Promise<number> };
}

class Captured extends Error {
  constructor(readonly request: SentRequest) {
    super('captured');
  }
}

/** What `client` would send for `command`: the request as built, before signing and sending. */
async function requestOf(client: AnyClient, command: unknown): Promise<SentRequest> {
  client.middlewareStack.add(
    () => async (args: { request: SentRequest }) => {
      throw new Captured(args.request);
    },
    { step: 'build', name: 'captureRequest' },
  );
  try {
    await client.send(command);
  } catch (error) {
    if (error instanceof Captured) return error.request;
    throw error;
  }
  throw new Error('the request was sent');
}

const REAL_KEY = 'AKIAEXAMPLEREALKEY01';

/** The SDK's own endpoint overrides: a shell (or a deploy job) may have them set; they are not ours to test. */
const SDK_ENDPOINT_VARIABLES = [
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_SNS',
  'AWS_ENDPOINT_URL_SSM',
  'AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
];

/** Runs `work` with the module `file` loaded afresh under `env` (on top of the test environment). */
async function withModule<T>(file: string, env: Record<string, string>, work: (module: T) => Promise<void>): Promise<void> {
  const changes: Record<string, string> = { AWS_ACCESS_KEY_ID: REAL_KEY, AWS_SECRET_ACCESS_KEY: 'real-secret', ...env };
  const saved = Object.fromEntries([...Object.keys(changes), ...SDK_ENDPOINT_VARIABLES, 'AWS_LAMBDA_FUNCTION_NAME', 'ML_FAULTS', 'ML_FAULT_INJECTION'].map((name) => [name, process.env[name]]));
  for (const name of SDK_ENDPOINT_VARIABLES) delete process.env[name];
  Object.assign(process.env, changes);
  try {
    await work(proxyquire(path.join(__dirname, file), {}) as T);
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const region = (): string => process.env['AWS_REGION'] as string;

describe('shared/aws clients', () => {
  describe('dynamo', () => {
    it('on AWS (DYNAMODB_ENDPOINT empty): the regional DynamoDB endpoint, the function credentials', async () => {
      await withModule<{ dynamo: DynamoDBDocumentClient }>('dynamo', { DYNAMODB_ENDPOINT: '' }, async ({ dynamo }) => {
        const client = dynamo as unknown as AnyClient;
        const request = await requestOf(client, new GetCommand({ TableName: 'media', Key: { pk: 'a', sk: 'b' } }));
        expect([request.protocol, request.hostname]).to.deep.equal(['https:', `dynamodb.${region()}.amazonaws.com`]);
        expect((await client.config.credentials()).accessKeyId).to.equal(REAL_KEY);
        expect(await client.config.maxAttempts()).to.equal(3);
      });
    });

    it('locally: the gateway at DYNAMODB_ENDPOINT, with local credentials naming the function only', async () => {
      await withModule<{ dynamo: DynamoDBDocumentClient }>('dynamo', { DYNAMODB_ENDPOINT: 'http://127.0.0.1:45678', AWS_LAMBDA_FUNCTION_NAME: 'media-library-local-getMe' }, async ({ dynamo }) => {
        const client = dynamo as unknown as AnyClient;
        const request = await requestOf(client, new GetCommand({ TableName: 'media', Key: { pk: 'a', sk: 'b' } }));
        expect([request.protocol, request.hostname, request.port]).to.deep.equal(['http:', '127.0.0.1', 45678]);
        expect(await client.config.credentials()).to.include({ accessKeyId: 'media-library-local-getMe', secretAccessKey: LOCAL_SECRET_ACCESS_KEY });
      });
    });
  });

  describe('s3', () => {
    it('on AWS (S3_ENDPOINT empty): virtual-hosted bucket on the regional endpoint, the function credentials', async () => {
      await withModule<{ s3: S3Client }>('s3', { S3_ENDPOINT: '' }, async ({ s3 }) => {
        const client = s3 as unknown as AnyClient;
        const request = await requestOf(client, new GetObjectCommand({ Bucket: 'media-bucket', Key: 'media/u/m/original' }));
        expect([request.protocol, request.hostname, request.path]).to.deep.equal(['https:', `media-bucket.s3.${region()}.amazonaws.com`, '/media/u/m/original']);
        expect((await client.config.credentials()).accessKeyId).to.equal(REAL_KEY);
        expect(await client.config.maxAttempts()).to.equal(3);
      });
    });

    it('locally: the gateway at S3_ENDPOINT, bucket in the path, with local credentials naming the function only', async () => {
      await withModule<{ s3: S3Client }>('s3', { S3_ENDPOINT: 'http://127.0.0.1:45679', AWS_LAMBDA_FUNCTION_NAME: 'media-library-local-getMedia' }, async ({ s3 }) => {
        const client = s3 as unknown as AnyClient;
        const request = await requestOf(client, new GetObjectCommand({ Bucket: 'media-bucket', Key: 'media/u/m/original' }));
        expect([request.protocol, request.hostname, request.port, request.path]).to.deep.equal(['http:', '127.0.0.1', 45679, '/media-bucket/media/u/m/original']);
        expect((await client.config.credentials()).accessKeyId).to.equal('media-library-local-getMedia');
      });
    });
  });

  describe('sns', () => {
    it('on AWS (SNS_ENDPOINT empty): the regional SNS endpoint, the function credentials', async () => {
      await withModule<{ sns: SNSClient }>('sns', { SNS_ENDPOINT: '' }, async ({ sns }) => {
        const client = sns as unknown as AnyClient;
        const request = await requestOf(client, new ListTopicsCommand({}));
        expect([request.protocol, request.hostname]).to.deep.equal(['https:', `sns.${region()}.amazonaws.com`]);
        expect((await client.config.credentials()).accessKeyId).to.equal(REAL_KEY);
        expect(await client.config.maxAttempts()).to.equal(3);
      });
    });

    it('locally: the gateway at SNS_ENDPOINT; a process that is no function signs as local tooling', async () => {
      await withModule<{ sns: SNSClient }>('sns', { SNS_ENDPOINT: 'http://127.0.0.1:45680', AWS_LAMBDA_FUNCTION_NAME: '' }, async ({ sns }) => {
        delete process.env['AWS_LAMBDA_FUNCTION_NAME'];
        const client = sns as unknown as AnyClient;
        const request = await requestOf(client, new ListTopicsCommand({}));
        expect([request.protocol, request.hostname, request.port]).to.deep.equal(['http:', '127.0.0.1', 45680]);
        expect((await client.config.credentials()).accessKeyId).to.equal(LOCAL_TOOLING_ACCESS_KEY);
      });
    });
  });

  describe('local credentials', () => {
    it('under serverless offline (IS_OFFLINE), a function without its name refuses to sign at all, never as local tooling', async () => {
      await withModule<{ sns: SNSClient }>('sns', { SNS_ENDPOINT: 'http://127.0.0.1:45680', AWS_LAMBDA_FUNCTION_NAME: '', IS_OFFLINE: 'true' }, async ({ sns }) => {
        delete process.env['AWS_LAMBDA_FUNCTION_NAME'];
        const client = sns as unknown as AnyClient;
        let refused: unknown;
        await client.config.credentials().catch((error: unknown) => (refused = error));
        expect(String(refused)).to.include('no AWS_LAMBDA_FUNCTION_NAME under serverless offline');
        process.env['AWS_LAMBDA_FUNCTION_NAME'] = 'media-library-local-runAnalysis';
        expect((await client.config.credentials()).accessKeyId).to.equal('media-library-local-runAnalysis');
      });
    });
  });

  describe('ssm', () => {
    it('on AWS (SSM_ENDPOINT empty): the regional SSM endpoint, the function credentials', async () => {
      await withModule<{ ssm: SSMClient }>('ssm', { SSM_ENDPOINT: '' }, async ({ ssm }) => {
        const client = ssm as unknown as AnyClient;
        const request = await requestOf(client, new GetParameterCommand({ Name: '/media-library/dev/jwt/public' }));
        expect([request.protocol, request.hostname]).to.deep.equal(['https:', `ssm.${region()}.amazonaws.com`]);
        expect((await client.config.credentials()).accessKeyId).to.equal(REAL_KEY);
      });
    });

    it('locally: the gateway at SSM_ENDPOINT, with local credentials naming the function only', async () => {
      await withModule<{ ssm: SSMClient }>('ssm', { SSM_ENDPOINT: 'http://127.0.0.1:45681', AWS_LAMBDA_FUNCTION_NAME: 'media-library-local-getJwks' }, async ({ ssm }) => {
        const client = ssm as unknown as AnyClient;
        const request = await requestOf(client, new GetParameterCommand({ Name: '/media-library/local/jwt/public' }));
        expect([request.protocol, request.hostname, request.port]).to.deep.equal(['http:', '127.0.0.1', 45681]);
        expect((await client.config.credentials()).accessKeyId).to.equal('media-library-local-getJwks');
      });
    });
  });

  describe('live (API Gateway Management API)', () => {
    type LiveModule = { liveApi: ApiGatewayManagementApiClient; liveEndpoint: string };
    const post = new PostToConnectionCommand({ ConnectionId: 'L0vB5cZ3IAMCJbQ=', Data: Buffer.from('{}') });
    const names = (client: ApiGatewayManagementApiClient): string[] => client.middlewareStack.identify();

    it('on AWS: the WebSocket API’s stage URL (LIVE_ENDPOINT), the function credentials', async () => {
      await withModule<LiveModule>('live', { LIVE_ENDPOINT: 'https://abc123.execute-api.us-east-1.amazonaws.com/dev' }, async ({ liveApi, liveEndpoint }) => {
        const client = liveApi as unknown as AnyClient;
        const request = await requestOf(client, post);
        expect([request.protocol, request.hostname, request.path]).to.deep.equal(['https:', 'abc123.execute-api.us-east-1.amazonaws.com', '/dev/@connections/L0vB5cZ3IAMCJbQ%3D']);
        expect((await client.config.credentials()).accessKeyId).to.equal(REAL_KEY);
        expect(await client.config.maxAttempts()).to.equal(3);
        expect(liveEndpoint).to.equal('https://abc123.execute-api.us-east-1.amazonaws.com/dev');
      });
    });

    it('locally: the loopback gateway at LIVE_ENDPOINT, with local credentials naming the function only', async () => {
      await withModule<LiveModule>('live', { LIVE_ENDPOINT: 'http://127.0.0.1:45682/local', AWS_LAMBDA_FUNCTION_NAME: 'media-library-local-pushChanges' }, async ({ liveApi }) => {
        const client = liveApi as unknown as AnyClient;
        const request = await requestOf(client, post);
        expect([request.protocol, request.hostname, request.port, request.path]).to.deep.equal(['http:', '127.0.0.1', 45682, '/local/@connections/L0vB5cZ3IAMCJbQ%3D']);
        expect(await client.config.credentials()).to.include({ accessKeyId: 'media-library-local-pushChanges', secretAccessKey: LOCAL_SECRET_ACCESS_KEY });
      });
    });

    it('the fault switch (ML_FAULTS) applies to a loopback endpoint only, and never to a bundle built without it', async () => {
      const faults = JSON.stringify({ rate: 1, services: ['live'] });
      await withModule<LiveModule>('live', { LIVE_ENDPOINT: 'http://127.0.0.1:45682/local', ML_FAULTS: faults }, async ({ liveApi }) => {
        expect(names(liveApi).join(' ')).to.contain('mlFaultInjection');
      });
      await withModule<LiveModule>('live', { LIVE_ENDPOINT: 'http://127.0.0.1:45682/local', ML_FAULTS: faults, ML_FAULT_INJECTION: 'absent' }, async ({ liveApi }) => {
        expect(names(liveApi).join(' ')).not.to.contain('mlFaultInjection');
      });
      await withModule<LiveModule>('live', { LIVE_ENDPOINT: 'https://abc123.execute-api.us-east-1.amazonaws.com/dev', ML_FAULTS: faults }, async ({ liveApi }) => {
        expect(names(liveApi).join(' ')).not.to.contain('mlFaultInjection');
      });
    });
  });
});
