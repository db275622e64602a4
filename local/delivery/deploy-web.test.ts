import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import sinon, { type SinonStub } from 'sinon';
import { APP_CONFIG_KEY, buildFiles, deployWeb, IMMUTABLE, releaseKey, REVALIDATE, type WebDeployClients } from './deploy-web';

const NOW = new Date('2026-06-15T12:00:00.000Z');
const daysAgo = (days: number): Date => new Date(NOW.getTime() - days * 24 * 60 * 60 * 1000);
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };
const LIVE_URL = 'wss://abc123defg.execute-api.eu-west-1.amazonaws.com/test';
const OUTPUTS = { AppBucketName: 'app-bucket', AppDistributionId: 'E123', LiveUrl: LIVE_URL };

const builds: string[] = [];

/** A build as Vite writes it. */
function makeBuild(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-web-build-'));
  builds.push(dir);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const BUILD = {
  'index.html': '<script type="module" src="/assets/index-new.js"></script>',
  'assets/index-new.js': 'console.log("new")',
  'assets/index-new.css': 'body{}',
  'assets/hash.worker-new.js.map': '{}',
  'favicon.ico': 'icon',
};
/** What the local build leaves beside the site (local/stack/webBuild.ts), never uploaded. */
const BOOKKEEPING = { '.source-digest': 'abc' };

interface StoredObject {
  Key: string;
  LastModified: Date;
  body?: string;
}

/**
 * The three clients with `send` stubbed: a stack with the app outputs, a bucket holding
 * `existing`, and a record of every command in the order sent.
 */
function fakeAws(existing: StoredObject[] = [], outputs: Record<string, string> = OUTPUTS) {
  const clients: WebDeployClients = {
    cloudFormation: new CloudFormationClient({ region: 'us-east-1', credentials }),
    s3: new S3Client({ region: 'us-east-1', credentials }),
    cloudFront: new CloudFrontClient({ region: 'us-east-1', credentials }),
  };
  const bucket = new Map(existing.map((object) => [object.Key, object]));
  const sent: Array<{ name: string; input: Record<string, unknown> }> = [];
  const record = (command: { constructor: { name: string }; input: unknown }): Record<string, unknown> => {
    const input = command.input as Record<string, unknown>;
    sent.push({ name: command.constructor.name, input });
    return input;
  };
  // `send` as the SDK calls it: one command in, a promise of its output back.
  const stubSend = (stub: unknown): SinonStub<[unknown], Promise<unknown>> => stub as SinonStub<[unknown], Promise<unknown>>;
  stubSend(sinon.stub(clients.cloudFormation, 'send')).callsFake(async (command) => {
    const input = record(command as DescribeStacksCommand);
    expect(command).to.be.instanceOf(DescribeStacksCommand);
    return { Stacks: [{ StackName: String(input['StackName']), Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] };
  });
  stubSend(sinon.stub(clients.cloudFront, 'send')).callsFake(async (command) => {
    record(command as CreateInvalidationCommand);
    expect(command).to.be.instanceOf(CreateInvalidationCommand);
    return { Invalidation: { Id: 'I1' } };
  });
  stubSend(sinon.stub(clients.s3, 'send')).callsFake(async (command) => {
    const input = record(command as PutObjectCommand);
    const key = String(input['Key']);
    if (command instanceof PutObjectCommand) {
      bucket.set(key, { Key: key, LastModified: NOW, body: Buffer.isBuffer(input['Body']) ? input['Body'].toString() : String(input['Body']) });
      return {};
    }
    if (command instanceof ListObjectsV2Command) return { Contents: [...bucket.values()].map(({ Key, LastModified }) => ({ Key, LastModified })), IsTruncated: false };
    if (command instanceof GetObjectCommand) return { Body: { transformToString: async () => bucket.get(key)?.body ?? '' } };
    if (command instanceof DeleteObjectsCommand) {
      for (const { Key } of (input['Delete'] as { Objects: Array<{ Key: string }> }).Objects) bucket.delete(Key);
      return { Errors: [] };
    }
    throw new Error(`unexpected ${command?.constructor.name}`);
  });
  return { clients, sent, bucket };
}

const options = (dist: string, graceDays = 7) => ({ stage: 'test', dist, graceDays, now: NOW, log: () => undefined });
const releaseRecord = (at: Date, files: string[]): StoredObject => ({ Key: releaseKey(at), LastModified: at, body: JSON.stringify({ files }) });
const file = (Key: string, at: Date): StoredObject => ({ Key, LastModified: at });

describe('deploy-web: the built app to its bucket and distribution', () => {
  afterEach(() => sinon.restore());
  after(() => {
    for (const dir of builds.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the bucket and distribution from the outputs of the stage’s stack', async () => {
    const { clients, sent } = fakeAws();
    const report = await deployWeb(clients, options(makeBuild(BUILD)));
    expect(sent[0]).to.deep.equal({ name: 'DescribeStacksCommand', input: { StackName: 'media-library-test' } });
    expect(report).to.include({ bucket: 'app-bucket', distributionId: 'E123' });
    expect(sent.filter((call) => call.name === 'PutObjectCommand').every((call) => call.input['Bucket'] === 'app-bucket')).to.equal(true);
  });

  it('refuses a stack without the app outputs (the service stack is not deployed yet), uploading nothing', async () => {
    const { clients, sent } = fakeAws([], { HttpApiUrl: 'https://x' });
    await deployWeb(clients, options(makeBuild(BUILD))).then(
      () => expect.fail('deployed'),
      (error: Error) => expect(error.message).to.contain('stack media-library-test has no AppBucketName/AppDistributionId outputs'),
    );
    expect(sent.map((call) => call.name)).to.deep.equal(['DescribeStacksCommand']);
  });

  it('uploads the hashed assets first (immutable for a year), then the other files and config.json, then index.html (no-cache), each with its Content-Type', async () => {
    const { clients, sent } = fakeAws();
    await deployWeb(clients, options(makeBuild(BUILD)));
    const puts = sent.filter((call) => call.name === 'PutObjectCommand' && !String(call.input['Key']).startsWith('_releases/')).map((call) => [call.input['Key'], call.input['CacheControl'], call.input['ContentType']]);
    expect(puts).to.deep.equal([
      ['assets/hash.worker-new.js.map', IMMUTABLE, 'application/json'],
      ['assets/index-new.css', IMMUTABLE, 'text/css; charset=utf-8'],
      ['assets/index-new.js', IMMUTABLE, 'text/javascript; charset=utf-8'],
      ['favicon.ico', REVALIDATE, 'image/x-icon'],
      ['config.json', REVALIDATE, 'application/json'],
      ['index.html', REVALIDATE, 'text/html; charset=utf-8'],
    ]);
    expect(IMMUTABLE).to.equal('public, max-age=31536000, immutable');
    expect(REVALIDATE).to.equal('no-cache');
  });

  it('uploads the bytes of the build unchanged, and not the build’s dotfiles', async () => {
    const { clients, bucket } = fakeAws();
    await deployWeb(clients, options(makeBuild({ ...BUILD, ...BOOKKEEPING })));
    for (const [key, content] of Object.entries(BUILD)) expect(bucket.get(key)?.body, key).to.equal(content);
    expect(bucket.has('.source-digest')).to.equal(false);
  });

  it('then records the release and invalidates /index.html, and deletes nothing before that', async () => {
    const { clients, sent } = fakeAws([file('assets/index-ancient.js', daysAgo(90))]);
    const report = await deployWeb(clients, options(makeBuild(BUILD)));
    const names = sent.map((call) => (typeof call.input['Key'] === 'string' ? `${call.name} ${call.input['Key']}` : call.name));
    const index = names.indexOf('PutObjectCommand index.html');
    expect(names.slice(index + 1, index + 3)).to.deep.equal([`PutObjectCommand ${releaseKey(NOW)}`, 'CreateInvalidationCommand']);
    expect(names.findIndex((name) => name.startsWith('DeleteObjectsCommand'))).to.be.greaterThan(index + 2);
    const invalidation = sent.find((call) => call.name === 'CreateInvalidationCommand')?.input;
    expect(invalidation?.['DistributionId']).to.equal('E123');
    expect(invalidation?.['InvalidationBatch']).to.deep.include({ Paths: { Quantity: 1, Items: ['/index.html'] } });
    expect(report.invalidationId).to.equal('I1');
    const release = JSON.parse(String(sent.find((call) => call.input['Key'] === releaseKey(NOW))?.input['Body'])) as { files: string[] };
    // config.json too: the clean-up never takes it for a file no release uses.
    expect(release.files.sort()).to.deep.equal([...Object.keys(BUILD), 'config.json'].sort());
  });

  it('keeps the previous build’s files however old they are, so tabs opened before the deploy keep loading their chunks', async () => {
    // The previous deploy was 60 days ago: its files are old, but they were live until now.
    const { clients, bucket } = fakeAws([releaseRecord(daysAgo(60), ['index.html', 'assets/index-old.js']), file('assets/index-old.js', daysAgo(60)), file('index.html', daysAgo(60))]);
    const report = await deployWeb(clients, options(makeBuild(BUILD)));
    expect(report.deleted).to.deep.equal([]);
    expect(bucket.has('assets/index-old.js')).to.equal(true);
  });

  it('deletes files of builds replaced longer than the grace period ago, and their release records; keeps builds replaced within it', async () => {
    const { clients, bucket } = fakeAws([
      // Live from 40 to 20 days ago: replaced 20 days ago, beyond 7 days of grace.
      releaseRecord(daysAgo(40), ['index.html', 'assets/a.js', 'assets/shared.js']),
      file('assets/a.js', daysAgo(40)),
      // Live from 20 to 3 days ago: replaced within the grace period.
      releaseRecord(daysAgo(20), ['index.html', 'assets/b.js', 'assets/shared.js']),
      file('assets/b.js', daysAgo(20)),
      file('assets/shared.js', daysAgo(20)),
      // Live from 3 days ago until now.
      releaseRecord(daysAgo(3), ['index.html', 'assets/c.js']),
      file('assets/c.js', daysAgo(3)),
      // In no release: a hand upload of yesterday is kept until it is older than the grace period.
      file('assets/manual-yesterday.js', daysAgo(1)),
      file('assets/manual-old.js', daysAgo(30)),
    ]);
    const report = await deployWeb(clients, options(makeBuild(BUILD)));
    expect(report.deleted).to.deep.equal(['_releases/2026-05-06T12:00:00.000Z.json', 'assets/a.js', 'assets/manual-old.js']);
    for (const kept of ['assets/b.js', 'assets/shared.js', 'assets/c.js', 'assets/manual-yesterday.js', 'assets/index-new.js', 'index.html', 'config.json']) expect(bucket.has(kept), kept).to.equal(true);
  });

  it('with a shorter grace period, the build replaced 3 days ago goes too', async () => {
    const { clients } = fakeAws([
      releaseRecord(daysAgo(20), ['index.html', 'assets/b.js']),
      file('assets/b.js', daysAgo(20)),
      releaseRecord(daysAgo(3), ['index.html', 'assets/c.js']),
      file('assets/c.js', daysAgo(3)),
    ]);
    const report = await deployWeb(clients, options(makeBuild(BUILD), 2));
    expect(report.deleted).to.deep.equal([releaseKey(daysAgo(20)), 'assets/b.js']);
  });

  describe('config.json: the app’s runtime settings, from the stack’s outputs', () => {
    it('says where the live-updates WebSocket is (output LiveUrl), no-cache, as JSON, before index.html', async () => {
      const { clients, sent, bucket } = fakeAws();
      const report = await deployWeb(clients, options(makeBuild(BUILD)));
      expect(JSON.parse(String(bucket.get(APP_CONFIG_KEY)?.body))).to.deep.equal({ liveUrl: LIVE_URL });
      expect(report.config).to.deep.equal({ liveUrl: LIVE_URL });
      const put = sent.find((call) => call.name === 'PutObjectCommand' && call.input['Key'] === 'config.json')?.input;
      expect(put).to.include({ Bucket: 'app-bucket', ContentType: 'application/json', CacheControl: 'no-cache' });
      const keys = sent.filter((call) => call.name === 'PutObjectCommand').map((call) => call.input['Key']);
      expect(keys.indexOf('config.json')).to.be.lessThan(keys.indexOf('index.html'));
    });

    it('each stage gets its own URL from the same build', async () => {
      const dist = makeBuild(BUILD);
      const prodUrl = 'wss://prod000001.execute-api.eu-west-1.amazonaws.com/prod';
      const { clients, bucket } = fakeAws([], { ...OUTPUTS, LiveUrl: prodUrl });
      await deployWeb(clients, { ...options(dist), stage: 'prod' });
      expect(JSON.parse(String(bucket.get(APP_CONFIG_KEY)?.body))).to.deep.equal({ liveUrl: prodUrl });
    });

    it('a stack from before live updates (no LiveUrl): an empty config, and the app polls', async () => {
      const lines: string[] = [];
      const { clients, bucket } = fakeAws([], { AppBucketName: 'app-bucket', AppDistributionId: 'E123' });
      const report = await deployWeb(clients, { ...options(makeBuild(BUILD)), log: (line: string) => lines.push(line) });
      expect(JSON.parse(String(bucket.get(APP_CONFIG_KEY)?.body))).to.deep.equal({});
      expect(report.config).to.deep.equal({});
      expect(lines.join('\n')).to.contain('no LiveUrl output');
    });

    it('refuses a LiveUrl that is not wss:// (the page is https: a ws:// socket would be blocked), uploading nothing', async () => {
      const { clients, sent } = fakeAws([], { ...OUTPUTS, LiveUrl: 'ws://abc123defg.execute-api.eu-west-1.amazonaws.com/test' });
      await deployWeb(clients, options(makeBuild(BUILD))).then(
        () => expect.fail('deployed'),
        (error: Error) => expect(error.message).to.contain('is not a wss:// URL'),
      );
      expect(sent.map((call) => call.name)).to.deep.equal(['DescribeStacksCommand']);
    });
  });

  it('refuses a folder that is not a build, or a file whose type it does not know, before touching AWS', async () => {
    const { clients, sent } = fakeAws();
    for (const [files, message] of [
      [{ 'assets/index.js': '' }, 'holds no index.html'],
      [{ 'index.html': '', 'assets/blob.bin': '' }, 'assets/blob.bin: no Content-Type known for ".bin"'],
      [{ 'index.html': '', '_releases/x.json': '' }, '_releases/x.json: _releases/ is where deploys keep their records'],
      [{ 'index.html': '', 'config.json': '{"liveUrl":"wss://elsewhere"}' }, "config.json: written by the deploy from the stack's outputs, never part of a build"],
    ] as Array<[Record<string, string>, string]>) {
      expect(() => buildFiles(makeBuild(files))).to.throw(message);
      await deployWeb(clients, options(makeBuild(files))).then(
        () => expect.fail('deployed'),
        (error: Error) => expect(error.message).to.contain(message),
      );
    }
    expect(sent).to.deep.equal([]);
  });
});
