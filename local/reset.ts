/**
 * `npm run local:reset`: wipes the local stack's data (DynamoDB tables, S3 objects,
 * generated signing keys, cached config) under .local-data/ (or ML_DATA_DIR).
 * Refuses while `npm start` is running on that data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { localDataDir, processAlive } from './stack/running';
import { REPO_ROOT } from './stack/serviceConfig';

const dataDir = localDataDir();
const pidFile = path.join(dataDir, 'local.pid');

if (fs.existsSync(pidFile)) {
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  if (Number.isInteger(pid) && processAlive(pid)) {
    console.error(`The local stack is running (pid ${pid}). Stop it (Ctrl-C) before wiping its data.`);
    process.exit(1);
  }
}
if (!fs.existsSync(dataDir)) {
  console.log(`Nothing to wipe: ${dataDir} does not exist.`);
  process.exit(0);
}
fs.rmSync(dataDir, { recursive: true, force: true });
console.log(`Wiped ${path.relative(REPO_ROOT, dataDir) || dataDir}: the next \`npm start\` begins with empty tables and buckets.`);
