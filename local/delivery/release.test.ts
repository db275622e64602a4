import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { expect } from 'chai';
import { startFakeAws, type FakeAws } from '../test/fakeAws';
import { codeSha256, release, releaseNames, type ReleaseOptions } from './release';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };

describe('local/delivery/release.ts: $LATEST to the alias live, through CodeDeploy', () => {
  let fake: FakeAws;
  let dir: string;
  let zip: string;
  let clients: { lambda: LambdaClient; codeDeploy: CodeDeployClient };
  const lines: string[] = [];
  const options = (extra: Partial<ReleaseOptions> = {}): ReleaseOptions => ({ fn: 'getHealth', stage: 'test', zip, pollMs: 1, timeoutMs: 5_000, log: (line) => lines.push(line), ...extra });
  /** What `serverless deploy function` does to $LATEST. */
  const deployed = (bytes: Buffer): void => {
    const fn = fake.functions.get('media-library-test-getHealth') ?? { codeSha256: '', versions: [{ version: '1', codeSha256: 'old' }], live: '1' };
    fake.functions.set('media-library-test-getHealth', { ...fn, codeSha256: codeSha256(bytes) });
  };

  beforeEach(async () => {
    fake = await startFakeAws();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-release-'));
    zip = path.join(dir, 'getHealth.zip');
    fs.writeFileSync(zip, 'the zip this stage deployed');
    clients = { lambda: new LambdaClient({ region: 'us-east-1', endpoint: fake.endpoint, credentials }), codeDeploy: new CodeDeployClient({ region: 'us-east-1', endpoint: fake.endpoint, credentials }) };
    lines.length = 0;
  });
  afterEach(async () => {
    clients.lambda.destroy();
    clients.codeDeploy.destroy();
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names what serverless and the canary plugin create', () => {
    expect(releaseNames('getHealth', 'prod')).to.deep.equal({
      functionName: 'media-library-prod-getHealth',
      application: 'media-library-prod',
      deploymentGroup: 'media-library-prod-GetHealthLambdaFunctionDeploymentGroup',
    });
  });

  it('publishes $LATEST when it is the deployed zip, and CodeDeploy moves live from the running version to it', async () => {
    deployed(fs.readFileSync(zip));
    const result = await release(clients, options());
    expect(result).to.include({ functionName: 'media-library-test-getHealth', from: '1', to: '2', status: 'Succeeded' });
    expect(fake.functions.get('media-library-test-getHealth')?.live).to.equal('2');
    expect(fake.deployments).to.have.length(1);
    expect(fake.deployments[0]).to.deep.include({ applicationName: 'media-library-test', deploymentGroupName: 'media-library-test-GetHealthLambdaFunctionDeploymentGroup' });
    expect(fake.deployments[0]?.appSpec).to.deep.equal({
      version: 0,
      Resources: [{ getHealth: { Type: 'AWS::Lambda::Function', Properties: { Name: 'media-library-test-getHealth', Alias: 'live', CurrentVersion: '1', TargetVersion: '2' } } }],
    });
    const publish = fake.calls.find((call) => call.method === 'POST' && call.path.endsWith('/versions'));
    expect((publish?.body as { CodeSha256?: string }).CodeSha256, 'the version is guarded by the zip’s hash').to.equal(codeSha256(fs.readFileSync(zip)));
    expect(lines.join('\n')).to.match(/CodeDeploy d-FAKE1: InProgress[\s\S]*Succeeded/);
  });

  it('publishes nothing when $LATEST is not the zip this stage deployed', async () => {
    deployed(Buffer.from('some other code'));
    let failure: unknown;
    await release(clients, options()).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/\$LATEST holds code .* not .*getHealth\.zip.*nothing released/);
    expect(fake.functions.get('media-library-test-getHealth')?.versions).to.have.length(1);
    expect(fake.deployments).to.have.length(0);
  });

  it('fails the stage when an alarm stops the shift: live stays on the version it ran', async () => {
    deployed(fs.readFileSync(zip));
    fake.nextDeployment = 'Stopped';
    let failure: unknown;
    await release(clients, options()).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/media-library-test-getHealth:live stays on version 1: CodeDeploy deployment d-FAKE1 Stopped \(ALARM_ACTIVE: .*Rolled back/);
    expect(fake.functions.get('media-library-test-getHealth')?.live).to.equal('1');
  });

  it('rolls back by releasing an earlier version (--version), publishing nothing', async () => {
    deployed(fs.readFileSync(zip));
    await release(clients, options());
    const result = await release(clients, options({ version: '1', zip: undefined }));
    expect(result).to.include({ from: '2', to: '1', status: 'Succeeded' });
    expect(fake.functions.get('media-library-test-getHealth')?.versions).to.have.length(2);
    expect(fake.functions.get('media-library-test-getHealth')?.live).to.equal('1');
  });

  it('does nothing when live already runs that version', async () => {
    const result = await release(clients, options({ version: '1', zip: undefined }));
    expect(result.status).to.equal('Unchanged');
    expect(fake.deployments).to.have.length(0);
  });

  it('gives up waiting after its timeout, saying where to look', async () => {
    deployed(fs.readFileSync(zip));
    let failure: unknown;
    // The fake reports InProgress on the first look; a deadline already passed ends the wait there.
    await release(clients, options({ timeoutMs: 0 })).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/still InProgress after 0 s: see the CodeDeploy console/);
  });
});
