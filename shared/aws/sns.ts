import { SNSClient } from '@aws-sdk/client-sns';
import { optionalEnv } from '../config/env';
import { injectFaults } from './faults';
import { localCredentials } from './localCredentials';

const endpoint = optionalEnv('SNS_ENDPOINT');

/** The one SNS client of a function; SNS_ENDPOINT is set on the local stage (serverless-offline-sns). */
export const sns = new SNSClient({
  ...(endpoint === undefined ? {} : { endpoint, credentials: localCredentials }),
  maxAttempts: 3,
});
// The reliability suites' fault switch: only ever active against a local stand-in, and only in
// bundles serverless-offline runs (deployable bundles are built without it: local/esbuild.config.cjs).
if (process.env['ML_FAULT_INJECTION'] !== 'absent') injectFaults(sns, 'sns', endpoint);
