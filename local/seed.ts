/**
 * `npm run seed`: demo data in the running `npm start` (found through .local-data/stack.json, or
 * ML_API_PORT): the account demo@example.com with photos, videos, tags and an analysis. Safe to
 * run again: what is there stays as it is.
 */
import path from 'node:path';
import { localDataDir, stackUrl } from './stack/running';
import { seed } from './seed/seed';

const api = stackUrl('api', 'ML_API_PORT', 3000);

seed(api, path.join(localDataDir(), 'seed.json'))
  .then((result) => {
    const uploaded = result.media.filter((item) => item.uploaded).length;
    console.log(`[seed] ${result.account.created ? 'created' : 'found'} the demo account; ${uploaded} of ${result.media.length} items uploaded now, ${result.media.length - uploaded} already there`);
    for (const item of result.media) console.log(`[seed]   ${item.file.padEnd(16)} ${item.status.padEnd(8)} ${item.id}`);
    console.log(`[seed] analysis ${result.analysis.id}: ${result.analysis.status}${result.analysis.created ? '' : ' (from an earlier run)'}`);
    console.log(`[seed] sign in at ${api.replace(/\/v1$/, '/')} as ${result.account.email} / ${result.account.password}`);
  })
  .catch((error: Error) => {
    console.error(`[seed] ${error.message}\n[seed] Is \`npm start\` running? (API ${api})`);
    process.exit(1);
  });
