import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { Context, SNSEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { deliverCallback, signCallback } from '../../shared/analysis/callback';
import { rekognitionLabeler } from '../../shared/analysis/labels';
import { signingKeyLoader } from '../../shared/auth/keys';
import { tokenAudience } from '../../shared/auth/settings';
import { dynamoClient } from '../../shared/aws/dynamo';
import { rekognition } from '../../shared/aws/rekognition';
import { retryTransient } from '../../shared/aws/retry';
import { systemClock } from '../../shared/clock';
import { analysisSettings } from '../../shared/config/analysis';
import { requireEnv } from '../../shared/config/env';
import { AnalysisBusy, runAnalysis, type WorkerDeps } from '../../shared/domain/analyses';
import { logger } from '../../shared/log';
import { countEvent, measure } from '../../shared/metrics';
import { AnalysisRequestMessage } from '../../shared/messaging/analysisRequests';
import { analyses } from '../../shared/stores/analysesTable';
import { media } from '../../shared/stores/mediaTable';
import { traceClients, tracer } from '../../shared/tracing';

// X-Ray: the job's DynamoDB calls and Rekognition's labelling are subsegments of its trace (the
// callback too: the tracer records outgoing HTTP requests).
traceClients(dynamoClient, rekognition);

const bucket = requireEnv('MEDIA_BUCKET');
const signingKey = signingKeyLoader(requireEnv('JWT_PRIVATE_KEYS'));

const labeler = analysisSettings.labelsEnabled ? { labeler: rekognitionLabeler(rekognition) } : {};

/** What runAnalysis works with, for one request: its callback carries the id of the request that asked for it. */
const depsFor = (requestId: string | undefined): WorkerDeps => ({
  analyses,
  media,
  clock: systemClock,
  settings: analysisSettings,
  ...labeler,
  bucket,
  deliver: async ({ url, body, policy }) => {
    const sign = async (): Promise<string> => signCallback(body, url, await signingKey(), tokenAudience.issuer, systemClock.now());
    const outcome = await deliverCallback({ url, body, policy, sign, ...(requestId === undefined ? {} : { requestId }) });
    countEvent('Callbacks', { outcome: outcome.status });
    return outcome;
  },
  report: (error) => logger.error('analysis failed unexpectedly', { error: error as Error }),
});

/**
 * Subscribed to the analysis request topic. Each SNS record names one job. A job another run
 * holds, or a passing failure that persists over a few attempts here, fails the invocation: Lambda retries it (twice), and then the
 * event goes to the dead-letter queue; a job a reader finds abandoned is reported failed.
 */
async function handleRecords(event: SNSEvent): Promise<void> {
  const failures: unknown[] = [];
  for (const record of event.Records ?? []) {
    // Each record's lines carry the id of the request that asked for the analysis (docs/operations.md).
    const requestId = record.Sns.MessageAttributes?.['requestId']?.Value;
    logger.removeKeys(['correlationId']);
    if (requestId !== undefined) logger.appendKeys({ correlationId: requestId });
    const deps = depsFor(requestId);
    try {
      const message = z.parse(AnalysisRequestMessage, JSON.parse(record.Sns.Message));
      // A passing failure is retried here first (the job was handed back to `queued`).
      const started = Date.now();
      const outcome = await retryTransient(() => runAnalysis(deps, message));
      logger.info('analysis run', { analysisId: message.analysisId, outcome });
      if (outcome === 'succeeded' || outcome === 'failed') {
        countEvent('Analyses', { outcome });
        measure('AnalysisTime', Date.now() - started);
      }
    } catch (error) {
      if (error instanceof AnalysisBusy) logger.info('analysis busy; Lambda will retry', { reason: error.message });
      else logger.error('analysis run failed', { error: error as Error });
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} analysis request(s) failed; Lambda will retry`);
}

export const handler = middy<SNSEvent, void, Error, Context>().use(captureLambdaHandler(tracer)).use(injectLambdaContext(logger, { resetKeys: true })).handler(handleRecords);
