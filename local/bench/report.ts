/**
 * Judges the measured figures against the issue's targets and renders docs/benchmarks.md.
 * Pure: the same results give the same text (local/bench/report.test.ts).
 */
import { ARM64_GB_SECOND, costLines, PRICES } from './cost';
import type { BenchResults, FootprintRow, OverheadRow } from './results';
import { fixed, formatBytes, ratio, withRange, withSpread, type Summary } from './stats';

export const LIMITS = {
  /** Bundle size and init time, each at most this multiple of the baseline's. */
  footprint: 1.25,
  /** p50 overhead of a handler: at most this fraction of the bare handler's p50, or `overheadMs`, whichever is larger. */
  overheadFraction: 0.15,
  overheadMs: 0.5,
  /** p50 of POST /v1/sessions at most this multiple of the argon2id hash's p50. */
  login: 1.5,
  /** Bytes processUpload may read of a 100 MB MP4. */
  videoBytes: 1024 * 1024,
  /** The developer's loop (issue 13): seconds to ready, MiB at rest, seconds of a hook run and of `npm test`. */
  firstStartSeconds: 30,
  warmStartSeconds: 10,
  rssAtRestMiB: 1024,
  precommitSeconds: 15,
  testSeconds: 300,
  /** The web app (issue 14): initial JS + CSS gzipped, first grid paint after sign-in, grid DOM nodes while scrolling. */
  webInitialKiB: 120,
  webFirstPaintMs: 1000,
  webGridNodes: 1000,
};

export type Verdict = 'PASS' | 'FAIL' | 'INFO';

export interface Check {
  verdict: Verdict;
  suite: string;
  target: string;
  detail: string;
}

/** A function without AWS clients or documented extras has an empty baseline: no ratio means anything. */
export const hasBaseline = (row: FootprintRow): boolean => row.services.length > 0 || row.exception !== undefined;

export function footprintRatios(row: FootprintRow): { size: number; init: number } {
  return { size: ratio(row.bytes, row.baselineBytes), init: ratio(row.initMs.median, row.baselineInitMs.median) };
}

export function overheadLimitMs(row: OverheadRow): number {
  return Math.max(LIMITS.overheadFraction * row.bare.median, LIMITS.overheadMs);
}

/** The p50 overhead the target is judged on: the median of paired differences (ours − bare, back to back). */
export const overheadMs = (row: OverheadRow): number => row.pairedOverheadMs.median;

const list = (items: string[]): string => (items.length === 0 ? 'none' : items.join('; '));
const pct = (value: number): string => (Number.isFinite(value) ? `${(value * 100).toFixed(0)}%` : '–');
const times = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');
const usd = (value: number): string => (Number.isFinite(value) ? `$${value < 10 ? value.toFixed(3) : value.toFixed(2)}` : '–');

export function checks(results: BenchResults): Check[] {
  const found: Check[] = [];
  const add = (verdict: Verdict, suite: string, target: string, detail: string): void => void found.push({ verdict, suite, target, detail });
  const { footprint, overhead, roundtrips, login, upload, api, devloop, web } = results;

  if (footprint !== undefined) {
    const judged = footprint.rows.filter(hasBaseline);
    const over = (key: 'size' | 'init'): string[] =>
      judged.filter((row) => !(footprintRatios(row)[key] <= LIMITS.footprint)).map((row) => `${row.name} ${times(footprintRatios(row)[key])}`);
    const bigSize = over('size');
    const slowInit = over('init');
    add(bigSize.length === 0 ? 'PASS' : 'FAIL', 'footprint', `bundle size ≤ ${LIMITS.footprint}× the baseline (${judged.length} functions)`, bigSize.length === 0 ? 'all within' : `over: ${bigSize.join(', ')}`);
    add(slowInit.length === 0 ? 'PASS' : 'FAIL', 'footprint', `module init ≤ ${LIMITS.footprint}× the baseline (median of ${footprint.runs} processes)`, slowInit.length === 0 ? 'all within' : `over: ${slowInit.join(', ')}`);
    const problems = footprint.rows.flatMap((row) => row.problems);
    add(problems.length === 0 ? 'PASS' : 'FAIL', 'footprint', 'no function bundles a client or library it does not use', list(problems));
    for (const row of footprint.rows.filter((candidate) => candidate.exception !== undefined)) {
      const ratios = footprintRatios(row);
      add(
        'INFO',
        'footprint',
        `documented exception: ${row.name}`,
        `${row.exception ?? ''}; judged against a baseline holding that too: ${times(ratios.size)} size, ${times(ratios.init)} init (SDK-only baseline: ${times(ratio(row.bytes, row.strictBaselineBytes ?? 0))}, ${times(ratio(row.initMs.median, row.strictBaselineInitMs?.median ?? Number.NaN))})`,
      );
    }
    const unjudged = footprint.rows.filter((row) => !hasBaseline(row)).map((row) => row.name);
    if (unjudged.length > 0) add('INFO', 'footprint', 'no AWS client, so no baseline to compare with', unjudged.join(', '));
  }

  for (const row of overhead?.rows ?? []) {
    const limit = overheadLimitMs(row);
    const measured = overheadMs(row);
    add(
      measured <= limit ? 'PASS' : 'FAIL',
      'overhead',
      `${row.route}: p50 overhead ≤ max(${pct(LIMITS.overheadFraction)}, ${LIMITS.overheadMs} ms) = ${fixed(limit, 2)} ms`,
      `${fixed(measured, 2)} ms (${pct(measured / row.bare.median)}) over ${row.invocations} invocations each`,
    );
  }

  if (roundtrips !== undefined) {
    add(roundtrips.scans.length === 0 ? 'PASS' : 'FAIL', 'round trips', 'no Scan anywhere', roundtrips.scans.length === 0 ? 'none seen' : `Scan in ${[...new Set(roundtrips.scans)].join(', ')}`);
    // A GET reads (polling for readiness is not viewing); POST …/views counts a view (docs/media.md).
    const read = roundtrips.rows.find((row) => row.functionName === 'getMedia');
    const counted = roundtrips.rows.find((row) => row.functionName === 'recordView');
    const oneRead = read !== undefined && read.calls === 1 && read.attempts === 1 && read.operations['GetItem'] === 1;
    const oneCount = counted !== undefined && counted.calls === 1 && counted.attempts === 1 && counted.operations['UpdateItem'] === 1;
    const describe = (row: typeof read): string => (row === undefined ? 'not measured' : `${row.calls} call(s): ${operationsText(row.operations)}`);
    add(oneRead && oneCount ? 'PASS' : 'FAIL', 'round trips', 'GET /v1/media/{id} reads in one round trip; POST /v1/media/{id}/views counts a view in one', `GET ${describe(read)}; POST views ${describe(counted)}`);
    const above = roundtrips.rows.filter((row) => row.calls > row.minimum).map((row) => `${row.route} (${row.scenario}) ${row.calls} > ${row.minimum}`);
    add('INFO', 'round trips', 'requests above the minimum the key design allows', list(above));
  }

  if (login !== undefined) {
    const factor = login.login.median / login.hash.median;
    add(factor <= LIMITS.login ? 'PASS' : 'FAIL', 'login', `POST /v1/sessions p50 ≤ ${LIMITS.login}× the argon2id hash p50`, `${fixed(login.login.median)} ms vs ${fixed(login.hash.median)} ms: ${times(factor)}`);
  }

  if (upload?.video !== undefined) {
    const { bytesRead } = upload.video;
    add(bytesRead <= LIMITS.videoBytes ? 'PASS' : 'FAIL', 'upload', 'processUpload reads ≤ 1 MiB of a 100 MB MP4', `${bytesRead.toLocaleString('en-US')} bytes in ${upload.video.reads} reads`);
  }
  if (upload?.image !== undefined) {
    const { image } = upload;
    add('INFO', 'upload', `processUpload of a ${((image.width * image.height) / 1e6).toFixed(0)} MP JPEG (for the record)`, `warm ${fixed(image.warmMs.median, 0)} ms, peak RSS ${fixed(image.peakRssMiB.max, 0)} MiB of ${image.memoryMB} MB configured`);
  }
  if (upload?.post !== undefined) add('INFO', 'upload', 'presigned POST to the S3 stand-in (for the record)', `${fixed(upload.post.mibPerSecond.median)} MiB/s`);
  if (devloop !== undefined) {
    const judge = (ok: boolean): Verdict => (ok ? 'PASS' : 'FAIL');
    add(judge(devloop.firstStartSeconds <= LIMITS.firstStartSeconds), 'devloop', `first npm start from a fresh clone ≤ ${LIMITS.firstStartSeconds} s`, `${devloop.firstStartSeconds.toFixed(1)} s`);
    add(judge(devloop.warmStartSeconds <= LIMITS.warmStartSeconds), 'devloop', `npm start warm ≤ ${LIMITS.warmStartSeconds} s`, `${devloop.warmStartSeconds.toFixed(1)} s`);
    add(judge(devloop.rssAtRestMiB <= LIMITS.rssAtRestMiB), 'devloop', `the whole npm start process tree at rest ≤ ${LIMITS.rssAtRestMiB} MiB`, `${devloop.rssAtRestMiB.toFixed(0)} MiB`);
    add(judge(devloop.linesBeforeBanner <= 3 && devloop.landingStatus === 200 && devloop.healthStatus === 200), 'devloop', 'a short start-up (≤ 3 lines, then the banner), `/` leads somewhere', `${devloop.linesBeforeBanner} lines, then a ${devloop.bannerLines}-line banner; / ${devloop.landingStatus}, /v1/health ${devloop.healthStatus}`);
    const slowest = Math.max(...devloop.precommit.map((run) => run.seconds));
    add(judge(slowest <= LIMITS.precommitSeconds), 'devloop', `pre-commit hook on a one-file change ≤ ${LIMITS.precommitSeconds} s`, devloop.precommit.map((run) => `${run.file} ${run.seconds.toFixed(1)} s (${run.testFiles} test files)`).join('; '));
    if (devloop.test !== undefined) add(judge(devloop.test.passed && devloop.test.seconds <= LIMITS.testSeconds), 'devloop', `npm test in a fresh clone passes in ≤ ${LIMITS.testSeconds / 60} min`, `${devloop.test.passed ? 'passed' : 'FAILED'} in ${(devloop.test.seconds / 60).toFixed(1)} min`);
  }
  if (web !== undefined) {
    const judge = (ok: boolean): Verdict => (ok ? 'PASS' : 'FAIL');
    add(judge(web.initialGzipBytes <= LIMITS.webInitialKiB * 1024), 'web', `initial JS + CSS ≤ ${LIMITS.webInitialKiB} KB gzipped`, `${(web.initialGzipBytes / 1024).toFixed(1)} KB (${web.initialFiles.length} files)`);
    add(judge(web.firstPaintMs <= LIMITS.webFirstPaintMs), 'web', `first grid paint ≤ ${LIMITS.webFirstPaintMs} ms after sign-in with ${web.items} items`, `${web.firstPaintMs} ms`);
    add(judge(web.farThumbnailFetches === 0), 'web', 'no thumbnail fetched further than a screen from the viewport', `${web.thumbnailsFetched} fetched for ${web.cellsInView} cells in view, ${web.farThumbnailFetches} far away`);
    add(judge(web.secondVisitThumbnails > 0 && web.secondVisitCached === web.secondVisitThumbnails), 'web', 'a second visit takes thumbnails from the browser cache', `${web.secondVisitCached} of ${web.secondVisitThumbnails}`);
    add(judge(web.maxGridNodes < LIMITS.webGridNodes && web.scrolledItems >= 2000), 'web', `scrolling ${web.scrolledItems} items keeps the grid under ${LIMITS.webGridNodes} DOM nodes`, `at most ${web.maxGridNodes} nodes`);
  }
  for (const endpoint of api?.endpoints ?? []) {
    add('INFO', 'local API', `${endpoint.route} under npm start, concurrency ${api?.connections ?? ''} (for the record)`, `${fixed(endpoint.requestsPerSecond.median, 0)} req/s, p99 ${fixed(endpoint.p99Ms.median, 0)} ms`);
  }
  for (const [suite, message] of Object.entries(results.errors)) add('FAIL', suite, 'the benchmark ran', `error: ${message.split('\n')[0] ?? ''}`);
  return found;
}

export function operationsText(operations: Record<string, number>): string {
  const entries = Object.entries(operations);
  return entries.length === 0 ? '–' : entries.map(([name, count]) => (count === 1 ? name : `${name} ×${count}`)).join(' + ');
}

const ms = (summary: Summary, digits = 1): string => withSpread(summary, digits);

function table(header: string[], rows: string[][]): string {
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`)].join('\n');
}

function footprintSection(results: BenchResults): string[] {
  const footprint = results.footprint;
  if (footprint === undefined) return [];
  const lines = [
    '## Cold-start footprint',
    '',
    `Each function's bundle is built exactly as \`serverless package\` builds it (local/esbuild.config.cjs through serverless-esbuild's option handling: minified, tree-shaken AWS SDK v3, native modules external); its size is the \`.js\` file in the zip. Its **baseline** is a bundle built with the same settings from an entry that only creates the AWS SDK clients the function uses (services from its IAM permissions in local/delivery/policy.ts) with the SDK commands its bundle contains. **Init** is \`require()\` of the bundle in a fresh \`node\` process with the function's environment (NODE_OPTIONS=--enable-source-maps, as deployed), timed inside the process; **wall** is that process from spawn to exit. ${footprint.runs} fresh processes per bundle, all bundles alternating round after round; median (p25–p75), ms.`,
    '',
  ];
  const rows = [...footprint.rows].sort((a, b) => a.name.localeCompare(b.name));
  lines.push(
    table(
      ['function', 'AWS clients', 'bundle', 'baseline', 'size ×', 'init ms', 'baseline init ms', 'init ×', 'wall ms', 'init without source maps', 'SDK / ours / libraries', 'verdict'],
      rows.map((row) => {
        const ratios = footprintRatios(row);
        const judged = hasBaseline(row);
        const verdict = !judged ? 'n/a (no client)' : ratios.size <= LIMITS.footprint && ratios.init <= LIMITS.footprint ? 'PASS' : 'FAIL';
        return [
          `${row.name}${row.exception === undefined ? '' : ' ¹'}`,
          row.services.join(', ') || '–',
          formatBytes(row.bytes),
          judged ? formatBytes(row.baselineBytes) : '–',
          judged ? times(ratios.size) : '–',
          ms(row.initMs),
          judged ? ms(row.baselineInitMs) : '–',
          judged ? times(ratios.init) : '–',
          ms(row.wallMs, 0),
          row.initWithoutSourceMapsMs === undefined ? '–' : fixed(row.initWithoutSourceMapsMs.median),
          `${formatBytes(row.sdkBytes)} / ${formatBytes(row.serviceBytes)} / ${formatBytes(row.libraryBytes)}${row.textAssetBytes > 0 ? ` + ${formatBytes(row.textAssetBytes)} text` : ''}`,
          verdict,
        ];
      }),
    ),
    '',
  );
  const exceptions = rows.filter((row) => row.exception !== undefined);
  if (exceptions.length > 0) {
    lines.push('¹ Documented exceptions: the baseline also holds what the function must load, and is judged against that; the SDK-only baseline of the issue is shown for comparison.', '');
    lines.push(
      table(
        ['function', 'why', 'SDK-only baseline', 'size × SDK-only', 'SDK-only init ms', 'init × SDK-only'],
        exceptions.map((row) => [
          row.name,
          row.exception ?? '',
          formatBytes(row.strictBaselineBytes ?? Number.NaN),
          times(ratio(row.bytes, row.strictBaselineBytes ?? 0)),
          row.strictBaselineInitMs === undefined ? '–' : ms(row.strictBaselineInitMs),
          row.strictBaselineInitMs === undefined ? '–' : times(ratio(row.initMs.median, row.strictBaselineInitMs.median)),
        ]),
      ),
      '',
    );
  }
  const problems = rows.flatMap((row) => row.problems);
  lines.push(
    `**Clients and libraries a function carries without using them** (from each bundle's esbuild metafile: every \`@aws-sdk\` service client checked against the function's IAM permissions; sharp, exifr and file-type only in processUpload, argon2 only where passwords are hashed or verified, jsonwebtoken only where tokens are signed or verified, Swagger UI only in getDocs): ${problems.length === 0 ? 'none.' : ''}`,
    '',
    ...problems.map((problem) => `- ${problem}`),
    ...(problems.length === 0 ? [] : ['']),
  );
  const httpLayer = rows.find((row) => row.name === 'getHealth');
  const dynamoOnly = rows.find((row) => row.services.join() === 'dynamodb' && row.exception === undefined);
  if (httpLayer !== undefined) {
    const against =
      dynamoOnly === undefined
        ? ''
        : ` Against a baseline of a DynamoDB client alone (${formatBytes(dynamoOnly.baselineBytes)}, ${fixed(dynamoOnly.baselineInitMs.median)} ms in ${dynamoOnly.name}'s row) that is ${pct(httpLayer.bytes / dynamoOnly.baselineBytes)} of the size and ${pct(httpLayer.initMs.median / dynamoOnly.baselineInitMs.median)} of the init before any code of the function itself.`;
    lines.push(
      `getHealth is the HTTP layer alone (Middy with CORS and security headers, zod, the Powertools logger, the error mapper): ${formatBytes(httpLayer.bytes)} and ${fixed(httpLayer.initMs.median)} ms of init, which every HTTP function carries on top of its clients.${against}`,
      '',
    );
  }
  const sourceMaps = rows.filter((row) => row.initWithoutSourceMapsMs !== undefined);
  if (sourceMaps.length > 0) {
    const share = sourceMaps.map((row) => row.initMs.median / (row.initWithoutSourceMapsMs as Summary).median - 1).sort((a, b) => a - b);
    lines.push(
      `NODE_OPTIONS=--enable-source-maps (set for every function in serverless.yml) makes Node read and parse each bundle's source map at load: init is ${pct(share[Math.floor(share.length / 2)] ?? Number.NaN)} longer with it than without (median over functions; "init without source maps" column).`,
      '',
    );
  }
  return lines;
}

function overheadSection(results: BenchResults): string[] {
  const rows = results.overhead?.rows;
  if (rows === undefined) return [];
  return [
    '## Handler overhead (warm, in process)',
    '',
    "The deployed bundle of the function (Middy, request validation, response schema, CORS and security headers, structured logging at INFO) against a bare handler making the same SDK calls with the same client settings (local/bench/bare/), bundled the same way. Both run warm in one process against DynamoDB Local, after a warm-up, in pairs: each invocation of ours runs right before or after one of the bare handler (the order flips every time). Latency in ms, median (p25–p75) and p99. **Overhead p50** is the median of the paired differences (ours − bare), which cancels the drift of a shared machine and of DynamoDB Local; the difference of the two p50s and the per-round differences, median (min–max), are shown beside it.",
    '',
    table(
      ['route', 'SDK calls per request', 'invocations each', 'ours', 'ours p99', 'bare', 'bare p99', 'overhead p50 (paired)', 'p50 difference', 'per round', 'limit', 'verdict'],
      rows.map((row) => [
        row.route,
        row.calls,
        String(row.invocations),
        ms(row.real, 2),
        fixed(row.real.p99, 2),
        ms(row.bare, 2),
        fixed(row.bare.p99, 2),
        `${withSpread(row.pairedOverheadMs, 2)} = ${pct(overheadMs(row) / row.bare.median)}`,
        `${fixed(row.real.median - row.bare.median, 2)}`,
        withRange(row.overheadMs, 2),
        `${fixed(overheadLimitMs(row), 2)}`,
        overheadMs(row) <= overheadLimitMs(row) ? 'PASS' : 'FAIL',
      ]),
    ),
    '',
  ];
}

function roundTripSection(results: BenchResults): string[] {
  const roundtrips = results.roundtrips;
  if (roundtrips === undefined) return [];
  return [
    '## DynamoDB round trips and consumed capacity',
    '',
    "Captured from the SDK in this run: every function's handler runs in process through the real shared/aws clients against DynamoDB Local; a middleware adds `ReturnConsumedCapacity: 'TOTAL'` to every command and records it, and another counts HTTP exchanges below the retry layer. Units are per request as DynamoDB Local reports them with `TOTAL`: index writes included, transactions counted twice as DynamoDB bills them, reads of 4 KB units (0.5 for an eventually consistent read); the local engine's accounting approximates the service's (for example, it reports a transaction of two small items without indexes as 2 WRU, which DynamoDB bills 4). S3 calls are the ones sent (presigning sends nothing); SNS Publish is answered in process. **Minimum** is the fewest calls the key design (shared/stores/keys.ts, mediaKeys.ts) allows for that request. Warm duration: median (p25–p75) of the repeated requests, ms, against DynamoDB Local.",
    '',
    table(
      ['route', 'request', 'DynamoDB calls', 'calls', 'minimum', 'why the minimum', 'RRU', 'WRU', 'other AWS calls', 'status', 'warm ms'],
      roundtrips.rows.map((row) => [
        row.route,
        row.scenario,
        operationsText(row.operations),
        `${row.calls}${row.attempts !== row.calls ? ` (${row.attempts} HTTP)` : ''}${row.calls > row.minimum ? ' ▲' : ''}`,
        String(row.minimum),
        row.why,
        fixed(row.readUnits),
        fixed(row.writeUnits),
        operationsText(row.otherCalls),
        String(row.status),
        ms(row.durationMs),
      ]),
    ),
    '',
    `▲ above the minimum. Scans seen in the whole run: ${roundtrips.scans.length === 0 ? 'none' : [...new Set(roundtrips.scans)].join(', ')}. Every protected route also costs the authorizer's row (its cache is off: revocation takes effect on the next request).`,
    '',
  ];
}

function loginSection(results: BenchResults): string[] {
  const login = results.login;
  if (login === undefined) return [];
  return [
    '## Login',
    '',
    `\`POST /v1/sessions\` (the deployed createSession bundle, in process against DynamoDB Local: credentials read, argon2id verify, session write, ES256 token) against @node-rs/argon2 alone with the service's parameters (${login.parameters}), interleaved, ${login.runs} runs each; ms.`,
    '',
    table(
      ['', 'p50 (p25–p75)', 'p99', '× hash'],
      [
        ['POST /v1/sessions', ms(login.login), fixed(login.login.p99), times(login.login.median / login.hash.median)],
        ['the same work without the HTTP layer (BatchGetItem, verify, PutItem, token)', ms(login.bareLogin), fixed(login.bareLogin.p99), times(login.bareLogin.median / login.hash.median)],
        ['argon2id hash', ms(login.hash), fixed(login.hash.p99), '1.00×'],
        ['argon2id verify (what login does)', ms(login.verify), fixed(login.verify.p99), times(login.verify.median / login.hash.median)],
      ],
    ),
    '',
    `Target ≤ ${LIMITS.login}× the hash: ${login.login.median / login.hash.median <= LIMITS.login ? 'PASS' : 'FAIL'}. Beyond the verification, login spends ${fixed(login.login.median - login.verify.median)} ms (difference of medians): ${fixed(login.bareLogin.median - login.verify.median)} ms for the two DynamoDB round trips (sequential: the session is written only after the password is checked) and the token, ${fixed(login.login.median - login.bareLogin.median)} ms in the HTTP layer${login.login.median < login.bareLogin.median || login.bareLogin.median < login.verify.median ? ' (a negative share is within the noise of this run)' : ''}. The order of the four rotates every round.`,
    '',
  ];
}

function uploadSection(results: BenchResults): string[] {
  const upload = results.upload;
  if (upload === undefined) return [];
  const lines = ['## Upload pipeline', ''];
  if (upload.image !== undefined) {
    const { image } = upload;
    lines.push(
      `**processUpload of a ${image.width}×${image.height} (${((image.width * image.height) / 1e6).toFixed(0)} MP) JPEG** of ${formatBytes(image.bytes)}, made at run time with sharp (smooth gradients and noise, EXIF), already in the S3 stand-in: the deployed bundle invoked in process with the S3 event, against DynamoDB Local and the S3 stand-in, in ${image.processes} fresh processes (each processes several uploads; the first includes loading sharp's work). Outcome: ${image.outcome}.`,
      '',
      table(
        ['', 'median (min–max)'],
        [
          ['first upload in a process, ms', withRange(image.firstMs, 0)],
          ['later uploads, ms', withRange(image.warmMs, 0)],
          ['resident memory after loading the bundle, MiB', withRange(image.loadedRssMiB, 0)],
          ['peak resident memory of the process, MiB', withRange(image.peakRssMiB, 0)],
          ['memory configured for processUpload (prod), MB', String(image.memoryMB)],
        ],
      ),
      '',
    );
  }
  if (upload.video !== undefined) {
    const { video } = upload;
    lines.push(
      `**processUpload of a ${formatBytes(video.bytes)} MP4** (${video.layout}; made at run time from local/fixtures/media/clip.mp4 by growing its media data): ${video.bytesRead.toLocaleString('en-US')} bytes read in ${video.reads} ranged reads (${((video.bytesRead / video.bytes) * 100).toFixed(3)}% of the file), ${withRange(video.ms, 0)} ms; outcome: ${video.outcome}. Target ≤ 1 MiB: ${video.bytesRead <= LIMITS.videoBytes ? 'PASS' : 'FAIL'}. Counted by wrapping the content store the domain code reads through (the S3 adapter's readRange/read), with the real inspector.`,
      '',
    );
  }
  if (upload.post !== undefined) {
    const { post } = upload;
    lines.push(
      `**Presigned POST throughput**: createMedia (deployed bundle) issues the form, then ${formatBytes(post.bytes)} are posted as multipart/form-data to the S3 stand-in (s3rver) on loopback: ${withRange(post.mibPerSecond, 1)} MiB/s, ${withRange(post.ms, 0)} ms per upload (status ${post.status}). This is s3rver writing to the local disk, for the record; S3 itself is not measured here.`,
      '',
    );
  }
  return lines;
}

function devloopSection(results: BenchResults): string[] {
  const devloop = results.devloop;
  if (devloop === undefined) return [];
  return [
    '## The developer loop',
    '',
    'In a fresh clone of the committed tree (node_modules linked, as after `npm install`), on free ports: the first `npm start` (nothing cached: configuration, templates, bundles and DynamoDB data are all made), then a second; the RSS of the whole process tree (node, serverless-offline, Java) 10 s after ready; the pre-commit hook (`local/precommit.ts`) on a one-line change of one file, after one run that builds its incremental type information; `npm test` from end to end.',
    '',
    table(
      ['what', 'figure'],
      [
        ['first `npm start` to its banner', `${devloop.firstStartSeconds.toFixed(1)} s`],
        ['second `npm start`', `${devloop.warmStartSeconds.toFixed(1)} s`],
        ['process tree at rest', `${devloop.rssAtRestMiB.toFixed(0)} MiB`],
        ['printed before the banner / the banner', `${devloop.linesBeforeBanner} / ${devloop.bannerLines} lines`],
        ...devloop.precommit.map((run) => [`pre-commit, one line in \`${run.file}\``, `${run.seconds.toFixed(1)} s, ${run.testFiles} test files`]),
        ...(devloop.test === undefined ? [] : [['`npm test`', `${(devloop.test.seconds / 60).toFixed(1)} min, ${devloop.test.passed ? 'passed' : 'FAILED'}`]]),
      ],
    ),
    '',
  ];
}

function webSection(results: BenchResults): string[] {
  const web = results.web;
  if (web === undefined) return [];
  return [
    '## The web app',
    '',
    `In Chromium (Debian's, headless) against \`npm start\`: the JS and CSS index.html loads, gzipped; the time from the sign-in click to the first thumbnail decoded with ${web.items} ready photos in the library; which thumbnails the grid fetched; a reload within the signing window; then ${web.scrolledItems} items (served by the test tool, the grid is what is measured) scrolled through.`,
    '',
    table(
      ['what', 'figure'],
      [
        ['initial JS + CSS (gzip -9)', `${(web.initialGzipBytes / 1024).toFixed(1)} KB: ${web.initialFiles.join(', ')}`],
        ['first grid paint after sign-in', `${web.firstPaintMs} ms (the stack's first sign-in, every function cold: ${web.coldFirstPaintMs} ms)`],
        ['thumbnails fetched / cells in view / further than a screen', `${web.thumbnailsFetched} / ${web.cellsInView} / ${web.farThumbnailFetches}`],
        ['second visit: thumbnails from the browser cache', `${web.secondVisitCached} of ${web.secondVisitThumbnails}`],
        ['most DOM nodes in the grid while scrolling', `${web.maxGridNodes} (${web.scrolledItems} items)`],
      ],
    ),
    '',
  ];
}

function apiSection(results: BenchResults): string[] {
  const api = results.api;
  if (api === undefined) return [];
  return [
    '## Local API under `npm start`',
    '',
    `For the record: \`local/start.ts\` (DynamoDB Local, serverless-offline with every function, s3rver) on free loopback ports with its own data folder, seeded with ${api.seeded}; autocannon at ${api.connections} connections with a bearer token (so each request also runs the authorizer), ${api.runs} runs of ${api.seconds} s per route after a warm-up. Median (min–max) over runs. This measures serverless-offline and DynamoDB Local on this machine, not Lambda.`,
    '',
    table(
      ['route', 'requests/s', 'p50 ms', 'p99 ms', 'requests', 'errors', 'non-2xx'],
      api.endpoints.map((endpoint) => [
        endpoint.route,
        withRange(endpoint.requestsPerSecond, 0),
        withRange(endpoint.p50Ms, 0),
        withRange(endpoint.p99Ms, 0),
        String(endpoint.requests),
        String(endpoint.errors),
        String(endpoint.non2xx),
      ]),
    ),
    '',
  ];
}

function costSection(results: BenchResults): string[] {
  const cost = results.cost;
  const rows = results.roundtrips?.rows;
  if (cost === undefined || rows === undefined) return [];
  const lines = costLines(rows, cost);
  const prices = PRICES;
  return [
    '## Cost of a million requests',
    '',
    `Per endpoint, 1 million requests on the **${cost.stage}** stage: Lambda GB-seconds at the configured memory and the warm p50 duration measured above (billed per started millisecond), DynamoDB on-demand request units from the consumed capacity measured above, the Lambda authorizer in front of protected routes (its cache is off), and the HTTP API request. Assumed prices (${prices.region}, ${prices.asOf}; free tiers ignored): Lambda ${prices.architecture} $${prices.lambdaGbSecond} per GB-s (arm64 would be $${ARM64_GB_SECOND}) and $${prices.lambdaRequestsPerMillion.toFixed(2)} per million requests; HTTP API $${prices.httpApiPerMillion.toFixed(2)} per million; DynamoDB $${prices.readUnitsPerMillion} per million RRU and $${prices.writeUnitsPerMillion} per million WRU. Not included: CloudWatch Logs ingestion (each request writes about two JSON lines), data transfer, S3 requests and storage, SNS, NAT traffic of the prod VPC.`,
    '',
    'Durations are warm and local (DynamoDB Local over loopback, full cores): on Lambda a 256 MB function gets about a seventh of a vCPU (1,769 MB buys one) and a DynamoDB call takes a few milliseconds in-region, so real durations are longer; scale the Lambda column accordingly. Cold starts are not in it.',
    '',
    table(
      ['route', 'request', 'function', 'memory MB', 'p50 ms → billed', 'GB-s', 'Lambda', 'million RRU', 'million WRU', 'DynamoDB', 'authorizer', 'HTTP API', 'total per 1M'],
      lines.map((line) => [
        line.route,
        line.scenario,
        line.functionName,
        String(line.memoryMB),
        `${fixed(line.durationMs)} → ${line.billedMs}`,
        fixed(line.gbSeconds, 0),
        usd(line.lambdaUsd),
        fixed(line.readUnits),
        fixed(line.writeUnits),
        usd(line.dynamoUsd),
        line.authorizerUsd === 0 ? '–' : usd(line.authorizerUsd),
        line.httpApiUsd === 0 ? '–' : usd(line.httpApiUsd),
        `**${usd(line.totalUsd)}**`,
      ]),
    ),
    '',
  ];
}

export interface ReportOptions {
  /** How the run was started, e.g. `npm run bench`. */
  command: string;
  /** Total wall time of the run, s. */
  seconds: number;
}

export function renderReport(results: BenchResults, options: ReportOptions): string {
  const { machine } = results;
  const found = checks(results);
  const lines = [
    '# Benchmarks',
    '',
    `> Generated by \`${options.command}\` (local/bench/run.ts) on ${machine.date.slice(0, 16).replace('T', ' ')} UTC in ${Math.round(options.seconds)} s. Do not edit by hand: run \`npm run bench\` to regenerate it (\`npm run bench -- --only footprint,overhead --out /tmp/bench.md\` runs a part; \`--strict\` exits non-zero when a target fails). How the benchmarks work: [local/bench/README.md](../local/bench/README.md).`,
    '',
    `**Machine**: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}; ${machine.java}; commit ${machine.commit}. **A shared machine**: other work ran at the same time, so every figure is a median with its spread, p25–p75 over requests or processes, min–max over repeated runs. Figures are local: the stand-ins (DynamoDB Local, s3rver) run on loopback, and our code is always compared with a baseline measured in the same run.`,
    '',
    '## Targets',
    '',
    table(
      ['', 'benchmark', 'target', 'result'],
      found.map((check) => [check.verdict === 'INFO' ? 'info' : `**${check.verdict}**`, check.suite, check.target, check.detail]),
    ),
    '',
    ...footprintSection(results),
    ...overheadSection(results),
    ...roundTripSection(results),
    ...loginSection(results),
    ...uploadSection(results),
    ...apiSection(results),
    ...devloopSection(results),
    ...webSection(results),
    ...costSection(results),
  ];
  const skipped = ['footprint', 'overhead', 'roundtrips', 'login', 'upload', 'api', 'devloop', 'web'].filter((suite) => results[suite as keyof BenchResults] === undefined);
  if (skipped.length > 0) lines.push(`Not run this time: ${skipped.join(', ')}.`, '');
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/** The console summary: one line per check. */
export function summaryLines(found: Check[]): string[] {
  return found.map((check) => `${check.verdict.padEnd(4)}  ${check.suite.padEnd(11)}  ${check.target}: ${check.detail}`);
}
