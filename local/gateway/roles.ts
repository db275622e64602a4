/**
 * Every function's execution role, read from the packaged template with its intrinsic functions
 * resolved the way CloudFormation would resolve them in the local account and region: the
 * policy documents the local gateway authorises each AWS call against.
 */
import type { PackagedTemplate } from './template';

/** The account and region the local stage pretends to live in (serverless-offline-sns uses this account too). */
export const LOCAL_ACCOUNT = { accountId: '123456789012', region: 'us-east-1', partition: 'aws' } as const;
export type Account = { accountId: string; region: string; partition: string };
/**
 * What `Ref` of the live-updates WebSocket API (serverless' `WebsocketsApi`) resolves to locally:
 * the API id, a fixed stand-in for the random id API Gateway assigns at deploy time. The local
 * AWS gateway authorises @connections calls on this id (local/gateway/actions.ts).
 */
export const LOCAL_LIVE_API_ID = 'local-live-api';
/** The stage the local stack runs as (the API's stage in execute-api ARNs). */
export const LOCAL_STAGE = 'local';

/** The local id of an API Gateway v2 API (HTTP or WebSocket) of the template, by its logical id. */
export const localApiId = (logicalId: string): string => (logicalId === 'WebsocketsApi' ? LOCAL_LIVE_API_ID : `local-${logicalId.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`);

export interface PolicyDocument {
  Version?: string;
  Statement: Array<Record<string, unknown>>;
}
export interface FunctionRole {
  /** The logical function name in serverless.yml (`processUpload`). */
  name: string;
  /** The deployed function name (`media-library-local-processUpload`): the local access key id. */
  functionName: string;
  roleName: string;
  roleArn: string;
  /** The STS principal a Lambda invocation runs as: assumed-role/<role>/<function>. */
  sessionArn: string;
  policies: Array<{ name: string; document: PolicyDocument }>;
}

type Json = unknown;
const isRecord = (value: Json): value is Record<string, Json> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Resolves Ref, Fn::GetAtt, Fn::Join and Fn::Sub over a template, as CloudFormation would at deploy time. */
export class IntrinsicResolver {
  constructor(
    private readonly template: PackagedTemplate,
    private readonly account: Account = LOCAL_ACCOUNT,
    /** Values of the template's Parameters (a hand-written template such as aws-deployers.template). */
    private readonly parameters: Record<string, string> = {},
  ) {}

  private property(logicalId: string, name: string): string {
    const value = this.template.Resources[logicalId]?.Properties?.[name];
    return this.resolveString(value);
  }

  ref(name: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Region': this.account.region,
      'AWS::AccountId': this.account.accountId,
      'AWS::Partition': this.account.partition,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    if (pseudo[name] !== undefined) return pseudo[name];
    if (this.parameters[name] !== undefined) return this.parameters[name];
    const resource = this.template.Resources[name];
    const { partition, region, accountId } = this.account;
    switch (resource?.Type) {
      case 'AWS::DynamoDB::Table':
        return this.property(name, 'TableName');
      case 'AWS::S3::Bucket':
        return this.property(name, 'BucketName');
      case 'AWS::SNS::Topic':
        return `arn:${partition}:sns:${region}:${accountId}:${this.property(name, 'TopicName')}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.amazonaws.com/${accountId}/${this.property(name, 'QueueName')}`;
      case 'AWS::Lambda::Function':
        return this.property(name, 'FunctionName');
      case 'AWS::IAM::Role':
        return this.property(name, 'RoleName');
      case 'AWS::ApiGatewayV2::Api':
        return localApiId(name);
      default:
        throw new Error(`Ref ${name}: the local gateway does not know what a ${resource?.Type ?? 'missing resource'} resolves to`);
    }
  }

  getAtt(name: string, attribute: string): string {
    const resource = this.template.Resources[name];
    const { partition, region, accountId } = this.account;
    if (attribute === 'Arn') {
      switch (resource?.Type) {
        case 'AWS::DynamoDB::Table':
          return `arn:${partition}:dynamodb:${region}:${accountId}:table/${this.property(name, 'TableName')}`;
        case 'AWS::SQS::Queue':
          return `arn:${partition}:sqs:${region}:${accountId}:${this.property(name, 'QueueName')}`;
        case 'AWS::S3::Bucket':
          return `arn:${partition}:s3:::${this.property(name, 'BucketName')}`;
        case 'AWS::Lambda::Function':
          return `arn:${partition}:lambda:${region}:${accountId}:function:${this.property(name, 'FunctionName')}`;
        case 'AWS::IAM::Role':
          return `arn:${partition}:iam::${accountId}:role/${this.property(name, 'RoleName')}`;
        case 'AWS::SNS::Topic':
          return this.ref(name);
      }
    }
    if (attribute === 'TopicArn' && resource?.Type === 'AWS::SNS::Topic') return this.ref(name);
    // A stream's ARN ends in its label, the time the stream was made: known only once it exists
    // (DynamoDB Local makes a new one with every table it creates). Every label of the table's
    // stream stands in for it; the gateway authorises the label a call names (actions.ts).
    if (attribute === 'StreamArn' && resource?.Type === 'AWS::DynamoDB::Table') return `${this.getAtt(name, 'Arn')}/stream/*`;
    throw new Error(`Fn::GetAtt ${name}.${attribute}: the local gateway does not know this attribute of a ${resource?.Type ?? 'missing resource'}`);
  }

  private substitute(text: string, variables: Record<string, Json>): string {
    return text.replace(/\$\{([^}!][^}]*)\}/g, (_whole, expression: string) => {
      if (variables[expression] !== undefined) return this.resolveString(variables[expression]);
      const dot = expression.indexOf('.');
      return dot === -1 ? this.ref(expression) : this.getAtt(expression.slice(0, dot), expression.slice(dot + 1));
    });
  }

  resolveString(value: Json): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string') throw new Error(`expected a string, found ${JSON.stringify(resolved)}`);
    return resolved;
  }

  /** The value with every intrinsic function replaced by what it resolves to. */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const argument = value[key];
      if (key === 'Ref') return this.ref(String(argument));
      if (key === 'Fn::GetAtt') {
        const [name, attribute] = Array.isArray(argument) ? argument.map(String) : String(argument).split(/\.(.*)/s);
        return this.getAtt(name as string, attribute as string);
      }
      if (key === 'Fn::Join' && Array.isArray(argument)) {
        const [separator, parts] = argument as [string, Json[]];
        return (this.resolve(parts) as Json[]).map((part) => this.resolveString(part)).join(separator);
      }
      if (key === 'Fn::Sub') {
        if (typeof argument === 'string') return this.substitute(argument, {});
        const [text, variables] = argument as [string, Record<string, Json>];
        return this.substitute(text, variables);
      }
      if (key.startsWith('Fn::')) throw new Error(`${key}: the local gateway does not resolve this intrinsic function`);
    }
    return Object.fromEntries(Object.entries(value).map(([name, child]) => [name, this.resolve(child)]));
  }
}

/** Every Lambda function of the template with its own role and resolved policy documents. */
export function functionRoles(template: PackagedTemplate, account: Account = LOCAL_ACCOUNT): Map<string, FunctionRole> {
  const resolver = new IntrinsicResolver(template, account);
  const roles = new Map<string, FunctionRole>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const functionName = resolver.resolveString(resource.Properties?.['FunctionName']);
    const roleRef = resource.Properties?.['Role'];
    const roleId = isRecord(roleRef) && Array.isArray(roleRef['Fn::GetAtt']) ? String(roleRef['Fn::GetAtt'][0]) : undefined;
    const role = roleId === undefined ? undefined : template.Resources[roleId];
    if (roleId === undefined || role?.Type !== 'AWS::IAM::Role') throw new Error(`${logicalId}: its role is not a role of this template`);
    const roleName = resolver.resolveString(role.Properties?.['RoleName']);
    const policies = ((role.Properties?.['Policies'] as Json[] | undefined) ?? []).map((policy, index) => {
      const record = policy as Record<string, Json>;
      return { name: typeof record['PolicyName'] === 'string' ? record['PolicyName'] : `policy-${index}`, document: resolver.resolve(record['PolicyDocument']) as PolicyDocument };
    });
    const name = logicalId.replace(/LambdaFunction$/, '');
    roles.set(functionName, {
      name: name.charAt(0).toLowerCase() + name.slice(1),
      functionName,
      roleName,
      roleArn: `arn:${account.partition}:iam::${account.accountId}:role/${roleName}`,
      sessionArn: `arn:${account.partition}:sts::${account.accountId}:assumed-role/${roleName}/${functionName}`,
      policies,
    });
  }
  return roles;
}
