/**
 * `npm run sweep`: runs the sweepUploads function now, through the running `npm start`
 * (serverless-offline's Lambda endpoint), instead of waiting for its hourly schedule.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
const port = process.env['ML_LAMBDA_PORT'] ?? '3002';
const client = new LambdaClient({
  endpoint: `http://127.0.0.1:${port}`,
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
    console.error(`${error.message}\nIs \`npm start\` running? (Lambda endpoint http://127.0.0.1:${port})`);
    process.exit(1);
  });
