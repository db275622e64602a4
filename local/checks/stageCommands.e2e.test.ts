/**
 * The commands of a function's pipeline work, as Go.cd would run them: read from
 * pipelines.gocd.yaml, run in a fresh copy of the repository (the files git tracks or would
 * track), stage by stage. Unit test, lint, coverage and package-test must pass and publish the
 * artefact; package-prod promotes it after checking its SHA-256; the deploy stages run
 * `serverless deploy function` against a loopback stand-in for AWS (local/test/fakeAws.ts), in a
 * workspace where the function's source is gone, so only the fetched zip can be deployed, and
 * the bytes uploaded must be exactly the artefact's; then release that version to the alias
 * `live` through (the stand-in's) CodeDeploy, and smoke-test the stage: the stand-in's stack
 * output HttpApiUrl is the whole API under serverless-offline, with a smoke account.
 *
 * Skipped: `npm ci` (every stage's first task; node_modules is linked from this checkout, and
 * .ci/run exercises `npm ci` itself) and Go.cd's own fetching (copied here from the publishing
 * stage's workspace, as Go.cd's artefact store would).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { parse } from 'yaml';
import { PIPELINES_FILE } from '../delivery/pipelines';
import { REPO_ROOT } from '../stack/serviceConfig';
import { AGENT_CREDENTIALS_PATH, startFakeAws, type FakeAws } from '../test/fakeAws';
import { problemsWithTheDeployRole } from '../test/deployRole';
import { agentEnv, isNpmCi, resolveSecrets, runTask as run, type Exec, type Stage } from '../test/goCdAgent';
import { ApiClient, newAccount } from '../test/http';
import { offlineApi } from '../test/stack';

type Node = Record<string, unknown>;

const FUNCTION = 'getHealth';
const SOURCE = 'functions/health/getHealth.ts';

/** A fresh workspace: the repository's files (tracked or trackable), node_modules linked. */
function workspace(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ml-pipeline-${label}-`));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '' && fs.existsSync(path.join(REPO_ROOT, file)));
  for (const file of files) {
    fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, file), path.join(dir, file));
  }
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe(`pipeline stage commands of ${FUNCTION}, run as Go.cd would`, function () {
  this.timeout(600_000);
  const pipeline = (parse(fs.readFileSync(path.join(REPO_ROOT, PIPELINES_FILE), 'utf8')) as { pipelines: Record<string, Node> }).pipelines[`media-library-fn-${FUNCTION}`] as Node;
  const stages = Object.fromEntries((pipeline['stages'] as Array<Record<string, Stage>>).map((entry) => Object.entries(entry)[0] as [string, Stage]));
  const pipelineEnv = pipeline['environment_variables'] as Record<string, string>;
  /** Go.cd's artefact store: `<stage>/<job>/<destination>/<file>` → the file in that stage's workspace. */
  const store = new Map<string, string>();
  const workspaces: string[] = [];
  let fakeAws: FakeAws;
  /** Go.cd's secret manager, as far as these stages read it: the stages' smoke account. */
  const secrets: Record<string, string> = {};

  before(async () => {
    fakeAws = await startFakeAws();
    // CodeDeploy's shift is done at the first look (release.ts would wait 15 s between looks;
    // its waiting is tested in local/delivery/release.test.ts).
    fakeAws.inProgressLooks = 0;
    const api = await offlineApi();
    fakeAws.apiUrl = api.baseUrl;
    const smoke = newAccount('smoke');
    const created = await new ApiClient(api.baseUrl).post('/v1/users', { body: smoke });
    expect(created.status, created.text).to.equal(201);
    Object.assign(secrets, { smoke_email: smoke.email, smoke_password: smoke.password });
  });
  after(async () => {
    await fakeAws.close();
    for (const dir of workspaces) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function runStage(name: string, prepare?: (dir: string) => void): Promise<{ dir: string; outputs: string[] }> {
    const stage = stages[name] as Stage;
    expect(stage, `stage ${name}`).to.be.an('object');
    const dir = workspace(name);
    workspaces.push(dir);
    prepare?.(dir);
    // Every stage points the SDK at the stand-in, so nothing could ever reach AWS; the unit tests
    // must hold under that too (a developer's shell may set it as well).
    const env = agentEnv({ ...pipelineEnv, ...resolveSecrets(stage.environment_variables, secrets), AWS_ENDPOINT_URL: fakeAws.endpoint, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${fakeAws.endpoint}${AGENT_CREDENTIALS_PATH}` });
    const outputs: string[] = [];
    for (const [jobName, job] of Object.entries(stage.jobs)) {
      for (const task of job.tasks) {
        if (task.fetch !== undefined) {
          const { stage: from, job: fromJob, source, destination } = task.fetch;
          const stored = store.get(`${from}/${fromJob}/${source}`);
          expect(stored, `${name}: fetch of ${source} from ${from}/${fromJob}`).to.be.a('string');
          fs.mkdirSync(path.join(dir, destination), { recursive: true });
          fs.copyFileSync(stored as string, path.join(dir, destination, path.basename(source)));
          continue;
        }
        const exec = task.exec as Exec;
        if (isNpmCi(exec)) continue;
        const outcome = await run(dir, exec, env);
        outputs.push(outcome.output);
        expect(outcome.code, `${name}: ${exec.command} ${exec.arguments.join(' ')} failed:\n${outcome.output.slice(-4000)}`).to.equal(0);
      }
      for (const artifact of job.artifacts ?? []) {
        if (artifact.build === undefined) continue;
        const file = path.join(dir, artifact.build.source);
        expect(fs.existsSync(file), `${name} publishes ${artifact.build.source}`).to.equal(true);
        store.set(`${name}/${jobName}/${artifact.build.destination}/${path.basename(artifact.build.source)}`, file);
      }
    }
    return { dir, outputs };
  }

  it('unit-test runs the function’s tests and the tests of the shared modules its bundle is made of, and passes', async () => {
    const { outputs } = await runStage('unit-test');
    const text = outputs.join('\n');
    expect(text).to.match(/GET \/v1\/health \(getHealth\)/);
    expect(text, 'the HTTP layer every handler is built on').to.match(/shared\/http handler/);
    expect(text).to.match(/\d+ passing/);
    expect(text).not.to.match(/POST \/v1\/media \(createMedia\)/, 'another function’s tests');
  });

  it('lint passes on the function and shared/', async () => {
    await runStage('lint');
  });

  it('coverage passes the thresholds and writes the report', async () => {
    const { dir, outputs } = await runStage('coverage');
    expect(outputs.join('\n')).to.match(/Lines\s*:\s*\d+/);
    expect(fs.existsSync(path.join(dir, 'coverage', 'lcov.info')), 'coverage/lcov.info').to.equal(true);
  });

  it('package-test builds the zip offline and publishes it with its SHA-256', async () => {
    const { dir } = await runStage('package-test');
    const zip = path.join(dir, 'artifacts', `${FUNCTION}.zip`);
    expect(fs.readFileSync(`${zip}.sha256`, 'utf8')).to.equal(`${sha256(zip)}  ${FUNCTION}.zip\n`);
  });

  // Deploy workspaces lose the function's source: a rebuild would fail, only the fetched zip can go out.
  const withoutSource = (dir: string): void => fs.rmSync(path.join(dir, SOURCE));

  /** The version the stage released to live: published from the artefact, shifted by CodeDeploy. */
  function expectReleased(target: string, built: string): void {
    const fn = fakeAws.functions.get(`media-library-${target}-${FUNCTION}`);
    const released = fn?.versions.find((version) => version.version === fn.live);
    expect(fn?.live, 'live moved to a new version').to.not.equal('1');
    expect(released?.codeSha256, 'live runs the artefact').to.equal(createHash('sha256').update(fs.readFileSync(built)).digest('base64'));
    const deployment = fakeAws.deployments.find((candidate) => candidate.applicationName === `media-library-${target}`);
    expect(deployment, 'through a CodeDeploy deployment').to.deep.include({ deploymentGroupName: `media-library-${target}-GetHealthLambdaFunctionDeploymentGroup`, status: 'Succeeded' });
  }

  it('deploy-test deploys exactly the zip package-test built, building nothing, releases it to live through CodeDeploy and smoke-tests the stage, as the stage’s deploy role', async () => {
    const built = store.get(`package-test/package/artifacts/${FUNCTION}.zip`) as string;
    fakeAws.calls.length = 0;
    const { outputs } = await runStage('deploy-test', withoutSource);
    const uploads = fakeAws.calls.filter((call) => call.zipSha256 !== undefined);
    expect(uploads.map((call) => call.path)).to.deep.equal([`/2015-03-31/functions/media-library-test-${FUNCTION}/code`]);
    expect(uploads[0]?.zipSha256).to.equal(sha256(built));
    expectReleased('test', built);
    expect(outputs.join('\n')).to.match(/smoke test of test passed: 5 requests/);
    expect(await problemsWithTheDeployRole(fakeAws.calls, 'test'), 'as the role media-library-deploy-test, each call allowed by it').to.deep.equal([]);
  });

  it('package-prod promotes that zip unchanged (checksum verified), and refuses a tampered one', async () => {
    const built = store.get(`package-test/package/artifacts/${FUNCTION}.zip`) as string;
    const { dir } = await runStage('package-prod');
    expect(sha256(path.join(dir, 'artifacts', `${FUNCTION}.zip`))).to.equal(sha256(built));

    const tampered = workspace('tampered');
    workspaces.push(tampered);
    fs.mkdirSync(path.join(tampered, 'artifacts'));
    fs.copyFileSync(`${built}.sha256`, path.join(tampered, 'artifacts', `${FUNCTION}.zip.sha256`));
    fs.writeFileSync(path.join(tampered, 'artifacts', `${FUNCTION}.zip`), 'not the zip that was tested');
    const check = (stages['package-prod'] as Stage).jobs['package']?.tasks.find((task) => task.exec?.command === 'bash')?.exec as Exec;
    expect((await run(tampered, check, agentEnv({}))).code, 'sha256sum -c fails').to.not.equal(0);
  });

  let prodWorkspace: string;
  it('deploy-prod deploys the promoted zip, byte for byte, releases it to live and smoke-tests prod, as the stage’s deploy role', async () => {
    const built = store.get(`package-test/package/artifacts/${FUNCTION}.zip`) as string;
    fakeAws.calls.length = 0;
    const { dir, outputs } = await runStage('deploy-prod', withoutSource);
    prodWorkspace = dir;
    const uploads = fakeAws.calls.filter((call) => call.zipSha256 !== undefined);
    expect(uploads.map((call) => call.path)).to.deep.equal([`/2015-03-31/functions/media-library-prod-${FUNCTION}/code`]);
    expect(uploads[0]?.zipSha256).to.equal(sha256(built));
    expect(fakeAws.calls.every((call) => call.service !== 'unknown'), 'every call was signed for a known service').to.equal(true);
    expectReleased('prod', built);
    expect(outputs.join('\n')).to.match(/smoke test of prod passed: 5 requests/);
    expect(await problemsWithTheDeployRole(fakeAws.calls, 'prod'), 'as the role media-library-deploy-prod, each call allowed by it').to.deep.equal([]);
  });

  const tasksOf = (name: string): Exec[] => ((stages[name] as Stage).jobs['deploy']?.tasks ?? []).flatMap((task) => (task.exec === undefined ? [] : [task.exec]));
  const prodEnv = (store: Record<string, string>): NodeJS.ProcessEnv =>
    agentEnv({ ...pipelineEnv, ...resolveSecrets((stages['deploy-prod'] as Stage).environment_variables, store), AWS_ENDPOINT_URL: fakeAws.endpoint, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${fakeAws.endpoint}${AGENT_CREDENTIALS_PATH}` });

  it('deploy-prod fails when an alarm stops the canary, and live stays on the version it ran', async () => {
    const name = `media-library-prod-${FUNCTION}`;
    const before = fakeAws.functions.get(name)?.live;
    // A newer zip on $LATEST (as `serverless deploy function` leaves it), then the stage's release task.
    const zip = path.join(prodWorkspace, 'artifacts', `${FUNCTION}.zip`);
    fs.appendFileSync(zip, 'a newer build');
    (fakeAws.functions.get(name) as { codeSha256: string }).codeSha256 = createHash('sha256').update(fs.readFileSync(zip)).digest('base64');
    fakeAws.nextDeployment = 'Stopped';
    try {
      const releaseTask = tasksOf('deploy-prod').find((task) => task.arguments.includes('local/delivery/release.ts')) as Exec;
      const outcome = await run(prodWorkspace, releaseTask, prodEnv(secrets));
      expect(outcome.code, outcome.output).to.not.equal(0);
      expect(outcome.output).to.match(/stays on version \d+: CodeDeploy deployment d-FAKE\d+ Stopped \(ALARM_ACTIVE/);
      expect(fakeAws.functions.get(name)?.live).to.equal(before);
    } finally {
      fakeAws.nextDeployment = 'Succeeded';
    }
  });

  it('deploy-prod fails when the smoke test does (here: the smoke account cannot sign in)', async () => {
    const smokeTask = tasksOf('deploy-prod').find((task) => task.arguments.includes('local/delivery/smoke.ts')) as Exec;
    const outcome = await run(prodWorkspace, smokeTask, prodEnv({ ...secrets, smoke_password: `${secrets['smoke_password'] ?? ''}-wrong` }));
    expect(outcome.code, outcome.output).to.not.equal(0);
    expect(outcome.output).to.match(/smoke sign in: POST \/v1\/sessions answered 401/);
  });
});
