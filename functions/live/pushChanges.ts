import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { liveConnections, liveEndpoint } from '../../shared/aws/live';
import { systemClock } from '../../shared/clock';
import { requireEnv } from '../../shared/config/env';
import { content } from '../../shared/content/bucket';
import { announcementsOf, pushAnnouncements, type Change } from '../../shared/domain/live';
import { presentMedia } from '../../shared/domain/media';
import { logger } from '../../shared/log';
import { countEvent } from '../../shared/metrics';
import type { ConnectionRecord } from '../../shared/stores/connections';
import { connections } from '../../shared/stores/connectionsTable';
import { toRecord } from '../../shared/stores/media';

const TABLES: Record<string, Change['table']> = {
  [requireEnv('MEDIA_TABLE')]: 'media',
  [requireEnv('ANALYSES_TABLE')]: 'analyses',
  [requireEnv('SESSIONS_TABLE')]: 'sessions',
};

const image = (attributes: Record<string, unknown> | undefined): Record<string, unknown> | undefined =>
  attributes === undefined ? undefined : unmarshall(attributes as Record<string, AttributeValue>);

/** A stream record as a Change; undefined for a table this function does not read. */
export function changeOf(record: DynamoDBRecord): Change | undefined {
  // arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
  const table = TABLES[record.eventSourceARN?.split('/')[1] ?? ''];
  if (table === undefined || record.eventName === undefined || record.dynamodb === undefined) return undefined;
  // @types/aws-lambda leaves userIdentity untyped.
  const identity = record.userIdentity as { type?: unknown; principalId?: unknown } | undefined;
  return {
    table,
    eventId: record.eventID ?? `${record.dynamodb.SequenceNumber ?? ''}`,
    kind: record.eventName,
    at: new Date((record.dynamodb.ApproximateCreationDateTime ?? Date.now() / 1000) * 1000),
    oldImage: image(record.dynamodb.OldImage),
    newImage: image(record.dynamodb.NewImage),
    // DynamoDB's TTL deletes as the service principal (a request's delete names no identity).
    expired: identity?.type === 'Service' && identity.principalId === 'dynamodb.amazonaws.com',
  };
}

const announceDeps = { present: (record: Parameters<typeof presentMedia>[1]) => presentMedia({ content, clock: systemClock }, record), toRecord };
const pushDeps = { connections, live: liveConnections, clock: systemClock, endpoint: liveEndpoint };

/**
 * Reads the media, analyses and sessions tables' streams and pushes what changed to the owner's
 * open connections (docs/live.md). Records are handled in order; at the first that cannot be
 * pushed, it and every later record are reported back (ReportBatchItemFailures), and Lambda
 * delivers them again: no change is skipped, and a connection may see one twice (events carry
 * an id to drop a repeat). A failed push never touches the change itself: it is already committed.
 */
async function pushChanges(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const known = new Map<string, ConnectionRecord[]>();
  const totals = { changes: 0, events: 0, sent: 0, gone: 0, closed: 0 };
  for (const record of event.Records ?? []) {
    try {
      const change = changeOf(record);
      if (change === undefined) continue;
      totals.changes += 1;
      const announcements = await announcementsOf(announceDeps, change);
      totals.events += announcements.length;
      const pushed = await pushAnnouncements(pushDeps, announcements, known);
      totals.sent += pushed.sent;
      totals.gone += pushed.gone;
      totals.closed += pushed.closed;
    } catch (error) {
      logger.warn('push failed; the stream delivers this change again', { error: error as Error, eventId: record.eventID });
      pushed(totals);
      return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] };
    }
  }
  pushed(totals);
  return { batchItemFailures: [] };
}

/** What a batch pushed: a log line, and the metrics of messages delivered and connections found gone. */
function pushed(totals: { changes: number; events: number; sent: number; gone: number; closed: number }): void {
  logger.info('changes pushed', totals);
  if (totals.sent > 0) countEvent('Pushes', { outcome: 'delivered' }, totals.sent);
  if (totals.gone > 0) countEvent('Pushes', { outcome: 'gone' }, totals.gone);
}

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse, Error, Context>().use(injectLambdaContext(logger, { resetKeys: true })).handler(pushChanges);
