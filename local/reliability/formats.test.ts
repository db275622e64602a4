/**
 * File-format fuzzing: structure-aware mutations of the media fixtures (formatMutations.ts) —
 * JPEG EXIF/IFD values and segment lengths, PNG chunk lengths and compressed chunks, WebP chunks
 * and canvases, GIF screens and frames, MP4/MOV box sizes, counts, versions and numeric extremes
 * — each uploaded and processed through the real path (formatWorld.ts: the domain's processUpload
 * with the real inspector over in-memory stores), then read back as a client would.
 *
 * Properties of every processing:
 * - it ends: processUpload returns, never throws, and the item is `ready` or `rejected`, never
 *   left `pending`;
 * - its reads are bounded: one first read and one whole read for an image; for a video at most
 *   1 + MAX_RANGED_READS ranged reads and FIRST_READ_BYTES + MAX_BYTES_READ bytes;
 * - what it writes DynamoDB would accept (the real marshaller), and every read of the item
 *   (GET item, metadata, list) passes the response schema the handler uses;
 * - peak memory stays within PEAK_RSS_BUDGET_MIB, measured in a child process (formatMemory.ts)
 *   over the audit's hostile files and a sample of the generated ones.
 *
 *   npx mocha local/reliability/formats.test.ts                  fixed seed, 30 files per format (npm test)
 *   npm run fuzz:formats                                          FORMATS_RUNS=500, a random seed (printed), pixel bombs too
 *   FORMATS_SEED=<seed> FORMATS_RUNS=<n> npx mocha local/reliability/formats.test.ts --grep <format>   replay
 *   FORMATS_MEMORY=off                                            without the peak-memory measurement (the pre-commit hook)
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import fc from 'fast-check';
import { hostileFiles, pixelBombs, type HostileFile } from '../fixtures/mediaFiles';
import { FIRST_READ_BYTES } from '../../shared/domain/media';
import { MAX_BYTES_READ, MAX_RANGED_READS } from '../../shared/media-info/video';
import { MUTATED_FILES, type MutatedFile } from './formatMutations';
import { processUploadOf, STAGE_SETTINGS, type ProcessedUpload } from './formatWorld';
import { withoutCoverage } from '../test/uninstrumented';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'random') return Math.floor(Math.random() * 2 ** 31);
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer${name.endsWith('SEED') ? ' or "random"' : ''}, got "${raw}"`);
  return value;
}

const SEED = intFromEnv('FORMATS_SEED', 20_261_121);
const RUNS = intFromEnv('FORMATS_RUNS', 30);
/** Generated files of each format also measured in the memory child. */
const MEMORY_SAMPLE = intFromEnv('FORMATS_MEMORY_SAMPLE', RUNS >= 200 ? 40 : 6);
/** The 100-megapixel pictures take a minute to make and decode: the long run only, or when asked. */
const PIXEL_BOMBS = process.env['FORMATS_PIXEL_BOMBS'] === '1' || RUNS >= 200;
/**
 * A child per hostile file gives each its own peak (the long run); one child for all of them
 * gives the peak over all (the high-water mark only rises), which is what the budget needs, and
 * saves a process start per file in `npm test`.
 */
const CHILD_PER_FILE = process.env['FORMATS_CHILD_PER_FILE'] === '1' || RUNS >= 200;

/**
 * processUpload's memorySize is 1536 MB in every stage (shared/config/stages/*.yml). One
 * processing must stay within 1 GiB: two thirds of it, leaving the rest to what a local
 * measurement does not see (the Lambda runtime and its buffers, allocator variance between
 * machines). Measured (docs/reliability.md): hostile metadata ≤ ~470 MiB, the worst legal
 * 100-megapixel pictures ≤ ~900 MiB.
 */
export const PEAK_RSS_BUDGET_MIB = 1024;
const DEPLOYED_MEMORY_MIB = 1536;

const seedOf = (index: number): number => (SEED + index * 7919) | 0;

/** What is wrong with one processing, if anything. */
function problemsOf(file: { contentType: string; bytes?: Buffer }, result: ProcessedUpload): string[] {
  const problems = [...result.problems];
  if (result.outcome !== 'ready' && result.outcome !== 'rejected') problems.push(`outcome ${result.outcome}, expected ready or rejected`);
  if (result.stored.status !== 'ready' && result.stored.status !== 'rejected') problems.push(`the item is left ${result.stored.status}`);
  const { rangedReads, wholeReads, bytesRead } = result.reads;
  if (file.contentType.startsWith('video/')) {
    if (wholeReads > 0) problems.push(`a video was read whole`);
    if (rangedReads > 1 + MAX_RANGED_READS) problems.push(`${rangedReads} ranged reads (at most ${1 + MAX_RANGED_READS})`);
    if (bytesRead > FIRST_READ_BYTES + MAX_BYTES_READ) problems.push(`${bytesRead} bytes read (at most ${FIRST_READ_BYTES + MAX_BYTES_READ})`);
  } else {
    if (rangedReads > 1 || wholeReads > 1) problems.push(`${rangedReads} ranged and ${wholeReads} whole reads of an image (at most one of each)`);
    if (bytesRead > FIRST_READ_BYTES + STAGE_SETTINGS.maxImageBytes) problems.push(`${bytesRead} bytes read`);
  }
  return problems;
}

interface FormatFigures {
  files: number;
  ready: number;
  rejected: Map<string, number>;
  maxRangedReads: number;
  maxBytesRead: number;
  maxMilliseconds: number;
}

describe('file-format fuzzing: hostile JPEG, PNG, WebP, GIF, MP4 and MOV through processUpload', function () {
  this.timeout(Math.max(60_000, RUNS * 2_000));
  const figures = new Map<string, FormatFigures>();

  after(() => {
    const lines = [...figures].map(([format, f]) => {
      const rejected = [...f.rejected].map(([reason, count]) => `${count} ${reason}`).join(', ') || 'none';
      return `  ${format.padEnd(5)} ${String(f.files).padStart(5)} files: ${f.ready} ready, rejected ${rejected}; at most ${f.maxRangedReads} ranged reads, ${f.maxBytesRead} bytes, ${f.maxMilliseconds} ms`;
    });
    console.log(`\n  file-format fuzzing, seed ${SEED}, ${RUNS} files per format (replay: FORMATS_SEED=${SEED} FORMATS_RUNS=${RUNS})\n${lines.join('\n')}`);
  });

  (['jpeg', 'png', 'webp', 'gif', 'mp4', 'mov'] as const).forEach((format, index) => {
    it(`${format}: every mutated file ends ready or rejected, with bounded reads, storable values and readable answers (seed ${seedOf(index)})`, async () => {
      const tally: FormatFigures = { files: 0, ready: 0, rejected: new Map(), maxRangedReads: 0, maxBytesRead: 0, maxMilliseconds: 0 };
      figures.set(format, tally);
      await fc.assert(
        fc.asyncProperty(MUTATED_FILES[format], async (file: MutatedFile) => {
          let result: ProcessedUpload;
          try {
            result = await processUploadOf(file.bytes, file.contentType);
          } catch (error) {
            throw new Error(`processUpload threw on ${file.mutations.join('; ')}: ${(error as Error).stack ?? String(error)}`, { cause: error });
          }
          tally.files++;
          if (result.stored.status === 'ready') tally.ready++;
          else tally.rejected.set(result.stored.rejectReason ?? '?', (tally.rejected.get(result.stored.rejectReason ?? '?') ?? 0) + 1);
          tally.maxRangedReads = Math.max(tally.maxRangedReads, result.reads.rangedReads);
          tally.maxBytesRead = Math.max(tally.maxBytesRead, result.reads.bytesRead);
          tally.maxMilliseconds = Math.max(tally.maxMilliseconds, result.milliseconds);
          const problems = problemsOf(file, result);
          expect(problems, `${file.mutations.join('; ')}\n${problems.join('\n')}`).to.deep.equal([]);
        }),
        { seed: seedOf(index), numRuns: RUNS, endOnFailure: true },
      );
    });
  });

  it(`peak memory of one processing stays within ${PEAK_RSS_BUDGET_MIB} MiB (processUpload has ${DEPLOYED_MEMORY_MIB} MB): the audit’s hostile files and a sample of generated ones, in a child process`, async function () {
    // The pre-commit hook's quick gate leaves this ~15 s measurement to `npm test` (local/precommit.ts).
    if (process.env['FORMATS_MEMORY'] === 'off') this.skip();
    this.timeout(PIXEL_BOMBS ? 900_000 : 120_000);
    expect(deployedMemoryMiB()).to.equal(DEPLOYED_MEMORY_MIB);
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-formats-'));
    try {
      const jobs: Array<{ name: string; path: string; contentType: string; attack: string }> = [];
      const hostile: HostileFile[] = [...hostileFiles(), ...(PIXEL_BOMBS ? pixelBombs() : [])];
      for (const file of hostile) {
        const where = path.join(folder, file.name);
        fs.writeFileSync(where, await file.make());
        jobs.push({ name: file.name, path: where, contentType: file.contentType, attack: file.attack });
      }
      (['jpeg', 'png', 'webp', 'gif', 'mp4', 'mov'] as const).forEach((format, index) => {
        fc.sample(MUTATED_FILES[format], { seed: seedOf(100 + index), numRuns: MEMORY_SAMPLE }).forEach((file, n) => {
          const where = path.join(folder, `${format}-${n}`);
          fs.writeFileSync(where, file.bytes);
          jobs.push({ name: `${format}-${n}`, path: where, contentType: file.contentType, attack: file.mutations.join('; ') });
        });
      });
      // Hostile files in a child each (CHILD_PER_FILE) or together, the generated sample together.
      const hostileJobs = jobs.filter((job) => hostile.some((file) => file.name === job.name));
      const groups = [...(CHILD_PER_FILE ? hostileJobs.map((job) => [job]) : [hostileJobs]), jobs.filter((job) => !hostileJobs.includes(job))];
      const rows: string[] = [];
      for (const group of groups) {
        const list = path.join(folder, `list-${rows.length}.json`);
        fs.writeFileSync(list, JSON.stringify(group));
        const [program, args] = withoutCoverage(process.execPath, ['--import', 'tsx', path.join(__dirname, 'formatMemory.ts'), list]);
        const { stdout } = await promisify(execFile)(program, args, {
          cwd: path.resolve(__dirname, '..', '..'),
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' },
        });
        const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { baseline?: boolean; name?: string; peakMiB: number; threw?: string; outcome?: string; status?: string; reason?: string; problems?: string[]; milliseconds?: number });
        const baseline = lines[0]?.peakMiB ?? 0;
        const results = lines.slice(1);
        expect(results, 'every file processed').to.have.length(group.length);
        for (const result of results) {
          expect(result.threw, `${result.name} threw`).to.equal(undefined);
          expect(result.status, `${result.name} left ${result.status}`).to.be.oneOf(['ready', 'rejected']);
          expect(result.problems, String(result.name)).to.deep.equal([]);
        }
        const peak = Math.max(...results.map((result) => result.peakMiB));
        const label = group.length === 1 ? (group[0] as { name: string }).name : group === groups.at(-1) ? `${group.length} generated files` : `${group.length} hostile files`;
        const outcome = group.length === 1 ? `${results[0]?.status}${results[0]?.reason === undefined ? '' : ` (${results[0].reason})`}, ${results[0]?.milliseconds} ms` : 'each ready or rejected';
        rows.push(`  ${label.padEnd(30)} peak ${String(peak).padStart(5)} MiB (baseline ${baseline})  ${outcome}`);
        expect(peak, `${label}: peak RSS ${peak} MiB`).to.be.at.most(PEAK_RSS_BUDGET_MIB);
      }
      console.log(`\n  peak RSS per processing (budget ${PEAK_RSS_BUDGET_MIB} MiB of ${DEPLOYED_MEMORY_MIB} MB):\n${rows.join('\n')}`);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

/** processUpload's memorySize in every stage file: the budget above is set against it. */
function deployedMemoryMiB(): number {
  const stages = path.resolve(__dirname, '..', '..', 'shared', 'config', 'stages');
  const sizes = new Set(
    fs
      .readdirSync(stages)
      .filter((name) => name.endsWith('.yml'))
      .map((name) => Number(/^\s+processUpload:\s*(\d+)/m.exec(fs.readFileSync(path.join(stages, name), 'utf8'))?.[1])),
  );
  expect(sizes.size, 'the same processUpload memorySize in every stage').to.equal(1);
  return [...sizes][0] as number;
}
