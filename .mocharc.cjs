// Mocha runs TypeScript through ts-node in transpile-only mode with `importHelpers`
// (tsconfig.json "ts-node"): TypeScript's own CommonJS emit, with helpers from tslib, so
// coverage maps 1:1 to the sources. (tsx/esbuild inject interop helpers into every file,
// which shows up as phantom uncovered branches.) Which files run is decided by
// gulpfile.ts (all tests, or one function's tests plus the shared ones).
'use strict';

module.exports = {
  require: ['ts-node/register', './local/test/setup.ts'],
  extension: ['ts'],
  timeout: 15000,
  slow: 500,
  reporter: 'spec',
  // Each suite cleans up after itself; a test that leaves a handle open should fail loudly, not hang CI.
  exit: true,
};
