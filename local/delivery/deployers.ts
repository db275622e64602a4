/**
 * The roles of aws-deployers.template as IAM would hold them in one stage's account: its
 * parameters and pseudo parameters substituted, ready for the IAM simulator of the local gateway
 * (local/gateway/authorize.ts). The stage-command tests check every AWS call a deploy stage
 * makes against the role that stage assumes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { FunctionRole, PolicyDocument } from '../gateway/roles';
import { LOCAL_ACCOUNT } from '../gateway/roles';
import { REPO_ROOT } from '../stack/serviceConfig';

export const DEPLOYERS_TEMPLATE = 'aws-deployers.template';
export type DeployerRoleId = 'DeployRole' | 'EnvironmentRole' | 'CloudFormationRole';

interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

export const deployersTemplate = (): Template => parse(fs.readFileSync(path.join(REPO_ROOT, DEPLOYERS_TEMPLATE), 'utf8')) as Template;

/** Substitutes Ref, Fn::Sub and Fn::GetAtt (of a role's Arn) with the stack's parameters. */
function resolve(value: unknown, variables: Record<string, string>, template: Template): unknown {
  if (Array.isArray(value)) return value.map((item) => resolve(item, variables, template));
  if (value === null || typeof value !== 'object') return value;
  const node = value as Record<string, unknown>;
  const sub = (text: string): string =>
    text.replace(/\$\{([\w:]+)\}/g, (whole, name: string) => {
      const known = variables[name];
      if (known === undefined) throw new Error(`${DEPLOYERS_TEMPLATE}: unknown variable ${whole}`);
      return known;
    });
  if (typeof node['Ref'] === 'string') return resolve({ 'Fn::Sub': `\${${node['Ref']}}` }, variables, template);
  if (typeof node['Fn::Sub'] === 'string') return sub(node['Fn::Sub']);
  const getAtt = node['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn') {
    const roleName = resolve(template.Resources[String(getAtt[0])]?.Properties['RoleName'], variables, template);
    return `arn:${variables['AWS::Partition'] ?? 'aws'}:iam::${variables['AWS::AccountId'] ?? ''}:role/${String(roleName)}`;
  }
  return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, resolve(child, variables, template)]));
}

/** One role of the template, in a stage's account, as the simulator takes it. */
export function deployerRole(id: DeployerRoleId, parameters: { Stage: string; AgentRoleArn: string; MediaBucketName: string }, account = LOCAL_ACCOUNT): FunctionRole {
  const template = deployersTemplate();
  const variables: Record<string, string> = { ...parameters, 'AWS::AccountId': account.accountId, 'AWS::Region': account.region, 'AWS::Partition': account.partition };
  const resource = template.Resources[id];
  if (resource?.Type !== 'AWS::IAM::Role') throw new Error(`${DEPLOYERS_TEMPLATE}: no role ${id}`);
  const roleName = String(resolve(resource.Properties['RoleName'], variables, template));
  const roleArn = `arn:${account.partition}:iam::${account.accountId}:role/${roleName}`;
  const policies = (resource.Properties['Policies'] as Array<{ PolicyName: string; PolicyDocument: unknown }>).map((policy) => ({
    name: policy.PolicyName,
    document: resolve(policy.PolicyDocument, variables, template) as PolicyDocument,
  }));
  return { name: id, functionName: roleName, roleName, roleArn, sessionArn: `arn:${account.partition}:sts::${account.accountId}:assumed-role/${roleName}/gocd`, policies };
}
