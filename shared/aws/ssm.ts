import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

const client = new SSMClient({ maxAttempts: 3 });

/** A (SecureString) parameter's decrypted value. */
export async function getParameter(name: string): Promise<string> {
  const { Parameter } = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  if (Parameter?.Value === undefined) throw new Error(`SSM parameter ${name} has no value`);
  return Parameter.Value;
}
