// Serverless plugin: the stage's alarms, dashboard and saved Logs Insights queries, as code
// (docs/operations.md). Added to the packaged template from what it already holds, so a new
// function, queue, table or topic is watched without anyone remembering to add its alarm:
//
// - per function: Errors ≥ 1, Throttles ≥ 1, p99 Duration ≥ 80% of its timeout (AWS/Lambda);
// - per SQS queue (the dead-letter queues): a message visible;
// - per DynamoDB table: read or write throttle events;
// - per SNS topic of the service: notifications that failed to be delivered;
// - the HTTP API: 5xx answers above `operations.http5xxPercent` of requests (AWS/ApiGateway);
// - login locks above `operations.loginLocksPerFiveMinutes` (our metric, shared/metrics.ts);
//
// every alarm (and its recovery) goes to the AlarmTopic, whose e-mail subscriptions are the stage
// setting `operations.alarmEmails`. local/checks/operations.test.ts checks the packaged templates.
'use strict';

const PERIOD = 300;
const METRICS_NAMESPACE = 'MediaLibrary';

class Operations {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:aws:package:finalize:saveServiceState': () => this.addResources() };
  }

  addResources() {
    const service = this.serverless.service;
    const template = service.provider.compiledCloudFormationTemplate;
    const naming = this.serverless.getProvider('aws').naming;
    const stage = service.provider.stage;
    const settings = service.custom?.stage?.operations ?? {};
    const prefix = `${service.service}-${stage}`;
    const resources = template.Resources;
    const ofType = (type) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
    const added = {};

    // Encrypted like every topic here, but with a key of its own: CloudWatch cannot publish to a
    // topic under the AWS-managed SNS key, only under a customer-managed key whose policy lets it.
    added.AlarmTopicKey = {
      Type: 'AWS::KMS::Key',
      Properties: {
        Description: `${prefix}: encrypts the alarm topic (CloudWatch alarms may use it to publish)`,
        EnableKeyRotation: true,
        KeyPolicy: {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'ThisAccountAdministersTheKey', Effect: 'Allow', Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } }, Action: 'kms:*', Resource: '*' },
            {
              Sid: 'CloudWatchAlarmsOfThisAccountPublish',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Resource: '*',
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
      },
    };
    added.AlarmTopic = { Type: 'AWS::SNS::Topic', Properties: { TopicName: `${prefix}-alarms`, DisplayName: `${prefix} alarms`, KmsMasterKeyId: { Ref: 'AlarmTopicKey' } } };
    added.AlarmTopicPolicy = {
      Type: 'AWS::SNS::TopicPolicy',
      Properties: {
        Topics: [{ Ref: 'AlarmTopic' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'CloudWatchAlarmsOfThisAccount',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: { Ref: 'AlarmTopic' },
              Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*' } } },
            },
          ],
        },
      },
    };
    (settings.alarmEmails ?? []).forEach((email, index) => {
      added[`AlarmTopicEmail${index + 1}`] = { Type: 'AWS::SNS::Subscription', Properties: { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: email } };
    });

    // `runbook`: the section of docs/operations.md that says what the alarm means and what to do.
    const alarm = (name, runbook, description, properties) => ({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${prefix}-${name}`,
        AlarmDescription: `${description}. Runbook: docs/operations.md#${runbook}`,
        ActionsEnabled: true,
        AlarmActions: [{ Ref: 'AlarmTopic' }],
        OKActions: [{ Ref: 'AlarmTopic' }],
        TreatMissingData: 'notBreaching',
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        ...properties,
      },
    });
    const simple = (namespace, metric, dimensions, statistic, threshold) => ({
      Namespace: namespace,
      MetricName: metric,
      Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
      ...(statistic.startsWith('p') ? { ExtendedStatistic: statistic } : { Statistic: statistic }),
      Period: PERIOD,
      Threshold: threshold,
    });
    const functions = service.getAllFunctions().map((key) => ({ key, definition: service.getFunction(key), id: naming.getLambdaLogicalId(key) }));
    for (const { key, definition, id } of functions) {
      const name = { Ref: id };
      const timeoutSeconds = definition.timeout ?? service.provider.timeout ?? 6;
      const ids = functionAlarmIds(naming, key);
      added[ids.errors] = alarm(`${key}-errors`, 'function-errors', `${key} failed (an unhandled error or a timeout)`, simple('AWS/Lambda', 'Errors', { FunctionName: name }, 'Sum', 1));
      added[ids.throttles] = alarm(`${key}-throttles`, 'function-throttles', `${key} was throttled (concurrency limit)`, simple('AWS/Lambda', 'Throttles', { FunctionName: name }, 'Sum', 1));
      added[ids.duration] = alarm(`${key}-duration`, 'function-duration', `${key} ran close to its ${timeoutSeconds} s timeout (p99 ≥ 80%)`, {
        ...simple('AWS/Lambda', 'Duration', { FunctionName: name }, 'p99', Math.round(timeoutSeconds * 1000 * 0.8)),
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
      });
    }
    for (const [id] of ofType('AWS::SQS::Queue')) {
      added[`${id}DepthAlarm`] = alarm(`${id}-depth`, 'dead-letter-queue', `messages waiting in ${id} (work that failed for good)`, simple('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: { 'Fn::GetAtt': [id, 'QueueName'] } }, 'Maximum', 1));
    }
    for (const [id] of ofType('AWS::DynamoDB::Table')) {
      added[`${id}ThrottlesAlarm`] = alarm(`${id}-throttles`, 'table-throttles', `requests to ${id} throttled`, {
        Metrics: [
          { Id: 'reads', ReturnData: false, MetricStat: { Metric: { Namespace: 'AWS/DynamoDB', MetricName: 'ReadThrottleEvents', Dimensions: [{ Name: 'TableName', Value: { Ref: id } }] }, Period: PERIOD, Stat: 'Sum' } },
          { Id: 'writes', ReturnData: false, MetricStat: { Metric: { Namespace: 'AWS/DynamoDB', MetricName: 'WriteThrottleEvents', Dimensions: [{ Name: 'TableName', Value: { Ref: id } }] }, Period: PERIOD, Stat: 'Sum' } },
          { Id: 'throttled', ReturnData: true, Expression: 'FILL(reads, 0) + FILL(writes, 0)', Label: 'throttle events' },
        ],
        Threshold: 1,
      });
    }
    for (const [id] of ofType('AWS::SNS::Topic')) {
      added[`${id}DeliveryAlarm`] = alarm(`${id}-delivery`, 'topic-delivery', `${id} could not deliver notifications`, simple('AWS/SNS', 'NumberOfNotificationsFailed', { TopicName: { 'Fn::GetAtt': [id, 'TopicName'] } }, 'Sum', 1));
    }
    if (resources.HttpApi !== undefined) {
      const apiMetric = (metric) => ({ Metric: { Namespace: 'AWS/ApiGateway', MetricName: metric, Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }] }, Period: PERIOD, Stat: 'Sum' });
      added.HttpApi5xxAlarm = alarm('api-5xx', 'api-5xx', `more than ${settings.http5xxPercent ?? 1}% of API requests answered 5xx`, {
        Metrics: [
          { Id: 'errors', ReturnData: false, MetricStat: apiMetric('5xx') },
          { Id: 'requests', ReturnData: false, MetricStat: apiMetric('Count') },
          { Id: 'rate', ReturnData: true, Expression: 'IF(requests > 0, 100 * errors / requests, 0)', Label: '5xx %' },
        ],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: settings.http5xxPercent ?? 1,
      });
    }
    const serviceDimension = { service: service.service };
    added.LoginLocksAlarm = alarm('login-locks', 'login-locks', 'accounts locked after wrong passwords above the usual rate (password guessing?)', simple(METRICS_NAMESPACE, 'LoginLocks', serviceDimension, 'Sum', settings.loginLocksPerFiveMinutes ?? 20));

    const logGroups = functions.map(({ key }) => naming.getLogGroupLogicalId(key)).filter((id) => resources[id] !== undefined);
    const logGroupNames = logGroups.map((id) => resources[id].Properties.LogGroupName);
    const query = (name, queryString) => ({ Type: 'AWS::Logs::QueryDefinition', DependsOn: logGroups, Properties: { Name: `${prefix}/${name}`, QueryString: queryString, LogGroupNames: logGroupNames } });
    added.RequestStoryQuery = query(
      'request-story',
      'fields @timestamp, function_name, level, message, status, code, durationMs\n| filter requestId = "REQUEST_ID" or correlationId = "REQUEST_ID"\n| sort @timestamp asc',
    );
    added.SlowestRequestsQuery = query('slowest-requests', 'fields @timestamp, route, status, durationMs, requestId, function_name\n| filter message = "request completed"\n| sort durationMs desc\n| limit 50');
    added.ErrorsByCodeQuery = query('errors-by-code', 'filter level = "ERROR" or level = "WARN" or message = "request rejected"\n| stats count(*) as times by function_name, coalesce(code, message) as what\n| sort times desc');

    added.OperationsDashboard = {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: { DashboardName: prefix, DashboardBody: { 'Fn::Sub': [JSON.stringify(dashboard(functions.map(({ definition }) => definition.name), service.service)), { HttpApiId: resources.HttpApi === undefined ? '' : { Ref: 'HttpApi' } }] } },
    };

    for (const [id, resource] of Object.entries(added)) {
      if (resources[id] !== undefined) throw new Error(`operations: the template already has a resource ${id}`);
      resources[id] = resource;
    }
  }
}

/** The logical ids of a function's alarms (safe-deploys.cjs rolls a deployment back on errors and throttles). */
function functionAlarmIds(naming, key) {
  const base = naming.getNormalizedFunctionName(key).replace(/[^A-Za-z0-9]/g, '');
  return { errors: `${base}ErrorsAlarm`, throttles: `${base}ThrottlesAlarm`, duration: `${base}DurationAlarm` };
}

/** The stage's dashboard: the API, every function, the queues of failed work, and the product's own figures. */
function dashboard(functionNames, serviceName) {
  const region = '${AWS::Region}';
  const widget = (title, metrics, y, x = 0, extra = {}) => ({ type: 'metric', x, y, width: 12, height: 6, properties: { title, region, metrics, period: PERIOD, view: 'timeSeries', ...extra } });
  const perFunction = (metric, stat) => functionNames.map((name) => ['AWS/Lambda', metric, 'FunctionName', name, { stat }]);
  const ours = (metric, dimensions = {}) => [METRICS_NAMESPACE, metric, 'service', serviceName, ...Object.entries(dimensions).flat(), { stat: 'Sum' }];
  return {
    widgets: [
      widget('API requests and errors', [['AWS/ApiGateway', 'Count', 'ApiId', '${HttpApiId}', { stat: 'Sum' }], ['AWS/ApiGateway', '4xx', 'ApiId', '${HttpApiId}', { stat: 'Sum' }], ['AWS/ApiGateway', '5xx', 'ApiId', '${HttpApiId}', { stat: 'Sum' }]], 0),
      widget('API latency p50 / p99 (ms)', [['AWS/ApiGateway', 'Latency', 'ApiId', '${HttpApiId}', { stat: 'p50' }], ['AWS/ApiGateway', 'Latency', 'ApiId', '${HttpApiId}', { stat: 'p99' }]], 0, 12),
      widget('Function errors', perFunction('Errors', 'Sum'), 6),
      widget('Function duration p99 (ms)', perFunction('Duration', 'p99'), 6, 12),
      // The product's own figures (shared/metrics.ts).
      widget('Sign-ups, logins by outcome, locks, refresh-token reuse', [ours('SignUps'), ours('Logins', { outcome: 'success' }), ours('Logins', { outcome: 'wrong_password' }), ours('Logins', { outcome: 'locked' }), ours('LoginLocks'), ours('RefreshTokenReuse')], 12),
      // Every outcome of an upload (ready, or each reason it was refused) by type, found by SEARCH.
      widget('Uploads by type and outcome', [[{ expression: `SEARCH('{${METRICS_NAMESPACE},outcome,service,type} MetricName="Uploads"', 'Sum', ${PERIOD})`, id: 'uploads' }]], 12, 12),
      widget('Processing time p50 / p99 (ms) by type', ['image', 'video'].flatMap((type) => ['p50', 'p99'].map((stat) => [METRICS_NAMESPACE, 'ProcessingTime', 'service', serviceName, 'type', type, { stat }])), 18),
      widget('Analyses, callbacks and live pushes by outcome', [ours('Analyses', { outcome: 'succeeded' }), ours('Analyses', { outcome: 'failed' }), ours('Callbacks', { outcome: 'delivered' }), ours('Callbacks', { outcome: 'failed' }), ours('Pushes', { outcome: 'delivered' }), ours('Pushes', { outcome: 'gone' })], 18, 12),
    ],
  };
}

module.exports = Operations;
module.exports.functionAlarmIds = functionAlarmIds;
