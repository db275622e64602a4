/**
 * A loopback stand-in for the few AWS APIs the pipelines' deploy stages call: `serverless deploy
 * function` (Lambda GetFunction, UpdateFunctionCode, UpdateFunctionConfiguration; IAM GetRole;
 * STS GetCallerIdentity), local/delivery/release.ts (Lambda GetFunctionConfiguration,
 * PublishVersion guarded by CodeSha256, GetAlias; CodeDeploy CreateDeployment and GetDeployment,
 * which succeed and move the alias, or stop on an alarm and leave it: `nextDeployment`),
 * local/delivery/smoke.ts (the stack output HttpApiUrl: `apiUrl`) and local/delivery/deploy-web.ts
 * (CloudFormation DescribeStacks of a stack with the web app's outputs; S3 PutObject, GetObject,
 * ListObjectsV2 and DeleteObjects on path-style URLs, kept in memory; CloudFront
 * CreateInvalidation). Point the SDK at it with AWS_ENDPOINT_URL; it records every call, so a test
 * can see exactly which bytes a deploy uploaded. Nothing leaves 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DELIVERY } from '../delivery/pipelines';

/** The live-updates WebSocket API of the fake stack (output LiveUrl). */
export const FAKE_LIVE_URL = 'wss://abcdef1234.execute-api.us-east-1.amazonaws.com/test';

export interface RecordedCall {
  service: string;
  method: string;
  path: string;
  /** Who signed it: the ARN of the role whose assumed credentials signed it, `agent`, or the access key id. */
  principal?: string;
  /** The IAM action and resource AWS would authorise it as (for the calls the deploy stages make). */
  action?: string;
  resource?: string;
  /** For UpdateFunctionCode: the SHA-256 (hex) and size of the uploaded zip. */
  zipSha256?: string;
  zipBytes?: number;
  body?: unknown;
}

export interface StoredObject {
  body: Buffer;
  contentType?: string;
  cacheControl?: string;
  lastModified: Date;
}

/** A deployed function: its $LATEST code, its published versions and the version its alias `live` runs. */
export interface FakeFunction {
  codeSha256: string;
  versions: Array<{ version: string; codeSha256: string }>;
  live: string;
}

export interface FakeAws {
  endpoint: string;
  calls: RecordedCall[];
  /** S3 objects by `bucket/key`. */
  objects: Map<string, StoredObject>;
  /** Lambda functions by name, as the deploys left them. */
  functions: Map<string, FakeFunction>;
  /** CodeDeploy deployments, in order, with the AppSpec each was given. */
  deployments: Array<{ id: string; applicationName: string; deploymentGroupName: string; appSpec: unknown; status: string }>;
  /** What CodeDeploy does with the next deployments: succeed, or stop on an alarm (rolled back). */
  nextDeployment: 'Succeeded' | 'Stopped';
  /** How many looks (GetDeployment) find a deployment still shifting before it is done. */
  inProgressLooks: number;
  /** The stack output HttpApiUrl (the stage's API, for the smoke test). */
  apiUrl: string;
  close(): Promise<void>;
}

const ACCOUNT = '123456789012';
/** The web app's outputs of stack media-library-<stage>, as the service stack declares them. */
export const fakeAppBucket = (stage: string): string => `${DELIVERY.mediaBuckets[stage as keyof typeof DELIVERY.mediaBuckets]}-web`;
export const FAKE_DISTRIBUTION_ID = 'E2FAKEDISTRIBUTION';

const escapeXml = (value: string): string => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const base64Sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('base64');

/** The Go.cd agent's own credentials, from its container credentials endpoint: good only to assume a role. */
export const AGENT_CREDENTIALS_PATH = '/agent-credentials';
const AGENT_ACCESS_KEY = 'ASIAGOCDAGENT';
const arn = (service: string, resource: string, region = 'us-east-1'): string => `arn:aws:${service}:${region}:${ACCOUNT}:${resource}`;

export async function startFakeAws(): Promise<FakeAws> {
  const calls: RecordedCall[] = [];
  const objects = new Map<string, StoredObject>();
  const functions = new Map<string, FakeFunction>();
  const deployments: Array<FakeAws['deployments'][number] & { looks: number }> = [];
  const fake = { nextDeployment: 'Succeeded' as FakeAws['nextDeployment'], inProgressLooks: 1, apiUrl: 'https://abcdef1234.execute-api.us-east-1.amazonaws.com' };
  /** A function deployed before: version 1 of some earlier code, live. */
  const functionNamed = (name: string): FakeFunction => {
    let fn = functions.get(name);
    if (fn === undefined) {
      const before = base64Sha256('deployed before');
      fn = { codeSha256: before, versions: [{ version: '1', codeSha256: before }], live: '1' };
      functions.set(name, fn);
    }
    return fn;
  };
  /** Access key ids of assumed-role credentials → the role's ARN. */
  const assumed = new Map<string, string>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      if (request.method === 'GET' && request.url === AGENT_CREDENTIALS_PATH) {
        calls.push({ service: 'container-credentials', method: 'GET', path: AGENT_CREDENTIALS_PATH });
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ AccessKeyId: AGENT_ACCESS_KEY, SecretAccessKey: 'agent-secret', Token: 'agent-token', Expiration: new Date(Date.now() + 3_600_000).toISOString() }));
        return;
      }
      // The SigV4 credential scope names the key and the service: Credential=<key>/<date>/<region>/<service>/aws4_request.
      const scope = /Credential=([^/]+)\/[^/]+\/[^/]+\/([^/]+)\//.exec(request.headers.authorization ?? '');
      const service = scope?.[2] ?? 'unknown';
      const accessKey = scope?.[1];
      const principal = accessKey === undefined ? undefined : accessKey === AGENT_ACCESS_KEY ? 'agent' : (assumed.get(accessKey) ?? accessKey);
      const call: RecordedCall = { service, method: request.method ?? '', path: request.url ?? '', ...(principal === undefined ? {} : { principal }) };
      calls.push(call);
      const authorise = (action: string, resource: string): void => {
        call.action = action;
        call.resource = resource;
      };
      const json = (status: number, value: unknown): void => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(value));
      };
      const xml = (text: string): void => {
        response.writeHead(200, { 'content-type': 'text/xml' });
        response.end(text);
      };
      if (service === 'lambda') {
        const name = decodeURIComponent(/\/functions\/([^/?]+)/.exec(call.path)?.[1] ?? 'unknown');
        const fn = functionNamed(name);
        const route = new URL(call.path, 'http://fake').pathname;
        const lambdaAction =
          call.method === 'PUT'
            ? route.endsWith('/code')
              ? 'UpdateFunctionCode'
              : 'UpdateFunctionConfiguration'
            : call.method === 'POST' && route.endsWith('/versions')
              ? 'PublishVersion'
              : route.endsWith('/configuration')
                ? 'GetFunctionConfiguration'
                : /\/aliases\//.test(route)
                  ? 'GetAlias'
                  : 'GetFunction';
        authorise(`lambda:${lambdaAction}`, arn('lambda', `function:${name}`));
        if (call.method === 'PUT' && call.path.endsWith('/code')) {
          const zip = Buffer.from((JSON.parse(body.toString()) as { ZipFile: string }).ZipFile, 'base64');
          call.zipSha256 = createHash('sha256').update(zip).digest('hex');
          call.zipBytes = zip.length;
          fn.codeSha256 = base64Sha256(zip);
          json(200, { FunctionName: name, CodeSha256: fn.codeSha256 });
          return;
        }
        if (call.method === 'POST' && route.endsWith('/versions')) {
          const input = JSON.parse(body.toString() || '{}') as { CodeSha256?: string };
          call.body = input;
          if (input.CodeSha256 !== undefined && input.CodeSha256 !== fn.codeSha256) {
            response.writeHead(412, { 'content-type': 'application/json', 'x-amzn-errortype': 'PreconditionFailedException' });
            response.end(JSON.stringify({ Type: 'User', message: `CodeSha256 ${input.CodeSha256} does not match $LATEST (${fn.codeSha256})` }));
            return;
          }
          // As Lambda: unchanged code publishes nothing new, the latest version is the answer.
          const latest = fn.versions[fn.versions.length - 1];
          const version = latest?.codeSha256 === fn.codeSha256 ? latest.version : String(fn.versions.length + 1);
          if (version !== latest?.version) fn.versions.push({ version, codeSha256: fn.codeSha256 });
          json(201, { FunctionName: name, Version: version, CodeSha256: fn.codeSha256 });
          return;
        }
        if (call.method === 'GET' && route.endsWith('/configuration')) {
          json(200, { FunctionName: name, Version: '$LATEST', CodeSha256: fn.codeSha256, State: 'Active', LastUpdateStatus: 'Successful' });
          return;
        }
        if (call.method === 'GET' && /\/aliases\/[^/]+$/.test(route)) {
          json(200, { Name: route.split('/').pop(), FunctionVersion: fn.live });
          return;
        }
        if (call.method === 'PUT') {
          call.body = JSON.parse(body.toString()) as unknown;
          json(200, { FunctionName: name });
          return;
        }
        json(200, {
          Configuration: {
            FunctionName: name,
            PackageType: 'Zip',
            CodeSha256: fn.codeSha256,
            State: 'Active',
            LastUpdateStatus: 'Successful',
            Role: `arn:aws:iam::${ACCOUNT}:role/${name}`,
          },
          Code: {},
        });
        return;
      }
      if (service === 'codedeploy') {
        const action = String(request.headers['x-amz-target'] ?? '').replace(/^CodeDeploy_20141006\./, '');
        const input = JSON.parse(body.toString() || '{}') as Record<string, unknown>;
        call.body = { action, ...input };
        const group = (application: string, name: string): string => arn('codedeploy', `deploymentgroup:${application}/${name}`);
        if (action === 'CreateDeployment') authorise('codedeploy:CreateDeployment', group(String(input['applicationName']), String(input['deploymentGroupName'])));
        if (action === 'GetDeployment') {
          const known = deployments.find((candidate) => candidate.id === input['deploymentId']);
          authorise('codedeploy:GetDeployment', group(known?.applicationName ?? '?', known?.deploymentGroupName ?? '?'));
        }
        if (action === 'CreateDeployment') {
          const revision = input['revision'] as { appSpecContent?: { content?: string } } | undefined;
          const id = `d-FAKE${deployments.length + 1}`;
          deployments.push({ id, applicationName: String(input['applicationName']), deploymentGroupName: String(input['deploymentGroupName']), appSpec: JSON.parse(revision?.appSpecContent?.content ?? 'null'), status: 'InProgress', looks: 0 });
          json(200, { deploymentId: id });
          return;
        }
        if (action === 'GetDeployment') {
          const deployment = deployments.find((candidate) => candidate.id === input['deploymentId']);
          if (deployment === undefined) {
            json(400, { __type: 'DeploymentDoesNotExistException', message: 'no such deployment' });
            return;
          }
          // The first looks find it shifting (inProgressLooks); the next, done as the fake was told.
          deployment.looks += 1;
          if (deployment.status === 'InProgress' && deployment.looks > fake.inProgressLooks) {
            deployment.status = fake.nextDeployment;
            const spec = deployment.appSpec as { Resources: Array<Record<string, { Properties: { Name: string; TargetVersion: string } }>> };
            const target = Object.values(spec.Resources[0] ?? {})[0]?.Properties;
            if (deployment.status === 'Succeeded' && target !== undefined) functionNamed(target.Name).live = target.TargetVersion;
          }
          const status = deployment.status;
          const stopped = status === 'Stopped' ? { errorInformation: { code: 'ALARM_ACTIVE', message: 'One or more alarms have been activated' }, rollbackInfo: { rollbackMessage: 'Rolled back: an alarm fired during the traffic shift' } } : {};
          json(200, { deploymentInfo: { deploymentId: deployment.id, applicationName: deployment.applicationName, deploymentGroupName: deployment.deploymentGroupName, status, ...stopped } });
          return;
        }
      }
      if (service === 'iam') {
        authorise('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/${new URLSearchParams(body.toString()).get('RoleName') ?? '?'}`);
        xml(
          `<GetRoleResponse><GetRoleResult><Role><Arn>arn:aws:iam::${ACCOUNT}:role/deployed</Arn><RoleName>deployed</RoleName><Path>/</Path><RoleId>AROAFAKE</RoleId><CreateDate>2026-01-01T00:00:00Z</CreateDate></Role></GetRoleResult></GetRoleResponse>`,
        );
        return;
      }
      if (service === 'sts') {
        const form = new URLSearchParams(body.toString());
        if (form.get('Action') === 'AssumeRole') {
          const roleArn = form.get('RoleArn') ?? '';
          authorise('sts:AssumeRole', roleArn);
          const issued = `ASIAFAKE${String(assumed.size + 1).padStart(8, '0')}`;
          assumed.set(issued, roleArn);
          const expiration = new Date(Date.now() + 3_600_000).toISOString();
          xml(
            `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>${issued}</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>assumed-token</SessionToken><Expiration>${expiration}</Expiration></Credentials><AssumedRoleUser><Arn>${escapeXml(roleArn.replace(':role/', ':assumed-role/'))}/${escapeXml(form.get('RoleSessionName') ?? 'session')}</Arn><AssumedRoleId>AROAFAKE:${escapeXml(form.get('RoleSessionName') ?? 'session')}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></AssumeRoleResponse>`,
          );
          return;
        }
        authorise('sts:GetCallerIdentity', '*');
        xml(`<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::${ACCOUNT}:user/ci</Arn><UserId>AIDAFAKE</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`);
        return;
      }
      if (service === 'cloudformation') {
        const form = new URLSearchParams(body.toString());
        const stackName = form.get('StackName') ?? '';
        call.body = Object.fromEntries(form);
        authorise(`cloudformation:${form.get('Action') ?? '?'}`, arn('cloudformation', `stack/${stackName}/fake-stack-id`));
        const stage = stackName.replace(/^media-library-/, '');
        const outputs = { AppBucketName: fakeAppBucket(stage), AppDistributionId: FAKE_DISTRIBUTION_ID, AppUrl: 'https://d111111abcdef8.cloudfront.net', LiveUrl: FAKE_LIVE_URL, HttpApiUrl: fake.apiUrl };
        const members = Object.entries(outputs)
          .map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${escapeXml(value)}</OutputValue></member>`)
          .join('');
        xml(
          `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${escapeXml(stackName)}</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></DescribeStacksResponse>`,
        );
        return;
      }
      if (service === 'cloudfront') {
        authorise('cloudfront:CreateInvalidation', `arn:aws:cloudfront::${ACCOUNT}:distribution/${/distribution\/([^/]+)/.exec(call.path)?.[1] ?? '?'}`);
        call.body = { paths: [...body.toString().matchAll(/<Path>([^<]*)<\/Path>/g)].map((match) => match[1]) };
        response.writeHead(201, { 'content-type': 'text/xml', location: `${call.path}/I2FAKE` });
        response.end(`<Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I2FAKE</Id><Status>InProgress</Status><CreateTime>2026-01-01T00:00:00Z</CreateTime></Invalidation>`);
        return;
      }
      if (service === 's3') {
        // Path-style: /<bucket>/<key>?<query>.
        const url = new URL(call.path, 'http://fake');
        const [bucket = '', ...rest] = url.pathname.slice(1).split('/').map(decodeURIComponent);
        const key = rest.join('/');
        const object = `arn:aws:s3:::${bucket}/${key}`;
        if (call.method === 'PUT') authorise('s3:PutObject', object);
        else if (call.method === 'GET' && key !== '') authorise('s3:GetObject', object);
        else if (call.method === 'GET') authorise('s3:ListBucket', `arn:aws:s3:::${bucket}`);
        else if (call.method === 'POST') authorise('s3:DeleteObject', `arn:aws:s3:::${bucket}/*`);
        if (call.method === 'PUT' && key !== '') {
          objects.set(`${bucket}/${key}`, { body, contentType: request.headers['content-type'], cacheControl: request.headers['cache-control'], lastModified: new Date() });
          call.body = { key, sha256: createHash('sha256').update(body).digest('hex'), contentType: request.headers['content-type'], cacheControl: request.headers['cache-control'] };
          response.writeHead(200, { etag: '"fake"' }).end();
          return;
        }
        if (call.method === 'GET' && key === '' && url.searchParams.get('list-type') === '2') {
          const contents = [...objects.entries()]
            .filter(([name]) => name.startsWith(`${bucket}/`))
            .map(([name, object]) => `<Contents><Key>${escapeXml(name.slice(bucket.length + 1))}</Key><LastModified>${object.lastModified.toISOString()}</LastModified><Size>${object.body.length}</Size></Contents>`)
            .join('');
          xml(`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${escapeXml(bucket)}</Name><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
          return;
        }
        if (call.method === 'GET' && key !== '') {
          const object = objects.get(`${bucket}/${key}`);
          if (object === undefined) {
            response.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
            return;
          }
          response.writeHead(200, { 'content-type': object.contentType ?? 'application/octet-stream' }).end(object.body);
          return;
        }
        if (call.method === 'POST' && url.searchParams.has('delete')) {
          const keys = [...body.toString().matchAll(/<Key>([^<]*)<\/Key>/g)].map((match) => (match[1] as string).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
          for (const name of keys) objects.delete(`${bucket}/${name}`);
          call.body = { deleted: keys };
          xml('<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>');
          return;
        }
      }
      json(400, { message: `the fake AWS does not know ${service} ${call.method} ${call.path}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    objects,
    functions,
    deployments,
    get nextDeployment() {
      return fake.nextDeployment;
    },
    set nextDeployment(outcome) {
      fake.nextDeployment = outcome;
    },
    get inProgressLooks() {
      return fake.inProgressLooks;
    },
    set inProgressLooks(looks) {
      fake.inProgressLooks = looks;
    },
    get apiUrl() {
      return fake.apiUrl;
    },
    set apiUrl(url) {
      fake.apiUrl = url;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
