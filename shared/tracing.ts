import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * AWS X-Ray (Powertools Tracer), for the functions where a trace pays: the asynchronous ones, whose
 * work crosses several services with no person waiting (processUpload: S3 event → S3 reads →
 * DynamoDB; runAnalysis: SNS → DynamoDB, S3, Rekognition → the callback). Only their handlers
 * import this module, so no other bundle carries the X-Ray SDK (docs/operations.md#traces says why
 * the HTTP functions do without, and what it costs). Locally, and wherever
 * POWERTOOLS_TRACE_ENABLED=false, it records nothing.
 */
export const tracer = new Tracer({ serviceName: 'media-library' });

/** Every call of these AWS SDK clients becomes a subsegment of the function's trace. */
export function traceClients(...clients: Array<Parameters<Tracer['captureAWSv3Client']>[0]>): void {
  for (const client of clients) tracer.captureAWSv3Client(client);
}
