/**
 * Security policy over a packaged CloudFormation stack (`serverless package` output): what every
 * function may do, on which resources, and how data at rest and the edges are protected.
 * `policyProblems` returns one line per violation; local/checks/policy.test.ts runs it over the
 * dev, test and prod packages (expecting none) and over deliberately broken copies (expecting each).
 *
 * What each function may do is not a hand-kept list: the local stage's roles are the source of
 * truth. Every call a function makes locally is authorised against them by the local AWS gateway
 * (a missing permission fails the tests), every permission they grant must have been used by the
 * tests (local/gateway/leastPrivilege.ts), and here every deployed stage must grant exactly what
 * the local stage grants.
 */
import { serviceConfig } from '../stack/serviceConfig';

export interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: unknown;
}
export interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
}

/** What the policy needs to know about a stage (from shared/config/stages/<stage>.yml). */
export interface StageFacts {
  service: string;
  stage: string;
  functions: string[];
  bucketName: string;
  jwtParameterPath: string;
  logRetentionDays: number;
  throttle: { rateLimit: number; burstLimit: number };
  pointInTimeRecovery: boolean;
  deletionProtection: boolean;
  vpc: boolean;
}

/** Conditions that narrow a grant further (a grant without the listed condition is a violation). */
export const CONDITIONS: Record<string, Record<string, unknown>> = {
  // Listing is only ever for the caller's own prefix (media/<userId>/); never the whole bucket.
  deleteMe: { 's3:ListBucket': { StringLike: { 's3:prefix': ['media/*'] } } },
};

/**
 * Actions that AWS authorises on `*` only (no resource-level permissions), so `*` is the
 * narrowest resource there is. Anything else on `*` is a violation.
 */
export const STAR_RESOURCE_ACTIONS = new Set(['rekognition:DetectLabels', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords']);

/** Tables whose items carry a `ttl` attribute (login throttles, sessions, finished analyses, live connections). */
export const TTL_TABLES: Record<string, string> = { UsersTable: 'ttl', SessionsTable: 'ttl', AnalysesTable: 'ttl', ConnectionsTable: 'ttl' };

const LOG_ACTIONS = ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'];
const VPC_POLICY = 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole';

type Json = unknown;
const asRecord = (value: Json): Record<string, Json> => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, Json>) : {});
const asList = (value: Json): Json[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** Renders an intrinsic-function value as a string with `${...}` placeholders (as Fn::Sub writes them). */
export function render(value: Json): string {
  if (typeof value === 'string') return value;
  const node = asRecord(value);
  if (typeof node['Ref'] === 'string') return `\${${node['Ref']}}`;
  const getAtt = node['Fn::GetAtt'];
  if (Array.isArray(getAtt) || typeof getAtt === 'string') return `\${${Array.isArray(getAtt) ? getAtt.join('.') : getAtt}}`;
  const join = node['Fn::Join'];
  if (Array.isArray(join)) return asList(join[1]).map(render).join(String(join[0]));
  const sub = node['Fn::Sub'];
  if (typeof sub === 'string') return sub;
  return JSON.stringify(value);
}

export const pascal = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);

/** A statement's resource in stage-independent symbolic names (a logical id, `bucket/media/*`, `jwt/private`…), or as rendered when unknown. */
export function symbolicResource(value: Json, facts: StageFacts, fn: string): string {
  const text = render(value);
  const own = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${facts.service}-${facts.stage}-${fn}:*:*`;
  if (text === own) return 'own-log-group';
  const getAtt = /^\$\{(\w+)\.Arn\}(\/index\/\*)?$/.exec(text);
  if (getAtt !== null) return `${getAtt[1]}${getAtt[2] ?? ''}`;
  const ref = /^\$\{(\w+)\}$/.exec(text);
  if (ref !== null && !ref[1]?.startsWith('AWS::')) return ref[1] as string;
  for (const partition of ['aws', '${AWS::Partition}']) {
    if (text === `arn:${partition}:s3:::${facts.bucketName}`) return 'bucket';
    if (text === `arn:${partition}:s3:::${facts.bucketName}/media/*`) return 'bucket/media/*';
    if (text === `arn:${partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${WebsocketsApi}/${facts.stage}/*/@connections/*`) return 'live-connections';
    for (const which of ['private', 'public']) {
      if (text === `arn:${partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${facts.jwtParameterPath}/${which}`) return `jwt/${which}`;
    }
  }
  return text;
}

function sortedPermissions(permissions: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(permissions)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([action, resources]) => [action, [...new Set(resources)].sort()]),
  );
}

/** What `stage`'s settings say about the packaged stack (shared/config/stages/<stage>.yml). */
export function stageFacts(stage: string): StageFacts {
  const config = serviceConfig(stage);
  const settings = (config.custom as { stage: StageSettings }).stage;
  return {
    service: config.service,
    stage,
    functions: Object.keys(config.functions),
    bucketName: settings.media.bucketName,
    jwtParameterPath: settings.jwt.parameterPath,
    logRetentionDays: settings.logRetentionDays,
    throttle: settings.throttle,
    pointInTimeRecovery: settings.tables.pointInTimeRecovery,
    deletionProtection: settings.tables.deletionProtection,
    vpc: settings.vpc,
  };
}

interface StageSettings {
  logRetentionDays: number;
  throttle: { rateLimit: number; burstLimit: number };
  tables: { pointInTimeRecovery: boolean; deletionProtection: boolean };
  jwt: { parameterPath: string };
  media: { bucketName: string };
  vpc: boolean;
}

/** Permissions of each function's role beyond its own logs, as action → symbolic resources (sorted). */
export type Permissions = Record<string, Record<string, string[]>>;

/** Every function's permissions in a packaged stack, in the symbolic names of symbolicResource. */
export function functionPermissions(template: Template, facts: StageFacts): Permissions {
  const result: Permissions = {};
  for (const fn of facts.functions) {
    const lambda = template.Resources[`${pascal(fn)}LambdaFunction`];
    const roleId = render(lambda?.Properties?.['Role']).replace(/^\$\{(\w+)\.Arn\}$/, '$1');
    const role = template.Resources[roleId];
    if (role === undefined) continue;
    const granted = rolePermissions(role, facts, fn, []);
    for (const action of LOG_ACTIONS) delete granted[action];
    result[fn] = sortedPermissions(granted);
  }
  return result;
}

function rolePermissions(role: Resource, facts: StageFacts, fn: string, problems: string[]): Record<string, string[]> {
  const granted: Record<string, string[]> = {};
  for (const policy of asList(role.Properties?.['Policies'])) {
    for (const statement of asList(asRecord(asRecord(policy)['PolicyDocument'])['Statement'])) {
      const s = asRecord(statement);
      const where = `${fn}: statement ${JSON.stringify(s['Action'])}`;
      if (s['Effect'] !== 'Allow') problems.push(`${where}: Effect must be Allow (found ${String(s['Effect'])})`);
      if (s['NotAction'] !== undefined || s['NotResource'] !== undefined) problems.push(`${where}: NotAction/NotResource grant everything else`);
      const condition = s['Condition'] === undefined ? undefined : JSON.stringify(s['Condition']);
      for (const action of asList(s['Action']).map(String)) {
        const wanted = CONDITIONS[fn]?.[action];
        if (wanted !== undefined && condition !== JSON.stringify(wanted)) problems.push(`${fn}: ${action} must carry the condition ${JSON.stringify(wanted)} (found ${condition ?? 'none'})`);
        if (wanted === undefined && condition !== undefined) problems.push(`${fn}: ${action} has a condition the table does not know: ${condition}`);
      }
      for (const action of asList(s['Action']).map(String)) {
        if (action === '*' || action.endsWith(':*') || action.includes('*')) problems.push(`${fn}: wildcard action "${action}"`);
        for (const resource of asList(s['Resource'])) {
          const name = symbolicResource(resource, facts, fn);
          if (name === '*' && !STAR_RESOURCE_ACTIONS.has(action)) problems.push(`${fn}: "${action}" on "*" although AWS allows a narrower resource`);
          (granted[action] ??= []).push(name);
        }
      }
    }
  }
  return granted;
}

/** The role CodeDeploy shifts aliases with (local/serverless/safe-deploys.cjs). */
const CODE_DEPLOY_ROLE = 'CodeDeployServiceRole';
const CODE_DEPLOY_POLICY = 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited';

/** Assumable by CodeDeploy only, with AWS's limited policy for Lambda deployments and nothing else. */
function checkCodeDeployRole(role: Resource, problems: string[]): void {
  const trust = asList(asRecord(role.Properties?.['AssumeRolePolicyDocument'])['Statement']).map(asRecord);
  const principals = trust.flatMap((statement) => asList(asRecord(statement['Principal'])['Service']).map(String));
  if (trust.length !== 1 || principals.join() !== 'codedeploy.amazonaws.com' || asList(trust[0]?.['Action']).join() !== 'sts:AssumeRole') {
    problems.push(`${CODE_DEPLOY_ROLE}: must be assumable by codedeploy.amazonaws.com only`);
  }
  const managed = asList(role.Properties?.['ManagedPolicyArns']).map(render);
  if (JSON.stringify(managed) !== JSON.stringify([CODE_DEPLOY_POLICY])) problems.push(`${CODE_DEPLOY_ROLE}: managed policies ${JSON.stringify(managed)}, expected only ${CODE_DEPLOY_POLICY}`);
  if (role.Properties?.['Policies'] !== undefined) problems.push(`${CODE_DEPLOY_ROLE}: inline policies`);
}

function checkRoles(template: Template, facts: StageFacts, expectedPermissions: Permissions, problems: string[]): void {
  const resources = template.Resources;
  const usedRoles = new Set<string>();
  const functionIds = new Set<string>();
  for (const fn of facts.functions) {
    const id = `${pascal(fn)}LambdaFunction`;
    functionIds.add(id);
    const lambda = resources[id];
    if (lambda?.Type !== 'AWS::Lambda::Function') {
      problems.push(`${fn}: no AWS::Lambda::Function ${id}`);
      continue;
    }
    const roleId = render(lambda.Properties?.['Role']).replace(/^\$\{(\w+)\.Arn\}$/, '$1');
    if (roleId !== `${pascal(fn)}IamRoleLambdaExecution`) problems.push(`${fn}: runs with role ${roleId}, not its own role`);
    if (usedRoles.has(roleId)) problems.push(`${fn}: shares role ${roleId} with another function`);
    usedRoles.add(roleId);
    const role = resources[roleId];
    if (role?.Type !== 'AWS::IAM::Role') {
      problems.push(`${fn}: role ${roleId} is not in the template`);
      continue;
    }
    const trust = asList(asRecord(role.Properties?.['AssumeRolePolicyDocument'])['Statement']).map(asRecord);
    const principals = trust.flatMap((statement) => asList(asRecord(statement['Principal'])['Service']).map(String));
    if (trust.length !== 1 || principals.join() !== 'lambda.amazonaws.com' || asList(trust[0]?.['Action']).join() !== 'sts:AssumeRole') {
      problems.push(`${fn}: role ${roleId} must be assumable by lambda.amazonaws.com only`);
    }
    const managed = asList(role.Properties?.['ManagedPolicyArns']).map(render);
    const expectedManaged = facts.vpc ? [VPC_POLICY] : [];
    if (JSON.stringify(managed) !== JSON.stringify(expectedManaged)) {
      problems.push(`${fn}: managed policies ${JSON.stringify(managed)}, expected ${JSON.stringify(expectedManaged)} (the VPC access policy only where functions run in the VPC)`);
    }
    const granted = rolePermissions(role, facts, fn, problems);
    const logs: Record<string, string[]> = {};
    for (const action of LOG_ACTIONS) {
      if (JSON.stringify(granted[action]) !== JSON.stringify(['own-log-group'])) problems.push(`${fn}: ${action} must be granted on its own log group only (found ${JSON.stringify(granted[action])})`);
      delete granted[action];
      logs[action] = ['own-log-group'];
    }
    const expected = expectedPermissions[fn];
    if (expected === undefined) {
      problems.push(`${fn}: not a function of the local stage, whose roles the tests enforce`);
      continue;
    }
    const actual = sortedPermissions(granted);
    const wanted = sortedPermissions(expected);
    for (const action of new Set([...Object.keys(actual), ...Object.keys(wanted)])) {
      const has = JSON.stringify(actual[action] ?? []);
      const needs = JSON.stringify(wanted[action] ?? []);
      if (has !== needs) problems.push(`${fn}: ${action} granted on ${has}, the local stage grants ${needs}`);
    }
  }
  if (resources[CODE_DEPLOY_ROLE] !== undefined) {
    checkCodeDeployRole(resources[CODE_DEPLOY_ROLE], problems);
    usedRoles.add(CODE_DEPLOY_ROLE);
  }
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::Lambda::Function' && !functionIds.has(id)) problems.push(`${id}: a function that is not in serverless.yml's function list`);
    if (resource.Type === 'AWS::IAM::Role' && !usedRoles.has(id)) problems.push(`${id}: a role no function uses`);
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy' || resource.Type === 'AWS::IAM::User') {
      problems.push(`${id}: ${resource.Type} outside the function roles`);
    }
  }
}

function checkBucket(template: Template, facts: StageFacts, problems: string[]): void {
  const entries = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::S3::Bucket');
  const media = entries.find(([, resource]) => resource.Properties?.['BucketName'] === facts.bucketName);
  if (media === undefined) {
    problems.push(`media bucket ${facts.bucketName} is not in the template`);
    return;
  }
  const [id, bucket] = media;
  const block = asRecord(bucket.Properties?.['PublicAccessBlockConfiguration']);
  for (const flag of ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets']) {
    if (block[flag] !== true) problems.push(`${id}: PublicAccessBlockConfiguration.${flag} must be true`);
  }
  for (const [otherId, other] of entries) {
    const rules = asList(asRecord(other.Properties?.['BucketEncryption'])['ServerSideEncryptionConfiguration']).map(
      (rule) => asRecord(asRecord(rule)['ServerSideEncryptionByDefault'])['SSEAlgorithm'],
    );
    if (!rules.some((algorithm) => algorithm === 'AES256' || algorithm === 'aws:kms' || algorithm === 'aws:kms:dsse')) problems.push(`${otherId}: bucket without default encryption`);
  }
  const ownership = asList(asRecord(bucket.Properties?.['OwnershipControls'])['Rules']).map((rule) => asRecord(rule)['ObjectOwnership']);
  if (ownership.join() !== 'BucketOwnerEnforced') problems.push(`${id}: ObjectOwnership must be BucketOwnerEnforced (ACLs disabled)`);
  const tlsOnly = Object.values(template.Resources).some((resource) => {
    if (resource.Type !== 'AWS::S3::BucketPolicy' || render(resource.Properties?.['Bucket']) !== `\${${id}}`) return false;
    return asList(asRecord(resource.Properties?.['PolicyDocument'])['Statement']).some((statement) => {
      const s = asRecord(statement);
      return s['Effect'] === 'Deny' && asRecord(asRecord(s['Condition'])['Bool'])['aws:SecureTransport'] === false;
    });
  });
  if (!tlsOnly) problems.push(`${id}: no bucket policy denying requests without TLS`);
  const allowAny = Object.values(template.Resources).some(
    (resource) =>
      resource.Type === 'AWS::S3::BucketPolicy' &&
      asList(asRecord(resource.Properties?.['PolicyDocument'])['Statement']).some((statement) => asRecord(statement)['Effect'] === 'Allow' && JSON.stringify(asRecord(statement)['Principal']).includes('*')),
  );
  if (allowAny) problems.push('a bucket policy allows a "*" principal');
}

function checkTables(template: Template, facts: StageFacts, problems: string[]): void {
  const tables = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::DynamoDB::Table');
  if (tables.length === 0) problems.push('no DynamoDB tables in the template');
  for (const [id, table] of tables) {
    const properties = table.Properties ?? {};
    if (asRecord(properties['SSESpecification'])['SSEEnabled'] !== true) problems.push(`${id}: SSESpecification.SSEEnabled must be true (KMS encryption)`);
    const pitr = asRecord(properties['PointInTimeRecoverySpecification'])['PointInTimeRecoveryEnabled'] === true;
    if (pitr !== facts.pointInTimeRecovery) problems.push(`${id}: point-in-time recovery ${pitr ? 'on' : 'off'}, the ${facts.stage} config says ${facts.pointInTimeRecovery ? 'on' : 'off'}`);
    const protectedTable = properties['DeletionProtectionEnabled'] === true;
    if (protectedTable !== facts.deletionProtection) problems.push(`${id}: deletion protection ${protectedTable ? 'on' : 'off'}, the ${facts.stage} config says ${facts.deletionProtection ? 'on' : 'off'}`);
    const ttl = asRecord(properties['TimeToLiveSpecification']);
    const wanted = TTL_TABLES[id];
    if (wanted !== undefined && (ttl['Enabled'] !== true || ttl['AttributeName'] !== wanted)) problems.push(`${id}: TTL on attribute "${wanted}" must be enabled`);
    if (wanted === undefined && ttl['Enabled'] === true) problems.push(`${id}: TTL enabled on a table whose items never expire`);
    if (properties['BillingMode'] !== 'PAY_PER_REQUEST') problems.push(`${id}: BillingMode must be PAY_PER_REQUEST`);
  }
  if (facts.stage === 'prod' && !(facts.pointInTimeRecovery && facts.deletionProtection)) problems.push('prod config: point-in-time recovery and deletion protection must be on');
}

function checkEdges(template: Template, facts: StageFacts, problems: string[]): void {
  const resources = Object.entries(template.Resources);
  const functionNames = new Set(facts.functions.map((fn) => `/aws/lambda/${facts.service}-${facts.stage}-${fn}`));
  const groups = resources.filter(([, resource]) => resource.Type === 'AWS::Logs::LogGroup');
  for (const [id, group] of groups) {
    if (group.Properties?.['RetentionInDays'] !== facts.logRetentionDays) problems.push(`${id}: log retention ${String(group.Properties?.['RetentionInDays'])} days, the config says ${facts.logRetentionDays}`);
    functionNames.delete(String(group.Properties?.['LogGroupName']));
  }
  for (const missing of functionNames) problems.push(`${missing}: no log group in the template (Lambda would create one that keeps logs forever)`);

  const stages = resources.filter(([, resource]) => resource.Type === 'AWS::ApiGatewayV2::Stage');
  const apis = stages.map(([, stage]) => render(stage.Properties?.['ApiId'])).sort();
  if (JSON.stringify(apis) !== JSON.stringify(['${HttpApi}', '${WebsocketsApi}'])) problems.push(`expected one stage of the HTTP API and one of the WebSocket API, found stages of ${JSON.stringify(apis)}`);
  for (const [id, stage] of stages) {
    const settings = asRecord(stage.Properties?.['DefaultRouteSettings']);
    if (settings['ThrottlingRateLimit'] !== facts.throttle.rateLimit || settings['ThrottlingBurstLimit'] !== facts.throttle.burstLimit) {
      problems.push(`${id}: throttling ${JSON.stringify(settings)}, the config says rate ${facts.throttle.rateLimit} burst ${facts.throttle.burstLimit}`);
    }
    if (asRecord(stage.Properties?.['AccessLogSettings'])['DestinationArn'] === undefined) problems.push(`${id}: no access log`);
  }
  for (const [id, route] of resources.filter(([, resource]) => resource.Type === 'AWS::ApiGatewayV2::Route')) {
    const key = String(route.Properties?.['RouteKey']);
    const open = [
      ...['GET /v1/health', 'POST /v1/users', 'POST /v1/sessions', 'POST /v1/sessions/refresh', 'GET /v1/.well-known/jwks.json', 'GET /v1/openapi.json', 'GET /docs', 'GET /docs/{file}'],
      // The live-updates WebSocket: openConnection checks the access token (sent as a subprotocol)
      // and the session itself, and refuses the upgrade without one (docs/live.md); API Gateway
      // runs authorizers on $connect only, and $disconnect and $default come after a $connect.
      ...['$connect', '$disconnect', '$default'],
    ];
    const authorised = route.Properties?.['AuthorizationType'] === 'CUSTOM';
    if (!authorised && !open.includes(key)) problems.push(`${id} (${key}): no authorizer on a route that is not public by design`);
  }
  for (const [id, queue] of resources.filter(([, resource]) => resource.Type === 'AWS::SQS::Queue')) {
    if (queue.Properties?.['SqsManagedSseEnabled'] !== true && queue.Properties?.['KmsMasterKeyId'] === undefined) problems.push(`${id}: queue not encrypted`);
  }
  for (const [id, topic] of resources.filter(([, resource]) => resource.Type === 'AWS::SNS::Topic')) {
    if (topic.Properties?.['KmsMasterKeyId'] === undefined) problems.push(`${id}: topic not encrypted`);
  }
  for (const [id, permission] of resources.filter(([, resource]) => resource.Type === 'AWS::Lambda::Permission')) {
    if (permission.Properties?.['SourceArn'] === undefined) problems.push(`${id}: invoke permission without SourceArn (any ${String(permission.Properties?.['Principal'])} resource could invoke)`);
    if (permission.Properties?.['Principal'] === 's3.amazonaws.com' && permission.Properties['SourceAccount'] === undefined) problems.push(`${id}: S3 invoke permission without SourceAccount`);
  }
  for (const [id, lambda] of resources.filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')) {
    const vpc = lambda.Properties?.['VpcConfig'];
    if (facts.vpc && vpc === undefined) problems.push(`${id}: not in the VPC although the ${facts.stage} config turns it on`);
    if (!facts.vpc && vpc !== undefined) problems.push(`${id}: in a VPC although the ${facts.stage} config turns it off`);
    const variables = asRecord(asRecord(lambda.Properties?.['Environment'])['Variables']);
    for (const [name, value] of Object.entries(variables)) {
      if (/-----BEGIN|PRIVATE KEY/.test(render(value))) problems.push(`${id}: environment variable ${name} holds key material (use the SSM parameter)`);
    }
  }
}

/**
 * Every way the packaged stack breaks the policy; empty when it complies. `expected`: what each
 * function's role grants on the local stage (functionPermissions of the local package).
 */
export function policyProblems(template: Template, facts: StageFacts, expected: Permissions): string[] {
  const problems: string[] = [];
  checkRoles(template, facts, expected, problems);
  checkBucket(template, facts, problems);
  checkTables(template, facts, problems);
  checkEdges(template, facts, problems);
  return problems;
}
