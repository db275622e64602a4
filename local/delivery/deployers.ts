/**
 * The roles of aws-deployers.template as IAM would hold them in one stage's account: its
 * parameters and pseudo parameters substituted by the local gateway's IntrinsicResolver, ready for
 * its IAM simulator (local/gateway/authorize.ts). The stage-command tests check every AWS call a deploy stage
 * makes against the role that stage assumes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { IntrinsicResolver, LOCAL_ACCOUNT, type FunctionRole, type PolicyDocument } from '../gateway/roles';
import { REPO_ROOT } from '../stack/serviceConfig';

export const DEPLOYERS_TEMPLATE = 'aws-deployers.template';
export type DeployerRoleId = 'DeployRole' | 'EnvironmentRole' | 'CloudFormationRole';

interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

export const deployersTemplate = (): Template => parse(fs.readFileSync(path.join(REPO_ROOT, DEPLOYERS_TEMPLATE), 'utf8')) as Template;

/** One role of the template, in a stage's account, as the simulator takes it. */
export function deployerRole(id: DeployerRoleId, parameters: { Stage: string; AgentRoleArn: string; MediaBucketName: string }, account = LOCAL_ACCOUNT): FunctionRole {
  const template = deployersTemplate();
  const resolver = new IntrinsicResolver(template, account, parameters);
  const resource = template.Resources[id];
  if (resource?.Type !== 'AWS::IAM::Role') throw new Error(`${DEPLOYERS_TEMPLATE}: no role ${id}`);
  const roleName = resolver.resolveString(resource.Properties['RoleName']);
  const roleArn = resolver.getAtt(id, 'Arn');
  const policies = (resource.Properties['Policies'] as Array<{ PolicyName: string; PolicyDocument: unknown }>).map((policy) => ({
    name: policy.PolicyName,
    document: resolver.resolve(policy.PolicyDocument) as PolicyDocument,
  }));
  return { name: id, functionName: roleName, roleName, roleArn, sessionArn: `arn:${account.partition}:sts::${account.accountId}:assumed-role/${roleName}/gocd`, policies };
}
