import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { SPECTRAL_TEST, spectralFilter } from './precommit';
import { REPO_ROOT } from './stack/serviceConfig';
import { dependents, importGraph, reachableTests, sharedTestsOf } from './testGraph';

describe('pre-commit: the tests a change can reach (local/precommit)', () => {
  // shared/a.ts <- shared/b.ts <- functions/x/handler.ts ; tests import some of them
  const importers = new Map<string, Set<string>>([
    ['shared/a.ts', new Set(['shared/b.ts', 'shared/a.test.ts'])],
    ['shared/b.ts', new Set(['functions/x/handler.ts', 'shared/b.test.ts'])],
    ['shared/c.ts', new Set(['shared/c.test.ts'])],
  ]);
  const tests = ['shared/a.test.ts', 'shared/b.test.ts', 'shared/c.test.ts', 'functions/x/handler.test.ts', 'functions/x/handler.int.test.ts', 'local/reliability/fuzz.test.ts'];
  const graph = { tests, importers };

  it('follows imports transitively, and counts the test beside a reached file (handlers are loaded by path)', () => {
    expect(reachableTests(['shared/a.ts'], graph)).to.deep.equal(['shared/a.test.ts', 'shared/b.test.ts', 'functions/x/handler.test.ts', 'functions/x/handler.int.test.ts', 'local/reliability/fuzz.test.ts']);
  });

  it('runs nothing that cannot be affected', () => {
    expect(reachableTests(['shared/c.ts'], graph)).to.deep.equal(['shared/c.test.ts', 'local/reliability/fuzz.test.ts']);
    expect(reachableTests(['docs/media.md'], graph)).to.deep.equal([]);
    expect(reachableTests(['local/other.ts'], graph)).to.deep.equal([]);
  });

  it('type-checks only what a change can break: the changed files and everything importing them', () => {
    expect([...dependents(['shared/b.ts'], graph)].sort()).to.deep.equal(['functions/x/handler.ts', 'shared/b.test.ts', 'shared/b.ts']);
    expect([...dependents(['shared/a.ts'], graph)].sort()).to.deep.equal(['functions/x/handler.ts', 'shared/a.test.ts', 'shared/a.ts', 'shared/b.test.ts', 'shared/b.ts']);
  });

  it('a changed test runs itself', () => {
    expect(reachableTests(['functions/x/handler.int.test.ts'], graph)).to.deep.equal(['functions/x/handler.int.test.ts']);
  });

  it("a function's shared tests: the tests beside its bundle's modules, and folder suites over them", () => {
    // shared/content/keys.ts and shared/http/handler.ts exist in this repository; the suite imports a module of its own folder.
    const suiteGraph = {
      tests: ['shared/content/keys.test.ts', 'shared/http/handler.test.ts', 'shared/http/unavailableAuth.test.ts', 'shared/stores/stores.faults.test.ts', 'shared/domain/media.test.ts'],
      importers: new Map<string, Set<string>>([
        ['shared/http/handler.ts', new Set(['shared/http/unavailableAuth.test.ts', 'shared/stores/stores.faults.test.ts'])],
        ['shared/config/env.ts', new Set(['shared/stores/stores.faults.test.ts'])],
      ]),
    };
    expect(sharedTestsOf(['shared/http/handler.ts', 'shared/config/env.ts'], suiteGraph)).to.deep.equal(['shared/http/handler.test.ts', 'shared/http/unavailableAuth.test.ts']);
    expect(sharedTestsOf(['shared/content/keys.ts'], suiteGraph)).to.deep.equal(['shared/content/keys.test.ts']);
  });

  it('leaves the Spectral check out unless the OpenAPI document or its ruleset is staged, and the filter names that one test only', () => {
    expect(spectralFilter(['shared/content/keys.ts'], false)).to.deep.equal(['--grep', SPECTRAL_TEST, '--invert']);
    expect(spectralFilter(['shared/content/keys.ts', 'docs/openapi.v1.json'], false)).to.deep.equal([]);
    expect(spectralFilter(['.spectral.yaml'], false)).to.deep.equal([]);
    expect(spectralFilter(['shared/content/keys.ts'], true), 'PRECOMMIT_FULL runs everything').to.deep.equal([]);
    // The title must name exactly one of the tests the hook can run: a rename runs Spectral again, never leaves out another test.
    const titles = importGraph().tests.flatMap((file) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8').match(/\bit\((['"`])(.*?)\1/g) ?? []);
    expect(titles.filter((title) => title.includes(SPECTRAL_TEST))).to.have.length(1);
  });
});
