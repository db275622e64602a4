/** What each benchmark measures, as the report (./report.ts) renders and judges it. */
import type { Machine } from './environment';
import type { Summary } from './stats';

export interface FootprintRow {
  name: string;
  /** AWS services it calls (from its IAM permissions). */
  services: string[];
  bytes: number;
  mapBytes: number;
  /** Bytes of the bundle by origin: AWS SDK, our code, other libraries, text assets. */
  sdkBytes: number;
  serviceBytes: number;
  libraryBytes: number;
  textAssetBytes: number;
  /** Native modules it requires at run time (shipped in its zip). */
  externals: string[];
  baselineBytes: number;
  /** `require()` of the bundle inside a fresh process (ms), and the whole process from spawn to exit. */
  initMs: Summary;
  wallMs: Summary;
  baselineInitMs: Summary;
  baselineWallMs: Summary;
  /** The same require without NODE_OPTIONS=--enable-source-maps (what the source maps cost). */
  initWithoutSourceMapsMs?: Summary;
  /**
   * Set for the documented exceptions: what, besides SDK clients, the function must load
   * (native modules, Swagger UI's assets); its baseline then holds that too, and `strictBaseline*`
   * is the SDK-only baseline of the issue.
   */
  exception?: string;
  strictBaselineBytes?: number;
  strictBaselineInitMs?: Summary;
  /** Clients or libraries it bundles without using them. */
  problems: string[];
}

export interface FootprintResult {
  runs: number;
  rows: FootprintRow[];
}

export interface OverheadRow {
  route: string;
  functionName: string;
  /** What the handler did per invocation (the same SDK calls in both). */
  calls: string;
  invocations: number;
  real: Summary;
  bare: Summary;
  /**
   * Each invocation of ours minus the bare one run right before or after it (ms): its median is
   * the p50 overhead with the machine's drift cancelled out, and what the target is judged on.
   */
  pairedOverheadMs: Summary;
  /** p50(real) − p50(bare) per round, ms, and as a fraction of p50(bare). */
  overheadMs: Summary;
  overheadFraction: Summary;
  rounds: number;
}

export interface OverheadResult {
  rows: OverheadRow[];
}

export interface RoundTripRow {
  /** `GET /v1/media/{id}`, or the event of an event-driven function. */
  route: string;
  functionName: string;
  scenario: string;
  /** DynamoDB operations of one request, e.g. { UpdateItem: 1 }. */
  operations: Record<string, number>;
  calls: number;
  /** HTTP exchanges with DynamoDB (retries included). */
  attempts: number;
  minimum: number;
  why: string;
  /** Consumed capacity of one request, as DynamoDB Local reports it (index writes included, transactions twice). */
  readUnits: number;
  writeUnits: number;
  /** S3 and SNS calls of the request (presigning is not a call). */
  otherCalls: Record<string, number>;
  status: number | string;
  /** Warm duration of the handler, in process against DynamoDB Local (ms). */
  durationMs: Summary;
}

export interface RoundTripResult {
  rows: RoundTripRow[];
  /** Every Scan seen over the whole run (there must be none). */
  scans: string[];
}

export interface LoginResult {
  runs: number;
  login: Summary;
  /** BatchGetItem + verify + PutItem + ES256 token with a plain client: login without the HTTP layer. */
  bareLogin: Summary;
  hash: Summary;
  verify: Summary;
  parameters: string;
}

export interface UploadResult {
  image?: {
    width: number;
    height: number;
    bytes: number;
    processes: number;
    /** Each process's first invocation (sharp and the SDK warm up) and the later ones. */
    firstMs: Summary;
    warmMs: Summary;
    /** Peak resident memory of the processing process (MiB), and after loading the bundle only. */
    peakRssMiB: Summary;
    loadedRssMiB: Summary;
    memoryMB: number;
    outcome: string;
  };
  video?: {
    bytes: number;
    layout: string;
    bytesRead: number;
    reads: number;
    ms: Summary;
    outcome: string;
  };
  post?: {
    bytes: number;
    mibPerSecond: Summary;
    ms: Summary;
    status: number;
  };
}

export interface ApiEndpointResult {
  route: string;
  requestsPerSecond: Summary;
  p50Ms: Summary;
  p99Ms: Summary;
  requests: number;
  errors: number;
  non2xx: number;
}

export interface ApiResult {
  connections: number;
  seconds: number;
  runs: number;
  endpoints: ApiEndpointResult[];
  seeded: string;
}

export interface PrecommitRun {
  /** The file a one-line change was made to. */
  file: string;
  seconds: number;
  /** How many test files the hook ran for it. */
  testFiles: number;
}

export interface DevloopResult {
  /** From `npm start` to its ready banner in a fresh clone (nothing cached), and the next start. */
  firstStartSeconds: number;
  warmStartSeconds: number;
  /** The whole process tree, 10 s after ready, nothing asked of it. */
  rssAtRestMiB: number;
  /** Lines printed before the banner, and the banner's own. */
  linesBeforeBanner: number;
  bannerLines: number;
  /** What `/` and `/v1/health` answered. */
  landingStatus: number;
  healthStatus: number;
  precommit: PrecommitRun[];
  /** `npm test` in the fresh clone (not with --quick). */
  test?: { seconds: number; passed: boolean };
}

export interface CostInputs {
  /** The stage whose memory settings the cost table uses. */
  stage: string;
  /** Memory per function on that stage (MB). */
  memoryMB: Record<string, number>;
  /** Functions behind the Lambda authorizer, and behind any HTTP API route. */
  protectedFunctions: string[];
  httpFunctions: string[];
}

export interface WebResult {
  /** JS + CSS that index.html loads, gzipped (level 9). */
  initialGzipBytes: number;
  initialFiles: string[];
  /** Ready photos in the library for the paint and fetch figures. */
  items: number;
  /** Sign-in click to the first thumbnail decoded in the grid. */
  firstPaintMs: number;
  /** The same on the stack's first sign-in after start (every function cold). */
  coldFirstPaintMs: number;
  thumbnailsFetched: number;
  cellsInView: number;
  /** Thumbnails fetched for cells further than one screen from the viewport. */
  farThumbnailFetches: number;
  secondVisitThumbnails: number;
  secondVisitCached: number;
  scrolledItems: number;
  maxGridNodes: number;
}

export interface BenchResults {
  machine: Machine;
  footprint?: FootprintResult;
  overhead?: OverheadResult;
  roundtrips?: RoundTripResult;
  login?: LoginResult;
  upload?: UploadResult;
  api?: ApiResult;
  devloop?: DevloopResult;
  web?: WebResult;
  cost?: CostInputs;
  /** Suites that failed to run, with the reason. */
  errors: Record<string, string>;
  /** Wall time of each suite (s). */
  seconds: Record<string, number>;
}
