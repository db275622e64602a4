// Serverless plugin: removes the framework's shared execution role (IamRoleLambdaExecution)
// from the packaged template when no resource references it. Every function here has its own
// role (serverless-iam-roles-per-function), so the shared one would only be an unused role
// with log and queue permissions in each account. local/checks/policy.test.ts checks the result.
'use strict';

const DEFAULT_ROLE = 'IamRoleLambdaExecution';

function references(value, name) {
  if (Array.isArray(value)) return value.some((item) => references(item, name));
  if (value === null || typeof value !== 'object') return false;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'Ref' && child === name) return true;
    if (key === 'Fn::GetAtt' && (Array.isArray(child) ? child[0] === name : String(child).split('.')[0] === name)) return true;
    if (key === 'DependsOn' && (child === name || (Array.isArray(child) && child.includes(name)))) return true;
    if (key === 'Fn::Sub' && JSON.stringify(child).includes('${' + name)) return true;
    if (references(child, name)) return true;
  }
  return false;
}

class DropUnusedDefaultRole {
  constructor(serverless) {
    this.hooks = {
      'before:aws:package:finalize:saveServiceState': () => {
        const template = serverless.service.provider.compiledCloudFormationTemplate;
        const resources = template.Resources || {};
        if (resources[DEFAULT_ROLE] === undefined) return;
        const others = { ...template, Resources: { ...resources } };
        delete others.Resources[DEFAULT_ROLE];
        if (!references(others, DEFAULT_ROLE)) delete resources[DEFAULT_ROLE];
      },
    };
  }
}

module.exports = DropUnusedDefaultRole;
module.exports.references = references;
