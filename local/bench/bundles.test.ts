/**
 * What the footprint benchmark reads from esbuild's metafile (./bundles.ts): where bytes come from,
 * which clients and libraries a bundle carries, what its baseline holds. Synthetic metafiles, no build.
 */
import { expect } from 'chai';
import type { Metafile } from 'esbuild';
import { analyseMetafile, baselineSource, bundleProblems, closureBytes, packageOf, servicesOf } from './bundles';

type Inputs = Record<string, { bytes: number; imports: Array<{ path: string; kind: 'import-statement'; external?: boolean }> }>;

function metafile(inputs: Record<string, { bytes: number; imports?: string[] }>, externals: string[] = []): Metafile {
  const metaInputs: Inputs = {};
  for (const [name, { bytes, imports = [] }] of Object.entries(inputs)) {
    metaInputs[name] = { bytes, imports: imports.map((path) => ({ path, kind: 'import-statement' as const })) };
  }
  return {
    inputs: metaInputs,
    outputs: {
      'out/fn.js': {
        bytes: 0,
        entryPoint: 'functions/users/getMe.ts',
        exports: ['handler'],
        imports: [...externals, 'node:crypto'].map((path) => ({ path, kind: 'require-call' as const, external: true })),
        inputs: Object.fromEntries(Object.entries(inputs).map(([name, { bytes }]) => [name, { bytesInOutput: bytes }])),
      },
    },
  };
}

const GET_ME = metafile(
  {
    'functions/users/getMe.ts': { bytes: 300, imports: ['shared/domain/accounts.ts', 'node_modules/@middy/core/index.js'] },
    'shared/domain/accounts.ts': { bytes: 700, imports: ['shared/auth/tokens.ts', 'node_modules/@aws-sdk/lib-dynamodb/dist-es/index.js'] },
    'shared/auth/tokens.ts': { bytes: 200, imports: ['node_modules/jsonwebtoken/index.js'] },
    'node_modules/jsonwebtoken/index.js': { bytes: 4000, imports: ['node_modules/jws/index.js', 'node_modules/semver/index.js'] },
    'node_modules/jws/index.js': { bytes: 1000, imports: ['node_modules/safe-buffer/index.js'] },
    'node_modules/semver/index.js': { bytes: 2000 },
    // Also imported by the SDK below, so dropping jsonwebtoken would not drop it.
    'node_modules/safe-buffer/index.js': { bytes: 500 },
    'node_modules/@middy/core/index.js': { bytes: 3000 },
    'node_modules/@aws-sdk/lib-dynamodb/dist-es/index.js': { bytes: 6000, imports: ['node_modules/@aws-sdk/client-dynamodb/dist-es/commands/GetItemCommand.js'] },
    'node_modules/@aws-sdk/lib-dynamodb/dist-es/commands/GetCommand.js': { bytes: 100 },
    'node_modules/@aws-sdk/client-dynamodb/dist-es/commands/GetItemCommand.js': { bytes: 100, imports: ['node_modules/@smithy/core/node_modules/uuid/dist/x.js', 'node_modules/safe-buffer/index.js'] },
    'node_modules/@smithy/core/node_modules/uuid/dist/x.js': { bytes: 50 },
    'node_modules/fast-xml-parser/src/fxp.js': { bytes: 900 },
  },
  ['@node-rs/argon2'],
);

describe('bench bundle analysis', () => {
  it('names the npm package of an input path, the innermost one when nested', () => {
    expect(packageOf('node_modules/@aws-sdk/client-s3/dist-es/S3Client.js')).to.equal('@aws-sdk/client-s3');
    expect(packageOf('node_modules/@smithy/core/node_modules/uuid/dist/v4.js')).to.equal('uuid');
    expect(packageOf('node_modules\\zod\\mini.js')).to.equal('zod');
    expect(packageOf('shared/http/handler.ts')).to.equal(undefined);
  });

  it('splits the bytes of a bundle into AWS SDK, our code and other libraries, and lists packages, externals and SDK commands', () => {
    const analysis = analyseMetafile(GET_ME, 'out/fn.js');
    expect(analysis.bytes).to.deep.equal({ awsSdk: 6000 + 100 + 100 + 50 + 900, service: 1200, libraries: 4000 + 1000 + 2000 + 500 + 3000, textAssets: 0 });
    expect(analysis.packages).to.deep.equal(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@middy/core', 'fast-xml-parser', 'jsonwebtoken', 'jws', 'safe-buffer', 'semver', 'uuid']);
    expect(analysis.externals).to.deep.equal(['@node-rs/argon2']);
    expect(analysis.sdkCommands).to.deep.equal({ '@aws-sdk/client-dynamodb': ['GetItemCommand'], '@aws-sdk/lib-dynamodb': ['GetCommand'] });
    expect(analysis.libraryBytes).to.deep.equal({ jsonwebtoken: 4000 + 1000 + 2000 });
  });

  it('counts for a library only the packages nothing else imports', () => {
    expect(closureBytes(GET_ME, GET_ME.outputs['out/fn.js']?.inputs ?? {}, 'jsonwebtoken')).to.equal(7000);
    expect(closureBytes(GET_ME, GET_ME.outputs['out/fn.js']?.inputs ?? {}, 'not-there')).to.equal(0);
  });

  it('refuses an output the metafile does not have', () => {
    expect(() => analyseMetafile(GET_ME, 'out/other.js')).to.throw(/not an output/);
  });

  it('takes the services a function calls from its IAM actions, leaving out the dead-letter queue', () => {
    expect(servicesOf({ 'dynamodb:GetItem': ['T'], 's3:GetObject': ['b'], 'sqs:SendMessage': ['Q'], 'dynamodb:Query': ['T'] })).to.deep.equal(['dynamodb', 's3']);
    expect(servicesOf({})).to.deep.equal([]);
  });

  it('reports clients without a permission and restricted libraries outside their functions, with their size', () => {
    const problems = bundleProblems(
      'getMe',
      { packages: ['@aws-sdk/client-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/client-sts', '@aws-sdk/checksums', 'jsonwebtoken', 'zod'], externals: ['sharp'], libraryBytes: { jsonwebtoken: 7168 } },
      { 'dynamodb:GetItem': ['UsersTable'] },
    );
    expect(problems).to.deep.equal([
      'getMe: bundles @aws-sdk/client-s3 but has no s3 permission (an AWS client it does not use)',
      'getMe: bundles sharp, which only processUpload use (decodes images (thumbnails, perceptual hash))',
      'getMe: bundles jsonwebtoken (7.0 KiB with what only it brings in), which only authorizer, createSession, refreshSession, runAnalysis, openConnection use (signs or verifies JWTs (access tokens, callback signatures, the live connection’s token))',
    ]);
    expect(bundleProblems('processUpload', { packages: ['@aws-sdk/client-s3'], externals: ['sharp'] }, { 's3:GetObject': ['b'] })).to.deep.equal([]);
    expect(bundleProblems('x', { packages: ['@aws-sdk/client-lambda'], externals: [] }, {})).to.deep.equal(['x: bundles @aws-sdk/client-lambda, an AWS client the benchmark does not know']);
  });

  it('builds a baseline entry of exactly the clients and commands of the services used, plus documented extras', () => {
    const analysis = {
      packages: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/s3-request-presigner', '@aws-sdk/client-ssm'],
      sdkCommands: { '@aws-sdk/client-dynamodb': ['UpdateItemCommand'], '@aws-sdk/lib-dynamodb': ['UpdateCommand'], '@aws-sdk/client-s3': ['GetObjectCommand'] },
    };
    expect(baselineSource(analysis, ['dynamodb', 's3'])).to.equal(
      [
        "import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';",
        'const client_DynamoDBClient = new DynamoDBClient({});',
        "import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';",
        "import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';",
        'const client_S3Client = new S3Client({});',
        "import { getSignedUrl } from '@aws-sdk/s3-request-presigner';",
        'export const baseline = [client_DynamoDBClient, UpdateItemCommand, DynamoDBDocumentClient.from(client_DynamoDBClient), UpdateCommand, client_S3Client, GetObjectCommand, getSignedUrl];',
        '',
      ].join('\n'),
    );
    const withExtras = baselineSource({ packages: [], sdkCommands: {} }, [], { natives: ['sharp'], swaggerAssets: true });
    expect(withExtras).to.include("import * as native0 from 'sharp';").and.to.include("from 'swagger-ui-dist/swagger-ui.css'");
    expect(baselineSource({ packages: [], sdkCommands: {} }, [])).to.equal('\nexport const baseline = [];\n');
  });
});
