/**
 * The alarms, dashboard and saved queries of every deployed stage (local/serverless/operations.cjs),
 * checked in the packaged templates: each function, dead-letter queue, table and topic is watched,
 * every alarm reaches the alarm topic (encrypted with a key CloudWatch may use), its runbook section
 * exists in docs/operations.md, the dashboard shows every function, the queries read every
 * function's log group, and the stack stays within CloudFormation's resource limit.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { packagedTemplate, type CfnResource, type PackagedTemplate } from '../gateway/template';
import { REPO_ROOT, serviceConfig } from '../stack/serviceConfig';

type Node = Record<string, unknown>;
const STAGES = ['dev', 'test', 'prod'];
/** CloudFormation's limit of resources in one stack. */
const MAX_RESOURCES = 500;

const ofType = (template: PackagedTemplate, type: string): Array<[string, CfnResource]> => Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
const props = (resource: CfnResource | undefined): Node => (resource?.Properties ?? {});
/** The stage file's `operations` settings, as serverless resolved them. */
const operationsOf = (stage: string): { alarmEmails: string[] | null; http5xxPercent: number; loginLocksPerFiveMinutes: number } =>
  ((serviceConfig(stage).custom?.['stage'] as Node | undefined)?.['operations'] ?? {}) as { alarmEmails: string[] | null; http5xxPercent: number; loginLocksPerFiveMinutes: number };
const alarmsOf = (template: PackagedTemplate): Node[] => ofType(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => props(alarm));
const dimension = (alarm: Node, name: string): unknown => (alarm['Dimensions'] as Array<{ Name: string; Value: unknown }> | undefined)?.find((entry) => entry.Name === name)?.Value;
/** The metrics an alarm reads: its own, or those of its metric math. */
function metricsOf(alarm: Node): Array<{ namespace: unknown; name: unknown; dimensions: Array<{ Name: string; Value: unknown }> }> {
  if (alarm['MetricName'] !== undefined) return [{ namespace: alarm['Namespace'], name: alarm['MetricName'], dimensions: alarm['Dimensions'] as Array<{ Name: string; Value: unknown }> }];
  return ((alarm['Metrics'] ?? []) as Node[])
    .map((metric) => (metric['MetricStat'] as Node | undefined)?.['Metric'] as Node | undefined)
    .filter((metric): metric is Node => metric !== undefined)
    .map((metric) => ({ namespace: metric['Namespace'], name: metric['MetricName'], dimensions: metric['Dimensions'] as Array<{ Name: string; Value: unknown }> }));
}

describe('operations as code: alarms, dashboard and saved queries of every stage', function () {
  this.timeout(180_000);
  const runbook = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
  const anchors = new Set([...runbook.matchAll(/^#+ (.+)$/gm)].map((match) => (match[1] as string).toLowerCase().replace(/[^a-z0-9 -]/g, '').trim().replace(/ /g, '-')));

  for (const stage of STAGES) {
    describe(stage, () => {
      let template: PackagedTemplate;
      before(async () => {
        template = await packagedTemplate(stage);
      });

      it(`stays within CloudFormation's ${MAX_RESOURCES} resources per stack`, () => {
        expect(Object.keys(template.Resources).length).to.be.at.most(MAX_RESOURCES);
      });

      it('every alarm notifies the alarm topic when it fires and when it recovers, and names a runbook section that exists', () => {
        const alarms = alarmsOf(template);
        expect(alarms.length).to.be.greaterThan(90);
        for (const alarm of alarms) {
          expect(alarm['AlarmActions'], String(alarm['AlarmName'])).to.deep.equal([{ Ref: 'AlarmTopic' }]);
          expect(alarm['OKActions'], String(alarm['AlarmName'])).to.deep.equal([{ Ref: 'AlarmTopic' }]);
          expect(alarm['AlarmName']).to.match(new RegExp(`^media-library-${stage}-`));
          const section = /Runbook: docs\/operations\.md#([a-z0-9-]+)$/.exec(String(alarm['AlarmDescription']))?.[1];
          expect(section !== undefined && anchors.has(section), `${String(alarm['AlarmName'])}: runbook section ${section} in docs/operations.md`).to.equal(true);
        }
      });

      it('each function has its errors, throttles and near-timeout alarms, on that function', () => {
        const config = serviceConfig(stage);
        const functions = ofType(template, 'AWS::Lambda::Function');
        expect(functions.length).to.equal(Object.keys(config.functions).length);
        const alarms = alarmsOf(template);
        for (const [id, fn] of functions) {
          const watching = alarms.filter((alarm) => JSON.stringify(dimension(alarm, 'FunctionName')) === JSON.stringify({ Ref: id }));
          expect(watching.map((alarm) => alarm['MetricName']).sort(), id).to.deep.equal(['Duration', 'Errors', 'Throttles']);
          const duration = watching.find((alarm) => alarm['MetricName'] === 'Duration') as Node;
          expect([duration['ExtendedStatistic'], duration['Threshold']], id).to.deep.equal(['p99', Math.round(Number(props(fn)['Timeout']) * 800)]);
        }
      });

      it('each dead-letter queue, table and topic of the service is watched', () => {
        const watched = alarmsOf(template).flatMap((alarm) => metricsOf(alarm).map((metric) => `${String(metric.namespace)} ${String(metric.name)} ${JSON.stringify(metric.dimensions[0]?.Value)}`));
        for (const [id] of ofType(template, 'AWS::SQS::Queue')) expect(watched, id).to.include(`AWS/SQS ApproximateNumberOfMessagesVisible ${JSON.stringify({ 'Fn::GetAtt': [id, 'QueueName'] })}`);
        for (const [id] of ofType(template, 'AWS::DynamoDB::Table')) {
          expect(watched, id).to.include(`AWS/DynamoDB ReadThrottleEvents ${JSON.stringify({ Ref: id })}`);
          expect(watched, id).to.include(`AWS/DynamoDB WriteThrottleEvents ${JSON.stringify({ Ref: id })}`);
        }
        for (const [id] of ofType(template, 'AWS::SNS::Topic').filter(([topic]) => topic !== 'AlarmTopic')) expect(watched, id).to.include(`AWS/SNS NumberOfNotificationsFailed ${JSON.stringify({ 'Fn::GetAtt': [id, 'TopicName'] })}`);
        expect(ofType(template, 'AWS::SQS::Queue').length).to.equal(3);
      });

      it('the API 5xx rate and login locks alarm at the stage settings', () => {
        const settings = operationsOf(stage);
        const api = props(template.Resources['HttpApi5xxAlarm']);
        expect(metricsOf(api).map((metric) => `${String(metric.namespace)} ${String(metric.name)} ${JSON.stringify(metric.dimensions[0]?.Value)}`)).to.deep.equal(['AWS/ApiGateway 5xx {"Ref":"HttpApi"}', 'AWS/ApiGateway Count {"Ref":"HttpApi"}']);
        expect(api['Threshold']).to.equal(settings.http5xxPercent);
        const locks = props(template.Resources['LoginLocksAlarm']);
        expect([locks['Namespace'], locks['MetricName'], dimension(locks, 'service'), locks['Threshold']]).to.deep.equal(['MediaLibrary', 'LoginLocks', 'media-library', settings.loginLocksPerFiveMinutes]);
      });

      it('the alarm topic is encrypted with a rotated key that lets this account’s CloudWatch alarms publish, and mails the stage’s addresses', () => {
        expect(props(template.Resources['AlarmTopic'])['KmsMasterKeyId']).to.deep.equal({ Ref: 'AlarmTopicKey' });
        const key = props(template.Resources['AlarmTopicKey']);
        expect(key['EnableKeyRotation']).to.equal(true);
        const statements = (key['KeyPolicy'] as { Statement: Node[] }).Statement;
        const cloudWatch = statements.find((statement) => JSON.stringify(statement['Principal']) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' })) as Node;
        expect(cloudWatch['Action']).to.deep.equal(['kms:Decrypt', 'kms:GenerateDataKey*']);
        expect(cloudWatch['Condition']).to.deep.equal({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
        const emails = operationsOf(stage).alarmEmails ?? [];
        const subscriptions = ofType(template, 'AWS::SNS::Subscription')
          .map(([, subscription]) => props(subscription))
          .filter((subscription) => JSON.stringify(subscription['TopicArn']) === JSON.stringify({ Ref: 'AlarmTopic' }));
        expect(subscriptions.map((subscription) => [subscription['TopicArn'], subscription['Protocol'], subscription['Endpoint']])).to.deep.equal(emails.map((email) => [{ Ref: 'AlarmTopic' }, 'email', email]));
      });

      it('the dashboard is valid JSON once substituted and shows every function; the saved queries read every function’s log group', () => {
        const [, board] = ofType(template, 'AWS::CloudWatch::Dashboard')[0] as [string, CfnResource];
        const [body, variables] = (props(board)['DashboardBody'] as { 'Fn::Sub': [string, Record<string, unknown>] })['Fn::Sub'];
        expect(Object.keys(variables)).to.deep.equal(['HttpApiId']);
        const substituted = body.replaceAll('${AWS::Region}', 'us-east-1').replaceAll('${HttpApiId}', 'abc123');
        expect(substituted).not.to.include('${');
        const parsed = JSON.parse(substituted) as { widgets: Array<{ properties: { metrics: unknown[][] } }> };
        const shown = new Set(parsed.widgets.flatMap((widget) => widget.properties.metrics.filter((metric) => metric[0] === 'AWS/Lambda').map((metric) => metric[3])));
        const names = ofType(template, 'AWS::Lambda::Function').map(([, fn]) => props(fn)['FunctionName']);
        expect([...shown].sort()).to.deep.equal([...names].sort());

        const logGroups = ofType(template, 'AWS::Logs::LogGroup').filter(([id]) => template.Resources[id.replace(/LogGroup$/, 'LambdaFunction')] !== undefined);
        const queries = ofType(template, 'AWS::Logs::QueryDefinition');
        expect(queries.map(([, query]) => props(query)['Name'])).to.deep.equal([`media-library-${stage}/request-story`, `media-library-${stage}/slowest-requests`, `media-library-${stage}/errors-by-code`]);
        for (const [id, query] of queries) {
          expect(props(query)['LogGroupNames'], id).to.deep.equal(logGroups.map(([, group]) => props(group)['LogGroupName']));
          expect(query.DependsOn, id).to.deep.equal(logGroups.map(([group]) => group));
        }
      });
    });
  }
});
