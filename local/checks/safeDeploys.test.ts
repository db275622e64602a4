/**
 * Safe deploys in the packaged templates of every deployed stage (local/serverless/safe-deploys.cjs
 * with @flagsmith/serverless-plugin-canary-deployments): every function is served through its
 * alias `live` only, a new version reaches the alias through CodeDeploy as the stage file says,
 * and the function's own alarms roll a deployment back.
 */
import { expect } from 'chai';
import { packagedTemplate, type CfnResource, type PackagedTemplate } from '../gateway/template';
import { serviceConfig } from '../stack/serviceConfig';

type Node = Record<string, unknown>;
const STAGES = ['dev', 'test', 'prod'];
const ALIAS = 'live';

const ofType = (template: PackagedTemplate, type: string): Array<[string, CfnResource]> => Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
const props = (resource: CfnResource | undefined): Node => (resource?.Properties ?? {});
const deploymentTypeOf = (stage: string): unknown => ((serviceConfig(stage).custom?.['stage'] as Node | undefined)?.['deployments'] as Node | undefined)?.['type'];

/** Every place a resource refers to one of the given logical ids (Ref, GetAtt, or inside a Sub). */
function referencesTo(template: PackagedTemplate, ids: Set<string>): Array<{ from: string; type: string; to: string }> {
  const found: Array<{ from: string; type: string; to: string }> = [];
  const walk = (value: unknown, from: string, type: string): void => {
    if (Array.isArray(value)) return value.forEach((item) => walk(item, from, type));
    if (value === null || typeof value !== 'object') return;
    const node = value as Node;
    if (typeof node['Ref'] === 'string' && ids.has(node['Ref'])) found.push({ from, type, to: node['Ref'] });
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt) && ids.has(String(getAtt[0]))) found.push({ from, type, to: String(getAtt[0]) });
    const sub = node['Fn::Sub'];
    const text = typeof sub === 'string' ? sub : Array.isArray(sub) ? String(sub[0]) : '';
    for (const match of text.matchAll(/\$\{(\w+)(\.\w+)?\}/g)) if (ids.has(match[1] as string)) found.push({ from, type, to: match[1] as string });
    for (const child of Object.values(node)) walk(child, from, type);
  };
  for (const [id, resource] of Object.entries(template.Resources)) walk(resource, id, resource.Type);
  return found;
}

describe('safe deploys: an alias per function, shifted by CodeDeploy and rolled back by its alarms', function () {
  this.timeout(180_000);

  for (const stage of STAGES) {
    describe(stage, () => {
      let template: PackagedTemplate;
      before(async () => {
        template = await packagedTemplate(stage);
      });

      it('every function has the alias `live` on its published version, updated through its own CodeDeploy deployment group', () => {
        const functions = ofType(template, 'AWS::Lambda::Function').map(([id]) => id);
        const applications = ofType(template, 'AWS::CodeDeploy::Application');
        expect(applications.map(([, app]) => props(app)), 'one application, named for scripts').to.deep.equal([{ ComputePlatform: 'Lambda', ApplicationName: `media-library-${stage}` }]);
        const [applicationId] = applications[0] as [string, CfnResource];
        expect(functions.length).to.be.greaterThan(20);
        for (const fn of functions) {
          const aliases = ofType(template, 'AWS::Lambda::Alias').filter(([, alias]) => (props(alias)['FunctionName'] as Node)['Ref'] === fn);
          expect(aliases.length, `${fn}: one alias`).to.equal(1);
          const [aliasId, alias] = aliases[0] as [string, CfnResource];
          expect(props(alias)['Name'], aliasId).to.equal(ALIAS);
          const version = ((props(alias)['FunctionVersion'] as Node)['Fn::GetAtt'] as string[])[0] as string;
          expect(template.Resources[version]?.Type, `${aliasId} points at a version`).to.equal('AWS::Lambda::Version');
          expect((props(template.Resources[version])['FunctionName'] as Node)['Ref'], `${version} is a version of ${fn}`).to.equal(fn);
          const update = (alias as unknown as { UpdatePolicy?: { CodeDeployLambdaAliasUpdate?: Node } }).UpdatePolicy?.CodeDeployLambdaAliasUpdate;
          expect((update?.['ApplicationName'] as Node | undefined)?.['Ref'], `${aliasId}: updated through CodeDeploy`).to.equal(applicationId);
          const groupId = (update?.['DeploymentGroupName'] as Node | undefined)?.['Ref'] as string;
          expect(groupId, `${aliasId}: its deployment group`).to.equal(`${fn}DeploymentGroup`);
        }
      });

      it('each deployment group shifts traffic as the stage file says and rolls back on the function’s errors and throttles alarms', () => {
        const groups = ofType(template, 'AWS::CodeDeploy::DeploymentGroup');
        expect(groups.length).to.equal(ofType(template, 'AWS::Lambda::Function').length);
        const type = deploymentTypeOf(stage);
        expect(type, 'the stage file sets deployments.type').to.be.a('string');
        for (const [id, group] of groups) {
          const p = props(group);
          const fn = id.replace(/LambdaFunctionDeploymentGroup$/, '');
          expect(p['DeploymentGroupName'], id).to.equal(`media-library-${stage}-${id}`);
          expect(JSON.stringify(p['DeploymentConfigName']), id).to.include(`"ConfigName":"${String(type)}"`);
          expect(p['AutoRollbackConfiguration'], id).to.deep.include({ Enabled: true });
          expect((p['AutoRollbackConfiguration'] as Node)['Events'], id).to.include.members(['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM']);
          const alarms = ((p['AlarmConfiguration'] as Node)['Alarms'] as Array<{ Name: Node }>).map((alarm) => alarm.Name['Ref'] as string);
          expect(alarms, id).to.deep.equal([`${fn}ErrorsAlarm`, `${fn}ThrottlesAlarm`]);
          for (const alarm of alarms) {
            expect(template.Resources[alarm]?.Type, `${id}: alarm ${alarm} exists`).to.equal('AWS::CloudWatch::Alarm');
            const dimensions = props(template.Resources[alarm])['Dimensions'] as Array<{ Name: string; Value: Node }>;
            expect(dimensions.find((d) => d.Name === 'FunctionName')?.Value['Ref'], `${alarm} watches ${fn}`).to.equal(`${fn}LambdaFunction`);
          }
          expect((p['ServiceRoleArn'] as Node)['Fn::GetAtt'], id).to.deep.equal(['CodeDeployServiceRole', 'Arn']);
        }
      });

      it('nothing invokes a function but through its alias: routes, authorizer, WebSocket, S3, SNS, schedules, streams and their permissions', () => {
        const functions = new Set(ofType(template, 'AWS::Lambda::Function').map(([id]) => id));
        // What may name a function itself: its versions and alias, the metrics of its alarms, and the
        // settings of asynchronous invocations (which name the alias as Qualifier: checked below).
        const allowed = new Set(['AWS::Lambda::Version', 'AWS::Lambda::Alias', 'AWS::CloudWatch::Alarm', 'AWS::Lambda::EventInvokeConfig']);
        const bypassing = referencesTo(template, functions).filter((reference) => !allowed.has(reference.type));
        expect(bypassing.map((reference) => `${reference.type} ${reference.from} → ${reference.to}`)).to.deep.equal([]);
        // And the event sources do reach the aliases.
        const aliases = new Set(ofType(template, 'AWS::Lambda::Alias').map(([id]) => id));
        const users = new Set(referencesTo(template, aliases).map((reference) => reference.type));
        for (const type of ['AWS::ApiGatewayV2::Integration', 'AWS::ApiGatewayV2::Authorizer', 'AWS::Lambda::Permission', 'AWS::SNS::Subscription', 'AWS::S3::Bucket', 'AWS::Events::Rule', 'AWS::Lambda::EventSourceMapping']) {
          expect([...users], `${type} invokes an alias`).to.include(type);
        }
      });

      it('retries and the dead-letter queue of asynchronous invocations apply to the alias S3 and SNS invoke', () => {
        const configs = ofType(template, 'AWS::Lambda::EventInvokeConfig');
        expect(configs.length).to.be.greaterThan(0);
        for (const [id, config] of configs) {
          expect(props(config)['Qualifier'], id).to.equal(ALIAS);
          const fn = (props(config)['FunctionName'] as Node)['Ref'] as string;
          expect([config.DependsOn ?? []].flat(), `${id} waits for the alias`).to.include(`${fn}Alias${ALIAS}`);
        }
      });
    });
  }
});
