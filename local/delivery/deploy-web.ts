/**
 * Deploys a built web app (the files of `web/dist`) to a stage's bucket and distribution, the
 * ones the service stack created (serverless.yml, outputs AppBucketName and AppDistributionId):
 *
 *   node --import tsx local/delivery/deploy-web.ts --stage test --dist artifacts/web [--grace-days 7]
 *
 * 1. Every file is checked before anything is uploaded (index.html present, a known type each).
 * 2. The hashed files under assets/ go up first, `Cache-Control: public, max-age=31536000,
 *    immutable` (their names change whenever their content does); every other file (favicon,
 *    robots.txt…) with `no-cache`, and with them `config.json`, the app's runtime settings
 *    written from the stage's stack outputs (`{"liveUrl": <LiveUrl>}`: where the live-updates
 *    WebSocket is; the build itself is the same for every stage); index.html last, `no-cache`,
 *    so no browser ever loads an index.html whose scripts are not there yet.
 * 3. A release record `_releases/<time>.json` lists the files of this build (CloudFront may not
 *    read that prefix: the bucket policy denies it).
 * 4. CloudFront is told to drop its copy of /index.html (an invalidation).
 * 5. Files no longer in the build are deleted only after a grace period, so a tab opened before
 *    the deploy can still load the chunks of the build it started with: a file stays while any
 *    release that listed it was live within the last `--grace-days` days (the release before this
 *    one always is: it was live until now), and anything younger than that is never deleted.
 *
 * Rolling back is deploying the previous build's artefact the same way: its files go up again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type _Object } from '@aws-sdk/client-s3';

export const SERVICE = 'media-library';
export const RELEASES_PREFIX = '_releases/';
export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';
/** The app's runtime settings, fetched by the app from its own origin (web/src/live/live.ts). */
export const APP_CONFIG_KEY = 'config.json';
const DAY_MS = 24 * 60 * 60 * 1000;
const UPLOAD_CONCURRENCY = 8;

/** What a Vite build of web/ contains. An unknown type fails the deploy rather than being guessed. */
export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export interface WebDeployClients {
  cloudFormation: CloudFormationClient;
  s3: S3Client;
  cloudFront: CloudFrontClient;
}

export interface WebDeployOptions {
  stage: string;
  /** The built app: index.html and assets/. */
  dist: string;
  graceDays: number;
  now: Date;
  log: (line: string) => void;
}

export interface BuildFile {
  key: string;
  file: string;
  contentType: string;
  cacheControl: string;
}

/** What config.json says; an empty object (no live updates: the app polls) when the stack has no LiveUrl. */
export interface AppConfig {
  liveUrl?: string;
}

export interface StackOutputs {
  bucket: string;
  distributionId: string;
  /** The live-updates WebSocket (output LiveUrl), absent on a stack deployed before live updates. */
  liveUrl?: string;
}

export interface WebDeployReport {
  bucket: string;
  distributionId: string;
  config: AppConfig;
  uploaded: string[];
  release: string;
  invalidationId: string;
  deleted: string[];
}

/** The files of a build in upload order: everything else first, index.html last. */
export function buildFiles(dist: string): BuildFile[] {
  if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error(`${dist} holds no index.html: not a build of the web app`);
  const files = fs
    .readdirSync(dist, { recursive: true })
    .map(String)
    .filter((relative) => fs.statSync(path.join(dist, relative)).isFile())
    // Dotfiles are the build's own bookkeeping (local/stack/webBuild.ts's .source-digest), not the site.
    .filter((relative) => !relative.split(path.sep).some((part) => part.startsWith('.')))
    .map((relative): BuildFile => {
      const key = relative.split(path.sep).join('/');
      if (key.startsWith(RELEASES_PREFIX)) throw new Error(`${key}: ${RELEASES_PREFIX} is where deploys keep their records`);
      // One build goes to every stage: a config.json inside it would send test's settings to prod.
      if (key === APP_CONFIG_KEY) throw new Error(`${key}: written by the deploy from the stack's outputs, never part of a build`);
      const contentType = CONTENT_TYPES[path.extname(key).toLowerCase()];
      if (contentType === undefined) throw new Error(`${key}: no Content-Type known for "${path.extname(key)}" (add it to CONTENT_TYPES in local/delivery/deploy-web.ts)`);
      // Vite names what it writes to assets/ after the content's hash: such a file never changes.
      return { key, file: path.join(dist, relative), contentType, cacheControl: key.startsWith('assets/') ? IMMUTABLE : REVALIDATE };
    });
  const rank = (file: BuildFile): number => (file.key === 'index.html' ? 2 : file.cacheControl === IMMUTABLE ? 0 : 1);
  return files.sort((a, b) => rank(a) - rank(b) || a.key.localeCompare(b.key));
}

/** The app's bucket and distribution, and the live-updates URL, from the outputs of the stage's stack. */
export async function stackOutputs(cloudFormation: CloudFormationClient, stage: string): Promise<StackOutputs> {
  const stackName = `${SERVICE}-${stage}`;
  const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const bucket = outputs.get('AppBucketName');
  const distributionId = outputs.get('AppDistributionId');
  if (bucket === undefined || distributionId === undefined) {
    throw new Error(`stack ${stackName} has no AppBucketName/AppDistributionId outputs: deploy the service stack first (pipeline media-library-service)`);
  }
  const liveUrl = outputs.get('LiveUrl');
  if (liveUrl !== undefined && !/^wss:\/\/[^\s/]+(\/[^\s]*)?$/.test(liveUrl)) throw new Error(`stack ${stackName}: LiveUrl ${liveUrl} is not a wss:// URL`);
  return { bucket, distributionId, ...(liveUrl === undefined ? {} : { liveUrl }) };
}

/** config.json: what the app reads at run time from its own origin. */
export function appConfig(outputs: StackOutputs): AppConfig {
  return outputs.liveUrl === undefined ? {} : { liveUrl: outputs.liveUrl };
}

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) await Promise.all(items.slice(start, start + size).map(work));
}

async function listAll(s3: S3Client, bucket: string): Promise<_Object[]> {
  const objects: _Object[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(token === undefined ? {} : { ContinuationToken: token }) }));
    objects.push(...(page.Contents ?? []));
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return objects;
}

/** A release record's key: its time, so records sort by when they went live. */
export const releaseKey = (now: Date): string => `${RELEASES_PREFIX}${now.toISOString()}.json`;
const releaseTime = (key: string): number => Date.parse(key.slice(RELEASES_PREFIX.length, -'.json'.length));

/**
 * What may go: objects that no release live within the grace period lists, and that were not
 * written within it either (a file uploaded by hand, or by a deploy that failed half-way).
 */
export async function staleObjects(s3: S3Client, bucket: string, now: Date, graceDays: number): Promise<string[]> {
  const since = now.getTime() - graceDays * DAY_MS;
  const objects = await listAll(s3, bucket);
  const releases = objects
    .map((object) => String(object.Key))
    .filter((key) => key.startsWith(RELEASES_PREFIX) && !Number.isNaN(releaseTime(key)))
    .sort((a, b) => releaseTime(a) - releaseTime(b));
  // A release was live from its own time until the next one's; the newest is live now.
  const live = releases.filter((key, index) => index === releases.length - 1 || releaseTime(releases[index + 1] as string) > since);
  const keep = new Set(live);
  for (const key of live) {
    const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const record = JSON.parse((await answer.Body?.transformToString()) ?? '{}') as { files?: string[] };
    for (const file of record.files ?? []) keep.add(file);
  }
  return objects
    .filter((object) => !keep.has(String(object.Key)) && (object.LastModified?.getTime() ?? now.getTime()) < since)
    .map((object) => String(object.Key))
    .sort();
}

export async function deployWeb(clients: WebDeployClients, options: WebDeployOptions): Promise<WebDeployReport> {
  const { s3, cloudFront } = clients;
  const files = buildFiles(options.dist);
  const outputs = await stackOutputs(clients.cloudFormation, options.stage);
  const { bucket, distributionId } = outputs;
  const config = appConfig(outputs);
  options.log(`web app → s3://${bucket} (distribution ${distributionId}), ${files.length} files`);
  options.log(config.liveUrl === undefined ? 'config.json: no LiveUrl output (a stack from before live updates): the app polls instead' : `config.json: live updates at ${config.liveUrl}`);

  const put = async (file: BuildFile): Promise<void> => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: file.key, Body: fs.readFileSync(file.file), ContentType: file.contentType, CacheControl: file.cacheControl }));
  };
  const putConfig = async (): Promise<void> => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: APP_CONFIG_KEY, Body: `${JSON.stringify(config)}\n`, ContentType: 'application/json', CacheControl: REVALIDATE }));
  };
  const entry = files.filter((file) => file.key === 'index.html');
  await inBatches(
    files.filter((file) => file.cacheControl === IMMUTABLE),
    UPLOAD_CONCURRENCY,
    put,
  );
  await inBatches(
    files.filter((file) => file.cacheControl !== IMMUTABLE && file.key !== 'index.html'),
    UPLOAD_CONCURRENCY,
    put,
  );
  // Before index.html: an app that loads finds its settings. (no-cache, which CloudFront's
  // CachingOptimized honours down to 1 s, so no invalidation is needed for it.)
  await putConfig();
  // Only now that everything it refers to is there.
  for (const file of entry) await put(file);

  const release = releaseKey(options.now);
  const uploaded = [...files.map((file) => file.key), APP_CONFIG_KEY];
  // config.json is listed too, so that the clean-up below never takes it for a stray file.
  const body = JSON.stringify({ deployedAt: options.now.toISOString(), files: uploaded }, null, 1);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: release, Body: body, ContentType: 'application/json', CacheControl: 'no-store' }));

  const invalidation = await cloudFront.send(
    new CreateInvalidationCommand({
      DistributionId: distributionId,
      InvalidationBatch: { CallerReference: `deploy-web-${options.stage}-${options.now.getTime()}`, Paths: { Quantity: 1, Items: ['/index.html'] } },
    }),
  );
  const invalidationId = String(invalidation.Invalidation?.Id);
  options.log(`invalidated /index.html (${invalidationId}); release ${release}`);

  const deleted = await staleObjects(s3, bucket, options.now, options.graceDays);
  for (let start = 0; start < deleted.length; start += 1000) {
    const batch = deleted.slice(start, start + 1000);
    const answer = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    if ((answer.Errors ?? []).length > 0) throw new Error(`could not delete ${JSON.stringify(answer.Errors)}`);
  }
  options.log(`deleted ${deleted.length} files no release of the last ${options.graceDays} days uses`);
  return { bucket, distributionId, config, uploaded, release, invalidationId, deleted };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { stage: { type: 'string' }, dist: { type: 'string', default: 'web/dist' }, 'grace-days': { type: 'string', default: '7' } } });
  const stage = values.stage;
  if (stage === undefined || !['dev', 'test', 'prod'].includes(stage)) throw new Error('usage: deploy-web.ts --stage dev|test|prod [--dist web/dist] [--grace-days 7]');
  const graceDays = Number(values['grace-days']);
  if (!Number.isFinite(graceDays) || graceDays < 1) throw new Error('--grace-days must be 1 or more');
  const region = process.env['AWS_REGION'] ?? 'us-east-1';
  const clients: WebDeployClients = {
    cloudFormation: new CloudFormationClient({ region }),
    s3: new S3Client({ region, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }),
    // CloudFront is global: its API lives in us-east-1 whatever the stack's region.
    cloudFront: new CloudFrontClient({ region: 'us-east-1' }),
  };
  await deployWeb(clients, { stage, dist: values.dist, graceDays, now: new Date(), log: (line) => console.log(line) });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
