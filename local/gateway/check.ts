/**
 * The least-privilege check of `npm test` (gulp verify): the grants of every local role against
 * the evidence the gateways recorded during the run. Prints a summary; false when a grant was
 * never used and nothing excuses it.
 */
import fs from 'node:fs';
import { readEvidence } from './evidence';
import { leastPrivilege } from './leastPrivilege';
import { functionRoles } from './roles';
import { cachedTemplate } from './template';

export function checkLeastPrivilege(evidenceFile: string): boolean {
  if (!fs.existsSync(evidenceFile) || fs.statSync(evidenceFile).size === 0) {
    console.error(`least privilege: no evidence in ${evidenceFile}: did the test run reach the local AWS gateway?`);
    return false;
  }
  const template = cachedTemplate('local');
  if (template === undefined) {
    console.error('least privilege: the packaged local template is not cached: did the test run start the gateway?');
    return false;
  }
  const report = leastPrivilege(functionRoles(template).values(), readEvidence(evidenceFile));
  console.log(`least privilege: ${report.exercised.length} grants used by the tests, ${report.excused.length} kept with a written reason, ${report.unused.length} unused`);
  for (const grant of report.unused) console.error(`  unused: ${grant.fn} may ${grant.action} on ${grant.resource}, but no test made such a call (remove it, or test the path that needs it)`);
  return report.unused.length === 0;
}
