// Serverless plugin, `serverless offline` only: SNS delivers to its subscribers (runAnalysis) as
// it does on AWS, by invoking the Lambda function, so each runs in its own serverless-offline
// worker with its own environment, timeout and current code.
//
// Why: serverless-offline-sns imports a subscriber's handler into the serverless process itself
// and swaps process.env around each call, while serverless-s3-local writes processUpload's
// environment into that same process.env for every S3 event. With an analysis and an upload in
// flight at once, runAnalysis ran with processUpload's AWS_LAMBDA_FUNCTION_NAME, the identity the
// local AWS gateway authorises calls with (shared/aws/localCredentials.ts): its calls were judged
// by the wrong role. Invoked through serverless-offline's Lambda endpoint, a function has the
// name, environment and isolation that Lambda gives it, and nothing of ours runs in the
// serverless process.
'use strict';

class SnsSubscribersAsLambdas {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {};
    if (serverless?.processedInput?.commands?.[0] !== 'offline') return;
    // Listed before serverless-offline-sns in serverless.yml, so this runs before it subscribes.
    const redirect = () => this.redirectDeliveries();
    this.hooks = { 'before:offline:start:init': redirect, 'before:offline:start': redirect };
  }

  redirectDeliveries() {
    const sns = this.serverless.pluginManager.plugins.find((plugin) => plugin.constructor.name === 'ServerlessOfflineSns');
    if (sns === undefined) throw new Error('sns-subscribers-as-lambdas: serverless-offline-sns is not loaded');
    if (sns.createHandler === this.createHandler) return;
    const offline = this.serverless.service.custom?.['serverless-offline'] ?? {};
    const endpoint = `http://${offline.host ?? '127.0.0.1'}:${offline.lambdaPort ?? 3002}`;
    // serverless-offline-sns calls handler(event, context, callback) and settles the delivery with
    // the promise it returns: the function's result, or its error.
    this.createHandler = async (_functionKey, fn) => (event) => invoke(endpoint, String(fn.name), event);
    sns.createHandler = this.createHandler;
  }
}

/** Lambda's Invoke API (RequestResponse) on serverless-offline: the result, or the function's error thrown. */
async function invoke(endpoint, functionName, event) {
  const response = await fetch(`${endpoint}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
    body: JSON.stringify(event),
  });
  const text = await response.text();
  const payload = parse(text);
  if (response.status !== 200 || response.headers.get('x-amz-function-error') !== null) {
    throw new Error(`${functionName} failed: ${payload?.errorMessage ?? payload?.Message ?? (text || `status ${response.status}`)}`);
  }
  return payload;
}

function parse(text) {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return text;
  }
}

module.exports = SnsSubscribersAsLambdas;
