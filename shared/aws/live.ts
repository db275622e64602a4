import { ApiGatewayManagementApiClient, DeleteConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { requireEnv } from '../config/env';
import { injectFaults } from './faults';
import { localCredentials } from './localCredentials';

/**
 * The one API Gateway Management API client of a function: it pushes to, and closes, the
 * WebSocket connections of the live-updates API. LIVE_ENDPOINT is the API's stage URL
 * (https://<api id>.execute-api.<region>.amazonaws.com/<stage>), or on the local stage the local
 * AWS gateway in front of serverless-offline's WebSocket server (a loopback address).
 */
/** This stage's WebSocket API (its Management API endpoint). */
export const liveEndpoint = requireEnv('LIVE_ENDPOINT');
const endpoint = liveEndpoint;
const local = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(endpoint).hostname);

export const liveApi = new ApiGatewayManagementApiClient({
  endpoint,
  ...(local ? { credentials: localCredentials } : {}),
  maxAttempts: 3,
});
// The reliability suites' fault switch: only ever active against a local stand-in, and only in
// bundles serverless-offline runs (deployable bundles are built without it: local/esbuild.config.cjs).
if (process.env['ML_FAULT_INJECTION'] !== 'absent') injectFaults(liveApi, 'live', local ? endpoint : undefined);

/** What a push found: delivered, or the connection is gone (410: closed, or never this API's). */
export type PushOutcome = 'sent' | 'gone';

export interface LiveConnections {
  /** Sends one message (a JSON text frame) to a connection. */
  send(connectionId: string, message: string): Promise<PushOutcome>;
  /** Closes a connection (its $disconnect follows); a connection already gone is no error. */
  close(connectionId: string): Promise<void>;
}

const isGone = (error: unknown): boolean => (error as Error).name === 'GoneException' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410;

export const liveConnections: LiveConnections = {
  async send(connectionId, message) {
    try {
      await liveApi.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(message) }));
      return 'sent';
    } catch (error) {
      if (isGone(error)) return 'gone';
      throw error;
    }
  },
  async close(connectionId) {
    try {
      await liveApi.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      if (!isGone(error)) throw error;
    }
  },
};
