/**
 * Least privilege and data protection, checked over what a deploy would upload: the packaged
 * CloudFormation stack of dev, test and prod (`serverless package`, offline). The rules live in
 * local/delivery/policy.ts; what each function may do is what the local stage's role grants (the
 * roles the local AWS gateway enforces in every test, local/gateway/). This suite runs the rules
 * and proves, on broken copies of the prod stack, that each catches what it is for.
 */
import { expect } from 'chai';
import { functionPermissions, policyProblems, stageFacts, type Permissions, type StageFacts, type Template } from '../delivery/policy';
import { packagedTemplate } from '../gateway/template';

const clone = (template: Template): Template => structuredClone(template);
type Statement = { Effect: string; Action: string[] | string; Resource: unknown };
function statementsOf(template: Template, roleId: string): Statement[] {
  const role = template.Resources[roleId];
  const policies = role?.Properties?.['Policies'] as Array<{ PolicyDocument: { Statement: Statement[] } }>;
  return (policies[0] as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement;
}

describe('security policy over the packaged stack', function () {
  this.timeout(240_000);
  const stacks: Record<string, Template> = {};
  let local: Permissions;

  before(async () => {
    // The templates as `serverless package` emits them (with placeholder artefacts: the roles,
    // resources and settings do not depend on the bundles; local/checks/package.test.ts compares).
    for (const stage of ['dev', 'test', 'prod']) stacks[stage] = await packagedTemplate(stage);
    local = functionPermissions(await packagedTemplate('local'), stageFacts('local'));
  });

  for (const stage of ['dev', 'test', 'prod']) {
    it(`${stage}: every function has its own role granting exactly what the local stage's role (enforced in every test) grants; buckets, tables, logs, API and queues comply`, () => {
      expect(policyProblems(stacks[stage] as Template, stageFacts(stage), local)).to.deep.equal([]);
    });
  }

  it('every function of serverless.yml has a role on the local stage', () => {
    expect(Object.keys(local).sort()).to.deep.equal(stageFacts('local').functions.sort());
  });

  it('prod keeps tables recoverable and runs functions in the VPC; dev does neither (stage config)', () => {
    const prod = stageFacts('prod');
    const dev = stageFacts('dev');
    expect([prod.pointInTimeRecovery, prod.deletionProtection, prod.vpc]).to.deep.equal([true, true, true]);
    expect([dev.pointInTimeRecovery, dev.deletionProtection, dev.vpc]).to.deep.equal([false, false, false]);
  });

  describe('catches', () => {
    let prod: Template;
    let facts: StageFacts;
    before(() => {
      prod = stacks['prod'] as Template;
      facts = stageFacts('prod');
    });
    const problemsAfter = (change: (template: Template) => void): string[] => {
      const copy = clone(prod);
      change(copy);
      return policyProblems(copy, facts, local);
    };

    it('a wildcard action', () => {
      const problems = problemsAfter((template) => statementsOf(template, 'GetMeIamRoleLambdaExecution').push({ Effect: 'Allow', Action: ['dynamodb:*'], Resource: { 'Fn::GetAtt': ['UsersTable', 'Arn'] } }));
      expect(problems.join('\n')).to.contain('getMe: wildcard action "dynamodb:*"');
    });

    it('a "*" resource where AWS allows a narrower one', () => {
      const problems = problemsAfter((template) => statementsOf(template, 'GetMeIamRoleLambdaExecution').push({ Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: '*' }));
      expect(problems.join('\n')).to.contain('getMe: "dynamodb:GetItem" on "*"');
    });

    it('a permission the local role does not grant, and one the function lost', () => {
      const problems = problemsAfter((template) => {
        const statements = statementsOf(template, 'ListTagsIamRoleLambdaExecution');
        statements.push({ Effect: 'Allow', Action: ['dynamodb:DeleteItem'], Resource: { 'Fn::GetAtt': ['MediaTable', 'Arn'] } });
        const createUser = statementsOf(template, 'CreateUserIamRoleLambdaExecution');
        createUser.splice(1);
      });
      expect(problems).to.include('listTags: dynamodb:DeleteItem granted on ["MediaTable"], the local stage grants []');
      expect(problems).to.include('createUser: dynamodb:PutItem granted on [], the local stage grants ["UsersTable"]');
    });

    it('an action on another table than the local stage grants it on', () => {
      const problems = problemsAfter((template) => {
        const statement = statementsOf(template, 'GetMeIamRoleLambdaExecution').find((candidate) => JSON.stringify(candidate.Action).includes('dynamodb:GetItem'));
        if (statement !== undefined) statement.Resource = { 'Fn::GetAtt': ['SessionsTable', 'Arn'] };
      });
      expect(problems).to.include('getMe: dynamodb:GetItem granted on ["SessionsTable"], the local stage grants ["UsersTable"]');
    });

    it('a listing grant that lost its prefix condition', () => {
      const problems = problemsAfter((template) => {
        const statement = statementsOf(template, 'DeleteMeIamRoleLambdaExecution').find((candidate) => JSON.stringify(candidate.Action).includes('s3:ListBucket'));
        delete (statement as Record<string, unknown> | undefined)?.['Condition'];
      });
      expect(problems.join('\n')).to.contain('deleteMe: s3:ListBucket must carry the condition');
    });

    it('logs written beyond the own log group', () => {
      const problems = problemsAfter((template) => {
        const logs = statementsOf(template, 'GetHealthIamRoleLambdaExecution')[0] as Statement;
        logs.Resource = [{ 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*' }];
      });
      expect(problems.join('\n')).to.contain('getHealth: logs:PutLogEvents must be granted on its own log group only');
    });

    it('two functions sharing a role, and a role no function uses', () => {
      const problems = problemsAfter((template) => {
        (template.Resources['GetMeLambdaFunction']?.Properties as Record<string, unknown>)['Role'] = { 'Fn::GetAtt': ['CreateUserIamRoleLambdaExecution', 'Arn'] };
      });
      expect(problems).to.include('getMe: runs with role CreateUserIamRoleLambdaExecution, not its own role');
      expect(problems).to.include('GetMeIamRoleLambdaExecution: a role no function uses');
    });

    it('a public or unencrypted bucket, and one that accepts plain HTTP', () => {
      const problems = problemsAfter((template) => {
        const bucket = template.Resources['S3BucketMedia']?.Properties as Record<string, unknown>;
        (bucket['PublicAccessBlockConfiguration'] as Record<string, unknown>)['RestrictPublicBuckets'] = false;
        delete bucket['BucketEncryption'];
        delete template.Resources['MediaBucketPolicy'];
      });
      expect(problems).to.include.members([
        'S3BucketMedia: PublicAccessBlockConfiguration.RestrictPublicBuckets must be true',
        'S3BucketMedia: bucket without default encryption',
        'S3BucketMedia: no bucket policy denying requests without TLS',
      ]);
    });

    it('a table without encryption, point-in-time recovery or TTL in prod', () => {
      const problems = problemsAfter((template) => {
        const users = template.Resources['UsersTable']?.Properties as Record<string, unknown>;
        delete users['SSESpecification'];
        users['PointInTimeRecoverySpecification'] = { PointInTimeRecoveryEnabled: false };
        delete users['TimeToLiveSpecification'];
      });
      expect(problems).to.include.members([
        'UsersTable: SSESpecification.SSEEnabled must be true (KMS encryption)',
        'UsersTable: point-in-time recovery off, the prod config says on',
        'UsersTable: TTL on attribute "ttl" must be enabled',
      ]);
    });

    it('a log group that keeps logs forever, an unthrottled API, an unencrypted queue and topic', () => {
      const problems = problemsAfter((template) => {
        delete template.Resources['GetHealthLogGroup']?.Properties?.['RetentionInDays'];
        delete template.Resources['HttpApiStage']?.Properties?.['DefaultRouteSettings'];
        delete template.Resources['UploadsDeadLetterQueue']?.Properties?.['SqsManagedSseEnabled'];
        delete template.Resources['AnalysisRequestsTopic']?.Properties?.['KmsMasterKeyId'];
      });
      const text = problems.join('\n');
      expect(text).to.contain('GetHealthLogGroup: log retention undefined days, the config says 90');
      expect(text).to.contain('HttpApiStage: throttling {}');
      expect(text).to.contain('UploadsDeadLetterQueue: queue not encrypted');
      expect(text).to.contain('AnalysisRequestsTopic: topic not encrypted');
    });

    it('a WebSocket stage unthrottled or without its access log, a second stage, and a route permission any API could use', () => {
      const problems = problemsAfter((template) => {
        delete template.Resources['WebsocketsDeploymentStage']?.Properties?.['DefaultRouteSettings'];
        delete template.Resources['WebsocketsDeploymentStage']?.Properties?.['AccessLogSettings'];
        template.Resources['ExtraStage'] = structuredClone(template.Resources['HttpApiStage'] as Template['Resources'][string]);
        delete template.Resources['OpenConnectionLambdaPermissionWebsockets']?.Properties?.['SourceArn'];
      });
      const text = problems.join('\n');
      expect(text).to.contain('WebsocketsDeploymentStage: throttling {}');
      expect(text).to.contain('WebsocketsDeploymentStage: no access log');
      expect(text).to.contain('expected one stage of the HTTP API and one of the WebSocket API, found stages of ["${HttpApi}","${HttpApi}","${WebsocketsApi}"]');
      expect(text).to.contain('OpenConnectionLambdaPermissionWebsockets: invoke permission without SourceArn');
    });

    it('a route without the authorizer, and a function outside the VPC in prod', () => {
      const problems = problemsAfter((template) => {
        const route = Object.values(template.Resources).find((resource) => resource.Properties?.['RouteKey'] === 'GET /v1/media/{id}');
        delete route?.Properties?.['AuthorizationType'];
        delete template.Resources['GetMediaLambdaFunction']?.Properties?.['VpcConfig'];
      });
      const text = problems.join('\n');
      expect(text).to.match(/\(GET \/v1\/media\/\{id\}\): no authorizer/);
      expect(text).to.contain('GetMediaLambdaFunction: not in the VPC although the prod config turns it on');
    });

    it('key material in a function environment', () => {
      const problems = problemsAfter((template) => {
        const variables = (template.Resources['GetJwksLambdaFunction']?.Properties?.['Environment'] as { Variables: Record<string, string> }).Variables;
        variables['JWT_PRIVATE_KEYS'] = '-----BEGIN PRIVATE KEY-----\nMIG...';
      });
      expect(problems).to.include('GetJwksLambdaFunction: environment variable JWT_PRIVATE_KEYS holds key material (use the SSM parameter)');
    });
  });
});
