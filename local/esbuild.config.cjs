// serverless-esbuild options (custom.esbuild.config). One bundle per function:
// minified, with source maps, AWS SDK v3 bundled and tree-shaken (`exclude: []`
// overrides the plugin's default of leaving the SDK to the Lambda runtime).
'use strict';

module.exports = () => ({
  bundle: true,
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  target: 'node22',
  platform: 'node',
  format: 'cjs',
  // ES module builds of the AWS SDK tree-shake far better than its CommonJS builds.
  mainFields: ['module', 'main'],
  exclude: [],
  // Native modules cannot be bundled: they ship in the zip of the functions that use them
  // (serverless-esbuild adds only the externals a function's bundle actually requires).
  external: ['@node-rs/argon2'],
  metafile: false,
  packager: 'npm',
  legalComments: 'none',
});
