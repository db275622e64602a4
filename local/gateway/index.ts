/**
 * Starts the local AWS gateway in front of each stand-in of a local stack (npm start, the test
 * harness, the benchmarks): DynamoDB (and its Streams API), S3, SNS, SSM (answered by the gateway
 * itself from the local key files, as the stage's two JWT key parameters), and the live-updates
 * WebSocket API (serverless-offline's WebSocket server: the upgrades of clients, and the
 * functions' calls of its Management API).
 */
import fs from 'node:fs';
import { serviceConfig } from '../stack/serviceConfig';
import { EvidenceLog } from './evidence';
import { functionRoles, type FunctionRole } from './roles';
import { startGateway, type Denial, type RunningGateway, type SsmParameter } from './server';
import { packagedTemplate } from './template';

export type { Denial } from './server';

/** Every function's role on the local stage, as `serverless package --stage local` emits it. */
export async function localRoles(): Promise<Map<string, FunctionRole>> {
  return functionRoles(await packagedTemplate('local'));
}

export interface LocalGatewayOptions {
  /** Where each gateway listens (0 or unset: a free port). */
  ports?: { dynamodb?: number; s3?: number; sns?: number; ssm?: number; live?: number };
  /**
   * The stand-ins behind them; a service without a backend gets no gateway. `live`:
   * serverless-offline's WebSocket server (its `websocketPort`), which serves both the WebSocket
   * upgrades and the Management API (`/@connections/{connectionId}`) on one port.
   */
  backends: { dynamodb?: string; s3?: string; sns?: string; live?: string };
  /** Whether to serve SSM (the gateway answers it itself, from the key files). */
  ssm?: boolean;
  /** The local signing keys, served as the stage's two SSM parameters (needed with `ssm`). */
  keyFiles?: { privateFile: string; publicFile: string };
  /** The roles to enforce (default: the packaged local roles); a test may pass a narrowed copy. */
  roles?: Map<string, FunctionRole>;
  onDenied?: (denial: Denial) => void;
  /** Origins the S3 gateway allows besides the stage's `corsOrigins` (a web app on a port chosen at start). */
  corsOrigins?: string[];
}

export interface LocalGateways {
  /** `live`: http://127.0.0.1:<port>, the Management API's endpoint (LIVE_ENDPOINT); clients open ws://127.0.0.1:<port>. */
  endpoints: { dynamodb?: string; s3?: string; sns?: string; ssm?: string; live?: string };
  ports: { dynamodb?: number; s3?: number; sns?: number; ssm?: number; live?: number };
  denials(): Denial[];
  stop(): Promise<void>;
}

export async function startLocalGateways(options: LocalGatewayOptions): Promise<LocalGateways> {
  const roles = options.roles ?? (await localRoles());
  const stage = (serviceConfig('local').custom as { stage: { jwt: { parameterPath: string }; corsOrigins: string[] } }).stage;
  const keyFiles = options.keyFiles;
  if (options.ssm === true && keyFiles === undefined) throw new Error('the SSM gateway serves the key files: pass keyFiles');
  const parameters = (): Map<string, SsmParameter> =>
    keyFiles === undefined
      ? new Map<string, SsmParameter>()
      : new Map([
          [`${stage.jwt.parameterPath}/private`, { value: fs.readFileSync(keyFiles.privateFile, 'utf8'), type: 'SecureString' }],
          [`${stage.jwt.parameterPath}/public`, { value: fs.readFileSync(keyFiles.publicFile, 'utf8'), type: 'String' }],
        ]);
  const evidence = new EvidenceLog();
  const common = { roles, evidence, ...(options.onDenied === undefined ? {} : { onDenied: options.onDenied }) };
  const started: RunningGateway[] = [];
  const start = async (service: 'dynamodb' | 's3' | 'sns' | 'live', backend: string | undefined): Promise<RunningGateway | undefined> => {
    if (backend === undefined) return undefined;
    const gateway = await startGateway({ ...common, service, backend, port: options.ports?.[service] ?? 0, ...(service === 's3' ? { corsOrigins: [...stage.corsOrigins, ...(options.corsOrigins ?? [])] } : {}) });
    started.push(gateway);
    return gateway;
  };
  try {
    const dynamodb = await start('dynamodb', options.backends.dynamodb);
    const s3 = await start('s3', options.backends.s3);
    const sns = await start('sns', options.backends.sns);
    const live = await start('live', options.backends.live);
    const ssm = options.ssm === true ? await startGateway({ ...common, service: 'ssm', port: options.ports?.ssm ?? 0, parameters }) : undefined;
    if (ssm !== undefined) started.push(ssm);
    return {
      endpoints: { ...(dynamodb && { dynamodb: dynamodb.endpoint }), ...(s3 && { s3: s3.endpoint }), ...(sns && { sns: sns.endpoint }), ...(ssm && { ssm: ssm.endpoint }), ...(live && { live: live.endpoint }) },
      ports: { ...(dynamodb && { dynamodb: dynamodb.port }), ...(s3 && { s3: s3.port }), ...(sns && { sns: sns.port }), ...(ssm && { ssm: ssm.port }), ...(live && { live: live.port }) },
      denials: () => started.flatMap((gateway) => gateway.denials),
      stop: async () => {
        await Promise.all(started.map((gateway) => gateway.stop()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((gateway) => gateway.stop()));
    throw error;
  }
}
