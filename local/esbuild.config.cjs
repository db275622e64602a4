// serverless-esbuild options (custom.esbuild.config). One bundle per function:
// minified, with source maps, AWS SDK v3 bundled and tree-shaken (`exclude: []`
// overrides the plugin's default of leaving the SDK to the Lambda runtime).
'use strict';

const NATIVE_MODULES = ['@node-rs/argon2', 'sharp'];

// Files bundled as their text (a string export), not as code: Swagger UI's script and styles,
// served by the docs page (functions/docs/getDocs.ts).
const TEXT_ASSETS = {
  name: 'text-assets',
  setup(build) {
    build.onLoad({ filter: /[\\/]swagger-ui-dist[\\/]swagger-ui(-bundle\.js|\.css)$/ }, async (args) => ({
      contents: await require('node:fs/promises').readFile(args.path, 'utf8'),
      loader: 'text',
    }));
  },
};

module.exports = (serverless) => {
  // Under `serverless offline` the bundles run inside this repository and resolve native
  // modules from its node_modules: skip the plugin's `npm ci` of them into the build folder
  // (seconds per start, and a registry round trip), which only deploy artefacts need.
  const offline = serverless?.processedInput?.commands?.[0] === 'offline';
  return {
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    target: 'node22',
    platform: 'node',
    format: 'cjs',
    // ES module builds of the AWS SDK tree-shake far better than its CommonJS builds.
    mainFields: ['module', 'main'],
    exclude: offline ? NATIVE_MODULES : [],
    // Deploy stages of the pipelines deploy the zip the package stage built and tested
    // (fetched into .serverless/), never a fresh build: ML_DEPLOY_PREBUILT=true.
    skipBuild: process.env.ML_DEPLOY_PREBUILT === 'true' || process.env.ML_BUILD_ONLY !== undefined,
    // A function's pipeline packages that function alone (`gulp package --function F`): every
    // other function takes a placeholder artefact the pipeline never uses.
    skipBuildExcludeFns: process.env.ML_BUILD_ONLY === undefined ? [] : [process.env.ML_BUILD_ONLY],
    // Native modules cannot be bundled: they ship in the zip of the functions that use them
    // (serverless-esbuild adds only the externals a function's bundle actually requires).
    external: NATIVE_MODULES,
    plugins: [TEXT_ASSETS],
    // Fault injection (shared/aws/faults.ts) exists only in the bundles serverless-offline runs:
    // in every deployable bundle this constant removes the call, and with it the module.
    define: offline ? {} : { 'process.env.ML_FAULT_INJECTION': '"absent"' },
    metafile: false,
    packager: 'npm',
    legalComments: 'none',
    // Each serverless process (npm start, the test harness, a packaging check) gets its own work
    // folder when ML_ESBUILD_WORK_FOLDER says so: concurrent runs must not clean up each other's bundles.
    outputWorkFolder: process.env.ML_ESBUILD_WORK_FOLDER || '.esbuild',
    // Under `serverless offline` the bundles are built and watched by local/serverless/offline-bundles.cjs
    // (one build of every function); this plugin builds nothing there and must watch nothing.
    watch: { pattern: offline ? [] : ['functions/**/*.ts', 'shared/**/*.ts'], ignore: ['**/*.test.ts', 'node_modules', '.esbuild*', '.local-data', 'coverage', '.nyc_output'] },
  };
};

module.exports.NATIVE_MODULES = NATIVE_MODULES;
module.exports.TEXT_ASSETS = TEXT_ASSETS;
