import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { optionalEnv } from '../config/env';
import { injectFaults } from './faults';
import { localCredentials } from './localCredentials';

/**
 * The one DynamoDB client of a function, created at module scope so it is reused across
 * invocations (connection reuse, no per-request setup). DYNAMODB_ENDPOINT is set only on
 * the local stage (DynamoDB Local).
 */
const endpoint = optionalEnv('DYNAMODB_ENDPOINT');

const client = new DynamoDBClient({
  // A local endpoint gets local credentials naming the function: real ones are never sent to a stand-in.
  ...(endpoint === undefined ? {} : { endpoint, credentials: localCredentials }),
  maxAttempts: 3,
});
// The reliability suites' fault switch: only ever active against a local stand-in, and only in
// bundles serverless-offline runs (deployable bundles are built without it: local/esbuild.config.cjs).
if (process.env['ML_FAULT_INJECTION'] !== 'absent') injectFaults(client, 'dynamodb', endpoint);

/** The client under the document client (they share one middleware stack): for tracing (shared/tracing.ts). */
export const dynamoClient = client;
export const dynamo = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
