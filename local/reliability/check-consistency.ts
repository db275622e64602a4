/**
 * `npm run check:consistency`: runs the consistency checker (./consistency.ts) against the
 * running `npm start` (found through .local-data/stack.json, whatever ports it uses; ML_DYNAMODB_PORT
 * and ML_S3_PORT name others; tables and bucket of the local stage from serverless.yml), prints the
 * counts and every finding, and exits 1 when there are violations, 0 otherwise.
 *
 *   npm run check:consistency                      everything, live (grace 600 s, findings re-read once)
 *   npm run check:consistency -- --user 01J… …     only these users
 *   npm run check:consistency -- --settled         nothing is in flight: in-progress states count too
 *   npm run check:consistency -- --grace-seconds 60 --json
 */
import { parseArgs } from 'node:util';
import { stackUrl } from '../stack/running';
import { checkConsistency, DEFAULT_GRACE_SECONDS, formatFinding, localTarget } from './consistency';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string', multiple: true },
      settled: { type: 'boolean', default: false },
      'grace-seconds': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const graceSeconds = values['grace-seconds'] === undefined ? DEFAULT_GRACE_SECONDS : Number(values['grace-seconds']);
  if (!Number.isFinite(graceSeconds) || graceSeconds < 0) throw new Error('--grace-seconds must be a number of seconds');
  const target = localTarget({
    dynamodbEndpoint: stackUrl('dynamodb', 'ML_DYNAMODB_PORT', 8000),
    s3Endpoint: stackUrl('s3', 'ML_S3_PORT', 4569),
  });
  const report = await checkConsistency(target, {
    ...(values.user === undefined ? {} : { userIds: values.user }),
    settled: values.settled,
    graceSeconds,
    // Live data: a finding must still be there a moment later.
    ...(values.settled ? {} : { recheckAfterMs: 1500 }),
  });
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    const { counts } = report;
    console.log(`[consistency] ${target.dynamodbEndpoint} (${Object.values(target.tables).join(', ')}), ${target.s3Endpoint} (${target.bucket})`);
    console.log(
      `[consistency] users ${counts.users}, credentials ${counts.credentials}, sessions ${counts.sessions}; ` +
        `media items ${JSON.stringify(counts.mediaItems)}, tag entries ${counts.tagEntries}, tag counts ${counts.tagCounts}, hash claims ${counts.shaClaims}, similarity entries ${counts.phashEntries}; ` +
        `objects ${counts.objects} (originals ${counts.originals}, thumbnails ${counts.thumbnails}); analyses ${JSON.stringify(counts.analyses)}`,
    );
    for (const finding of report.inProgress) console.log(`[consistency] in progress: ${formatFinding(finding)}`);
    for (const finding of report.violations) console.log(`[consistency] VIOLATION ${formatFinding(finding)}`);
    console.log(`[consistency] ${report.violations.length} violation(s), ${report.inProgress.length} in progress`);
  }
  return report.violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`[consistency] ${message}\nIs \`npm start\` running? (DynamoDB http://127.0.0.1:${process.env['ML_DYNAMODB_PORT'] ?? 8000}, S3 http://127.0.0.1:${process.env['ML_S3_PORT'] ?? 4569})`);
    process.exit(2);
  },
);
