/**
 * Peak memory of processing uploads, measured where nothing else has run: a child process
 * (started by formats.test.ts and `npm run fuzz:formats`) that processes the files it is given,
 * one after another, through formatWorld.ts, and prints one JSON line per file with the
 * process's peak RSS so far (the high-water mark the kernel keeps; a Lambda function is stopped
 * when its memory passes its memorySize).
 *
 * The peak is read from /proc/self/status (VmHWM), not `process.resourceUsage().maxRSS`: Linux
 * carries maxRSS across exec, so a child of a test runner holding 500 MB starts with a "peak" of
 * 500 MB (seen here). VmHWM belongs to the process image and starts from zero at exec. Elsewhere
 * (no /proc) maxRSS is the fallback.
 *
 *   node --import tsx local/reliability/formatMemory.ts <list.json>
 *
 * where list.json is [{"path": "...", "contentType": "image/png", "name": "..."}]. The first line
 * is the baseline: the peak after loading the modules and before reading any file.
 */
import fs from 'node:fs';
import { processUploadOf } from './formatWorld';

interface Job {
  name: string;
  path: string;
  contentType: string;
}

const MiB = 1024 * 1024;
function peakMiB(): number {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib !== undefined) return Math.round((Number(kib) * 1024) / MiB);
  } catch {
    // no /proc: not Linux
  }
  return Math.round((process.resourceUsage().maxRSS * 1024) / MiB);
}

async function main(): Promise<void> {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2] as string, 'utf8')) as Job[];
  process.stdout.write(`${JSON.stringify({ baseline: true, peakMiB: peakMiB() })}\n`);
  for (const job of jobs) {
    let bytes: Buffer | undefined = fs.readFileSync(job.path);
    const size = bytes.length;
    try {
      const result = await processUploadOf(bytes, job.contentType);
      bytes = undefined;
      process.stdout.write(
        `${JSON.stringify({ name: job.name, size, outcome: result.outcome, status: result.stored.status, reason: result.stored.rejectReason, reads: result.reads, milliseconds: result.milliseconds, problems: result.problems, peakMiB: peakMiB() })}\n`,
      );
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ name: job.name, size, threw: (error as Error).stack ?? String(error), peakMiB: peakMiB() })}\n`);
    }
  }
}

void main();
