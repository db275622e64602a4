/**
 * Checks over the deploy artefacts: `serverless package` works offline for every stage's
 * configuration and yields one minified, self-contained zip per function.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import JSZip from 'jszip';
import { listFunctions } from '../functions';
import { functionRoles } from '../gateway/roles';
import { packagedTemplate } from '../gateway/template';
import { packageStage, type PackagedStage } from '../stack/packaging';
import { serviceConfig } from '../stack/serviceConfig';

describe('deploy artefacts (serverless package)', function () {
  this.timeout(180_000);
  let dev: PackagedStage;

  before(async () => {
    dev = await packageStage('dev');
  });

  it('`serverless print` resolves the configuration of every stage', () => {
    for (const stage of ['dev', 'test', 'prod']) {
      const config = serviceConfig(stage);
      expect(config.provider.stage).to.equal(stage);
      expect(config.provider.environment?.['STAGE']).to.equal(stage);
      expect(config.provider.environment?.['DYNAMODB_ENDPOINT'] ?? '', `${stage} talks to real DynamoDB`).to.equal('');
      expect(config.provider.environment?.['S3_ENDPOINT'] ?? '', `${stage} talks to real S3`).to.equal('');
    }
  });

  it('the templates the checks and the local gateway read (packaged with placeholder artefacts, fast) are this one but for the artefacts: the same roles and resources', async () => {
    const fast = await packagedTemplate('dev');
    // Version resources are named after their code's hash.
    const names = (template: PackagedStage['template']): string[] => Object.keys(template.Resources).map((name) => name.replace(/LambdaVersion\w+$/, 'LambdaVersion')).sort();
    expect(names(fast)).to.deep.equal(names(dev.template));
    const full = functionRoles(dev.template);
    for (const [name, role] of functionRoles(fast)) expect(role, name).to.deep.equal(full.get(name));
    // Only what names the artefacts differs: code hashes and version names, never a property of a role, table or route.
    // (the aliases point at the versions by those names).
    const withoutArtefacts = (template: PackagedStage['template']): Record<string, unknown> =>
      JSON.parse(
        JSON.stringify(Object.fromEntries(Object.entries(template.Resources).filter(([, resource]) => resource.Type !== 'AWS::Lambda::Version' && resource.Type !== 'AWS::Lambda::Function'))).replace(
          /LambdaVersion\w+/g,
          'LambdaVersion',
        ),
      ) as Record<string, unknown>;
    expect(withoutArtefacts(fast)).to.deep.equal(withoutArtefacts(dev.template));
  });

  it('produces exactly one zip per function', () => {
    const expected = listFunctions().map((fn) => `${fn.name}.zip`).sort();
    expect(dev.zips).to.deep.equal(expected);
  });

  // Native modules cannot be bundled; each ships only in the zips of the functions that use it.
  const NATIVE_MODULES: Record<string, string[]> = {
    '@node-rs/argon2': ['createUser', 'createSession', 'updateMe', 'deleteMe'],
    sharp: ['processUpload'],
  };

  it('each zip holds its minified handler bundle with a source map, and native modules only where used', async () => {
    for (const fn of listFunctions()) {
      const zip = await JSZip.loadAsync(fs.readFileSync(path.join(dev.dir, `${fn.name}.zip`)));
      const files = Object.keys(zip.files).filter((name) => !zip.files[name]?.dir);
      const bundle = fn.source.replace(/\.ts$/, '.js');
      expect(files, fn.name).to.include.members([bundle, `${bundle}.map`]);
      const packageOf = (name: string): string => {
        const parts = name.split('/').slice(1);
        return parts[0]?.startsWith('@') === true ? parts.slice(0, 2).join('/') : (parts[0] as string);
      };
      const packages = new Set(files.filter((name) => name.startsWith('node_modules/')).map(packageOf));
      const expected = Object.entries(NATIVE_MODULES).filter(([, users]) => users.includes(fn.name)).map(([name]) => name);
      // Platform packages (the Linux x64 binaries) and sharp's own helpers come with the native modules.
      const platform = /-linux-x64(-gnu)?$|^@img\/|^detect-libc$|^semver$/;
      expect([...packages].filter((name) => !platform.test(name)).sort(), `${fn.name} node_modules`).to.deep.equal(expected);
      if (expected.includes('@node-rs/argon2')) {
        expect(files, `${fn.name} carries the Linux x64 binary Lambda needs`).to.include('node_modules/@node-rs/argon2-linux-x64-gnu/argon2.linux-x64-gnu.node');
      }
      if (expected.includes('sharp')) {
        expect(files.some((name) => /^node_modules\/@img\/sharp-linux-x64\/lib\/sharp-linux-x64[\w.-]*\.node$/.test(name)), `${fn.name} carries sharp's Linux x64 binary`).to.equal(true);
        expect(files.some((name) => name.startsWith('node_modules/@img/sharp-libvips-linux-x64/lib/libvips')), `${fn.name} carries libvips`).to.equal(true);
      }
      const code = await zip.file(bundle)?.async('string');
      // Minified code has no indentation and very long lines (newlines survive only inside template literals).
      expect((code?.length ?? 0) / (code?.split('\n').length ?? 1), `${fn.name} is minified`).to.be.greaterThan(1000);
      // The test-only fault switch is compiled out of deployable bundles.
      expect(code, `${fn.name} carries no fault injection`).not.to.match(/mlFaultInjection|ML_FAULTS/);
    }
  });

  it('deploys every function on nodejs22.x with the stage memory and log retention', () => {
    const functions = Object.values(dev.template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    expect(functions).to.have.length(listFunctions().length);
    for (const fn of functions) {
      expect(fn.Properties?.['Runtime']).to.equal('nodejs22.x');
      expect(fn.Properties?.['MemorySize']).to.be.a('number');
    }
    const logGroups = Object.values(dev.template.Resources).filter((resource) => resource.Type === 'AWS::Logs::LogGroup');
    expect(logGroups.length).to.be.greaterThan(0);
    for (const group of logGroups) expect(group.Properties?.['RetentionInDays']).to.equal(14);
  });

  it('throttles the HTTP and WebSocket APIs with the stage limits', () => {
    expect(dev.template.Resources['HttpApiStage']?.Properties?.['DefaultRouteSettings']).to.deep.equal({ ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 });
    expect(dev.template.Resources['WebsocketsDeploymentStage']?.Properties?.['DefaultRouteSettings']).to.deep.equal({ ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50, DataTraceEnabled: false, LoggingLevel: 'OFF' });
  });
});
