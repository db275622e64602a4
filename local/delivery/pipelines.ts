/**
 * Generates pipelines.gocd.yaml (Go.cd YAML config plugin, format_version 10) from
 * serverless.yml: one pipeline per function, a service pipeline for the whole stack, the web
 * app's pipeline, and the create-vpc pipeline. Run `npx gulp pipelines`; a test fails when the
 * committed file is stale.
 *
 * Per function, eight stages: unit-test, lint, coverage, deploy-dev (automatic), package-test
 * (builds the zip and publishes it), deploy-test (manual, deploys exactly that zip),
 * package-prod (promotes the same zip, checksum verified), deploy-prod (manual). Every deploy
 * stage then releases what it deployed to the alias `live` through CodeDeploy (release.ts: a
 * canary an alarm rolls back) and smoke-tests the stage (smoke.ts).
 */
import path from 'node:path';
import { stringify } from 'yaml';
import { functionInputs, listFunctions, type FunctionInfo } from '../functions';

/** Settings of our Go.cd installation (docs/deployment.md explains each). */
export const DELIVERY = {
  repository: 'https://git.example.com/media-library/media-library-api.git',
  branch: 'main',
  functionGroup: 'media-library-functions',
  serviceGroup: 'media-library-service',
  webGroup: 'media-library-web',
  /** Elastic agent profile with Node 20+, Java 17 and the AWS CLI. */
  agentProfile: 'media-library-node',
  approvers: { test: ['media-library-test-deployers'], prod: ['media-library-prod-deployers'] },
  /** Go.cd secret configs (a secret-manager plugin) holding each stage's smoke account. */
  secretConfigs: { dev: 'media-library-dev', test: 'media-library-test', prod: 'media-library-prod' },
  /**
   * The only long-lived keys left: an administrator's in each account, used by the
   * media-library-deployers pipeline alone to create the roles every other pipeline assumes.
   */
  bootstrapSecretConfigs: { dev: 'media-library-dev-bootstrap', test: 'media-library-test-bootstrap', prod: 'media-library-prod-bootstrap' },
  /** Each stage's AWS account (placeholders: put yours here and run `npx gulp pipelines`). */
  accounts: { dev: '111111111111', test: '222222222222', prod: '333333333333' },
  /** The Go.cd agents' own role (their ECS task role): it may only assume the deployers' roles. */
  agentRoleArn: 'arn:aws:iam::444444444444:role/gocd-elastic-agent',
  /** The media bucket of each stage (media.bucketName in its stage file), for aws-deployers.template. */
  mediaBuckets: { dev: 'example-media-library-dev-media', test: 'example-media-library-test-media', prod: 'example-media-library-prod-media' },
  /** Files every function's deploy depends on besides its bundle: the config serverless.yml reads. */
  configFiles: ['package-lock.json', 'serverless.yml', 'shared/config/serverless-vars.cjs', 'shared/config/stages/*.yml', 'local/esbuild.config.cjs', 'local/delivery/release.ts', 'local/delivery/smoke.ts'],
  region: 'us-east-1',
} as const;

export const FUNCTION_STAGES = ['unit-test', 'lint', 'coverage', 'deploy-dev', 'package-test', 'deploy-test', 'package-prod', 'deploy-prod'] as const;

/** The web app (web/): built once into an archive, deployed by local/delivery/deploy-web.ts. */
export const WEB = {
  pipeline: 'media-library-web',
  /**
   * What starts its pipeline: the app, the lock file and package.json (its dependencies and the
   * build:web/test:web scripts), the OpenAPI document its typed client is generated from, the
   * build script `build:web` runs and the deploy script. Go.cd matches an include against a whole path and takes `**` for folders only
   * (`web/**` would match no file at all): hence `web`, `**`, `*` (local/checks/pipelines.test.ts
   * checks every file under web/ against it as Go.cd does).
   */
  includes: ['docs/openapi.v1.json', 'local/delivery/deploy-web.ts', 'local/stack/webBuild.ts', 'package-lock.json', 'package.json', 'web/**/*'],
  archive: 'web.tar.gz',
  /** Where a deploy stage unpacks the fetched archive, and deploys from. */
  unpacked: 'artifacts/web',
} as const;

type Stage = 'dev' | 'test' | 'prod';
type Task = Record<string, unknown>;

const exec = (command: string, ...args: string[]): Task => ({ exec: { command, arguments: args } });
const npmCi = exec('npm', 'ci', '--no-audit', '--no-fund');
const bash = (script: string): Task => exec('bash', '-euo', 'pipefail', '-c', script);

/** The shared AWS config file of the agents: one profile per stage and role (renderAwsConfig). */
export const AWS_CONFIG_FILE = 'local/delivery/aws-config';
/** What a pipeline does in a stage's account, each with its role in aws-deployers.template. */
export type DeployerRole = 'deploy' | 'environment';
export const deployerRoleName = (role: DeployerRole, stage: Stage): string => `media-library-${role}-${stage}`;

/**
 * AWS credentials of a stage: none held. The SDKs (and serverless) read the profile, which assumes
 * the stage's role (aws-deployers.template) with the agent's own container credentials.
 */
function awsCredentials(stage: Stage, role: DeployerRole = 'deploy'): Record<string, string> {
  return { AWS_CONFIG_FILE, AWS_PROFILE: deployerRoleName(role, stage) };
}

/** The role CloudFormation creates a stage's stacks with (aws-deployers.template). */
const cloudFormationRole = (stage: Stage): string => `arn:aws:iam::${DELIVERY.accounts[stage]}:role/media-library-cloudformation-${stage}`;

/** An administrator's keys in a stage's account, for the deployers pipeline only (secret references). */
function bootstrapCredentials(stage: Stage): Record<string, string> {
  const config = DELIVERY.bootstrapSecretConfigs[stage];
  return { AWS_ACCESS_KEY_ID: `{{SECRET:[${config}][aws_access_key_id]}}`, AWS_SECRET_ACCESS_KEY: `{{SECRET:[${config}][aws_secret_access_key]}}` };
}

/** local/delivery/aws-config: every profile the pipelines use, each assuming its role with the agent's container credentials. */
export function renderAwsConfig(): string {
  const lines = [
    '# AWS profiles of the Go.cd agents (AWS_CONFIG_FILE in pipelines.gocd.yaml). GENERATED by',
    '# `npx gulp pipelines` from DELIVERY in local/delivery/pipelines.ts: do not edit by hand.',
    '# Each assumes a role of aws-deployers.template with the agent\'s own (ECS task) credentials.',
  ];
  for (const stage of ['dev', 'test', 'prod'] as const) {
    for (const role of ['deploy', 'environment'] as const) {
      const name = deployerRoleName(role, stage);
      lines.push('', `[profile ${name}]`, `role_arn = arn:aws:iam::${DELIVERY.accounts[stage]}:role/${name}`, 'credential_source = EcsContainer', `role_session_name = gocd-${name}`, `region = ${DELIVERY.region}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The stage's smoke account (local/delivery/smoke.ts), from the same secret config. */
function smokeAccount(stage: Stage): Record<string, string> {
  const config = DELIVERY.secretConfigs[stage];
  return { SMOKE_EMAIL: `{{SECRET:[${config}][smoke_email]}}`, SMOKE_PASSWORD: `{{SECRET:[${config}][smoke_password]}}` };
}

/** After a deploy: the stage must answer, and its smoke account sign in and read its library. */
const smoke = (target: Stage): Task => exec('node', '--import', 'tsx', 'local/delivery/smoke.ts', '--stage', target);

/**
 * After `serverless deploy function`: what it deployed, published, reaches the alias live through
 * CodeDeploy. With the fetched zip (test, prod), $LATEST must be exactly it; dev's deploy builds
 * its zip in a folder it removes again, and the pipeline's lock keeps anything else from deploying
 * in between (PublishVersion is guarded by the code hash it read).
 */
const releaseToLive = (fn: string, target: Stage, zip?: string): Task =>
  exec('node', '--import', 'tsx', 'local/delivery/release.ts', '--function', fn, '--stage', target, ...(zip === undefined ? [] : ['--zip', zip]));

function job(name: string, tasks: Task[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { [name]: { elastic_profile_id: DELIVERY.agentProfile, timeout: 30, ...extra, tasks } };
}

function stage(name: string, jobs: Record<string, unknown>, options: { manual?: Stage; environment?: Record<string, string> } = {}): Record<string, unknown> {
  return {
    [name]: {
      fetch_materials: true,
      clean_workspace: true,
      ...(options.manual === undefined
        ? {}
        : { approval: { type: 'manual', allow_only_on_success: true, roles: [...DELIVERY.approvers[options.manual as 'test' | 'prod']] } }),
      ...(options.environment === undefined ? {} : { environment_variables: options.environment }),
      jobs,
    },
  };
}

function material(includes?: string[]): Record<string, unknown> {
  return {
    repo: {
      git: DELIVERY.repository,
      branch: DELIVERY.branch,
      shallow_clone: true,
      ...(includes === undefined ? {} : { includes }),
    },
  };
}

/** A zip and its SHA-256 as the package stages publish and the deploy stages fetch them. */
function fetchArtifact(fromStage: string, fn: string, destination: string): Task[] {
  return [`${fn}.zip`, `${fn}.zip.sha256`].map((file) => ({
    fetch: { stage: fromStage, job: 'package', source: `artifacts/${file}`, destination, is_file: true },
  }));
}

const publishArtifacts = (fn: string): Array<Record<string, unknown>> => [
  { build: { source: `artifacts/${fn}.zip`, destination: 'artifacts' } },
  { build: { source: `artifacts/${fn}.zip.sha256`, destination: 'artifacts' } },
];

/**
 * Deploys the fetched zip (from artifacts/, checksum verified, copied to .serverless/ where the
 * deploy takes it and which it clears afterwards) without building anything (ML_DEPLOY_PREBUILT),
 * releases exactly that zip to live, smoke-tests the stage.
 */
function deployPrebuilt(fn: string, target: Stage): Task[] {
  return [
    npmCi,
    bash(`cd artifacts && sha256sum -c ${fn}.zip.sha256 && mkdir -p ../.serverless && cp ${fn}.zip ${fn}.zip.sha256 ../.serverless/`),
    exec('npx', 'serverless', 'deploy', 'function', '-f', fn, '--stage', target),
    releaseToLive(fn, target, `artifacts/${fn}.zip`),
    smoke(target),
  ];
}

function functionPipeline(fn: FunctionInfo, includes: string[]): Record<string, unknown> {
  const name = fn.name;
  return {
    group: DELIVERY.functionGroup,
    label_template: '${COUNT}-${repo[:8]}',
    lock_behavior: 'unlockWhenFinished',
    materials: material(includes),
    environment_variables: { CI: 'true', AWS_REGION: DELIVERY.region },
    stages: [
      stage('unit-test', job('test', [npmCi, exec('npx', 'gulp', 'test', '--function', name)])),
      stage('lint', job('lint', [npmCi, exec('npx', 'gulp', 'lint', '--function', name)])),
      stage('coverage', job('coverage', [npmCi, exec('npx', 'gulp', 'coverage', '--function', name)], { artifacts: [{ test: { source: 'coverage', destination: 'coverage' } }] })),
      stage('deploy-dev', job('deploy', [npmCi, exec('npx', 'serverless', 'deploy', 'function', '-f', name, '--stage', 'dev'), releaseToLive(name, 'dev'), smoke('dev')]), {
        environment: { ...awsCredentials('dev'), ...smokeAccount('dev') },
      }),
      stage('package-test', job('package', [npmCi, exec('npx', 'gulp', 'package', '--function', name, '--stage', 'test')], { artifacts: publishArtifacts(name) })),
      stage('deploy-test', job('deploy', [...fetchArtifact('package-test', name, 'artifacts'), ...deployPrebuilt(name, 'test')]), {
        manual: 'test',
        environment: { ML_DEPLOY_PREBUILT: 'true', ...awsCredentials('test'), ...smokeAccount('test') },
      }),
      // Prod gets the very zip that was tested: promoted (checksum verified), not rebuilt.
      stage(
        'package-prod',
        job('package', [...fetchArtifact('package-test', name, 'artifacts'), bash(`cd artifacts && sha256sum -c ${name}.zip.sha256`)], { artifacts: publishArtifacts(name) }),
      ),
      stage('deploy-prod', job('deploy', [...fetchArtifact('package-prod', name, 'artifacts'), ...deployPrebuilt(name, 'prod')]), {
        manual: 'prod',
        environment: { ML_DEPLOY_PREBUILT: 'true', ...awsCredentials('prod'), ...smokeAccount('prod') },
      }),
    ],
  };
}

/** The whole stack (routes, IAM, tables, buckets, topics): what `deploy function` never changes. */
function servicePipeline(): Record<string, unknown> {
  const packageStack = (target: Stage) =>
    stage(
      `package-${target}`,
      job('package', [npmCi, exec('npx', 'serverless', 'package', '--stage', target, '--package', `artifacts/stack-${target}`)], {
        artifacts: [{ build: { source: `artifacts/stack-${target}`, destination: 'artifacts' } }],
      }),
    );
  const deployStack = (target: Stage) =>
    stage(
      `deploy-${target}`,
      job('deploy', [
        { fetch: { stage: `package-${target}`, job: 'package', source: `artifacts/stack-${target}`, destination: 'artifacts' } },
        npmCi,
        exec('npx', 'serverless', 'deploy', '--stage', target, '--package', `artifacts/stack-${target}`),
        smoke(target),
      ]),
      {
        ...(target === 'dev' ? {} : { manual: target }),
        environment: { ...awsCredentials(target, 'environment'), ML_CLOUDFORMATION_ROLE_ARN: cloudFormationRole(target), ...smokeAccount(target) },
      },
    );
  return {
    group: DELIVERY.serviceGroup,
    label_template: '${COUNT}-${repo[:8]}',
    lock_behavior: 'unlockWhenFinished',
    materials: material(),
    environment_variables: { CI: 'true', AWS_REGION: DELIVERY.region },
    stages: [
      stage('test', job('test', [npmCi, exec('npm', 'test')], { timeout: 60, artifacts: [{ test: { source: 'coverage', destination: 'coverage' } }] })),
      packageStack('dev'),
      deployStack('dev'),
      packageStack('test'),
      deployStack('test'),
      packageStack('prod'),
      deployStack('prod'),
    ],
  };
}

/**
 * The web app, with the same eight stages as a function: its tests, lint and coverage; dev gets
 * every change; package-test builds web/dist once into web.tar.gz (+ SHA-256); test and prod
 * deploy exactly that archive, checksum verified, through local/delivery/deploy-web.ts.
 */
function webPipeline(): Record<string, unknown> {
  const build = exec('npm', 'run', 'build:web');
  const deployWeb = (target: Stage, dist: string): Task => exec('node', '--import', 'tsx', 'local/delivery/deploy-web.ts', '--stage', target, '--dist', dist);
  const fetchArchive = (fromStage: string): Task[] =>
    [WEB.archive, `${WEB.archive}.sha256`].map((file) => ({ fetch: { stage: fromStage, job: 'package', source: `artifacts/${file}`, destination: 'artifacts', is_file: true } }));
  const publishArchive = [
    { build: { source: `artifacts/${WEB.archive}`, destination: 'artifacts' } },
    { build: { source: `artifacts/${WEB.archive}.sha256`, destination: 'artifacts' } },
  ];
  const verify = `cd artifacts && sha256sum -c ${WEB.archive}.sha256`;
  const deployArchive = (fromStage: string, target: 'test' | 'prod'): Record<string, unknown> =>
    stage(
      `deploy-${target}`,
      job('deploy', [...fetchArchive(fromStage), npmCi, bash(`${verify} && mkdir -p web && tar -xzf ${WEB.archive} -C web`), deployWeb(target, WEB.unpacked)]),
      { manual: target, environment: awsCredentials(target) },
    );
  return {
    group: DELIVERY.webGroup,
    label_template: '${COUNT}-${repo[:8]}',
    lock_behavior: 'unlockWhenFinished',
    materials: material([...WEB.includes]),
    environment_variables: { CI: 'true', AWS_REGION: DELIVERY.region },
    stages: [
      stage('unit-test', job('test', [npmCi, exec('npm', 'run', 'test:web')])),
      stage('lint', job('lint', [npmCi, exec('npx', 'eslint', '--max-warnings=0', 'web')])),
      stage(
        'coverage',
        job('coverage', [npmCi, exec('npx', 'nyc', '--include', 'web/src/**/*.ts', '--reporter=text-summary', '--reporter=lcov', 'npm', 'run', 'test:web')], {
          artifacts: [{ test: { source: 'coverage', destination: 'coverage' } }],
        }),
      ),
      stage('deploy-dev', job('deploy', [npmCi, build, deployWeb('dev', 'web/dist')]), { environment: awsCredentials('dev') }),
      stage(
        'package-test',
        job('package', [npmCi, build, bash(`mkdir -p artifacts && tar -czf artifacts/${WEB.archive} -C web/dist . && cd artifacts && sha256sum ${WEB.archive} > ${WEB.archive}.sha256`)], {
          artifacts: publishArchive,
        }),
      ),
      deployArchive('package-test', 'test'),
      // Prod gets the very archive that was tested: promoted (checksum verified), not rebuilt.
      stage('package-prod', job('package', [...fetchArchive('package-test'), bash(verify)], { artifacts: publishArchive })),
      deployArchive('package-prod', 'prod'),
    ],
  };
}

/** `aws cloudformation deploy` of a hand-written template (the network, the deployer roles). */
const cloudFormationDeploy = (template: string, stackName: string, capability: string, extra: string[], parameters: string[]): Task =>
  exec('aws', 'cloudformation', 'deploy', '--template-file', template, '--stack-name', stackName, '--capabilities', capability, ...extra, '--no-fail-on-empty-changeset', '--parameter-overrides', ...parameters);

/**
 * A pipeline of one hand-written template, per stage, on demand only (every stage is manual):
 * validate (`npx gulp check-templates`), then a deploy stage per stage that it watches nothing else for.
 */
function templatePipeline(template: string, deployTask: (target: Stage) => Task, environment: (target: Stage) => Record<string, string>): Record<string, unknown> {
  const deploy = (target: Stage) => stage(`deploy-${target}`, job('deploy', [deployTask(target)]), { manual: target === 'dev' ? 'test' : target, environment: environment(target) });
  return {
    group: DELIVERY.serviceGroup,
    label_template: '${COUNT}-${repo[:8]}',
    lock_behavior: 'unlockWhenFinished',
    materials: { repo: { ...(material([template])['repo'] as Record<string, unknown>), auto_update: false } },
    environment_variables: { AWS_REGION: DELIVERY.region },
    stages: [stage('validate', job('validate', [npmCi, exec('npx', 'gulp', 'check-templates')]), { manual: 'test' }), deploy('dev'), deploy('test'), deploy('prod')],
  };
}

/** The network of aws-vpc.template, made by CloudFormation with the stage's CloudFormation role. */
function vpcPipeline(): Record<string, unknown> {
  const nat = (target: Stage): 'Single' | 'PerZone' => (target === 'prod' ? 'PerZone' : 'Single');
  return templatePipeline(
    'aws-vpc.template',
    (target) => cloudFormationDeploy('aws-vpc.template', `media-library-vpc-${target}`, 'CAPABILITY_IAM', ['--role-arn', cloudFormationRole(target)], [`Stage=${target}`, `NatGateways=${nat(target)}`]),
    (target) => awsCredentials(target, 'environment'),
  );
}

/**
 * The roles of aws-deployers.template, applied with an administrator's bootstrap keys (the only
 * ones left), before any other pipeline can deploy to that stage.
 */
function deployersPipeline(): Record<string, unknown> {
  return templatePipeline(
    'aws-deployers.template',
    (target) =>
      cloudFormationDeploy('aws-deployers.template', `media-library-deployers-${target}`, 'CAPABILITY_NAMED_IAM', [], [
        `Stage=${target}`,
        `AgentRoleArn=${DELIVERY.agentRoleArn}`,
        `MediaBucketName=${DELIVERY.mediaBuckets[target]}`,
      ]),
    (target) => ({ AWS_REGION: DELIVERY.region, ...bootstrapCredentials(target) }),
  );
}

export async function buildPipelines(): Promise<Record<string, unknown>> {
  const functions = listFunctions().sort((a, b) => a.name.localeCompare(b.name));
  const inputs = await functionInputs(functions);
  const pipelines: Record<string, unknown> = {};
  for (const fn of functions) {
    const includes = [...new Set([...(inputs[fn.name] ?? []), ...DELIVERY.configFiles])].sort();
    pipelines[`media-library-fn-${fn.name}`] = functionPipeline(fn, includes);
  }
  pipelines['media-library-service'] = servicePipeline();
  pipelines[WEB.pipeline] = webPipeline();
  pipelines['media-library-create-vpc'] = vpcPipeline();
  pipelines['media-library-deployers'] = deployersPipeline();
  return { format_version: 10, pipelines };
}

export const PIPELINES_FILE = 'pipelines.gocd.yaml';

export async function renderPipelines(): Promise<string> {
  const header = [
    '# Go.cd pipelines of the Media Library API (gocd-yaml-config-plugin, format_version 10).',
    '# GENERATED by `npx gulp pipelines` from serverless.yml and the functions\' bundles',
    `# (local/delivery/pipelines.ts): do not edit by hand. docs/deployment.md explains it.`,
    '',
  ].join('\n');
  return header + stringify(await buildPipelines(), { lineWidth: 0, aliasDuplicateObjects: false });
}

export const pipelinesPath = (root: string): string => path.join(root, PIPELINES_FILE);
