/**
 * Least privilege from evidence. The gateway already refuses any call outside a function's role;
 * this is the other direction: every permission a role grants must have been used by some call of
 * the whole `npm test` run (the evidence file the gateways wrote), or be listed below with the
 * reason no local run can use it. A grant that is neither is surplus and fails the check.
 */
import type { EvidenceLine } from './evidence';
import type { FunctionRole } from './roles';

/** One permission of one function: an action on a resource pattern, as its role states it. */
export interface Grant {
  fn: string;
  action: string;
  resource: string;
}

/**
 * Permissions no local run can exercise, each with the reason it is needed anyway. Keep this
 * short: everything a test can reach belongs in a test, not here.
 */
export const UNEXERCISED_LOCALLY: Array<{ action: string; fn?: string; reason: string }> = [
  {
    action: 'logs:CreateLogGroup',
    reason: "The Lambda runtime writes the function's own log group with its role; locally logs go to the console, there is no CloudWatch Logs stand-in.",
  },
  { action: 'logs:CreateLogStream', reason: 'As logs:CreateLogGroup: the Lambda runtime creates the log stream of each execution environment.' },
  { action: 'logs:PutLogEvents', reason: 'As logs:CreateLogGroup: the Lambda runtime sends every log line with it.' },
  {
    action: 'sqs:SendMessage',
    reason:
      "Lambda's asynchronous invocation sends an event that still fails after its retries to the function's on-failure destination (the dead-letter queue) with the function's role; serverless-offline does not emulate destinations.",
  },
  {
    action: 's3:GetObject',
    fn: 'runAnalysis',
    reason:
      "Rekognition's DetectLabels reads the image from S3 itself, with the caller's permission (the request names the bucket and key, the bytes never pass through the function); without a Rekognition stand-in the local stage runs without labels, so nothing reads it.",
  },
  {
    action: 'dynamodb:ListStreams',
    fn: 'pushChanges',
    reason:
      "serverless adds it, with GetRecords, GetShardIterator and DescribeStream, to the role of every function with a DynamoDB stream event; it cannot be removed from serverless.yml. It is never used: Lambda's event source mapping reads the stream it is given by ARN, and IAM authorises ListStreams on `*` only, so this grant on the stream ARNs could not allow it anyway (the local gateway refuses it too).",
  },
  {
    action: 'rekognition:DetectLabels',
    fn: 'runAnalysis',
    reason: 'Labels come from Amazon Rekognition on stages that enable them (rekognitionLabels); there is no Rekognition stand-in, so the local stage runs without labels. The adapter is unit-tested with a stubbed client.',
  },
  ...['processUpload', 'runAnalysis'].flatMap((fn) => [
    {
      action: 'xray:PutTraceSegments',
      fn,
      reason: "Active X-Ray tracing (shared/tracing.ts): Lambda's X-Ray daemon sends the function's trace segments with its role. There is no X-Ray daemon locally (POWERTOOLS_TRACE_ENABLED=false on the local stage), and segments go over UDP to the daemon, never through the AWS gateway.",
    },
    { action: 'xray:PutTelemetryRecords', fn, reason: 'As xray:PutTraceSegments: the daemon reports its own telemetry with the same role.' },
  ]),
];

const escapeRegExp = (text: string): string => text.replace(/[.+^${}()|[\]\\]/g, '\\$&');

/** IAM's glob: `*` any run of characters (slashes included), `?` any one character. */
export function matchesPattern(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${escapeRegExp(pattern).replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return regex.test(value);
}

const list = (value: unknown): string[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((item): item is string => typeof item === 'string');

/** Every (action, resource) each role allows, one grant per pair. */
export function grantsOf(roles: Iterable<FunctionRole>): Grant[] {
  const grants: Grant[] = [];
  for (const role of roles) {
    for (const policy of role.policies) {
      for (const statement of policy.document.Statement) {
        if (statement['Effect'] !== 'Allow') continue;
        for (const action of list(statement['Action'])) for (const resource of list(statement['Resource'])) grants.push({ fn: role.name, action, resource });
      }
    }
  }
  return grants;
}

export interface LeastPrivilegeReport {
  /** Grants some call used. */
  exercised: Grant[];
  /** Grants no call used, with the written reason they are kept. */
  excused: Array<Grant & { reason: string }>;
  /** Grants no call used and nothing excuses: surplus permissions. */
  unused: Grant[];
}

export function leastPrivilege(roles: Iterable<FunctionRole>, evidence: EvidenceLine[]): LeastPrivilegeReport {
  const report: LeastPrivilegeReport = { exercised: [], excused: [], unused: [] };
  const byFunction = new Map<string, EvidenceLine[]>();
  for (const line of evidence) byFunction.set(line.fn, [...(byFunction.get(line.fn) ?? []), line]);
  for (const grant of grantsOf(roles)) {
    const used = (byFunction.get(grant.fn) ?? []).some(
      (line) => matchesPattern(grant.action.toLowerCase(), line.action.toLowerCase()) && matchesPattern(grant.resource, line.resource),
    );
    if (used) {
      report.exercised.push(grant);
      continue;
    }
    const excuse = UNEXERCISED_LOCALLY.find((entry) => entry.action === grant.action && (entry.fn === undefined || entry.fn === grant.fn));
    if (excuse !== undefined) report.excused.push({ ...grant, reason: excuse.reason });
    else report.unused.push(grant);
  }
  return report;
}
