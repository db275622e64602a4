/**
 * Upload throughput through the presigned POST: the deployed createMedia bundle hands out the
 * form (as POST /v1/media does), then the file is posted as multipart/form-data, fields first and
 * the file last, to the S3 stand-in on loopback, as a browser or app would.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { httpEvent, lambdaContext } from '../../test/events';
import type { UploadResult } from '../results';
import { summarize } from '../stats';
import { seeder } from './seed';

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface UploadPostInput {
  bundle: string;
  megabytes: number;
  runs: number;
}

export async function run(input: UploadPostInput): Promise<NonNullable<UploadResult['post']>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const createMedia = (require(input.bundle) as { handler: Handler }).handler;
  const seed = seeder();
  const user = await seed.user('$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g', 'post');
  const session = await seed.session(user.id);
  const size = input.megabytes * 1024 * 1024;
  const file = new Blob([Buffer.alloc(size, 7)], { type: 'video/mp4' });
  const ms: number[] = [];
  const rates: number[] = [];
  let status = 0;
  for (let run = 0; run < input.runs; run++) {
    const response = await createMedia(
      httpEvent({ method: 'POST', path: '/v1/media', body: { filename: 'clip.mp4', contentType: 'video/mp4', size }, caller: { userId: user.id, sessionId: session.sessionId } }),
      lambdaContext('createMedia'),
    );
    if (response.statusCode !== 201) throw new Error(`createMedia answered ${response.statusCode}: ${response.body ?? ''}`);
    const { upload } = JSON.parse(response.body ?? '{}') as { upload: { url: string; fields: Record<string, string> } };
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', file, 'clip.mp4');
    const started = performance.now();
    const posted = await fetch(upload.url, { method: 'POST', body: form });
    await posted.arrayBuffer();
    const elapsed = performance.now() - started;
    status = posted.status;
    if (posted.status >= 300) throw new Error(`the presigned POST answered ${posted.status}`);
    ms.push(elapsed);
    rates.push(size / 1024 / 1024 / (elapsed / 1000));
  }
  return { bytes: size, mibPerSecond: summarize(rates), ms: summarize(ms), status };
}
