/**
 * IAM enforcement cannot pass vacuously: the same flows that work with the packaged roles fail,
 * the way they would on AWS, once one permission is taken out of one function's role.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import { localRoles } from '../gateway';
import type { FunctionRole } from '../gateway/roles';
import type { RunningOffline } from '../stack/offline';
import { ApiClient, newAccount } from '../test/http';
import { settled, upload } from '../test/media';
import { extraOfflineApi, localStack, offlineApi, sharedOfflineDenials } from '../test/stack';
import { TOOLING_CREDENTIALS } from '../stack/credentials';
import { requireEnv } from '../../shared/config/env';
import { userPartition } from '../../shared/stores/keys';
import { dynamoMediaStore, type MediaRecord } from '../../shared/stores/media';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'media');

/** The packaged roles with `action` taken out of the statements of `fn`'s role. */
async function rolesWithout(fn: string, action: string): Promise<Map<string, FunctionRole>> {
  const roles = structuredClone(await localRoles());
  const role = [...roles.values()].find((candidate) => candidate.name === fn);
  if (role === undefined) throw new Error(`no role for ${fn}`);
  let removed = 0;
  for (const policy of role.policies) {
    for (const statement of policy.document.Statement) {
      const actions = ([] as unknown[]).concat(statement['Action']);
      const kept = actions.filter((candidate) => candidate !== action);
      removed += actions.length - kept.length;
      statement['Action'] = kept;
    }
    policy.document.Statement = policy.document.Statement.filter((statement) => (statement['Action'] as unknown[]).length > 0);
  }
  if (removed === 0) throw new Error(`${fn}'s role does not grant ${action}: nothing to take away`);
  return roles;
}

describe('IAM enforced on the local stack: one permission less breaks the matching flow', function () {
  this.timeout(240_000);
  let offline: RunningOffline;
  let api: ApiClient;

  before(async () => {
    const roles = await rolesWithout('processUpload', 'dynamodb:PutItem');
    for (const [fn, action] of [
      ['getMetadata', 'dynamodb:GetItem'],
      ['createAnalysis', 'sns:Publish'],
    ] as const) {
      for (const [name, role] of await rolesWithout(fn, action)) if (role.name === fn) roles.set(name, role);
    }
    offline = await extraOfflineApi({}, { roles });
    api = new ApiClient(offline.baseUrl);
  });
  after(async () => {
    await offline?.stop();
  });

  it('processUpload without dynamodb:PutItem: the photo never becomes ready, and the ready transaction was refused as on AWS', async () => {
    const account = newAccount('iam');
    await api.post('/v1/users', { body: account });
    const token = (await api.post<{ accessToken: string }>('/v1/sessions', { body: { email: account.email, password: account.password } })).body.accessToken;
    const created = await upload(api, token, { bytes: fs.readFileSync(path.join(FIXTURES, 'photo-exif.jpg')), filename: 'p.jpg', contentType: 'image/jpeg' });

    const deadline = Date.now() + 20_000;
    while (!offline.denials().some((denial) => denial.fn === 'processUpload') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(offline.denials()).to.deep.include({
      service: 'dynamodb',
      fn: 'processUpload',
      action: 'dynamodb:PutItem',
      resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/media-library-local-media',
      code: 'AccessDeniedException',
    });
    const item = await api.get<{ status: string }>(`/v1/media/${created.media.id}`, { token });
    expect(item.body.status).to.equal('pending');

    const metadata = await api.get<{ error: { code: string } }>(`/v1/media/${created.media.id}/metadata`, { token });
    expect(metadata.status, 'getMetadata without dynamodb:GetItem').to.equal(500);
    expect(metadata.body.error.code).to.equal('internal_error');
    expect(offline.denials().map((denial) => `${denial.fn} ${denial.action}`)).to.include('getMetadata dynamodb:GetItem');

    // createAnalysis that may not publish: the job it wrote first is taken back (nobody would run it).
    const stack = await localStack();
    const tooling = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials: TOOLING_CREDENTIALS }), { marshallOptions: { removeUndefinedValues: true } });
    const media = dynamoMediaStore(tooling, requireEnv('MEDIA_TABLE'));
    const userId = (await api.get<{ id: string }>('/v1/users/me', { token })).body.id;
    const record = await media.get(userId, created.media.id);
    expect(await media.markReady(record as MediaRecord, { width: 1, height: 1 }, '"etag"', new Date().toISOString())).to.equal(true);
    const analysis = await api.post<{ error: { code: string } }>(`/v1/media/${created.media.id}/analyses`, { token });
    expect([analysis.status, analysis.body.error.code]).to.deep.equal([500, 'internal_error']);
    expect(offline.denials().map((denial) => `${denial.fn} ${denial.action}`)).to.include('createAnalysis sns:Publish');
    const jobs = await tooling.send(new QueryCommand({ TableName: requireEnv('ANALYSES_TABLE'), KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': userPartition(userId) } }));
    expect(jobs.Items ?? [], 'no job left behind').to.deep.equal([]);
  });
});

describe('every function calls AWS as itself, also when subscribers run at the same time', function () {
  this.timeout(240_000);
  let api: ApiClient;

  before(async () => {
    // The shared offline, with the packaged roles: the run fails at its end if its gateway refused
    // any call (local/test/stack.ts), and this test looks at once.
    api = new ApiClient((await offlineApi()).baseUrl);
  });

  // S3 delivers uploads to processUpload and SNS delivers analysis requests to runAnalysis. Were
  // either run in a process shared with the other, one's calls could carry the other's identity
  // (and be refused by, or worse allowed by, the wrong role); on Lambda each has its own.
  it('uploads (processUpload) and analyses (runAnalysis) interleaved: no call refused, every item ready, every job done', async () => {
    const account = newAccount('identity');
    await api.post('/v1/users', { body: account });
    const token = (await api.post<{ accessToken: string }>('/v1/sessions', { body: { email: account.email, password: account.password } })).body.accessToken;
    const photo = fs.readFileSync(path.join(FIXTURES, 'photo-exif.jpg'));
    const uploadOne = async (index: number): Promise<string> => (await upload(api, token, { bytes: photo, filename: `p${index}.jpg`, contentType: 'image/jpeg' })).media.id;
    const untilReady = async (id: string): Promise<string> => (await settled(api, token, id, 60_000)).status;
    const first = await Promise.all([0, 1, 2].map(uploadOne));
    expect(await Promise.all(first.map(untilReady))).to.deep.equal(['ready', 'ready', 'ready']);

    const rounds = 4;
    const uploads: Array<Promise<string>> = [];
    const jobs: Array<Promise<string>> = [];
    for (let round = 0; round < rounds; round += 1) {
      for (const index of [0, 1, 2]) {
        uploads.push(uploadOne(10 * round + index).then(untilReady));
        jobs.push(
          api.post<{ id: string }>(`/v1/media/${first[index] as string}/analyses`, { token }).then(async (requested) => {
            expect(requested.status, requested.text).to.equal(202);
            for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
              const job = await api.get<{ status: string }>(`/v1/analyses/${requested.body.id}`, { token });
              if (job.body.status === 'succeeded' || job.body.status === 'failed') return job.body.status;
            }
            return 'unfinished';
          }),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const outcomes = { uploads: await Promise.all(uploads), jobs: await Promise.all(jobs) };
    const denials = sharedOfflineDenials();
    expect([...new Set(denials.map((denial) => `${denial.fn} ${denial.action} ${denial.resource}`))], 'calls refused at the local AWS gateway').to.deep.equal([]);
    expect(outcomes).to.deep.equal({ uploads: Array(3 * rounds).fill('ready'), jobs: Array(3 * rounds).fill('succeeded') });
  });
});
