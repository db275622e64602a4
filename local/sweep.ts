/**
 * `npm run sweep`: runs the sweepUploads function now, through the running `npm start`
 * (serverless-offline's Lambda endpoint), instead of waiting for its hourly schedule.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { stackUrl } from './stack/running';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
// The running stack's Lambda endpoint, wherever it was started (ML_LAMBDA_PORT picks one explicitly).
const endpoint = stackUrl('lambda', 'ML_LAMBDA_PORT', 3002);
const client = new LambdaClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

client
  .send(new InvokeCommand({ FunctionName: 'media-library-local-sweepUploads', Payload: Buffer.from('{}') }))
  .then((result) => {
    const payload = Buffer.from(result.Payload ?? new Uint8Array()).toString('utf8');
    if (result.FunctionError !== undefined) throw new Error(`sweepUploads failed: ${payload}`);
    console.log(`sweepUploads: ${payload}`);
  })
  .catch((error: Error) => {
    console.error(`${error.message}\nIs \`npm start\` running? (Lambda endpoint ${endpoint})`);
    process.exit(1);
  });
