/**
 * What the WebSocket API pushes (docs/live.md; the OpenAPI document lists them as `webhooks`).
 * Every event names its kind (`type`), an id unique to the change it announces (`id`: a client
 * that sees an id twice drops the second, since delivery is at least once) and when the change
 * was committed (`at`). Events say what changed, never anything the owner could not read.
 */
import * as z from 'zod/mini';
import { Id, IsoTimestamp } from './common';
import { MediaResponse } from './media';

const base = { id: z.string().check(z.minLength(1), z.maxLength(128)), at: IsoTimestamp };

/** Processing finished and the item is ready: the item as lists show it, thumbnails included. */
export const MediaReadyEvent = z.object({ type: z.literal('media.ready'), ...base, media: MediaResponse });
/** Processing refused the upload, and why (the item stays, as `rejected`, until it is deleted). */
export const MediaRejectedEvent = z.object({ type: z.literal('media.rejected'), ...base, mediaId: Id, reason: z.string() });
export const MediaDeletedEvent = z.object({ type: z.literal('media.deleted'), ...base, mediaId: Id });
/** Title, description, tags or the flags changed; `etag` is what GET …/metadata now answers (for If-Match). */
export const MetadataUpdatedEvent = z.object({
  type: z.literal('metadata.updated'),
  ...base,
  mediaId: Id,
  etag: z.string(),
  title: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  favorite: z.boolean(),
  archived: z.boolean(),
});
export const AnalysisFinishedEvent = z.object({
  type: z.literal('analysis.finished'),
  ...base,
  analysisId: Id,
  mediaId: Id,
  status: z.enum(['succeeded', 'failed']),
});
/** One of the owner's sessions ended (logged out, revoked, expired); its connections close after this. */
export const SessionRevokedEvent = z.object({ type: z.literal('session.revoked'), ...base, sessionId: Id, reason: z.enum(['revoked', 'expired']) });

export const LiveEvent = z.discriminatedUnion('type', [
  MediaReadyEvent,
  MediaRejectedEvent,
  MediaDeletedEvent,
  MetadataUpdatedEvent,
  AnalysisFinishedEvent,
  SessionRevokedEvent,
]);
export type LiveEvent = z.infer<typeof LiveEvent>;

/**
 * What a client may send: only a ping (API Gateway closes a connection idle for 10 minutes; the
 * web app pings every few minutes and learns from the pong that the connection still works).
 */
export const LiveClientMessage = z.strictObject({ type: z.literal('ping') });
export const LivePong = z.object({ type: z.literal('pong') });
/** The answer to anything else a client sends; the connection stays open. */
export const LiveError = z.object({ type: z.literal('error'), code: z.string(), message: z.string() });

export { LIVE_PROTOCOL, TOKEN_PROTOCOL_PREFIX } from './liveProtocol';
