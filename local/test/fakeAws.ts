/**
 * A loopback stand-in for the few AWS APIs `serverless deploy function` calls (Lambda GetFunction,
 * UpdateFunctionCode, UpdateFunctionConfiguration; IAM GetRole; STS GetCallerIdentity). Point the
 * SDK at it with AWS_ENDPOINT_URL; it records every call, so a test can see exactly which bytes a
 * deploy uploaded. Nothing leaves 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  service: string;
  method: string;
  path: string;
  /** For UpdateFunctionCode: the SHA-256 (hex) and size of the uploaded zip. */
  zipSha256?: string;
  zipBytes?: number;
  body?: unknown;
}

export interface FakeAws {
  endpoint: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}

const ACCOUNT = '123456789012';

export async function startFakeAws(): Promise<FakeAws> {
  const calls: RecordedCall[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      // The SigV4 credential scope names the service: Credential=<key>/<date>/<region>/<service>/aws4_request.
      const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(request.headers.authorization ?? '')?.[1] ?? 'unknown';
      const call: RecordedCall = { service, method: request.method ?? '', path: request.url ?? '' };
      calls.push(call);
      const json = (status: number, value: unknown): void => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(value));
      };
      const xml = (text: string): void => {
        response.writeHead(200, { 'content-type': 'text/xml' });
        response.end(text);
      };
      if (service === 'lambda') {
        const name = /\/functions\/([^/?]+)/.exec(call.path)?.[1] ?? 'unknown';
        if (call.method === 'PUT' && call.path.endsWith('/code')) {
          const zip = Buffer.from((JSON.parse(body.toString()) as { ZipFile: string }).ZipFile, 'base64');
          call.zipSha256 = createHash('sha256').update(zip).digest('hex');
          call.zipBytes = zip.length;
          json(200, { FunctionName: name });
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
            CodeSha256: 'deployed-before',
            State: 'Active',
            LastUpdateStatus: 'Successful',
            Role: `arn:aws:iam::${ACCOUNT}:role/${name}`,
          },
          Code: {},
        });
        return;
      }
      if (service === 'iam') {
        xml(
          `<GetRoleResponse><GetRoleResult><Role><Arn>arn:aws:iam::${ACCOUNT}:role/deployed</Arn><RoleName>deployed</RoleName><Path>/</Path><RoleId>AROAFAKE</RoleId><CreateDate>2026-01-01T00:00:00Z</CreateDate></Role></GetRoleResult></GetRoleResponse>`,
        );
        return;
      }
      if (service === 'sts') {
        xml(`<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::${ACCOUNT}:user/ci</Arn><UserId>AIDAFAKE</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`);
        return;
      }
      json(400, { message: `the fake AWS does not know ${service} ${call.method} ${call.path}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
