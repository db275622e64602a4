// Serverless plugin: every function is served through its alias `live`, and a new version reaches
// it through AWS CodeDeploy, shifted as the stage says (`deployments.type`: AllAtOnce, or a canary
// or linear shift) and rolled back when one of the function's alarms fires (docs/operations.md).
//
// The traffic shifting itself is @flagsmith/serverless-plugin-canary-deployments (ISC): it adds
// the alias, a CodeDeploy application and one deployment group per function, and points every
// event source and permission at the alias. This plugin gives it each function's settings from the
// stage file, and then:
// - names the CodeDeploy application `<service>-<stage>` (a function's pipeline shifts traffic with
//   it: local/delivery/release.ts), and
// - keeps CodeDeploy's role to AWS's own least-privilege policy for Lambda deployments
//   (AWSCodeDeployRoleForLambdaLimited: read alarms, get and update aliases); the plugin also
//   attaches AWSLambda_FullAccess, which only traffic hooks need, and we have none.
//
// Under `serverless offline` nothing changes: functions run as they are.
'use strict';

const { functionAlarmIds } = require('./operations.cjs');

const ALIAS = 'live';
const LIMITED_POLICY = 'service-role/AWSCodeDeployRoleForLambdaLimited';

class SafeDeploys {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      initialize: () => this.configureFunctions(),
      'before:aws:package:finalize:saveServiceState': () => this.finishResources(),
    };
  }

  get settings() {
    return this.serverless.service.custom?.stage?.deployments;
  }

  configureFunctions() {
    const service = this.serverless.service;
    const settings = this.settings;
    if (settings?.type === undefined) return;
    service.custom.deploymentSettings = { stages: [service.provider.stage] };
    const naming = this.serverless.getProvider('aws').naming;
    for (const key of service.getAllFunctions()) {
      const ids = functionAlarmIds(naming, key);
      service.getFunction(key).deploymentSettings = { type: settings.type, alias: ALIAS, alarms: [ids.errors, ids.throttles] };
    }
  }

  finishResources() {
    if (this.settings?.type === undefined) return;
    const service = this.serverless.service;
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    const applications = Object.values(resources).filter((resource) => resource.Type === 'AWS::CodeDeploy::Application');
    if (applications.length !== 1) throw new Error(`safe-deploys: expected one CodeDeploy application, found ${applications.length}`);
    applications[0].Properties.ApplicationName = applicationName(service.service, service.provider.stage);
    const role = resources.CodeDeployServiceRole;
    if (role === undefined) throw new Error('safe-deploys: the CodeDeploy role is missing');
    role.Properties.ManagedPolicyArns = [{ 'Fn::Sub': `arn:\${AWS::Partition}:iam::aws:policy/${LIMITED_POLICY}` }];
    this.configureAsyncInvocationsOfTheAlias(resources);
  }

  /**
   * S3 and SNS now invoke the alias, and an alias has its own asynchronous-invocation settings:
   * the retries and the on-failure queue that serverless configured for $LATEST would never apply
   * (a failed upload would be retried by Lambda's defaults and then dropped, not dead-lettered).
   */
  configureAsyncInvocationsOfTheAlias(resources) {
    const aliasOf = new Map(
      Object.entries(resources)
        .filter(([, resource]) => resource.Type === 'AWS::Lambda::Alias' && resource.Properties.Name === ALIAS)
        .map(([id, resource]) => [resource.Properties.FunctionName.Ref, id]),
    );
    for (const [id, resource] of Object.entries(resources)) {
      if (resource.Type !== 'AWS::Lambda::EventInvokeConfig') continue;
      const alias = aliasOf.get(resource.Properties.FunctionName?.Ref);
      if (alias === undefined) throw new Error(`safe-deploys: ${id} configures a function without the alias ${ALIAS}`);
      resource.Properties.Qualifier = ALIAS;
      resource.DependsOn = [...new Set([...[resource.DependsOn ?? []].flat(), alias])];
    }
  }
}

/** The CodeDeploy application of a stage; each function's deployment group is `<stack>-<Function>LambdaFunctionDeploymentGroup`. */
function applicationName(service, stage) {
  return `${service}-${stage}`;
}

module.exports = SafeDeploys;
module.exports.ALIAS = ALIAS;
module.exports.applicationName = applicationName;
