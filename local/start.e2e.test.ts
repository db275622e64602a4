/**
 * `npm start` as a developer uses it: the stack comes up, serves /v1/health, and Ctrl-C
 * (SIGINT to the process group) or SIGTERM leaves no process behind. Ports are random
 * and data goes to a temporary folder, so this runs beside a developer's own `npm start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { freePortsSync } from './stack/ports';
import { descendants, exited } from './stack/processes';
import { contractFetch } from './test/contract';
import { withoutCoverage } from './test/uninstrumented';

const ROOT = path.resolve(__dirname, '..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Started {
  child: ChildProcess;
  output: () => string;
  apiPort: number;
}

function startLocal(env: Record<string, string>): Started {
  const [program, args] = withoutCoverage(process.execPath, ['--import', 'tsx', path.join('local', 'start.ts')]);
  const child = spawn(program, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    detached: true, // its own process group, so a group SIGINT is exactly what Ctrl-C sends
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output, apiPort: Number(env['ML_API_PORT']) };
}

async function waitFor(predicate: () => boolean, timeoutMs: number, what: string, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('npm start (local/start.ts)', function () {
  this.timeout(180_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-start-'));
  let running: Started | undefined;

  const portsEnv = (): Record<string, string> => {
    const [api, lambda, dynamodb, s3, sns, ssm, live] = freePortsSync(7) as [number, number, number, number, number, number, number];
    return {
      ML_SNS_PORT: String(sns),
      ML_SSM_PORT: String(ssm),
      ML_WS_PORT: String(live),
      ML_API_PORT: String(api),
      ML_LAMBDA_PORT: String(lambda),
      ML_DYNAMODB_PORT: String(dynamodb),
      ML_S3_PORT: String(s3),
      ML_DATA_DIR: dataDir,
      // The test run's bundles (local/test/stack.ts builds them once; reused under a lock, kept).
      ML_ESBUILD_WORK_FOLDER: '.esbuild-test',
      ML_ESBUILD_KEEP_WORK_FOLDER: '1',
    };
  };

  afterEach(async () => {
    // Never leave a stack behind, even when an assertion failed half-way.
    if (running !== undefined && running.child.exitCode === null) {
      for (const pid of descendants(running.child.pid as number)) if (alive(pid)) process.kill(pid, 'SIGKILL');
      running.child.kill('SIGKILL');
      await exited(running.child);
    }
    running = undefined;
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const account = { email: `persist-${Date.now()}@example.com`, password: 'persisted password', name: 'Persisted' };

  for (const [how, signal, toGroup, run] of [
    ['Ctrl-C (SIGINT to the process group)', 'SIGINT', true, 'first'],
    ['SIGTERM to the start process alone', 'SIGTERM', false, 'second'],
  ] as const) {
    it(`${run} start: a short banner naming every URL, serves the API and /, keeps data, finds its own ports for the helper commands, and after ${how} leaves no process`, async () => {
      const env = portsEnv();
      running = startLocal(env);
      const started = running;
      await waitFor(() => /Ctrl-C stops everything/.test(started.output()), 120_000, 'the ready banner', started.output);
      const banner = started.output().slice(started.output().indexOf('[local] ready in'));
      for (const url of [`http://localhost:${env['ML_API_PORT']}/`, `http://localhost:${env['ML_API_PORT']}/v1`, `http://localhost:${env['ML_API_PORT']}/docs`, `http://localhost:${env['ML_DYNAMODB_PORT']}`, `http://localhost:${env['ML_S3_PORT']}`, `http://localhost:${env['ML_SNS_PORT']}`, `http://localhost:${env['ML_SSM_PORT']}`, `http://localhost:${env['ML_LAMBDA_PORT']}`]) {
        expect(banner, url).to.contain(url);
      }
      expect(started.output().split('\n').filter((line) => line.trim() !== '').length, 'a short start-up, no table of routes').to.be.below(20);
      expect(started.output()).not.to.match(/2015-03-31\/functions/);
      // `/` is the web app (built by npm start when its sources changed), on the API's origin.
      const landing = await fetch(`http://127.0.0.1:${started.apiPort}/`);
      expect([landing.status, await landing.text()]).to.satisfy(([status, text]: [number, string]) => status === 200 && text.includes('<div id="app">'));
      expect(landing.headers.get('content-security-policy')).to.contain("script-src 'self'");
      const stackInfo = JSON.parse(fs.readFileSync(path.join(dataDir, 'stack.json'), 'utf8')) as { urls: { dynamodb: string; lambda: string } };
      expect(stackInfo.urls).to.include({ dynamodb: `http://localhost:${env['ML_DYNAMODB_PORT']}`, lambda: `http://localhost:${env['ML_LAMBDA_PORT']}` });

      const response = await contractFetch(`http://127.0.0.1:${started.apiPort}/v1/health`);
      expect(response.status).to.equal(200);
      expect(response.json<{ status: string }>().status).to.equal('ok');

      // Data persists across restarts: the first run signs up, the second logs in.
      const json = { 'content-type': 'application/json' };
      if (run === 'first') {
        const created = await contractFetch(`http://127.0.0.1:${started.apiPort}/v1/users`, { method: 'POST', headers: json, body: JSON.stringify(account) });
        expect(created.status).to.equal(201);
      } else {
        const login = await contractFetch(`http://127.0.0.1:${started.apiPort}/v1/sessions`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ email: account.email, password: account.password }),
        });
        expect(login.status, 'the account made before the restart still exists').to.equal(201);
      }

      const pid = started.child.pid as number;
      const family = descendants(pid);
      expect(family.length, 'java and serverless-offline are running').to.be.greaterThan(1);
      expect(fs.existsSync(path.join(dataDir, 'dynamodb', 'shared-local-instance.db')), 'DynamoDB data persists on disk').to.equal(true);

      if (toGroup) process.kill(-pid, signal);
      else process.kill(pid, signal);
      const code = await exited(started.child);
      expect(code).to.equal(0);
      await waitFor(() => family.every((child) => !alive(child)), 15_000, 'every child to exit', started.output);
      expect(started.output()).to.contain('nothing left running');
      expect(fs.existsSync(path.join(dataDir, 'stack.json')), 'the stack file goes with the stack').to.equal(false);
    });
  }

  it('refuses to start, with a clear message, when a port is already in use', async () => {
    const env = portsEnv();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(Number(env['ML_DYNAMODB_PORT']), '127.0.0.1', resolve));
    try {
      running = startLocal(env);
      const code = await exited(running.child);
      expect(code).to.equal(1);
      expect(running.output()).to.contain(`Port ${env['ML_DYNAMODB_PORT']} (DynamoDB) is already in use`);
      expect(running.output()).to.contain('ML_DYNAMODB_PORT=');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
