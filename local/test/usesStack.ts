/**
 * Whether a test file starts the shared local stack (DynamoDB Local, s3rver, serverless-offline):
 * the harness starts it for a run when a file calls one of these (local/test/stack.ts), and the
 * pre-commit hook leaves such suites to `npm test` (local/precommit.ts).
 */
export const USES_LOCAL_STACK = /\b(localStack|offlineApi|extraOfflineApi)\(/;
