/**
 * Evidence of least privilege: every (function, action, resource) the gateway allowed, one JSON
 * line each, appended to the file ML_IAM_EVIDENCE names. Every gateway of a test run (several
 * processes) appends to the same file; `npm test` then checks that each permission a role grants
 * was used by some call or has a written reason (local/gateway/leastPrivilege.ts).
 */
import fs from 'node:fs';

export interface EvidenceLine {
  fn: string;
  action: string;
  resource: string;
}

export class EvidenceLog {
  private readonly seen = new Set<string>();

  constructor(private readonly file: string | undefined = process.env['ML_IAM_EVIDENCE'] || undefined) {}

  record(line: EvidenceLine): void {
    if (this.file === undefined) return;
    const text = JSON.stringify(line);
    if (this.seen.has(text)) return;
    this.seen.add(text);
    // One short line per append: O_APPEND keeps concurrent writers' lines whole. Never O_CREAT:
    // the run that asked for the file creates it and removes it when it ends; a gateway that
    // outlives it (a run stopped early) must not leave a new one behind.
    let fd: number;
    try {
      fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    try {
      fs.writeSync(fd, `${text}\n`);
    } finally {
      fs.closeSync(fd);
    }
  }
}

export function readEvidence(file: string): EvidenceLine[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as EvidenceLine);
}
