/**
 * The web app pipeline's build-once path, run as Go.cd would from pipelines.gocd.yaml: package-test
 * builds web/ and publishes the archive with its SHA-256; deploy-test, in a workspace with no web/
 * sources at all (only the fetched archive can go out), verifies and unpacks it and runs
 * local/delivery/deploy-web.ts against a loopback stand-in for AWS (local/test/fakeAws.ts);
 * package-prod promotes the archive and refuses a tampered one; deploy-prod uploads the very same
 * bytes. Its unit-test, lint and coverage stages are plain npm/eslint/nyc commands over web/.
 *
 * Workspaces are fresh copies of the repository (the files git tracks or would track) under
 * .local-data/, so their commands find this checkout's node_modules by Node's and npm's own
 * lookup in parent folders. Skipped: `npm ci` and Go.cd's fetching (copied here from the
 * publishing stage's workspace, as Go.cd's artefact store would).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { PIPELINES_FILE, WEB } from '../delivery/pipelines';
import { IMMUTABLE, RELEASES_PREFIX, REVALIDATE } from '../delivery/deploy-web';
import { REPO_ROOT } from '../stack/serviceConfig';
import { AGENT_CREDENTIALS_PATH, FAKE_DISTRIBUTION_ID, FAKE_LIVE_URL, fakeAppBucket, startFakeAws, type FakeAws } from '../test/fakeAws';
import { problemsWithTheDeployRole } from '../test/deployRole';
import { agentEnv, isNpmCi, resolveSecrets, runTask, type Exec, type Stage } from '../test/goCdAgent';

type Node = Record<string, unknown>;
const WORKSPACES = path.join(REPO_ROOT, '.local-data', 'pipeline-runs');
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A fresh workspace inside the checkout's .local-data/ (so node_modules is found above it). */
function workspace(label: string): string {
  fs.mkdirSync(WORKSPACES, { recursive: true });
  const dir = fs.mkdtempSync(path.join(WORKSPACES, `web-${label}-`));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '' && fs.existsSync(path.join(REPO_ROOT, file)));
  for (const file of files) {
    fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, file), path.join(dir, file));
  }
  return dir;
}

/** The files of a .tar.gz, by path, with their bytes. */
function archiveFiles(archive: string, into: string): Map<string, Buffer> {
  fs.mkdirSync(into, { recursive: true });
  execFileSync('tar', ['-xzf', archive, '-C', into]);
  return new Map(
    fs
      .readdirSync(into, { recursive: true })
      .map(String)
      .filter((file) => fs.statSync(path.join(into, file)).isFile())
      .map((file) => [file.split(path.sep).join('/'), fs.readFileSync(path.join(into, file))]),
  );
}

describe('web app pipeline stage commands, run as Go.cd would', function () {
  this.timeout(600_000);
  const pipeline = (parse(fs.readFileSync(path.join(REPO_ROOT, PIPELINES_FILE), 'utf8')) as { pipelines: Record<string, Node> }).pipelines[WEB.pipeline] as Node;
  const stages = Object.fromEntries((pipeline['stages'] as Array<Record<string, Stage>>).map((entry) => Object.entries(entry)[0] as [string, Stage]));
  const pipelineEnv = pipeline['environment_variables'] as Record<string, string>;
  const store = new Map<string, string>();
  const workspaces: string[] = [];
  let fakeAws: FakeAws;
  let built: Map<string, Buffer>;

  before(async () => {
    fakeAws = await startFakeAws();
  });
  after(async () => {
    await fakeAws.close();
    for (const dir of workspaces) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function runStage(name: string, prepare?: (dir: string) => void): Promise<string> {
    const stage = stages[name] as Stage;
    expect(stage, `stage ${name}`).to.be.an('object');
    const dir = workspace(name);
    workspaces.push(dir);
    prepare?.(dir);
    const env = agentEnv({ ...pipelineEnv, ...resolveSecrets(stage.environment_variables), AWS_ENDPOINT_URL: fakeAws.endpoint, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${fakeAws.endpoint}${AGENT_CREDENTIALS_PATH}` });
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
        const outcome = await runTask(dir, exec, env);
        expect(outcome.code, `${name}: ${exec.command} ${exec.arguments.join(' ')} failed:\n${outcome.output.slice(-4000)}`).to.equal(0);
      }
      for (const artifact of job.artifacts ?? []) {
        if (artifact.build === undefined) continue;
        const file = path.join(dir, artifact.build.source);
        expect(fs.existsSync(file), `${name} publishes ${artifact.build.source}`).to.equal(true);
        store.set(`${name}/${jobName}/${artifact.build.destination}/${path.basename(artifact.build.source)}`, file);
      }
    }
    return dir;
  }

  /** What the stand-in's bucket of `stage` holds now, release records aside. */
  const siteIn = (stage: string): Map<string, Buffer> =>
    new Map(
      [...fakeAws.objects.entries()]
        .filter(([name]) => name.startsWith(`${fakeAppBucket(stage)}/`) && !name.startsWith(`${fakeAppBucket(stage)}/${RELEASES_PREFIX}`))
        .map(([name, object]) => [name.slice(fakeAppBucket(stage).length + 1), object.body]),
    );

  it('package-test builds web/ once and publishes the archive with its SHA-256', async () => {
    const dir = await runStage('package-test');
    const archive = path.join(dir, 'artifacts', WEB.archive);
    expect(fs.readFileSync(`${archive}.sha256`, 'utf8')).to.equal(`${sha256(fs.readFileSync(archive))}  ${WEB.archive}\n`);
    built = archiveFiles(archive, path.join(dir, 'unpacked'));
    expect([...built.keys()]).to.include('index.html');
    expect([...built.keys()].some((file) => /^assets\/index-[\w-]+\.js$/.test(file)), 'hashed entry script').to.equal(true);
  });

  // Deploy workspaces lose web/ entirely: a build would fail, only the fetched archive can go out.
  const withoutWeb = (dir: string): void => fs.rmSync(path.join(dir, 'web'), { recursive: true, force: true });

  it('deploy-test uploads exactly the archive package-test built, index.html last, and invalidates /index.html, as the stage’s deploy role', async () => {
    fakeAws.calls.length = 0;
    await runStage('deploy-test', withoutWeb);
    const site = siteIn('test');
    // The build, plus config.json written from the stack's outputs (where the live-updates WebSocket is).
    expect([...site.keys()].sort()).to.deep.equal([...[...built.keys()].filter((file) => !file.split('/').some((part) => part.startsWith('.'))), 'config.json'].sort());
    expect(JSON.parse(String(site.get('config.json')))).to.deep.equal({ liveUrl: FAKE_LIVE_URL });
    site.delete('config.json');
    for (const [file, bytes] of site) expect(sha256(bytes), file).to.equal(sha256(built.get(file) as Buffer));
    const bucket = fakeAppBucket('test');
    for (const [file] of site) {
      const object = fakeAws.objects.get(`${bucket}/${file}`);
      expect(object?.cacheControl, file).to.equal(file.startsWith('assets/') ? IMMUTABLE : REVALIDATE);
    }
    const puts = fakeAws.calls.filter((call) => call.service === 's3' && call.method === 'PUT').map((call) => String((call.body as Node)['key']));
    expect(puts.filter((key) => !key.startsWith(RELEASES_PREFIX)).at(-1)).to.equal('index.html');
    const stack = fakeAws.calls.find((call) => call.service === 'cloudformation');
    expect((stack?.body as Node | undefined)?.['StackName']).to.equal('media-library-test');
    const invalidation = fakeAws.calls.find((call) => call.service === 'cloudfront');
    expect(invalidation?.path).to.equal(`/2020-05-31/distribution/${FAKE_DISTRIBUTION_ID}/invalidation`);
    expect((invalidation?.body as Node | undefined)?.['paths']).to.deep.equal(['/index.html']);
    expect(fakeAws.calls.every((call) => call.service !== 'unknown'), 'every call was signed for a known service').to.equal(true);
    expect(await problemsWithTheDeployRole(fakeAws.calls, 'test'), 'as the role media-library-deploy-test, each call allowed by it').to.deep.equal([]);
  });

  it('package-prod promotes that archive unchanged (checksum verified), and refuses a tampered one', async () => {
    const tested = store.get(`package-test/package/artifacts/${WEB.archive}`) as string;
    const dir = await runStage('package-prod');
    expect(sha256(fs.readFileSync(path.join(dir, 'artifacts', WEB.archive)))).to.equal(sha256(fs.readFileSync(tested)));

    const tampered = workspace('tampered');
    workspaces.push(tampered);
    fs.mkdirSync(path.join(tampered, 'artifacts'));
    fs.copyFileSync(`${tested}.sha256`, path.join(tampered, 'artifacts', `${WEB.archive}.sha256`));
    fs.writeFileSync(path.join(tampered, 'artifacts', WEB.archive), 'not the archive that was tested');
    const check = (stages['package-prod'] as Stage).jobs['package']?.tasks.find((task) => task.exec?.command === 'bash')?.exec as Exec;
    expect((await runTask(tampered, check, agentEnv({}))).code, 'sha256sum -c fails').to.not.equal(0);
  });

  it('deploy-prod uploads the promoted archive, byte for byte, to the prod bucket, as the stage’s deploy role', async () => {
    fakeAws.calls.length = 0;
    await runStage('deploy-prod', withoutWeb);
    const site = siteIn('prod');
    expect(JSON.parse(String(site.get('config.json')))).to.deep.equal({ liveUrl: FAKE_LIVE_URL });
    site.delete('config.json');
    expect(site.size).to.be.greaterThan(0);
    for (const [file, bytes] of site) expect(sha256(bytes), file).to.equal(sha256(built.get(file) as Buffer));
    expect((fakeAws.calls.find((call) => call.service === 'cloudformation')?.body as Node | undefined)?.['StackName']).to.equal('media-library-prod');
    expect(await problemsWithTheDeployRole(fakeAws.calls, 'prod'), 'as the role media-library-deploy-prod, each call allowed by it').to.deep.equal([]);
  });
});
