/**
 * A function's role as the local AWS gateway reads it from the packaged template
 * (local/gateway/roles.ts), made up for a test: the local stage's names, the given statements.
 */
import type { FunctionRole } from '../gateway/roles';

export function testRole(name: string, statements: Array<Record<string, unknown>>): FunctionRole {
  const functionName = `media-library-local-${name}`;
  const roleName = `${functionName}-us-east-1-lambdaRole`;
  return {
    name,
    functionName,
    roleName,
    roleArn: `arn:aws:iam::123456789012:role/${roleName}`,
    sessionArn: `arn:aws:sts::123456789012:assumed-role/${roleName}/${functionName}`,
    policies: [{ name: 'test', document: { Version: '2012-10-17', Statement: statements } }],
  };
}
