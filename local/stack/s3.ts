import fs from 'node:fs';
// s3rver ships no types; its surface used here is tiny.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
};
import { resourcesOfType, type ServiceConfig } from './serviceConfig';

interface CorsRule {
  AllowedOrigins?: string[];
  AllowedMethods?: string[];
  AllowedHeaders?: string[];
  ExposedHeaders?: string[];
  MaxAge?: number;
}

const escapeXml = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A bucket's CloudFormation CorsConfiguration as the S3 XML document s3rver understands. */
export function corsXml(rules: CorsRule[]): string {
  const element = (tag: string, values: Array<string | number> | undefined): string =>
    (values ?? []).map((value) => `<${tag}>${escapeXml(String(value))}</${tag}>`).join('');
  const body = rules
    .map(
      (rule) =>
        `<CORSRule>${element('AllowedOrigin', rule.AllowedOrigins)}${element('AllowedMethod', rule.AllowedMethods)}` +
        `${element('AllowedHeader', rule.AllowedHeaders)}${element('ExposeHeader', rule.ExposedHeaders)}` +
        `${rule.MaxAge === undefined ? '' : element('MaxAgeSeconds', [rule.MaxAge])}</CORSRule>`,
    )
    .join('');
  return `<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${body}</CORSConfiguration>`;
}

/**
 * A rule written out in full. A rule that is a CloudFormation function (the web app's CloudFront
 * origin, an `Fn::If` on AWS-only resources) names nothing that exists locally: left out here.
 */
function isLocalRule(rule: unknown): rule is CorsRule {
  const origins = (rule as CorsRule | null)?.AllowedOrigins;
  return Array.isArray(origins) && origins.every((origin) => typeof origin === 'string');
}

export interface BucketDefinition {
  name: string;
  cors?: string;
}

/**
 * Every AWS::S3::Bucket of serverless.yml's `resources`, with its CORS rules as XML.
 * `extraOrigins` are allowed by every rule too: the app's origin under `npm start`, whose port is
 * chosen at start (the resolved configuration is cached without it).
 */
export function bucketsOf(config: ServiceConfig, extraOrigins: string[] = []): BucketDefinition[] {
  return resourcesOfType(config, 'AWS::S3::Bucket').map(([logicalId, resource]) => {
    const properties = resource.Properties ?? {};
    const name = properties['BucketName'];
    if (typeof name !== 'string') throw new Error(`Bucket ${logicalId} needs a BucketName in serverless.yml`);
    const rules = (properties['CorsConfiguration'] as { CorsRules?: unknown[] } | undefined)?.CorsRules?.filter(isLocalRule).map((rule) => ({
      ...rule,
      AllowedOrigins: [...new Set([...(rule.AllowedOrigins ?? []), ...extraOrigins])],
    }));
    return rules === undefined ? { name } : { name, cors: corsXml(rules) };
  });
}

export interface RunningS3 {
  endpoint: string;
  stop(): Promise<void>;
}

/** s3rver in this process (the test harness's S3 stand-in), buckets from serverless.yml. */
export async function startS3Local({ port, directory, config }: { port: number; directory: string; config: ServiceConfig }): Promise<RunningS3> {
  fs.mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    configureBuckets: bucketsOf(config).map((bucket) => ({ name: bucket.name, configs: bucket.cors === undefined ? [] : [bucket.cors] })),
  });
  await server.run();
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => server.close() };
}
