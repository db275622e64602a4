import { SNSClient } from '@aws-sdk/client-sns';
import { optionalEnv } from '../config/env';
import { injectFaults } from './faults';

const endpoint = optionalEnv('SNS_ENDPOINT');

/** The one SNS client of a function; SNS_ENDPOINT is set on the local stage (serverless-offline-sns). */
export const sns = new SNSClient({
  ...(endpoint === undefined ? {} : { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  maxAttempts: 3,
});
// The reliability suites' fault switch: only ever active against a local stand-in.
injectFaults(sns, 'sns', endpoint);
