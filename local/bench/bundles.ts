/**
 * Per-function bundles built exactly as deployment builds them: the options of
 * local/esbuild.config.cjs as serverless-esbuild passes them to esbuild (its own keys removed,
 * `exclude` added to `external`), one entry per function. The output is byte-for-byte what
 * `serverless package` zips as functions/<area>/<name>.js. The metafile (which esbuild writes
 * without changing the output) says what went into each bundle, which the footprint benchmark
 * checks against what each function is allowed to use (local/delivery/policy.ts).
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { REPO_ROOT } from '../stack/serviceConfig';

/** Keys of serverless-esbuild's configuration that it removes before calling esbuild (its dist/bundle.js). */
const PLUGIN_ONLY_KEYS = [
  'concurrency', 'zipConcurrency', 'exclude', 'nativeZip', 'packager', 'packagePath', 'watch', 'keepOutputDirectory',
  'packagerOptions', 'installExtraArgs', 'outputFileExtension', 'outputBuildFolder', 'outputWorkFolder', 'nodeExternals',
  'skipBuild', 'skipRebuild', 'skipBuildExcludeFns', 'stripEntryResolveExtensions', 'disposeContext',
];

type ConfigFactory = (serverless: unknown) => Record<string, unknown>;

/** The esbuild options of a deploy build (`serverless package`, not `serverless offline`). */
export function deployBuildOptions(): BuildOptions {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = require(path.join(REPO_ROOT, 'local', 'esbuild.config.cjs')) as ConfigFactory;
  const config = factory({ processedInput: { commands: ['package'] } });
  const options: Record<string, unknown> = { ...config };
  for (const key of PLUGIN_ONLY_KEYS) delete options[key];
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  const exclude = strings(config['exclude']);
  return { ...(options as BuildOptions), external: [...strings(config['external']), ...(exclude.includes('*') ? [] : exclude)] };
}

/** The npm package an esbuild input path belongs to (the innermost node_modules), or undefined for our own files. */
export function packageOf(input: string): string | undefined {
  const parts = input.split(/[\\/]/);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  const first = parts[at + 1];
  if (first === undefined || first === '') return undefined;
  return first.startsWith('@') ? `${first}/${parts[at + 2] ?? ''}` : first;
}

const BUILTINS = new Set(builtinModules);
const isBuiltin = (request: string): boolean => request.startsWith('node:') || BUILTINS.has(request) || BUILTINS.has(request.split('/')[0] as string);

/** Where a bundle's bytes come from. */
export interface ByteGroups {
  /** @aws-sdk, @smithy, @aws-crypto and the few packages only they use. */
  awsSdk: number;
  /** functions/ and shared/ (and a generated baseline entry). */
  service: number;
  /** Everything else: middy, zod, Powertools, jsonwebtoken, … */
  libraries: number;
  /** Files bundled as text (Swagger UI's script and styles). */
  textAssets: number;
}

export interface BundleAnalysis {
  /** npm packages with code in the bundle, sorted. */
  packages: string[];
  /** npm packages the bundle requires at run time (esbuild externals: native modules). */
  externals: string[];
  /** SDK command classes in the bundle, per package (`@aws-sdk/client-dynamodb` → [`GetItemCommand`]). */
  sdkCommands: Record<string, string[]>;
  bytes: ByteGroups;
  /** Bytes of each restricted library (LIBRARY_RULES) in the bundle, with the packages only it brings in. */
  libraryBytes: Record<string, number>;
}

const SDK_SCOPES = ['@aws-sdk/', '@smithy/', '@aws-crypto/', '@aws/'];
/** Dependencies of the SDK that nothing of ours imports (checked: `npm ls` names only the SDK above them). */
const SDK_ONLY_PACKAGES = new Set(['fast-xml-parser', 'strnum', 'bowser', 'tslib', 'uuid', '@types/uuid']);
const TEXT_ASSET = /[\\/]swagger-ui-dist[\\/]swagger-ui(-bundle\.js|\.css)$/;

export function isSdkPackage(name: string): boolean {
  return SDK_SCOPES.some((scope) => name.startsWith(scope)) || SDK_ONLY_PACKAGES.has(name);
}

/**
 * Bytes in the output of a package and of the npm packages reachable from it that nothing else
 * in the bundle imports: what dropping that package would save.
 */
export function closureBytes(metafile: Metafile, inOutput: Record<string, { bytesInOutput: number }>, library: string): number {
  const importers = new Map<string, Set<string>>();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    for (const imported of imports) {
      if (imported.external) continue;
      const set = importers.get(imported.path) ?? new Set<string>();
      set.add(input);
      importers.set(imported.path, set);
    }
  }
  const reached = new Set(Object.keys(metafile.inputs).filter((input) => packageOf(input) === library));
  // Grow the set with package files imported only from inside it, until nothing changes.
  for (let grown = true; grown; ) {
    grown = false;
    for (const input of Object.keys(metafile.inputs)) {
      if (reached.has(input) || packageOf(input) === undefined) continue;
      const from = importers.get(input);
      if (from !== undefined && from.size > 0 && [...from].every((importer) => reached.has(importer))) {
        reached.add(input);
        grown = true;
      }
    }
  }
  return [...reached].reduce((sum, input) => sum + (inOutput[input]?.bytesInOutput ?? 0), 0);
}

/** What one output file of a metafile is made of. */
export function analyseMetafile(metafile: Metafile, outputPath: string): BundleAnalysis {
  const output = metafile.outputs[outputPath];
  if (output === undefined) throw new Error(`${outputPath} is not an output of this build (outputs: ${Object.keys(metafile.outputs).join(', ')})`);
  const packages = new Set<string>();
  const sdkCommands: Record<string, Set<string>> = {};
  const bytes: ByteGroups = { awsSdk: 0, service: 0, libraries: 0, textAssets: 0 };
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = packageOf(input);
    if (name !== undefined) packages.add(name);
    if (TEXT_ASSET.test(input)) bytes.textAssets += bytesInOutput;
    else if (name === undefined) bytes.service += bytesInOutput;
    else if (isSdkPackage(name)) bytes.awsSdk += bytesInOutput;
    else bytes.libraries += bytesInOutput;
    const command = /[\\/](@aws-sdk[\\/][\w-]+)[\\/]dist-\w+[\\/]commands[\\/](\w+Command)\.js$/.exec(input);
    if (command !== null) (sdkCommands[(command[1] as string).replace('\\', '/')] ??= new Set()).add(command[2] as string);
  }
  const externals = new Set<string>();
  for (const imported of output.imports) {
    if (imported.external && !isBuiltin(imported.path)) externals.add(packageOf(`node_modules/${imported.path}`) ?? imported.path);
  }
  return {
    packages: [...packages].sort(),
    externals: [...externals].sort(),
    libraryBytes: Object.fromEntries(
      LIBRARY_RULES.map((rule) => rule.library)
        .filter((library) => packages.has(library))
        .map((library): [string, number] => [library, closureBytes(metafile, output.inputs, library)]),
    ),
    sdkCommands: Object.fromEntries(
      Object.entries(sdkCommands)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, commands]): [string, string[]] => [name, [...commands].sort()]),
    ),
    bytes,
  };
}

/** The SDK packages that make up the use of one AWS service (client, document client, presigners). */
export const SERVICE_PACKAGES: Record<string, string[]> = {
  dynamodb: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb'],
  s3: ['@aws-sdk/client-s3', '@aws-sdk/s3-presigned-post', '@aws-sdk/s3-request-presigner'],
  sns: ['@aws-sdk/client-sns'],
  ssm: ['@aws-sdk/client-ssm'],
  rekognition: ['@aws-sdk/client-rekognition'],
  // The WebSocket API's Management API (execute-api:ManageConnections): pushing to live connections.
  'execute-api': ['@aws-sdk/client-apigatewaymanagementapi'],
};

/**
 * Service clients that come with every client (the default credential chain's SSO and STS
 * clients): not a service the function calls, so not checked against its permissions. Other
 * `@aws-sdk/*` packages (core, middleware, checksums, …) are the clients' runtime.
 */
const CREDENTIAL_CLIENTS = new Set(['@aws-sdk/client-sso', '@aws-sdk/client-sso-oidc', '@aws-sdk/client-sts', '@aws-sdk/client-cognito-identity']);

/** Whether an SDK package is (part of) a service client a function chooses to use. */
export function isServiceClient(name: string): boolean {
  if (CREDENTIAL_CLIENTS.has(name)) return false;
  return name.startsWith('@aws-sdk/client-') || Object.values(SERVICE_PACKAGES).some((packages) => packages.includes(name));
}

/**
 * AWS services a function calls, from its IAM permissions (local/delivery/policy.ts). `sqs` is
 * left out: the dead-letter queues are Lambda destinations, sent to by Lambda, not by our code.
 */
export function servicesOf(permissions: Record<string, string[]>): string[] {
  const services = new Set(Object.keys(permissions).map((action) => action.split(':')[0] as string));
  services.delete('sqs');
  return [...services].sort();
}

/**
 * Libraries (npm packages) that only some functions may carry, and why. Everything not listed
 * (the HTTP layer: middy, zod, Powertools logger, ulid) is shared by all functions.
 */
export const LIBRARY_RULES: Array<{ library: string; functions: string[]; why: string }> = [
  { library: 'sharp', functions: ['processUpload'], why: 'decodes images (thumbnails, perceptual hash)' },
  { library: 'exifr', functions: ['processUpload'], why: 'reads EXIF of uploads' },
  { library: 'file-type', functions: ['processUpload'], why: 'sniffs the real type of uploads' },
  { library: '@node-rs/argon2', functions: ['createUser', 'createSession', 'updateMe', 'deleteMe'], why: 'hashes or verifies passwords' },
  { library: 'jsonwebtoken', functions: ['authorizer', 'createSession', 'refreshSession', 'runAnalysis', 'openConnection'], why: 'signs or verifies JWTs (access tokens, callback signatures, the live connection’s token)' },
  { library: 'swagger-ui-dist', functions: ['getDocs'], why: 'serves the Swagger UI page' },
  { library: 'aws-xray-sdk-core', functions: ['processUpload', 'runAnalysis'], why: 'X-Ray traces of the asynchronous functions (shared/tracing.ts)' },
];

/** Every client or library in a function's bundle that the function does not use. Empty when it is clean. */
export function bundleProblems(functionName: string, analysis: Pick<BundleAnalysis, 'packages' | 'externals'> & Partial<Pick<BundleAnalysis, 'libraryBytes'>>, permissions: Record<string, string[]>): string[] {
  const problems: string[] = [];
  const services = new Set(servicesOf(permissions));
  const present = new Set([...analysis.packages, ...analysis.externals]);
  for (const name of present) {
    if (!isServiceClient(name)) continue;
    const service = Object.entries(SERVICE_PACKAGES).find(([, packages]) => packages.includes(name))?.[0];
    if (service === undefined) problems.push(`${functionName}: bundles ${name}, an AWS client the benchmark does not know`);
    else if (!services.has(service)) problems.push(`${functionName}: bundles ${name} but has no ${service} permission (an AWS client it does not use)`);
  }
  for (const rule of LIBRARY_RULES) {
    if (present.has(rule.library) && !rule.functions.includes(functionName)) {
      const bytes = analysis.libraryBytes?.[rule.library];
      const size = bytes === undefined ? '' : ` (${(bytes / 1024).toFixed(1)} KiB with what only it brings in)`;
      problems.push(`${functionName}: bundles ${rule.library}${size}, which only ${rule.functions.join(', ')} use (${rule.why})`);
    }
  }
  return problems;
}

const CLIENT_CLASSES: Record<string, string> = {
  '@aws-sdk/client-dynamodb': 'DynamoDBClient',
  '@aws-sdk/client-s3': 'S3Client',
  '@aws-sdk/client-sns': 'SNSClient',
  '@aws-sdk/client-ssm': 'SSMClient',
  '@aws-sdk/client-rekognition': 'RekognitionClient',
  '@aws-sdk/client-apigatewaymanagementapi': 'ApiGatewayManagementApiClient',
};
const PRESIGNERS: Record<string, string> = {
  '@aws-sdk/s3-request-presigner': 'getSignedUrl',
  '@aws-sdk/s3-presigned-post': 'createPresignedPost',
};

/** What a function's baseline holds besides SDK clients (see footprint.ts: documented exceptions). */
export interface BaselineExtras {
  /** Native modules it must load (`sharp`), required at module scope as the function does. */
  natives?: string[];
  /** Swagger UI's assets, bundled as text as getDocs bundles them. */
  swaggerAssets?: boolean;
  /** X-Ray: the Powertools Tracer, capturing each SDK client, as the traced functions do (shared/tracing.ts). */
  tracer?: boolean;
}

/**
 * The entry of a function's baseline: the SDK clients of the services it uses (created once, as
 * our adapters do) and the command classes and presigners its bundle contains, and nothing else.
 * Packages are taken from the function's own bundle, limited to the services it has permissions for.
 */
export function baselineSource(analysis: Pick<BundleAnalysis, 'packages' | 'sdkCommands'>, services: string[], extras: BaselineExtras = {}): string {
  const wanted = services.flatMap((service) => SERVICE_PACKAGES[service] ?? []).filter((name) => analysis.packages.includes(name));
  const lines: string[] = [];
  const exported: string[] = [];
  for (const name of wanted) {
    const client = CLIENT_CLASSES[name];
    const commands = analysis.sdkCommands[name] ?? [];
    if (client !== undefined) {
      const alias = `client_${client}`;
      lines.push(`import { ${[client, ...commands].join(', ')} } from '${name}';`, `const ${alias} = new ${client}({});`);
      exported.push(alias, ...commands);
    } else if (name === '@aws-sdk/lib-dynamodb') {
      lines.push(`import { ${['DynamoDBDocumentClient', ...commands].join(', ')} } from '${name}';`);
      exported.push('DynamoDBDocumentClient.from(client_DynamoDBClient)', ...commands);
    } else if (PRESIGNERS[name] !== undefined) {
      lines.push(`import { ${PRESIGNERS[name]} } from '${name}';`);
      exported.push(PRESIGNERS[name]);
    }
  }
  for (const [index, native] of (extras.natives ?? []).entries()) {
    lines.push(`import * as native${index} from '${native}';`);
    exported.push(`native${index}`);
  }
  if (extras.swaggerAssets === true) {
    lines.push(`import swaggerScript from 'swagger-ui-dist/swagger-ui-bundle.js';`, `import swaggerStyles from 'swagger-ui-dist/swagger-ui.css';`);
    exported.push('swaggerScript', 'swaggerStyles');
  }
  if (extras.tracer === true) {
    const clients = exported.filter((name) => name.startsWith('client_'));
    lines.push(`import { Tracer } from '@aws-lambda-powertools/tracer';`, `const tracer = new Tracer({ serviceName: 'baseline' });`, ...clients.map((client) => `tracer.captureAWSv3Client(${client});`));
    exported.push('tracer');
  }
  // lib-dynamodb wraps the DynamoDB client: its import must come after the client's.
  return `${lines.join('\n')}\nexport const baseline = [${exported.join(', ')}];\n`;
}

export interface BuiltBundle {
  /** Absolute path of the .js file. */
  file: string;
  bytes: number;
  mapBytes: number;
  analysis: BundleAnalysis;
}

/** Builds one entry (a repository file, or generated source) with the deploy options into `outFile`. */
export async function buildBundle(options: BuildOptions, outFile: string, entry: { file: string } | { source: string; name: string }): Promise<BuiltBundle> {
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const result = await build({
    ...options,
    ...('file' in entry
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.source, resolveDir: REPO_ROOT, sourcefile: `bench-baseline/${entry.name}.ts`, loader: 'ts' as const } }),
    outfile: outFile,
    absWorkingDir: REPO_ROOT,
    metafile: true,
    logLevel: 'error',
  });
  const outputKey = path.relative(REPO_ROOT, outFile).split(path.sep).join('/');
  return {
    file: outFile,
    bytes: fs.statSync(outFile).size,
    mapBytes: fs.existsSync(`${outFile}.map`) ? fs.statSync(`${outFile}.map`).size : 0,
    analysis: analyseMetafile(result.metafile, outputKey),
  };
}
