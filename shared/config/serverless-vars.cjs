// Values serverless.yml derives from the stage file that YAML alone cannot express.
// Used as ${file(./shared/config/serverless-vars.cjs):name}.
'use strict';

const stageValue = (resolveVariable, path) => resolveVariable(`self:custom.stage.${path}`);

module.exports = {
  // Lambda environment values must be strings: the stage's CORS origin list, comma-joined.
  async corsOrigins({ resolveVariable }) {
    const origins = await stageValue(resolveVariable, 'corsOrigins');
    return origins.join(',');
  },
  // Lifetimes are written in the unit people think in; the functions get seconds.
  async accessTokenTtlSeconds({ resolveVariable }) {
    return String(Number(await stageValue(resolveVariable, 'accessTokenTtlMinutes')) * 60);
  },
  async shortSessionSeconds({ resolveVariable }) {
    return String(Number(await stageValue(resolveVariable, 'shortSessionHours')) * 3600);
  },
  async longSessionSeconds({ resolveVariable }) {
    return String(Number(await stageValue(resolveVariable, 'longSessionDays')) * 86400);
  },
  async maxImageBytes({ resolveVariable }) {
    return String(Number(await stageValue(resolveVariable, 'media.maxImageMB')) * 1024 * 1024);
  },
  async maxVideoBytes({ resolveVariable }) {
    return String(Number(await stageValue(resolveVariable, 'media.maxVideoMB')) * 1024 * 1024);
  },
  async uploadUrlSeconds({ resolveVariable }) {
    return String(Number(await stageValue(resolveVariable, 'media.uploadUrlMinutes')) * 60);
  },
  async downloadUrlSeconds({ resolveVariable }) {
    return String(Number(await stageValue(resolveVariable, 'media.downloadUrlMinutes')) * 60);
  },
  // Stages with `vpc: true` run every function in the private subnets of the stack
  // media-library-vpc-<stage> (aws-vpc.template), with its security group.
  async vpc({ resolveVariable }) {
    if ((await stageValue(resolveVariable, 'vpc')) !== true) return null;
    const stage = await resolveVariable('sls:stage');
    return {
      securityGroupIds: [{ 'Fn::ImportValue': `media-library-vpc-${stage}-FunctionSecurityGroupId` }],
      subnetIds: { 'Fn::Split': [',', { 'Fn::ImportValue': `media-library-vpc-${stage}-PrivateSubnetIds` }] },
    };
  },
  // A job's lease outlives the worker's timeout, so only a dead run's job can be taken over.
  async analysisLeaseSeconds({ resolveVariable }) {
    return String(Number(await stageValue(resolveVariable, 'analysis.workerTimeoutSeconds')) + 30);
  },
  // On AWS the topic's ARN comes from CloudFormation; serverless-offline-sns names local topics
  // arn:aws:sns:<region>:123456789012:<name>.
  async analysisTopicArn({ resolveVariable }) {
    const stage = await resolveVariable('sls:stage');
    if (stage !== 'local') return { Ref: 'AnalysisRequestsTopic' };
    const region = await resolveVariable('self:provider.region');
    const name = await resolveVariable('self:custom.analysisTopicName');
    return `arn:aws:sns:${region}:123456789012:${name}`;
  },

  // Where functions push live updates: the WebSocket API's stage URL on AWS; locally the local
  // AWS gateway in front of serverless-offline's WebSocket server (ML_WS_PORT).
  async liveEndpoint({ resolveVariable }) {
    const stage = await resolveVariable('sls:stage');
    if (stage === 'local') return `http://127.0.0.1:${process.env.ML_WS_PORT || '3001'}`;
    return { 'Fn::Sub': 'https://${WebsocketsApi}.execute-api.${AWS::Region}.amazonaws.com/' + stage };
  },
};
