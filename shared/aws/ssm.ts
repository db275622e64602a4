import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { optionalEnv } from '../config/env';
import { localCredentials } from './localCredentials';

/** SSM_ENDPOINT is set on the local stage only (the local gateway's parameter store). */
const endpoint = optionalEnv('SSM_ENDPOINT');

export const ssm = new SSMClient({ ...(endpoint === undefined ? {} : { endpoint, credentials: localCredentials }), maxAttempts: 3 });

/** A (SecureString) parameter's decrypted value. */
export async function getParameter(name: string): Promise<string> {
  const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  if (Parameter?.Value === undefined) throw new Error(`SSM parameter ${name} has no value`);
  return Parameter.Value;
}
