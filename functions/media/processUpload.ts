import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { Context, S3Event } from 'aws-lambda';
import { dynamoClient } from '../../shared/aws/dynamo';
import { retryTransient } from '../../shared/aws/retry';
import { s3 } from '../../shared/aws/s3';
import { systemClock } from '../../shared/clock';
import { mediaSettings } from '../../shared/config/media';
import { content } from '../../shared/content/bucket';
import { processUpload, type UploadDecision } from '../../shared/domain/media';
import { logger } from '../../shared/log';
import { inspector } from '../../shared/media-info/inspector';
import { countEvent, measure } from '../../shared/metrics';
import { media } from '../../shared/stores/mediaTable';
import { traceClients, tracer } from '../../shared/tracing';

// X-Ray: each S3 read and DynamoDB write of an upload's processing is a subsegment of its trace.
traceClients(dynamoClient, s3);

/**
 * S3 ObjectCreated on media/.../original: checks the real size and type, reads the metadata,
 * writes thumbnails, marks the item ready (or rejected with a reason). Repeatable: S3 may
 * deliver an event more than once. A record that fails (after a few attempts here on passing
 * dependency failures) is retried by Lambda (the handler
 * throws after trying every record), and lands in the dead-letter queue after that.
 */
async function processRecords(event: S3Event): Promise<void> {
  const failures: unknown[] = [];
  for (const record of event.Records ?? []) {
    let key = record.s3.object.key;
    // Each record's lines carry the id of the request that issued its upload form (docs/operations.md).
    logger.removeKeys(['correlationId']);
    try {
      // S3 URL-encodes keys in events, with spaces as '+'.
      key = decodeURIComponent(key.replace(/\+/g, ' '));
      // processUpload is repeatable, so a passing failure is retried here first.
      const started = Date.now();
      const onDecided = ({ outcome, reason, type, bytes }: UploadDecision): void => {
        countEvent('Uploads', { type, outcome: reason ?? outcome });
        measure('ProcessingTime', Date.now() - started, { type });
        measure('ProcessedBytes', bytes, { type });
      };
      const onRequestId = (requestId: string): void => logger.appendKeys({ correlationId: requestId });
      const outcome = await retryTransient(() => processUpload({ media, content, clock: systemClock, settings: mediaSettings, inspector, onRequestId, onDecided }, key));
      logger.info('upload processed', { key, outcome });
    } catch (error) {
      logger.error('upload processing failed', { key, error: error as Error });
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} upload(s) failed; Lambda will retry the event`);
}

export const handler = middy<S3Event, void, Error, Context>().use(captureLambdaHandler(tracer)).use(injectLambdaContext(logger, { resetKeys: true })).handler(processRecords);
