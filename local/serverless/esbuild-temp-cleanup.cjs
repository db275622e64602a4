// Serverless plugin: removes the temporary folders serverless-esbuild leaves in the OS temp
// directory. To zip a function it copies the files into `<tmp>/<function>-<pid>-<ms>-<hex>/` and
// then "removes" that folder without `recursive`, which fails on a non-empty folder and is
// ignored, so every `serverless package` (and every test that packages) left one folder per
// function behind. This process made them, so this process removes them when it exits.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

class EsbuildTempCleanup {
  constructor(serverless) {
    const names = new Set(Object.keys(serverless.service.functions || {}));
    const ours = new RegExp(`^(.+)-${process.pid}-\\d+-[0-9a-f]{8}$`);
    process.once('exit', () => {
      const tmp = os.tmpdir();
      let entries;
      try {
        entries = fs.readdirSync(tmp);
      } catch {
        return;
      }
      for (const entry of entries) {
        const match = ours.exec(entry);
        if (match && names.has(match[1])) fs.rmSync(path.join(tmp, entry), { recursive: true, force: true });
      }
    });
    this.hooks = {};
  }
}

module.exports = EsbuildTempCleanup;
