/**
 * The offline CloudFormation validator (./cfn.ts): a valid template passes, and each kind of
 * mistake is reported at its exact path. Every error case starts from the valid template and
 * changes one thing, and asserts the complete list of issues (so nothing spurious either).
 */
import { expect } from 'chai';
import { validateTemplate, type ValidationIssue } from './cfn';

type Node = Record<string, unknown>;

/** A small but realistic template: S3, DynamoDB with a GSI, an IAM role, a function, conditions, outputs. */
function validTemplate(): Node {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'validator fixture',
    Parameters: {
      Stage: { Type: 'String', AllowedValues: ['dev', 'prod'], Default: 'dev' },
      PrivateSubnets: { Type: 'List<AWS::EC2::Subnet::Id>', Description: 'subnets of the functions' },
    },
    Mappings: {
      StageConfig: { dev: { Memory: '512' }, prod: { Memory: '1024' } },
    },
    Conditions: {
      IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] },
      NotProd: { 'Fn::Not': [{ Condition: 'IsProd' }] },
    },
    Resources: {
      MediaBucket: {
        Type: 'AWS::S3::Bucket',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BucketName: { 'Fn::Sub': 'media-${Stage}-${AWS::AccountId}' },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }],
          },
          PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
          VersioningConfiguration: { 'Fn::If': ['IsProd', { Status: 'Enabled' }, { Ref: 'AWS::NoValue' }] },
          Tags: [{ Key: 'stage', Value: { Ref: 'Stage' } }],
        },
      },
      MediaTable: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
            { AttributeName: 'gsi1pk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: [
            { IndexName: 'gsi1', KeySchema: [{ AttributeName: 'gsi1pk', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } },
          ],
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: { 'Fn::If': ['IsProd', true, false] } },
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
          StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        },
      },
      FunctionRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          },
          ManagedPolicyArns: [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole' }],
          Policies: [
            {
              PolicyName: 'data',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: ['dynamodb:GetItem', 'dynamodb:Query'],
                    Resource: [{ 'Fn::GetAtt': ['MediaTable', 'Arn'] }, { 'Fn::Sub': '${MediaTable.Arn}/index/*' }],
                  },
                  {
                    Effect: 'Allow',
                    Action: 's3:GetObject',
                    // A variable of the second argument, and `${!...}` for an IAM policy variable.
                    Resource: { 'Fn::Sub': ['${BucketArn}/${!aws:username}/*', { BucketArn: { 'Fn::GetAtt': ['MediaBucket', 'Arn'] } }] },
                    Condition: { Bool: { 'aws:SecureTransport': 'true' } },
                  },
                ],
              },
            },
          ],
        },
      },
      ApiFunction: {
        Type: 'AWS::Lambda::Function',
        DependsOn: ['FunctionRole'],
        Properties: {
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          MemorySize: { 'Fn::FindInMap': ['StageConfig', { Ref: 'Stage' }, 'Memory'] },
          Timeout: 10,
          Code: { ZipFile: 'exports.handler = async () => ({ statusCode: 200 });' },
          Role: { 'Fn::GetAtt': ['FunctionRole', 'Arn'] },
          Environment: { Variables: { TABLE_NAME: { Ref: 'MediaTable' }, BUCKET: { Ref: 'MediaBucket' }, STAGE: { Ref: 'Stage' } } },
          TracingConfig: { Mode: 'Active' },
          Architectures: ['arm64'],
          VpcConfig: { SubnetIds: { Ref: 'PrivateSubnets' }, SecurityGroupIds: [{ 'Fn::ImportValue': { 'Fn::Sub': 'net-${Stage}-sg' } }] },
        },
      },
      ApiLogs: {
        Type: 'AWS::Logs::LogGroup',
        Condition: 'IsProd',
        Properties: { LogGroupName: { 'Fn::Sub': '/aws/lambda/${ApiFunction}' }, RetentionInDays: 30 },
      },
    },
    Outputs: {
      BucketName: { Value: { Ref: 'MediaBucket' }, Export: { Name: { 'Fn::Sub': '${AWS::StackName}-BucketName' } } },
      TableStreamArn: {
        Description: 'string form of Fn::GetAtt',
        Value: { 'Fn::GetAtt': 'MediaTable.StreamArn' },
        Export: { Name: { 'Fn::Join': ['-', [{ Ref: 'AWS::StackName' }, 'TableStreamArn']] } },
      },
      LogGroupArn: { Condition: 'IsProd', Value: { 'Fn::GetAtt': ['ApiLogs', 'Arn'] } },
    },
  };
}

/** The valid template with one change made by `edit`. */
function withChange(edit: (template: Node) => void): Node {
  const template = validTemplate();
  edit(template);
  return template;
}

/** Walks to a nested object (`at(t, 'Resources', 'MediaBucket', 'Properties')`), failing the test if it is absent. */
function at(node: unknown, ...keys: string[]): Node {
  let current = node;
  for (const key of keys) {
    expect(current, `no ${key}`).to.be.an('object');
    current = (current as Node)[key];
  }
  expect(current, keys.join('.')).to.be.an('object');
  return current as Node;
}

const resources = (template: Node): Node => at(template, 'Resources');
const props = (template: Node, resource: string): Node => at(template, 'Resources', resource, 'Properties');

/**
 * Asserts exactly these issues (in any order): each path verbatim, each message by pattern.
 * Both lists are compared sorted by path (a stable sort, so issues at one path keep their order).
 */
function expectIssues(template: unknown, expected: Array<[string, RegExp]>): void {
  const byPath = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const issues: ValidationIssue[] = [...validateTemplate(template)].sort((a, b) => byPath(a.path, b.path));
  const wanted = [...expected].sort((a, b) => byPath(a[0], b[0]));
  const shown = JSON.stringify(issues, null, 2);
  expect(issues.map((found) => found.path), shown).to.deep.equal(wanted.map(([expectedPath]) => expectedPath));
  issues.forEach((found, i) => expect(found.message, shown).to.match(wanted[i]?.[1] ?? /^$/));
}

describe('CloudFormation validator (local/delivery/cfn.ts)', function () {
  // The first call loads the specification database (about a second).
  this.timeout(30_000);

  it('accepts a valid template', () => {
    expect(validateTemplate(validTemplate())).to.deep.equal([]);
  });

  describe('top level', () => {
    it('rejects a template that is not an object', () => {
      expectIssues([], [['', /a template must be an object, got an array/]]);
    });

    it('reports an unknown top-level section', () => {
      expectIssues(
        withChange((t) => (t['Output'] = {})),
        [['Output', /unknown top-level section "Output" \(did you mean "Outputs"\?\)/]],
      );
    });

    it('requires a non-empty Resources section', () => {
      expectIssues(
        withChange((t) => {
          delete t['Resources'];
          delete t['Outputs'];
        }),
        [['Resources', /needs a Resources section/]],
      );
      expectIssues({ Resources: {} }, [['Resources', /at least one resource/]]);
    });

    it('checks parameters and the format version', () => {
      expectIssues(
        withChange((t) => {
          t['AWSTemplateFormatVersion'] = '2010-09-10';
          at(t, 'Parameters')['Stage'] = { Default: 'dev', Descripton: 'typo' };
        }),
        [
          ['AWSTemplateFormatVersion', /only template format version is "2010-09-09"/],
          ['Parameters.Stage.Type', /needs a Type/],
          ['Parameters.Stage.Descripton', /unknown parameter attribute "Descripton" \(did you mean "Description"\?\)/],
        ],
      );
    });

    it('reports a name used for both a parameter and a resource', () => {
      expectIssues(
        withChange((t) => (at(t, 'Parameters')['MediaTable'] = { Type: 'String' })),
        [['Parameters.MediaTable', /both a parameter and a resource/]],
      );
    });
  });

  describe('resources', () => {
    it('reports an unknown resource type, with the closest known one', () => {
      expectIssues(
        withChange((t) => (at(t, 'Resources', 'MediaBucket')['Type'] = 'AWS::S3::Buckett')),
        [['Resources.MediaBucket.Type', /unknown resource type "AWS::S3::Buckett" \(did you mean "AWS::S3::Bucket"\?\)/]],
      );
    });

    it('reports a resource without a Type', () => {
      expectIssues(
        withChange((t) => delete at(t, 'Resources', 'ApiLogs')['Type']),
        [['Resources.ApiLogs.Type', /needs a Type/]],
      );
    });

    it('reports an unknown resource attribute (Propertes)', () => {
      expectIssues(
        withChange((t) => {
          const logs = at(t, 'Resources', 'ApiLogs');
          logs['Propertes'] = logs['Properties'];
          delete logs['Properties'];
        }),
        [['Resources.ApiLogs.Propertes', /unknown resource attribute "Propertes" \(did you mean "Properties"\?\)/]],
      );
    });

    it('reports a logical ID that is not alphanumeric and an invalid DeletionPolicy', () => {
      expectIssues(
        withChange((t) => {
          resources(t)['media-queue'] = { Type: 'AWS::SQS::Queue', DeletionPolicy: 'Keep' };
        }),
        [
          ['Resources.media-queue', /must be alphanumeric/],
          ['Resources.media-queue.DeletionPolicy', /DeletionPolicy must be one of Delete, Retain, RetainExceptOnCreate, Snapshot, got the string "Keep"/],
        ],
      );
    });

    it('reports an unknown property name, with the closest known one', () => {
      expectIssues(
        withChange((t) => (props(t, 'MediaBucket')['BucketNme'] = 'x')),
        [['Resources.MediaBucket.Properties.BucketNme', /unknown property "BucketNme" for AWS::S3::Bucket \(did you mean "BucketName"\?\)/]],
      );
    });

    it('reports missing required properties (Lambda needs Code and Role)', () => {
      expectIssues(
        withChange((t) => delete props(t, 'ApiFunction')['Role']),
        [['Resources.ApiFunction.Properties.Role', /missing required property "Role" of AWS::Lambda::Function/]],
      );
      expectIssues(
        withChange((t) => (resources(t)['Other'] = { Type: 'AWS::Lambda::Function' })),
        [
          ['Resources.Other.Properties.Code', /missing required property "Code"/],
          ['Resources.Other.Properties.Role', /missing required property "Role"/],
        ],
      );
    });

    it('reports a DynamoDB table without KeySchema and a GSI without Projection', () => {
      expectIssues(
        withChange((t) => {
          delete props(t, 'MediaTable')['KeySchema'];
          const [gsi] = props(t, 'MediaTable')['GlobalSecondaryIndexes'] as Node[];
          delete gsi?.['Projection'];
        }),
        [
          ['Resources.MediaTable.Properties.GlobalSecondaryIndexes[0].Projection', /missing required property "Projection" of GlobalSecondaryIndex/],
          ['Resources.MediaTable.Properties.KeySchema', /missing required property "KeySchema" of AWS::DynamoDB::Table/],
        ],
      );
    });

    it('reports a missing required property inside a type definition', () => {
      expectIssues(
        withChange((t) => {
          at(props(t, 'MediaBucket'), 'BucketEncryption')['ServerSideEncryptionConfiguration'] = [{ ServerSideEncryptionByDefault: {} }];
        }),
        [
          [
            'Resources.MediaBucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm',
            /missing required property "SSEAlgorithm" of ServerSideEncryptionByDefault/,
          ],
        ],
      );
    });

    it('reports a wrong primitive type: a string where a boolean is expected', () => {
      expectIssues(
        withChange((t) => (at(props(t, 'MediaTable'), 'TimeToLiveSpecification')['Enabled'] = 'yes')),
        [['Resources.MediaTable.Properties.TimeToLiveSpecification.Enabled', /expected a boolean, got the string "yes"/]],
      );
    });

    it('reports a wrong primitive type: an object where a string is expected', () => {
      expectIssues(
        withChange((t) => (props(t, 'ApiFunction')['Runtime'] = { name: 'nodejs22.x' })),
        [['Resources.ApiFunction.Properties.Runtime', /expected a string, got an object/]],
      );
    });

    it('reports non-integers where an integer is expected, and null values', () => {
      expectIssues(
        withChange((t) => {
          props(t, 'ApiFunction')['Timeout'] = '10.5';
          props(t, 'ApiLogs')['RetentionInDays'] = 'thirty';
          props(t, 'ApiFunction')['Handler'] = null;
        }),
        [
          ['Resources.ApiFunction.Properties.Timeout', /expected an integer, got the string "10.5"/],
          ['Resources.ApiFunction.Properties.Handler', /null is not a valid value/],
          ['Resources.ApiLogs.Properties.RetentionInDays', /expected an integer, got the string "thirty"/],
        ],
      );
    });

    it('reports a wrong property name nested inside a type definition', () => {
      expectIssues(
        withChange((t) => {
          const [rule] = at(props(t, 'MediaBucket'), 'BucketEncryption')['ServerSideEncryptionConfiguration'] as Node[];
          expect(rule).to.be.an('object');
          (rule as Node)['ServerSideEncryptionByDefault'] = { SSEAlgoritm: 'AES256' };
        }),
        [
          [
            'Resources.MediaBucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgoritm',
            /unknown property "SSEAlgoritm" for ServerSideEncryptionByDefault \(did you mean "SSEAlgorithm"\?\)/,
          ],
          [
            'Resources.MediaBucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm',
            /missing required property "SSEAlgorithm"/,
          ],
        ],
      );
    });

    it('reports an object where an array is expected, and a scalar where an object is expected', () => {
      expectIssues(
        withChange((t) => {
          at(props(t, 'MediaBucket'), 'BucketEncryption')['ServerSideEncryptionConfiguration'] = { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } };
        }),
        [
          [
            'Resources.MediaBucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration',
            /expected an array of an object \(ServerSideEncryptionRule\), got an object/,
          ],
        ],
      );
      expectIssues(
        withChange((t) => (at(props(t, 'MediaBucket'), 'BucketEncryption')['ServerSideEncryptionConfiguration'] = ['AES256'])),
        [['Resources.MediaBucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]', /expected an object \(ServerSideEncryptionRule\), got the string "AES256"/]],
      );
    });

    it('reports a function that yields a string where an array is expected', () => {
      expectIssues(
        withChange((t) => {
          props(t, 'ApiFunction')['Architectures'] = { 'Fn::Join': [',', ['arm64']] };
          at(props(t, 'ApiFunction'), 'VpcConfig')['SubnetIds'] = { Ref: 'Stage' };
        }),
        [
          ['Resources.ApiFunction.Properties.Architectures', /expected an array of a string, got Fn::Join, which does not yield a list/],
          ['Resources.ApiFunction.Properties.VpcConfig.SubnetIds', /expected an array of a string, got Ref, which does not yield a list/],
        ],
      );
    });

    it('checks both branches of Fn::If against the expected type', () => {
      expectIssues(
        withChange((t) => {
          props(t, 'MediaBucket')['VersioningConfiguration'] = { 'Fn::If': ['IsProd', { Status: 'Enabled' }, { Statuss: 'Suspended' }] };
          at(props(t, 'MediaTable'), 'PointInTimeRecoverySpecification')['PointInTimeRecoveryEnabled'] = { 'Fn::If': ['IsProd', 'sure', false] };
        }),
        [
          ['Resources.MediaBucket.Properties.VersioningConfiguration.Fn::If[2].Statuss', /unknown property "Statuss" for VersioningConfiguration/],
          ['Resources.MediaBucket.Properties.VersioningConfiguration.Fn::If[2].Status', /missing required property "Status"/],
          ['Resources.MediaTable.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled.Fn::If[1]', /expected a boolean, got the string "sure"/],
        ],
      );
    });

    it('checks tags: Key and Value are required strings', () => {
      expectIssues(
        withChange((t) => (props(t, 'MediaBucket')['Tags'] = [{ Key: 'stage' }, { Key: 'team', Value: { owner: 'me' } }])),
        [
          ['Resources.MediaBucket.Properties.Tags[0].Value', /missing required property "Value" of Tag/],
          ['Resources.MediaBucket.Properties.Tags[1].Value', /expected a string, got an object/],
        ],
      );
    });

    it('accepts custom resources with any properties and attributes, but needs a ServiceToken', () => {
      const custom = withChange((t) => {
        resources(t)['Seed'] = {
          Type: 'Custom::SeedTable',
          Properties: { ServiceToken: { 'Fn::GetAtt': ['ApiFunction', 'Arn'] }, Anything: { goes: [1, 2] } },
        };
        resources(t)['Legacy'] = { Type: 'AWS::CloudFormation::CustomResource', Properties: { ServiceToken: 'arn:aws:lambda:x', Size: 'big' } };
        at(t, 'Outputs')['Seeded'] = { Value: { 'Fn::GetAtt': ['Seed', 'Whatever.You.Return'] } };
      });
      expect(validateTemplate(custom)).to.deep.equal([]);
      expectIssues(
        withChange((t) => (resources(t)['Seed'] = { Type: 'Custom::SeedTable', Properties: { Table: 'x' } })),
        [['Resources.Seed.Properties.ServiceToken', /custom resource needs a ServiceToken/]],
      );
    });
  });

  describe('references', () => {
    it('reports a Ref to a missing resource', () => {
      expectIssues(
        withChange((t) => (at(props(t, 'ApiFunction'), 'Environment', 'Variables')['TABLE_NAME'] = { Ref: 'MediaTabel' })),
        [
          [
            'Resources.ApiFunction.Properties.Environment.Variables.TABLE_NAME',
            /Ref to "MediaTabel", which is neither a resource nor a parameter of this template \(did you mean "MediaTable"\?\)/,
          ],
        ],
      );
    });

    it('reports a Ref to an unknown pseudo parameter, and a Ref nested in another function', () => {
      expectIssues(
        withChange((t) => {
          props(t, 'MediaBucket')['BucketName'] = { 'Fn::Join': ['-', [{ Ref: 'AWS::Regoin' }, { Ref: 'Nope' }]] };
        }),
        [
          ['Resources.MediaBucket.Properties.BucketName.Fn::Join[1][0]', /unknown pseudo parameter "AWS::Regoin" \(did you mean "AWS::Region"\?\)/],
          ['Resources.MediaBucket.Properties.BucketName.Fn::Join[1][1]', /Ref to "Nope"/],
        ],
      );
    });

    it('reports Fn::GetAtt of a missing resource', () => {
      expectIssues(
        withChange((t) => (props(t, 'ApiFunction')['Role'] = { 'Fn::GetAtt': ['FunctionRol', 'Arn'] })),
        [['Resources.ApiFunction.Properties.Role', /Fn::GetAtt of "FunctionRol", which is not a resource of this template \(did you mean "FunctionRole"\?\)/]],
      );
      expectIssues(
        withChange((t) => (props(t, 'ApiFunction')['Role'] = { 'Fn::GetAtt': ['Stage', 'Arn'] })),
        [['Resources.ApiFunction.Properties.Role', /Fn::GetAtt of "Stage", which is a parameter, not a resource/]],
      );
    });

    it('reports Fn::GetAtt of an attribute the type does not have (both forms)', () => {
      expectIssues(
        withChange((t) => {
          at(t, 'Outputs', 'BucketName')['Value'] = { 'Fn::GetAtt': ['MediaBucket', 'Nope'] };
          at(t, 'Outputs', 'TableStreamArn')['Value'] = { 'Fn::GetAtt': 'MediaTable.StreamARN' };
        }),
        [
          ['Outputs.BucketName.Value', /AWS::S3::Bucket resource "MediaBucket" has no attribute "Nope" \(it has Arn, DomainName, /],
          ['Outputs.TableStreamArn.Value', /AWS::DynamoDB::Table resource "MediaTable" has no attribute "StreamARN" \(did you mean "StreamArn"\?\)/],
        ],
      );
    });

    it('accepts dotted attribute names as the specification gives them', () => {
      const template = withChange((t) => {
        resources(t)['Db'] = { Type: 'AWS::RDS::DBInstance', Properties: { Engine: 'postgres', DBInstanceClass: 'db.t4g.micro', AllocatedStorage: 20, Port: 5432 } };
        resources(t)['Network'] = { Type: 'AWS::CloudFormation::Stack', Properties: { TemplateURL: 'https://example.com/t.json' } };
        at(t, 'Outputs')['DbAddress'] = { Value: { 'Fn::Sub': '${Db.Endpoint.Address}:${Db.Endpoint.Port}' } };
        at(t, 'Outputs')['NestedVpc'] = { Value: { 'Fn::GetAtt': ['Network', 'Outputs.VpcId'] } };
      });
      expect(validateTemplate(template)).to.deep.equal([]);
      expectIssues(
        withChange((t) => {
          resources(t)['Db'] = { Type: 'AWS::RDS::DBInstance', Properties: { Engine: 'postgres' } };
          at(t, 'Outputs')['DbAddress'] = { Value: { 'Fn::GetAtt': ['Db', 'Endpoint.Adress'] } };
        }),
        [['Outputs.DbAddress.Value', /has no attribute "Endpoint.Adress" \(did you mean "Endpoint.Address"\?\)/]],
      );
    });

    it('reports ${...} in Fn::Sub naming a missing resource or attribute', () => {
      expectIssues(
        withChange((t) => {
          props(t, 'ApiLogs')['LogGroupName'] = { 'Fn::Sub': '/aws/lambda/${ApiFunctio}' };
          at(t, 'Outputs', 'BucketName')['Value'] = { 'Fn::Sub': '${MediaBucket.Nope}/${!Literal}/${AWS::Region}' };
        }),
        [
          ['Resources.ApiLogs.Properties.LogGroupName', /Fn::Sub \$\{ApiFunctio\} to "ApiFunctio".*\(did you mean "ApiFunction"\?\)/],
          ['Outputs.BucketName.Value', /Fn::Sub \$\{MediaBucket.Nope\}: AWS::S3::Bucket resource "MediaBucket" has no attribute "Nope"/],
        ],
      );
    });

    it('checks the variables map of Fn::Sub for references too', () => {
      expectIssues(
        withChange((t) => {
          props(t, 'MediaBucket')['BucketName'] = { 'Fn::Sub': ['${Prefix}-media', { Prefix: { Ref: 'Missing' } }] };
        }),
        [['Resources.MediaBucket.Properties.BucketName.Fn::Sub[1].Prefix', /Ref to "Missing"/]],
      );
    });

    it('reports DependsOn naming a missing resource (array and string forms)', () => {
      expectIssues(
        withChange((t) => (at(t, 'Resources', 'ApiFunction')['DependsOn'] = ['FunctionRole', 'Missing'])),
        [['Resources.ApiFunction.DependsOn[1]', /DependsOn names "Missing", which is not a resource of this template/]],
      );
      expectIssues(
        withChange((t) => (at(t, 'Resources', 'ApiLogs')['DependsOn'] = 'ApiFunctoin')),
        [['Resources.ApiLogs.DependsOn', /"ApiFunctoin".*\(did you mean "ApiFunction"\?\)/]],
      );
    });

    it('reports unknown conditions: resource, output, Fn::If and within Conditions', () => {
      expectIssues(
        withChange((t) => {
          at(t, 'Resources', 'ApiLogs')['Condition'] = 'IsProduction';
          at(t, 'Outputs', 'LogGroupArn')['Condition'] = 'Prod';
          props(t, 'MediaBucket')['VersioningConfiguration'] = { 'Fn::If': ['Production', { Status: 'Enabled' }, { Ref: 'AWS::NoValue' }] };
          at(t, 'Conditions')['NotProd'] = { 'Fn::Not': [{ Condition: 'IsPrd' }] };
        }),
        [
          ['Conditions.NotProd.Fn::Not[0].Condition', /unknown condition "IsPrd" \(not in Conditions\) \(did you mean "IsProd"\?\)/],
          ['Resources.ApiLogs.Condition', /unknown condition "IsProduction"/],
          ['Resources.MediaBucket.Properties.VersioningConfiguration.Fn::If[0]', /unknown condition "Production"/],
          ['Outputs.LogGroupArn.Condition', /unknown condition "Prod"/],
        ],
      );
    });

    it('reports Conditions that reference resources, and malformed conditions', () => {
      expectIssues(
        withChange((t) => {
          at(t, 'Conditions')['HasTable'] = { 'Fn::Equals': [{ Ref: 'MediaTable' }, ''] };
          at(t, 'Conditions')['Broken'] = { Ref: 'Stage' };
        }),
        [
          ['Conditions.HasTable.Fn::Equals[0]', /Ref to resource "MediaTable": Conditions can only use parameters/],
          ['Conditions.Broken', /a condition must be one of Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition, got Ref/],
        ],
      );
    });

    it('reports Fn::FindInMap of a missing mapping or key, and an unknown function', () => {
      expectIssues(
        withChange((t) => {
          props(t, 'ApiFunction')['MemorySize'] = { 'Fn::FindInMap': ['StageConfigs', { Ref: 'Stage' }, 'Memory'] };
          props(t, 'ApiFunction')['Timeout'] = { 'Fn::FindInMap': ['StageConfig', 'dev', 'Timeout'] };
          props(t, 'ApiFunction')['Handler'] = { 'Fn::GetAttr': ['X', 'Y'] };
        }),
        [
          ['Resources.ApiFunction.Properties.MemorySize', /Fn::FindInMap of unknown mapping "StageConfigs" \(did you mean "StageConfig"\?\)/],
          ['Resources.ApiFunction.Properties.Timeout', /mapping "StageConfig.dev" has no key "Timeout"/],
          ['Resources.ApiFunction.Properties.Handler', /unknown intrinsic function "Fn::GetAttr" \(did you mean "Fn::GetAtt"\?\)/],
        ],
      );
    });
  });

  describe('outputs', () => {
    it('requires a Value, and a Name in Export', () => {
      expectIssues(
        withChange((t) => {
          at(t, 'Outputs')['Empty'] = { Description: 'nothing' };
          at(t, 'Outputs')['Unnamed'] = { Value: 'x', Export: { Nme: 'x' } };
        }),
        [
          ['Outputs.Empty.Value', /an output needs a Value/],
          ['Outputs.Unnamed.Export', /Export needs a Name/],
        ],
      );
    });
  });

  describe('real-world constructs', () => {
    it('accepts Fn::If with AWS::NoValue, for a property and for a whole object', () => {
      const template = withChange((t) => {
        props(t, 'ApiFunction')['ReservedConcurrentExecutions'] = { 'Fn::If': ['IsProd', 50, { Ref: 'AWS::NoValue' }] };
        props(t, 'ApiFunction')['TracingConfig'] = { 'Fn::If': ['NotProd', { Ref: 'AWS::NoValue' }, { Mode: 'Active' }] };
        resources(t)['Queue'] = { Type: 'AWS::SQS::Queue', Properties: { 'Fn::If': ['IsProd', { DelaySeconds: 5 }, { Ref: 'AWS::NoValue' }] } };
      });
      expect(validateTemplate(template)).to.deep.equal([]);
    });

    it('accepts numeric strings for integers and numbers, "true"/"false" for booleans, scalars for strings', () => {
      const template = withChange((t) => {
        props(t, 'ApiFunction')['MemorySize'] = '1024';
        props(t, 'ApiFunction')['Timeout'] = '30';
        at(props(t, 'MediaTable'), 'TimeToLiveSpecification')['Enabled'] = 'true';
        props(t, 'MediaBucket')['Tags'] = [{ Key: 'version', Value: 2 }];
        resources(t)['Alarm'] = {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: { ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: '1', Threshold: '0.5', MetricName: 'Errors', Namespace: 'AWS/Lambda', Period: 60, Statistic: 'Sum' },
        };
      });
      expect(validateTemplate(template)).to.deep.equal([]);
    });

    it('accepts list-yielding functions where an array is expected', () => {
      const template = withChange((t) => {
        at(props(t, 'ApiFunction'), 'VpcConfig')['SubnetIds'] = { 'Fn::Split': [',', { 'Fn::ImportValue': 'media-library-vpc-dev-PrivateSubnetIds' }] };
        at(props(t, 'ApiFunction'), 'VpcConfig')['SecurityGroupIds'] = { 'Fn::If': ['IsProd', [{ 'Fn::ImportValue': 'sg' }], { 'Fn::GetAZs': '' }] };
        resources(t)['Subnet'] = {
          Type: 'AWS::EC2::Subnet',
          Properties: {
            VpcId: { 'Fn::ImportValue': 'vpc' },
            AvailabilityZone: { 'Fn::Select': [0, { 'Fn::GetAZs': { Ref: 'AWS::Region' } }] },
            CidrBlock: { 'Fn::Select': [0, { 'Fn::Cidr': ['10.0.0.0/16', 4, 12] }] },
          },
        };
        resources(t)['Endpoint'] = { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcId: 'vpc-1', ServiceName: 'com.amazonaws.us-east-1.s3' } };
        resources(t)['Topic'] = { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'x' } };
        // An attribute that is itself a list (NetworkInterfaceIds) feeds an array property.
        at(t, 'Outputs')['Eni'] = { Value: { 'Fn::Join': [',', { 'Fn::GetAtt': ['Endpoint', 'NetworkInterfaceIds'] }] } };
      });
      expect(validateTemplate(template)).to.deep.equal([]);
    });

    it('accepts tags as a list and as a map, per the specification', () => {
      const template = withChange((t) => {
        resources(t)['Setting'] = { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: 'v', Tags: { stage: { Ref: 'Stage' }, team: 'media' } } };
      });
      expect(validateTemplate(template)).to.deep.equal([]);
      expectIssues(
        withChange((t) => (resources(t)['Setting'] = { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: 'v', Tags: [{ Key: 'a', Value: 'b' }] } })),
        [['Resources.Setting.Properties.Tags', /expected a map of a string, got an array/]],
      );
    });

    it('accepts policy documents (json) of any shape, as an object or a string', () => {
      const template = withChange((t) => {
        resources(t)['BucketPolicy'] = {
          Type: 'AWS::S3::BucketPolicy',
          Properties: {
            Bucket: { Ref: 'MediaBucket' },
            PolicyDocument: {
              Statement: [
                {
                  Effect: 'Deny',
                  Principal: '*',
                  Action: 's3:*',
                  Resource: [{ 'Fn::GetAtt': ['MediaBucket', 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['MediaBucket', 'Arn'] }, '/*']] }],
                  Condition: { Bool: { 'aws:SecureTransport': false } },
                },
              ],
            },
          },
        };
        props(t, 'FunctionRole')['AssumeRolePolicyDocument'] = '{"Version":"2012-10-17","Statement":[]}';
      });
      expect(validateTemplate(template)).to.deep.equal([]);
    });

    it('still checks references inside policy documents', () => {
      expectIssues(
        withChange((t) => {
          const [policy] = props(t, 'FunctionRole')['Policies'] as Node[];
          const [statement] = at(policy, 'PolicyDocument')['Statement'] as Node[];
          (statement as Node)['Resource'] = { 'Fn::GetAtt': ['MediaTable', 'TableArn'] };
        }),
        [['Resources.FunctionRole.Properties.Policies[0].PolicyDocument.Statement[0].Resource', /has no attribute "TableArn"/]],
      );
    });
  });
});
