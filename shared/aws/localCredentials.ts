/**
 * Credentials for the local stand-ins (the local stage only; on AWS the clients use the
 * function's role). Like a Lambda role session they name the calling function, so the local
 * AWS gateway (local/gateway/) can authorise every call against that function's own role.
 * Resolved again for every request (an already-expired expiration makes the SDK re-resolve):
 * the in-process tests run several functions' handlers in one process, one at a time.
 */
export const LOCAL_SECRET_ACCESS_KEY = 'ml-local-secret';
/** The access key of local tooling (the harness, seeds, checks): not a function, never limited by a role. */
export const LOCAL_TOOLING_ACCESS_KEY = 'ml-local-tooling';

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  expiration: Date;
}

export async function localCredentials(): Promise<LocalCredentials> {
  const functionName = process.env['AWS_LAMBDA_FUNCTION_NAME'];
  // Function code under serverless offline (IS_OFFLINE) always has its name, as on Lambda; code
  // that lost it must not call AWS as local tooling, which no role limits.
  if (functionName === undefined && process.env['IS_OFFLINE'] !== undefined) throw new Error('no AWS_LAMBDA_FUNCTION_NAME under serverless offline: a function would call AWS as local tooling');
  const accessKeyId = functionName ?? process.env['ML_LOCAL_ACCESS_KEY_ID'] ?? LOCAL_TOOLING_ACCESS_KEY;
  return { accessKeyId, secretAccessKey: LOCAL_SECRET_ACCESS_KEY, expiration: new Date(0) };
}
