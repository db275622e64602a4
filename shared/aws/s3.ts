import { S3Client } from '@aws-sdk/client-s3';
import { optionalEnv } from '../config/env';
import { injectFaults } from './faults';
import { localCredentials } from './localCredentials';

const endpoint = optionalEnv('S3_ENDPOINT');

/**
 * The one S3 client of a function. Checksums only where S3 requires them: the SDK's default
 * (a CRC on every upload, sent as aws-chunked) is not understood by the local stand-in and
 * adds nothing over TLS + Content-MD5-free single PUTs of small objects.
 */
export const s3 = new S3Client({
  ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true, credentials: localCredentials }),
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
  maxAttempts: 3,
});
// The reliability suites' fault switch: only ever active against a local stand-in, and only in
// bundles serverless-offline runs (deployable bundles are built without it: local/esbuild.config.cjs).
if (process.env['ML_FAULT_INJECTION'] !== 'absent') injectFaults(s3, 's3', endpoint);
