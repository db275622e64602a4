// Serverless plugin, `serverless offline` only: gives every function AWS_LAMBDA_FUNCTION_NAME in
// its own environment. serverless-offline sets it for the functions it runs, but
// serverless-offline-sns runs SNS subscribers (runAnalysis) inside its own process with only the
// function's `environment`. The name is the identity the local AWS gateway authorises calls with
// (shared/aws/localCredentials.ts), so every function must carry it however it is invoked.
'use strict';

class FunctionIdentities {
  constructor(serverless, options) {
    const addNames = () => {
      for (const [key, fn] of Object.entries(serverless.service.functions || {})) {
        const name = fn.name || `${serverless.service.service}-${options.stage || serverless.service.provider.stage}-${key}`;
        fn.environment = { ...(fn.environment || {}), AWS_LAMBDA_FUNCTION_NAME: name };
      }
    };
    this.hooks = { 'before:offline:start:init': addNames, 'before:offline:start': addNames };
  }
}

module.exports = FunctionIdentities;
