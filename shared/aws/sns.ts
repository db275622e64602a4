import { SNSClient } from '@aws-sdk/client-sns';
import { optionalEnv } from '../config/env';

const endpoint = optionalEnv('SNS_ENDPOINT');

/** The one SNS client of a function; SNS_ENDPOINT is set on the local stage (serverless-offline-sns). */
export const sns = new SNSClient({
  ...(endpoint === undefined ? {} : { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  maxAttempts: 3,
});
