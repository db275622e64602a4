// Runs from `npm install` (the `prepare` script): points git at .githooks/ so the
// pre-commit hook is active for every developer. Deliberately a no-op in CI, in
// `npm ci` on a build agent, and outside a git work tree (e.g. an unpacked artefact).
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

function git(args) {
  return execFileSync('git', args, { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();
}

if (process.env.CI || process.env.GO_SERVER_URL) process.exit(0);
try {
  if (git(['rev-parse', '--is-inside-work-tree']) !== 'true') process.exit(0);
  if (git(['config', '--get', 'core.hooksPath']) === '.githooks') process.exit(0);
} catch {
  // not a git checkout, or `git config --get` found no value: fall through / exit quietly
  try {
    git(['rev-parse', '--is-inside-work-tree']);
  } catch {
    process.exit(0);
  }
}
try {
  git(['config', 'core.hooksPath', '.githooks']);
  console.log('git hooks: core.hooksPath set to .githooks (pre-commit runs lint and affected tests)');
} catch {
  // git missing or the repository is read-only: hooks are a convenience, never a reason to fail an install
}
