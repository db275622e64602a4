/**
 * Checks over pipelines.gocd.yaml. The YAML config plugin's own syntax check does not catch
 * unknown keys (a typo like `aproval:` silently makes a stage automatic), so this suite checks
 * the structure key by key, plus what the pipelines promise: eight stages in order, manual
 * gates, fetches of artefacts that earlier stages publish, includes that exist.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { execFileSync } from 'node:child_process';
import { AWS_CONFIG_FILE, FUNCTION_STAGES, PIPELINES_FILE, renderAwsConfig, renderPipelines, WEB } from '../delivery/pipelines';
import { functionInputs, listFunctions } from '../functions';
import { REPO_ROOT } from '../stack/serviceConfig';

type Node = Record<string, unknown>;
const asNode = (value: unknown): Node => value as Node;

/** Keys the gocd-yaml-config-plugin (format_version 10) knows, per level (the subset we use and allow). */
const ALLOWED = {
  root: ['format_version', 'pipelines', 'environments', 'common'],
  pipeline: ['group', 'label_template', 'lock_behavior', 'display_order', 'timer', 'environment_variables', 'secure_variables', 'parameters', 'materials', 'stages', 'tracking_tool'],
  gitMaterial: ['git', 'branch', 'shallow_clone', 'auto_update', 'includes', 'ignore', 'destination', 'username', 'encrypted_password', 'name'],
  stage: ['fetch_materials', 'keep_artifacts', 'clean_workspace', 'approval', 'environment_variables', 'secure_variables', 'jobs'],
  approval: ['type', 'allow_only_on_success', 'roles', 'users'],
  job: ['timeout', 'resources', 'elastic_profile_id', 'run_instances', 'environment_variables', 'secure_variables', 'tabs', 'artifacts', 'tasks'],
  task: ['exec', 'fetch'],
  exec: ['command', 'arguments', 'working_directory', 'run_if'],
  fetch: ['pipeline', 'stage', 'job', 'source', 'destination', 'is_file', 'run_if', 'artifact_origin'],
  artifact: ['build', 'test'],
  artifactBody: ['source', 'destination'],
} as const;

function onlyKeys(node: unknown, allowed: readonly string[], where: string): void {
  expect(node, where).to.be.an('object');
  for (const key of Object.keys(node as Node)) expect(allowed, `${where}: unknown key "${key}"`).to.include(key);
}

const stagesOf = (pipeline: Node): Array<[string, Node]> => (pipeline['stages'] as Node[]).map((entry) => Object.entries(entry)[0] as [string, Node]);
const jobsOf = (stage: Node): Array<[string, Node]> => Object.entries(stage['jobs'] as Node) as Array<[string, Node]>;
const tasksOf = (job: Node): Node[] => job['tasks'] as Node[];

/**
 * Whether Go.cd's material filter matches a changed file (its IgnoredFiles: `**` as a whole path
 * segment becomes `([^/]*\/)*`, `*` becomes `[^/]*`, and the pattern must match the whole path).
 */
function goCdMatches(pattern: string, file: string): boolean {
  const regex = pattern
    .split('/')
    .map((part) => {
      const escaped = part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      if (part === '**') return '([^/]*/)*';
      return `${escaped.replace(/\*/g, '[^/]*')}/`;
    })
    .join('')
    .replace(/\/$/, '');
  return new RegExp(`^${regex}$`).test(file);
}

function isSecretReference(value: string): boolean {
  return /^\{\{SECRET:\[[\w-]+\]\[[\w-]+\]\}\}$/.test(value);
}

describe('pipelines.gocd.yaml', function () {
  this.timeout(60_000);
  const text = fs.readFileSync(path.join(REPO_ROOT, PIPELINES_FILE), 'utf8');
  const document = parse(text) as Node;
  const pipelines = asNode(document['pipelines']);
  const functions = listFunctions();

  it('is up to date with serverless.yml and the bundles (regenerate with `npx gulp pipelines`)', async () => {
    expect(text === (await renderPipelines()), 'pipelines.gocd.yaml is stale: run `npx gulp pipelines` and commit it').to.equal(true);
  });

  it('uses only keys the config plugin knows, at every level (a typo would be silently ignored by Go.cd)', () => {
    onlyKeys(document, ALLOWED.root, 'root');
    expect(document['format_version']).to.equal(10);
    for (const [name, value] of Object.entries(pipelines)) {
      const pipeline = asNode(value);
      onlyKeys(pipeline, ALLOWED.pipeline, name);
      for (const [materialName, material] of Object.entries(asNode(pipeline['materials']))) onlyKeys(material, ALLOWED.gitMaterial, `${name}.materials.${materialName}`);
      for (const [stageName, stage] of stagesOf(pipeline)) {
        onlyKeys(stage, ALLOWED.stage, `${name}.${stageName}`);
        if (stage['approval'] !== undefined) onlyKeys(stage['approval'], ALLOWED.approval, `${name}.${stageName}.approval`);
        for (const [jobName, job] of jobsOf(stage)) {
          onlyKeys(job, ALLOWED.job, `${name}.${stageName}.${jobName}`);
          for (const artifact of (job['artifacts'] as Node[] | undefined) ?? []) {
            onlyKeys(artifact, ALLOWED.artifact, `${name}.${stageName}.${jobName}.artifacts`);
            for (const body of Object.values(artifact)) onlyKeys(body, ALLOWED.artifactBody, `${name}.${stageName}.${jobName}.artifacts`);
          }
          for (const task of tasksOf(job)) {
            onlyKeys(task, ALLOWED.task, `${name}.${stageName}.${jobName}.tasks`);
            if (task['exec'] !== undefined) onlyKeys(task['exec'], ALLOWED.exec, `${name}.${stageName}.${jobName}.exec`);
            if (task['fetch'] !== undefined) onlyKeys(task['fetch'], ALLOWED.fetch, `${name}.${stageName}.${jobName}.fetch`);
          }
        }
      }
    }
  });

  it('has exactly one pipeline per function and no pipeline for a function that does not exist', () => {
    const functionPipelines = Object.keys(pipelines).filter((name) => name.startsWith('media-library-fn-'));
    expect(functionPipelines.map((name) => name.slice('media-library-fn-'.length)).sort()).to.deep.equal(functions.map((fn) => fn.name).sort());
    const groups = new Set(functionPipelines.map((name) => asNode(pipelines[name])['group']));
    expect([...groups], 'one pipeline group').to.have.length(1);
  });

  it('gives every function pipeline the eight stages in order; test and prod deploys are manual, allowed only on success, with approver roles', () => {
    for (const fn of functions) {
      const pipeline = asNode(pipelines[`media-library-fn-${fn.name}`]);
      const stages = stagesOf(pipeline);
      expect(stages.map(([name]) => name), fn.name).to.deep.equal([...FUNCTION_STAGES]);
      for (const [name, stage] of stages) {
        const approval = stage['approval'] as Node | undefined;
        if (name === 'deploy-test' || name === 'deploy-prod') {
          expect(approval?.['type'], `${fn.name} ${name}`).to.equal('manual');
          expect(approval?.['allow_only_on_success']).to.equal(true);
          expect(approval?.['roles']).to.be.an('array').that.is.not.empty;
        } else {
          expect(approval, `${fn.name} ${name} runs automatically`).to.equal(undefined);
        }
      }
    }
  });

  it('runs the gulp tasks with --function in the test stages and deploys that function alone', () => {
    for (const fn of functions) {
      const stages = Object.fromEntries(stagesOf(asNode(pipelines[`media-library-fn-${fn.name}`])));
      const commands = (stageName: string): string[] =>
        jobsOf(stages[stageName] as Node).flatMap(([, job]) =>
          tasksOf(job)
            .filter((task) => task['exec'] !== undefined)
            .map((task) => {
              const exec = asNode(task['exec']);
              return [exec['command'], ...(exec['arguments'] as string[])].join(' ');
            }),
        );
      expect(commands('unit-test')).to.include(`npx gulp test --function ${fn.name}`);
      expect(commands('lint')).to.include(`npx gulp lint --function ${fn.name}`);
      expect(commands('coverage')).to.include(`npx gulp coverage --function ${fn.name}`);
      expect(commands('package-test')).to.include(`npx gulp package --function ${fn.name} --stage test`);
      for (const target of ['dev', 'test', 'prod']) expect(commands(`deploy-${target}`)).to.include(`npx serverless deploy function -f ${fn.name} --stage ${target}`);
      for (const target of ['test', 'prod']) {
        expect(asNode((stages[`deploy-${target}`] as Node)['environment_variables'])['ML_DEPLOY_PREBUILT'], 'deploys the fetched zip, builds nothing').to.equal('true');
      }
    }
  });

  it('builds once: every fetch names an earlier stage and job of the same pipeline that publishes that artefact', () => {
    for (const [name, value] of Object.entries(pipelines)) {
      const stages = stagesOf(asNode(value));
      stages.forEach(([stageName, stage], index) => {
        for (const [, job] of jobsOf(stage)) {
          for (const task of tasksOf(job).filter((candidate) => candidate['fetch'] !== undefined)) {
            const fetch = asNode(task['fetch']);
            const where = `${name}.${stageName} fetches ${String(fetch['source'])}`;
            expect(fetch['pipeline'], where).to.equal(undefined);
            const source = stages.slice(0, index).find(([earlier]) => earlier === fetch['stage']);
            expect(source, `${where}: from an earlier stage`).to.not.equal(undefined);
            const publisher = asNode((source?.[1]['jobs'] as Node)[fetch['job'] as string]);
            expect(publisher, `${where}: from an existing job`).to.be.an('object');
            const published = ((publisher['artifacts'] as Node[] | undefined) ?? []).map((artifact) => asNode(artifact['build'] ?? artifact['test']));
            const matches = published.some((artifact) =>
              fetch['is_file'] === true
                ? `${String(artifact['destination'])}/${path.basename(String(artifact['source']))}` === fetch['source']
                : `${String(artifact['destination'])}/${path.basename(String(artifact['source']))}` === fetch['source'],
            );
            expect(matches, `${where}: that job publishes it`).to.equal(true);
          }
        }
      });
    }
  });

  it("triggers each function's pipeline on exactly its bundle's sources, package-lock.json and serverless.yml, and every include exists", async () => {
    const inputs = await functionInputs(functions);
    const exists = (include: string): boolean => {
      if (!include.includes('*')) return fs.existsSync(path.join(REPO_ROOT, include));
      const [dir, pattern] = [path.dirname(include), path.basename(include)];
      const regex = new RegExp(`^${pattern.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`);
      return fs.readdirSync(path.join(REPO_ROOT, dir)).some((file) => regex.test(file));
    };
    for (const fn of functions) {
      const includes = asNode(asNode(asNode(pipelines[`media-library-fn-${fn.name}`])['materials'])['repo'])['includes'] as string[];
      expect(includes).to.include.members([fn.source, 'package-lock.json', 'serverless.yml', ...(inputs[fn.name] ?? [])]);
      for (const include of includes) expect(exists(include), `${fn.name}: ${include} exists`).to.equal(true);
      // No other function's handler: a change to one function triggers only its own pipeline.
      for (const other of functions.filter((candidate) => candidate.name !== fn.name)) expect(includes, fn.name).not.to.include(other.source);
    }
    const usingHttpLayer = functions.filter((fn) => (inputs[fn.name] ?? []).includes('shared/http/handler.ts'));
    expect(usingHttpLayer.length, 'a change in shared/ triggers every function that uses it').to.be.greaterThan(15);
  });

  it('holds no AWS keys but the deployers pipeline’s bootstrap ones: every other stage assumes its stage’s role through a profile of the agents’ AWS config', () => {
    const profiles = new Map([...renderAwsConfig().matchAll(/^\[profile ([\w-]+)\]\nrole_arn = (\S+)\ncredential_source = EcsContainer$/gm)].map((match) => [match[1] as string, match[2] as string]));
    expect(fs.readFileSync(path.join(REPO_ROOT, AWS_CONFIG_FILE), 'utf8'), `${AWS_CONFIG_FILE} is stale: run \`npx gulp pipelines\``).to.equal(renderAwsConfig());
    let assuming = 0;
    for (const [name, pipeline] of Object.entries(pipelines)) {
      for (const entry of asNode(pipeline)['stages'] as Node[]) {
        for (const [stageName, stageNode] of Object.entries(entry)) {
          const variables = (asNode(stageNode)['environment_variables'] ?? {}) as Node;
          const where = `${name}/${stageName}`;
          if (name === 'media-library-deployers') {
            if (stageName !== 'validate') expect(variables['AWS_ACCESS_KEY_ID'], where).to.match(/^\{\{SECRET:\[media-library-(dev|test|prod)-bootstrap\]\[aws_access_key_id\]\}\}$/);
            continue;
          }
          expect(variables['AWS_ACCESS_KEY_ID'], `${where} holds no AWS key`).to.equal(undefined);
          if (!stageName.startsWith('deploy-')) continue;
          const target = stageName.slice('deploy-'.length);
          const kind = name === 'media-library-service' || name === 'media-library-create-vpc' ? 'environment' : 'deploy';
          expect(variables, where).to.deep.include({ AWS_CONFIG_FILE, AWS_PROFILE: `media-library-${kind}-${target}` });
          expect(profiles.get(`media-library-${kind}-${target}`), `${where}: its profile assumes that stage's ${kind} role`).to.match(new RegExp(`^arn:aws:iam::\\d{12}:role/media-library-${kind}-${target}$`));
          assuming++;
        }
      }
    }
    expect(assuming, 'deploy stages that assume a role').to.be.greaterThan(90);
  });

  it('keeps secrets out: credentials are secret-manager references, never plain text', () => {
    const walk = (value: unknown, where: string): void => {
      if (typeof value === 'string') {
        expect(value, where).not.to.match(/AKIA[0-9A-Z]{16}/);
        return;
      }
      if (value === null || typeof value !== 'object') return;
      for (const [key, child] of Object.entries(value)) {
        if (/SECRET|PASSWORD|TOKEN|ACCESS_KEY/i.test(key) && typeof child === 'string') {
          expect(isSecretReference(child), `${where}.${key} must be a {{SECRET:[config][key]}} reference`).to.equal(true);
        }
        walk(child, `${where}.${key}`);
      }
    };
    walk(document, 'root');
  });

  describe('the web app pipeline', () => {
    const web = (): Node => asNode(pipelines[WEB.pipeline]);
    const stages = (): Record<string, Node> => Object.fromEntries(stagesOf(web()));
    const commands = (stageName: string): string[] =>
      jobsOf(stages()[stageName] as Node).flatMap(([, job]) =>
        tasksOf(job)
          .filter((task) => task['exec'] !== undefined)
          .map((task) => {
            const exec = asNode(task['exec']);
            return [exec['command'], ...(exec['arguments'] as string[])].join(' ');
          }),
      );

    it('has the eight stages of a function pipeline, in order; test and prod deploys manual, allowed only on success, with approver roles', () => {
      expect(stagesOf(web()).map(([name]) => name)).to.deep.equal([...FUNCTION_STAGES]);
      expect(web()['group'], 'a group of its own').to.not.equal(asNode(pipelines['media-library-service'])['group']);
      for (const [name, stage] of stagesOf(web())) {
        const approval = stage['approval'] as Node | undefined;
        if (name === 'deploy-test' || name === 'deploy-prod') {
          expect(approval?.['type'], name).to.equal('manual');
          expect(approval?.['allow_only_on_success']).to.equal(true);
          expect(approval?.['roles']).to.deep.equal([`media-library-${name.slice('deploy-'.length)}-deployers`]);
        } else {
          expect(approval, `${name} runs automatically`).to.equal(undefined);
        }
      }
    });

    it("tests, lints and measures web/, and deploys dev from a fresh build", () => {
      expect(commands('unit-test')).to.include('npm run test:web');
      expect(commands('lint')).to.include('npx eslint --max-warnings=0 web');
      expect(commands('coverage').some((command) => command.startsWith('npx nyc ') && command.endsWith(' npm run test:web') && command.includes('--include web/src/**/*.ts'))).to.equal(true);
      expect(commands('deploy-dev')).to.deep.equal(['npm ci --no-audit --no-fund', 'npm run build:web', 'node --import tsx local/delivery/deploy-web.ts --stage dev --dist web/dist']);
    });

    it('builds once: package-test archives web/dist with its SHA-256; test and prod verify that archive and deploy it, building nothing', () => {
      expect(commands('package-test').slice(1)).to.deep.equal([
        'npm run build:web',
        `bash -euo pipefail -c mkdir -p artifacts && tar -czf artifacts/${WEB.archive} -C web/dist . && cd artifacts && sha256sum ${WEB.archive} > ${WEB.archive}.sha256`,
      ]);
      expect(commands('package-prod')).to.deep.equal([`bash -euo pipefail -c cd artifacts && sha256sum -c ${WEB.archive}.sha256`]);
      for (const target of ['test', 'prod']) {
        const deploy = commands(`deploy-${target}`);
        expect(deploy, target).not.to.include('npm run build:web');
        expect(deploy.slice(1), target).to.deep.equal([
          `bash -euo pipefail -c cd artifacts && sha256sum -c ${WEB.archive}.sha256 && mkdir -p web && tar -xzf ${WEB.archive} -C web`,
          `node --import tsx local/delivery/deploy-web.ts --stage ${target} --dist ${WEB.unpacked}`,
        ]);
        const fetches = jobsOf(stages()[`deploy-${target}`] as Node).flatMap(([, job]) => tasksOf(job).filter((task) => task['fetch'] !== undefined).map((task) => asNode(task['fetch'])));
        expect(fetches.map((fetch) => [fetch['stage'], fetch['source']])).to.deep.equal([
          [target === 'test' ? 'package-test' : 'package-prod', `artifacts/${WEB.archive}`],
          [target === 'test' ? 'package-test' : 'package-prod', `artifacts/${WEB.archive}.sha256`],
        ]);
        const credentials = asNode(stages()[`deploy-${target}`]?.['environment_variables']);
        expect(credentials, target).to.deep.include({ AWS_CONFIG_FILE, AWS_PROFILE: `media-library-deploy-${target}` });
      }
    });

    it('is triggered by every file of web/ as Go.cd matches includes, the lock file, package.json, the OpenAPI document, the build and deploy scripts, and by nothing of the functions', () => {
      const includes = asNode(asNode(web()['materials'])['repo'])['includes'] as string[];
      const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\n').filter((file) => file !== '');
      const triggers = (file: string): boolean => includes.some((pattern) => goCdMatches(pattern, file));
      const webFiles = tracked.filter((file) => file.startsWith('web/'));
      expect(webFiles.length, 'files under web/').to.be.greaterThan(0);
      for (const file of [...webFiles, 'package-lock.json', 'package.json', 'docs/openapi.v1.json', 'local/delivery/deploy-web.ts', 'local/stack/webBuild.ts']) expect(triggers(file), file).to.equal(true);
      for (const file of tracked.filter((candidate) => /^(functions|shared)\//.test(candidate) || candidate === 'serverless.yml')) expect(triggers(file), file).to.equal(false);
      // The trap the includes avoid: Go.cd's `**` stands for folders only.
      expect(goCdMatches('web/**', 'web/src/main.ts')).to.equal(false);
      expect(goCdMatches('web/**/*', 'web/src/main.ts')).to.equal(true);
      expect(goCdMatches('web/**/*', 'web/index.html')).to.equal(true);
      expect(goCdMatches('shared/config/stages/*.yml', 'shared/config/stages/prod.yml')).to.equal(true);
    });
  });

  it('has a service pipeline deploying the packaged stack through the same gates, and a manual create-vpc pipeline', () => {
    const service = stagesOf(asNode(pipelines['media-library-service']));
    expect(service.map(([name]) => name)).to.deep.equal(['test', 'package-dev', 'deploy-dev', 'package-test', 'deploy-test', 'package-prod', 'deploy-prod']);
    for (const [name, stage] of service) {
      const manual = asNode(stage['approval'] ?? {})['type'] === 'manual';
      expect(manual, name).to.equal(name === 'deploy-test' || name === 'deploy-prod');
    }
    const deployProd = JSON.stringify(service.find(([name]) => name === 'deploy-prod')?.[1]);
    expect(deployProd).to.contain('"deploy","--stage","prod","--package","artifacts/stack-prod"');

    const vpc = stagesOf(asNode(pipelines['media-library-create-vpc']));
    expect(vpc.map(([name]) => name)).to.deep.equal(['validate', 'deploy-dev', 'deploy-test', 'deploy-prod']);
    for (const [name, stage] of vpc) expect(asNode(stage['approval'] ?? {})['type'], `${name} is manual`).to.equal('manual');
    expect(JSON.stringify(vpc)).to.contain('aws-vpc.template');
  });
});
