/**
 * CloudFormation checked offline: aws-vpc.template, aws-deployers.template and the packaged stack of every stage are
 * validated against the CloudFormation resource specification (@aws-cdk/aws-service-spec, via
 * local/delivery/cfn.ts): types, properties, required properties, Ref/GetAtt targets. The VPC
 * template's parameters are also evaluated for each combination, and its exports are checked
 * against what serverless.yml imports. `npx gulp check-templates` runs this file alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { validateTemplate } from '../delivery/cfn';
import { deployerRole, deployersTemplate, type DeployerRoleId } from '../delivery/deployers';
import { DELIVERY } from '../delivery/pipelines';
import { render } from '../delivery/policy';
import { packagedTemplate } from '../gateway/template';
import { REPO_ROOT } from '../stack/serviceConfig';

type Node = Record<string, unknown>;
const asNode = (value: unknown): Node => (value !== null && typeof value === 'object' ? (value as Node) : {});

interface VpcTemplate {
  Parameters: Record<string, Node>;
  Conditions: Record<string, unknown>;
  Resources: Record<string, { Type: string; Condition?: string; Properties?: Node }>;
  Outputs: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

const vpcTemplate = (): VpcTemplate => parse(fs.readFileSync(path.join(REPO_ROOT, 'aws-vpc.template'), 'utf8')) as VpcTemplate;

/** Evaluates the template's conditions and `Fn::If`s for one choice of parameters. */
function evaluator(template: VpcTemplate, parameters: Record<string, string | number>) {
  const condition = (name: string): boolean => value(template.Conditions[name]) as boolean;
  function value(expression: unknown): unknown {
    if (Array.isArray(expression)) return expression.map(value).filter((item) => item !== undefined);
    const node = asNode(expression);
    if (typeof expression !== 'object' || expression === null) return expression;
    if ('Ref' in node) {
      const ref = node['Ref'] as string;
      if (ref === 'AWS::NoValue') return undefined;
      return ref in parameters ? parameters[ref] : { Ref: ref };
    }
    if ('Condition' in node && Object.keys(node).length === 1) return condition(node['Condition'] as string);
    if ('Fn::Equals' in node) {
      const [a, b] = (node['Fn::Equals'] as unknown[]).map(value);
      return String(a) === String(b);
    }
    if ('Fn::And' in node) return (node['Fn::And'] as unknown[]).every((item) => value(item) === true);
    if ('Fn::Or' in node) return (node['Fn::Or'] as unknown[]).some((item) => value(item) === true);
    if ('Fn::Not' in node) return value((node['Fn::Not'] as unknown[])[0]) !== true;
    if ('Fn::If' in node) {
      const [name, whenTrue, whenFalse] = node['Fn::If'] as [string, unknown, unknown];
      return value(condition(name) ? whenTrue : whenFalse);
    }
    return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, value(child)]));
  }
  const active = Object.fromEntries(Object.entries(template.Resources).filter(([, resource]) => resource.Condition === undefined || condition(resource.Condition)));
  return { condition, value, active };
}

const refTo = (value: unknown): string | undefined => asNode(value)['Ref'] as string | undefined;

describe('CloudFormation templates (offline, against the resource specification)', function () {
  this.timeout(240_000);

  describe('aws-vpc.template', () => {
    const template = vpcTemplate();

    it('is valid CloudFormation: types, properties, required properties, references', () => {
      expect(validateTemplate(template)).to.deep.equal([]);
    });

    it('offers 2 or 3 availability zones and a NAT gateway per zone or a single one', () => {
      expect(template.Parameters['AvailabilityZoneCount']?.['AllowedValues']).to.deep.equal([2, 3]);
      expect(template.Parameters['AvailabilityZoneCount']?.['Default']).to.equal(2);
      expect(template.Parameters['NatGateways']?.['AllowedValues']).to.deep.equal(['PerZone', 'Single']);
    });

    for (const zones of [2, 3]) {
      for (const nat of ['PerZone', 'Single']) {
        it(`with ${zones} zones and ${nat} NAT: a public and a private subnet per zone, each private subnet routed through a NAT gateway that exists`, () => {
          const { active, value } = evaluator(template, { AvailabilityZoneCount: zones, NatGateways: nat, Stage: 'prod' });
          const ofType = (type: string) => Object.entries(active).filter(([, resource]) => resource.Type === type);
          const subnets = ofType('AWS::EC2::Subnet').map(([id]) => id);
          expect(subnets.filter((id) => id.startsWith('Public'))).to.have.length(zones);
          expect(subnets.filter((id) => id.startsWith('Private'))).to.have.length(zones);
          const nats = ofType('AWS::EC2::NatGateway').map(([id]) => id);
          expect(nats, 'NAT gateways').to.have.length(nat === 'PerZone' ? zones : 1);
          for (const id of nats) expect(subnets, `${id} sits in a public subnet`).to.include(refTo(active[id]?.Properties?.['SubnetId']));

          // Every private subnet: associated with a route table whose default route uses an existing NAT.
          const privateSubnets = subnets.filter((id) => id.startsWith('Private'));
          const usedNats = new Set<string>();
          for (const subnet of privateSubnets) {
            const association = ofType('AWS::EC2::SubnetRouteTableAssociation').find(([, resource]) => refTo(resource.Properties?.['SubnetId']) === subnet);
            const table = refTo(association?.[1].Properties?.['RouteTableId']);
            expect(table, `${subnet} has a route table`).to.be.a('string');
            const route = ofType('AWS::EC2::Route').find(([, resource]) => refTo(resource.Properties?.['RouteTableId']) === table);
            const natId = refTo(value(route?.[1].Properties?.['NatGatewayId']));
            expect(nats, `${subnet} routes through an existing NAT gateway`).to.include(natId);
            usedNats.add(natId as string);
          }
          expect(usedNats.size, 'each NAT gateway serves its own zone').to.equal(nats.length);

          // S3 and DynamoDB gateway endpoints on every private route table: that traffic needs no NAT.
          const privateTables = ofType('AWS::EC2::RouteTable').map(([id]) => id).filter((id) => id.startsWith('Private'));
          const endpoints = ofType('AWS::EC2::VPCEndpoint').map(([, resource]) => ({
            service: render(resource.Properties?.['ServiceName']),
            type: resource.Properties?.['VpcEndpointType'],
            tables: (value(resource.Properties?.['RouteTableIds']) as unknown[]).map(refTo),
          }));
          for (const service of ['s3', 'dynamodb']) {
            const endpoint = endpoints.find((candidate) => candidate.service === `com.amazonaws.\${AWS::Region}.${service}`);
            expect(endpoint?.type, `${service} gateway endpoint`).to.equal('Gateway');
            expect(endpoint?.tables.sort(), `${service} endpoint on every private route table`).to.deep.equal(privateTables.sort());
          }

          // The exported subnet list names every private subnet.
          const exported = String(render(value(template.Outputs['PrivateSubnetIds']?.Value)));
          expect(exported.split(',').map((ref) => ref.replace(/^\$\{|\}$/g, ''))).to.deep.equal(privateSubnets);
        });
      }
    }

    it('logs the VPC traffic with a retention, and lets the functions out on HTTPS only, with nothing in', () => {
      const flowLog = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::EC2::FlowLog');
      expect(flowLog?.Properties?.['TrafficType']).to.equal('ALL');
      const group = template.Resources[refTo(flowLog?.Properties?.['LogGroupName']) as string];
      expect(refTo(group?.Properties?.['RetentionInDays'])).to.equal('FlowLogRetentionDays');
      const securityGroup = template.Resources['FunctionSecurityGroup']?.Properties ?? {};
      expect(securityGroup['SecurityGroupIngress'], 'no inbound rules').to.equal(undefined);
      expect((securityGroup['SecurityGroupEgress'] as Node[]).map((rule) => [rule['IpProtocol'], rule['FromPort'], rule['ToPort']])).to.deep.equal([['tcp', 443, 443]]);
    });

    it('exports what serverless.yml imports on stages with `vpc: true`', async () => {
      const prod = JSON.stringify((await packagedTemplate('prod')));
      const imports = [...prod.matchAll(/"Fn::ImportValue":"([^"]+)"/g)].map((match) => match[1] as string);
      expect(imports.length, 'prod imports the network').to.be.greaterThan(0);
      const exports = Object.values(template.Outputs).map((output) => render(output.Export?.Name).replace('${Stage}', 'prod'));
      for (const name of new Set(imports)) expect(exports, name).to.include(name);
    });
  });

  for (const stage of ['dev', 'test', 'prod']) {
    it(`the packaged ${stage} stack is valid CloudFormation`, async () => {
      const template = await packagedTemplate(stage);
      expect(Object.keys(template.Resources).length).to.be.greaterThan(100);
      expect(validateTemplate(template)).to.deep.equal([]);
    });
  }

  it('a packaged stack with a misspelt property or a dangling reference is rejected (the validator is live)', async () => {
    const broken = structuredClone((await packagedTemplate('dev')));
    const users = broken.Resources['UsersTable']?.Properties as Node;
    users['BillingMod'] = users['BillingMode'];
    delete users['BillingMode'];
    (broken.Resources['GetMeLambdaFunction']?.Properties as Node)['Role'] = { 'Fn::GetAtt': ['NoSuchRole', 'Arn'] };
    const issues = validateTemplate(broken).map((issue) => `${issue.path}: ${issue.message}`);
    expect(issues.some((issue) => issue.startsWith('Resources.UsersTable.Properties.BillingMod'))).to.equal(true);
    expect(issues.some((issue) => issue.includes('NoSuchRole'))).to.equal(true);
  });
  describe('aws-deployers.template: the roles the pipelines assume', () => {
    const template = deployersTemplate();
    const parameters = { Stage: 'test', AgentRoleArn: DELIVERY.agentRoleArn, MediaBucketName: DELIVERY.mediaBuckets.test };
    const actionsOf = (id: DeployerRoleId): string[] =>
      deployerRole(id, parameters).policies.flatMap((policy) => policy.document.Statement.flatMap((statement) => [statement['Action']].flat().map(String)));

    it('is valid CloudFormation: types, properties, required properties, references', () => {
      expect(validateTemplate(template)).to.deep.equal([]);
    });

    it('the deploy and environment roles may be assumed by the Go.cd agents’ role only, and grant no wildcard action', () => {
      for (const id of ['DeployRole', 'EnvironmentRole'] as const) {
        const trust = asNode(template.Resources[id]?.Properties['AssumeRolePolicyDocument'])['Statement'] as Node[];
        expect(trust, id).to.deep.equal([{ Effect: 'Allow', Principal: { AWS: { Ref: 'AgentRoleArn' } }, Action: 'sts:AssumeRole' }]);
        expect(actionsOf(id).filter((action) => action.includes('*')), id).to.deep.equal([]);
      }
      const cloudFormation = asNode(template.Resources['CloudFormationRole']?.Properties['AssumeRolePolicyDocument'])['Statement'] as Node[];
      expect(cloudFormation, 'only CloudFormation may use the role that creates resources').to.deep.equal([{ Effect: 'Allow', Principal: { Service: 'cloudformation.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
    });

    it('the environment role may pass the CloudFormation role to CloudFormation and nothing else', () => {
      const passes = deployerRole('EnvironmentRole', parameters).policies.flatMap((policy) => policy.document.Statement).filter((statement) => [statement['Action']].flat().includes('iam:PassRole'));
      expect(passes.map((statement) => [statement['Resource'], statement['Condition']])).to.deep.equal([
        [`arn:aws:iam::123456789012:role/media-library-cloudformation-test`, { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } }],
      ]);
    });

    it('CloudFormation’s role covers every service whose resources the packaged stacks and aws-vpc.template hold', async () => {
      const prefixes: Record<string, string> = { ApiGatewayV2: 'apigateway', ApiGateway: 'apigateway' };
      const granted = new Set(actionsOf('CloudFormationRole').map((action) => action.split(':')[0]));
      const types = new Set(Object.values(vpcTemplate().Resources).map((resource) => resource.Type));
      for (const stage of ['dev', 'test', 'prod']) for (const resource of Object.values((await packagedTemplate(stage)).Resources)) types.add(resource.Type);
      const missing = [...types].filter((type) => {
        const service = type.split('::')[1] as string;
        return !granted.has(prefixes[service] ?? service.toLowerCase());
      });
      expect(missing).to.deep.equal([]);
    });
  });
});
