/**
 * How the benchmark judges its figures and writes docs/benchmarks.md (./report.ts) and what its
 * cost table charges (./cost.ts): fixed results in, exact verdicts and numbers out. No timing.
 */
import { expect } from 'chai';
import { costLines, PRICES } from './cost';
import { checks, footprintRatios, hasBaseline, overheadLimitMs, renderReport, summaryLines } from './report';
import type { BenchResults, FootprintRow, OverheadRow, RoundTripRow } from './results';
import { summarize, type Summary } from './stats';

const flat = (value: number): Summary => summarize([value, value, value]);

function footprintRow(name: string, overrides: Partial<FootprintRow> = {}): FootprintRow {
  return {
    name,
    services: ['dynamodb'],
    bytes: 480_000,
    mapBytes: 800_000,
    sdkBytes: 340_000,
    serviceBytes: 13_000,
    libraryBytes: 127_000,
    textAssetBytes: 0,
    externals: [],
    baselineBytes: 400_000,
    initMs: flat(60),
    wallMs: flat(90),
    baselineInitMs: flat(50),
    baselineWallMs: flat(80),
    initWithoutSourceMapsMs: flat(52),
    problems: [],
    ...overrides,
  };
}

function overheadRow(route: string, realMs: number, bareMs: number, pairedMs: number): OverheadRow {
  return {
    route,
    functionName: 'getMe',
    calls: 'GetItem',
    invocations: 1500,
    real: flat(realMs),
    bare: flat(bareMs),
    pairedOverheadMs: flat(pairedMs),
    overheadMs: flat(pairedMs),
    overheadFraction: flat(pairedMs / bareMs),
    rounds: 5,
  };
}

function tripRow(functionName: string, route: string, overrides: Partial<RoundTripRow> = {}): RoundTripRow {
  return {
    route,
    functionName,
    scenario: 'a request',
    operations: { GetItem: 1 },
    calls: 1,
    attempts: 1,
    minimum: 1,
    why: 'one GetItem',
    readUnits: 1,
    writeUnits: 0,
    otherCalls: {},
    status: 200,
    durationMs: flat(9.2),
    ...overrides,
  };
}

function results(): BenchResults {
  return {
    machine: { date: '2026-11-21T09:00:00.000Z', cpu: 'Test CPU', cores: 2, memoryGiB: 24, os: 'Linux test x64', node: 'v20.20.2', java: 'openjdk 17', commit: 'abc1234' },
    footprint: {
      runs: 15,
      rows: [
        footprintRow('getMe'),
        footprintRow('listSessions', { bytes: 560_000, problems: ['listSessions: bundles jsonwebtoken (57.0 KiB with what only it brings in), which only … use'] }),
        footprintRow('getHealth', { services: [], baselineBytes: 50, baselineInitMs: flat(2) }),
        footprintRow('processUpload', { externals: ['sharp'], exception: 'processUpload loads the native module sharp', strictBaselineBytes: 390_000, strictBaselineInitMs: flat(40) }),
      ],
    },
    overhead: { rows: [overheadRow('GET /v1/users/me', 4.3, 4.0, 0.45), overheadRow('GET /v1/media/{id}', 12, 10, 1.8)] },
    roundtrips: {
      scans: [],
      rows: [
        tripRow('authorizer', 'authorizer (every protected route)', { durationMs: flat(3.5) }),
        tripRow('getMe', 'GET /v1/users/me'),
        tripRow('getMedia', 'GET /v1/media/{id}', { operations: { GetItem: 1 } }),
        tripRow('recordView', 'POST /v1/media/{id}/views', { operations: { UpdateItem: 1 }, readUnits: 0, writeUnits: 1 }),
        tripRow('updateMe', 'PATCH /v1/users/me', { operations: { GetItem: 1, UpdateItem: 1 }, calls: 2, attempts: 2, writeUnits: 1 }),
        tripRow('processUpload', 'S3 ObjectCreated (processUpload)', { durationMs: flat(300.2), writeUnits: 20 }),
      ],
    },
    login: { runs: 40, login: flat(11), bareLogin: flat(10.5), hash: flat(8), verify: flat(8.1), parameters: 'argon2id, m = 19456 KiB, t = 2, p = 1' },
    upload: {
      video: { bytes: 104_857_600, layout: 'ftyp, mdat, moov', bytesRead: 66_947, reads: 3, ms: flat(80), outcome: 'ready' },
    },
    cost: { stage: 'prod', memoryMB: { authorizer: 256, getMe: 256, getMedia: 256, updateMe: 1024, processUpload: 1536 }, protectedFunctions: ['getMe', 'getMedia', 'updateMe'], httpFunctions: ['getMe', 'getMedia', 'updateMe'] },
    errors: {},
    seconds: {},
  };
}

describe('bench report', () => {
  it('judges footprint against the baseline, leaving out functions that have none', () => {
    const rows = results().footprint?.rows ?? [];
    expect(rows.map(hasBaseline)).to.deep.equal([true, true, false, true]);
    expect(footprintRatios(rows[0] as FootprintRow)).to.deep.equal({ size: 1.2, init: 1.2 });
    const found = checks(results()).filter((check) => check.suite === 'footprint');
    expect(found.map((check) => check.verdict)).to.deep.equal(['FAIL', 'PASS', 'FAIL', 'INFO', 'INFO']);
    expect(found[0]?.detail).to.equal('over: listSessions 1.40×');
    expect(found[2]?.detail).to.include('listSessions: bundles jsonwebtoken');
    expect(found[3]?.target).to.equal('documented exception: processUpload');
    expect(found[3]?.detail).to.equal(
      'processUpload loads the native module sharp; judged against a baseline holding that too: 1.20× size, 1.20× init (SDK-only baseline: 1.23×, 1.50×)',
    );
    expect(found[4]?.detail).to.equal('getHealth');
  });

  it('allows 15% or 0.5 ms of handler overhead, whichever is larger, judged on the paired median', () => {
    const [me, media] = results().overhead?.rows ?? [];
    expect(overheadLimitMs(me as OverheadRow)).to.be.closeTo(0.6, 1e-12);
    expect(overheadLimitMs(media as OverheadRow)).to.be.closeTo(1.5, 1e-12);
    expect(overheadLimitMs({ ...(me as OverheadRow), bare: flat(2) })).to.equal(0.5);
    const found = checks(results()).filter((check) => check.suite === 'overhead');
    expect(found.map((check) => check.verdict)).to.deep.equal(['PASS', 'FAIL']);
    expect(found[1]?.detail).to.equal('1.80 ms (18%) over 1500 invocations each');
  });

  it('fails a Scan, a second round trip of GET /v1/media/{id}, a slow login, a large video read and a crashed benchmark', () => {
    const clean = checks(results());
    expect(clean.filter((check) => check.verdict === 'FAIL').map((check) => check.suite)).to.deep.equal(['footprint', 'footprint', 'overhead']);
    expect(clean.find((check) => check.target.startsWith('requests above'))?.detail).to.equal('PATCH /v1/users/me (a request) 2 > 1');

    const broken = results();
    broken.roundtrips?.scans.push('GET /v1/tags (all tags)');
    const view = broken.roundtrips?.rows.find((row) => row.functionName === 'getMedia') as RoundTripRow;
    Object.assign(view, { operations: { GetItem: 1, UpdateItem: 1 }, calls: 2, attempts: 2 }); // counting a view again on a read
    broken.login = { ...(broken.login as NonNullable<BenchResults['login']>), login: flat(12.1) };
    broken.upload = { video: { ...(broken.upload?.video as NonNullable<NonNullable<BenchResults['upload']>['video']>), bytesRead: 2_000_000 } };
    broken.errors['api'] = 'npm start exited before it was ready\nmore';
    const failed = checks(broken).filter((check) => check.verdict === 'FAIL');
    expect(failed.map((check) => check.target)).to.include.members([
      'no Scan anywhere',
      'GET /v1/media/{id} reads in one round trip; POST /v1/media/{id}/views counts a view in one',
      'POST /v1/sessions p50 ≤ 1.5× the argon2id hash p50',
      'processUpload reads ≤ 1 MiB of a 100 MB MP4',
      'the benchmark ran',
    ]);
    expect(failed.find((check) => check.suite === 'api')?.detail).to.equal('error: npm start exited before it was ready');
  });

  it('renders every section it has figures for, says what did not run, and is the same text for the same results', () => {
    const text = renderReport(results(), { command: 'npm run bench', seconds: 421 });
    expect(text).to.equal(renderReport(results(), { command: 'npm run bench', seconds: 421 }));
    expect(text.startsWith('# Benchmarks\n\n> Generated by `npm run bench` (local/bench/run.ts) on 2026-11-21 09:00 UTC in 421 s.')).to.equal(true);
    for (const heading of ['## Targets', '## Cold-start footprint', '## Handler overhead', '## DynamoDB round trips', '## Login', '## Upload pipeline', '## Cost of a million requests']) {
      expect(text).to.include(`\n${heading}`);
    }
    expect(text).to.include('Not run this time: api, devloop, web.');
    expect(text).to.include('| getHealth | – | 468.8 KiB | – | – |');
    expect(text).to.include('| **PASS** | round trips | no Scan anywhere | none seen |');
    expect(text).to.include('2 ▲');
    expect(text).not.to.match(/\n{3}/);
    expect(text.endsWith('\n')).to.equal(true);
  });

  it('prints one summary line per check', () => {
    const lines = summaryLines(checks(results()));
    expect(lines).to.have.length(checks(results()).length);
    expect(lines[0]).to.match(/^FAIL {2}footprint {4}bundle size/);
  });
});

describe('bench cost table', () => {
  it('charges Lambda by the started millisecond at the configured memory, DynamoDB by request unit, and the authorizer and HTTP API where they apply', () => {
    const rows = results().roundtrips?.rows ?? [];
    const lines = costLines(rows, { memoryMB: results().cost?.memoryMB ?? {}, protectedFunctions: ['getMe'], httpFunctions: ['getMe'] });
    expect(lines.map((line) => line.functionName)).to.deep.equal(['getMe', 'getMedia', 'recordView', 'updateMe', 'processUpload']);
    const getMe = lines[0];
    // 9.2 ms is billed as 10 ms: 1e6 × 0.010 s × 0.25 GB = 2500 GB-s.
    expect(getMe).to.include({ billedMs: 10, gbSeconds: 2500, readUnits: 1, writeUnits: 0, httpApiUsd: PRICES.httpApiPerMillion });
    expect(getMe?.lambdaUsd).to.be.closeTo(2500 * PRICES.lambdaGbSecond + 0.2, 1e-9);
    expect(getMe?.dynamoUsd).to.be.closeTo(0.125, 1e-12);
    // The authorizer: 3.5 ms → 4 ms at 256 MB, plus its session read.
    const authorizer = 1000 * PRICES.lambdaGbSecond + 0.2 + 0.125;
    expect(getMe?.authorizerUsd).to.be.closeTo(authorizer, 1e-9);
    expect(getMe?.totalUsd).to.be.closeTo((getMe?.lambdaUsd ?? 0) + 0.125 + authorizer + 1, 1e-9);
    const upload = lines[4];
    expect(upload).to.include({ billedMs: 301, authorizerUsd: 0, httpApiUsd: 0 });
    expect(upload?.dynamoUsd).to.be.closeTo(20 * 0.625 + 0.125, 1e-9);
  });
});
