// Serverless plugin, `serverless offline` only: the bundles serverless-offline runs, built by ONE
// esbuild build of every function, and rebuilt on change for the functions the change reaches.
//
// Why not serverless-esbuild here (it still builds every deploy artefact): it builds each
// function on its own and keeps an incremental esbuild context per function for its watch mode;
// with 26 functions that held ~2 GB in the esbuild service and took ~15 s to start. One build of
// all entry points parses the AWS SDK and our shared code once (~3 s), and the esbuild service is
// stopped after each build, so nothing of it stays resident while the stack idles.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { NATIVE_MODULES, TEXT_ASSETS } = require('../esbuild.config.cjs');

const WATCHED = ['functions', 'shared'];

class OfflineBundles {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {};
    if (serverless?.processedInput?.commands?.[0] !== 'offline') return;
    this.built = undefined;
    this.hooks = {
      // Before serverless-esbuild computes what it builds: nothing, under offline.
      initialize: () => this.skipServerlessEsbuild(),
      'before:offline:start:init': () => this.buildAndWatch(),
      'before:offline:start': () => this.buildAndWatch(),
      'before:offline:start:end': () => this.stopWatching(),
    };
  }

  get root() {
    return this.serverless.config.serviceDir || this.serverless.config.servicePath;
  }

  get buildDir() {
    return path.join(this.root, process.env.ML_ESBUILD_WORK_FOLDER || '.esbuild', '.build');
  }

  skipServerlessEsbuild() {
    for (const fn of Object.values(this.serverless.service.functions || {})) fn.skipEsbuild = true;
  }

  /** functions/<area>/<name>.ts of every function, by its handler. */
  entryPoints() {
    return [...new Set(Object.values(this.serverless.service.functions || {}).map((fn) => `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.ts`))];
  }

  say(line) {
    this.serverless.cli.log(line);
  }

  async build(entryPoints) {
    const esbuild = require('esbuild');
    try {
      const result = await esbuild.build({
        entryPoints,
        outdir: this.buildDir,
        outbase: this.root,
        absWorkingDir: this.root,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node22',
        // Not minified, with source maps: stack traces and a debugger point at the .ts lines.
        minify: false,
        sourcemap: true,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        external: NATIVE_MODULES,
        plugins: [TEXT_ASSETS],
        metafile: true,
        logLevel: 'error',
      });
      return result.metafile;
    } finally {
      // The service would keep everything it parsed; builds are rare, memory at rest is not.
      await esbuild.stop();
    }
  }

  /** Which repository files each entry's bundle is made of (from a metafile), kept with the bundles. */
  remember(metafile) {
    this.inputsOf ??= new Map();
    for (const output of Object.values(metafile.outputs)) {
      if (output.entryPoint === undefined) continue;
      this.inputsOf.set(output.entryPoint, new Set(Object.keys(output.inputs).filter((input) => !input.includes('node_modules'))));
    }
    const stamps = {};
    for (const input of new Set([...this.inputsOf.values()].flatMap((inputs) => [...inputs]))) stamps[input] = this.stamp(input);
    const manifest = { lock: this.stamp('package-lock.json'), config: this.stamp('local/esbuild.config.cjs'), entries: Object.fromEntries([...this.inputsOf].map(([entry, inputs]) => [entry, [...inputs]])), stamps };
    fs.writeFileSync(this.manifestFile, JSON.stringify(manifest));
  }

  get manifestFile() {
    return path.join(this.buildDir, '.inputs.json');
  }

  stamp(file) {
    try {
      const stat = fs.statSync(path.join(this.root, file));
      return `${stat.mtimeMs}:${stat.size}`;
    } catch {
      return 'missing';
    }
  }

  /** An exclusive lock on the bundle folder (a file created only if absent; a stale one expires). */
  async lock() {
    const file = path.join(this.buildDir, '.lock');
    for (;;) {
      try {
        fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
        return () => fs.rmSync(file, { force: true });
      } catch (error) {
        if (error.code !== 'EEXIST') throw error;
        const age = Date.now() - fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;
        if (age > 120_000) fs.rmSync(file, { force: true });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** The bundles of the last run, when every file they were made of is as it was then. */
  reusable(entries) {
    try {
      const manifest = JSON.parse(fs.readFileSync(this.manifestFile, 'utf8'));
      if (manifest.lock !== this.stamp('package-lock.json') || manifest.config !== this.stamp('local/esbuild.config.cjs')) return false;
      if (JSON.stringify(Object.keys(manifest.entries).sort()) !== JSON.stringify([...entries].sort())) return false;
      if (!Object.entries(manifest.stamps).every(([file, stamp]) => this.stamp(file) === stamp)) return false;
      if (!entries.every((entry) => fs.existsSync(path.join(this.buildDir, entry.replace(/\.ts$/, '.js'))))) return false;
      this.inputsOf = new Map(Object.entries(manifest.entries).map(([entry, inputs]) => [entry, new Set(inputs)]));
      return true;
    } catch {
      return false;
    }
  }

  async buildAndWatch() {
    if (this.built !== undefined) return this.built;
    this.built = (async () => {
      const started = Date.now();
      const entries = this.entryPoints();
      fs.mkdirSync(this.buildDir, { recursive: true });
      // Several offlines (the test suites') may share a bundle folder: one builds, the others wait and reuse.
      const release = await this.lock();
      try {
        if (this.reusable(entries)) {
          this.say(`bundles of ${entries.length} functions are up to date`);
        } else {
          this.remember(await this.build(entries));
          this.say(`built ${entries.length} functions in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
      } finally {
        release();
      }
      this.serverless.service.custom = this.serverless.service.custom || {};
      this.serverless.service.custom['serverless-offline'] = { ...this.serverless.service.custom['serverless-offline'], location: path.relative(this.root, this.buildDir) };
      this.watch();
    })();
    return this.built;
  }

  watch() {
    if (process.env.ML_OFFLINE_WATCH === 'false') return;
    const changed = new Set();
    let timer;
    let running = Promise.resolve();
    const rebuild = () => {
      const files = [...changed];
      changed.clear();
      running = running.then(async () => {
        const known = [...this.inputsOf.entries()];
        // A new file belongs to no bundle yet: whatever imports it changed too, so this finds them.
        const affected = known.filter(([, inputs]) => files.some((file) => inputs.has(file))).map(([entry]) => entry);
        if (affected.length === 0) return;
        const started = Date.now();
        try {
          this.remember(await this.build(affected));
          await this.serverless.pluginManager.spawn('offline:functionsUpdated');
          this.say(`rebuilt ${affected.length} function${affected.length === 1 ? '' : 's'} in ${((Date.now() - started) / 1000).toFixed(1)} s (${files.join(', ')})`);
        } catch (error) {
          this.say(`build failed, the running functions are unchanged until the next good change: ${error.message}`);
        }
      });
    };
    this.watchers = WATCHED.map((dir) =>
      fs.watch(path.join(this.root, dir), { recursive: true }, (_event, file) => {
        if (file === null || !file.endsWith('.ts') || file.endsWith('.test.ts')) return;
        changed.add(path.posix.join(dir, file.split(path.sep).join('/')));
        clearTimeout(timer);
        timer = setTimeout(rebuild, 150);
      }),
    );
  }

  stopWatching() {
    for (const watcher of this.watchers || []) watcher.close();
  }
}

module.exports = OfflineBundles;
