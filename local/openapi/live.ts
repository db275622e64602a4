/**
 * The live-updates WebSocket API in the OpenAPI document: OpenAPI has no WebSocket operations,
 * so each pushed event is a `webhook` (a message the service sends, here over the connection
 * instead of an HTTP request) whose body is the event's own zod schema (shared/schemas/live.ts),
 * and `LiveEvent` is the union a client parses every message it receives with.
 */
import type * as core from 'zod/v4/core';
import {
  AnalysisFinishedEvent,
  LIVE_PROTOCOL,
  LiveEvent,
  MediaDeletedEvent,
  MediaReadyEvent,
  MediaRejectedEvent,
  MetadataUpdatedEvent,
  SessionRevokedEvent,
  TOKEN_PROTOCOL_PREFIX,
} from '../../shared/schemas/live';

type Schema = core.$ZodType;

export interface LiveEventDoc {
  /** The event's `type`. */
  type: string;
  /** The webhook's key and operationId. */
  operationId: string;
  /** The component the event's schema is named as. */
  component: string;
  schema: Schema;
  summary: string;
  description: string;
  example: Record<string, unknown>;
}

const MEDIA_ID = '01JD8X6A1B2C3D4E5F6G7H8J9K';
const USER_ID = '01JD8X5Q2W4K6M8N0P2R4T6V8X';
const SESSION_ID = '01JD8X4M6N8P0Q2R4S6T8V0W2X';
const ANALYSIS_ID = '01JD8X7B2C3D4E5F6G7H8J9K0M';
const AT = '2026-11-21T09:30:04.000Z';
/** A stream record's id is the event's id; each delivery of the same change repeats it. */
const EVENT_ID = '7f4c2b1e9d8a4c6b8e1f0a2b3c4d5e6f';

export const LIVE_COMPONENT = 'LiveEvent';
export const LIVE_TAG = { name: 'live', description: 'Live updates: what the WebSocket API pushes to a signed-in client (see “Live updates” above)' };

export const LIVE_EVENTS: LiveEventDoc[] = [
  {
    type: 'media.ready',
    operationId: 'liveMediaReady',
    component: 'MediaReadyEvent',
    schema: MediaReadyEvent,
    summary: 'An upload is ready',
    description:
      'Processing finished: `media` is the item exactly as `GET /v1/media` lists it (thumbnails included, no `downloadUrl`), so a client replaces its placeholder, ' +
      'or shows an item uploaded elsewhere, without reading it again. Also pushed when a replaced original has been processed again.',
    example: {
      type: 'media.ready',
      id: EVENT_ID,
      at: AT,
      media: {
        id: MEDIA_ID,
        filename: 'beach.jpg',
        contentType: 'image/jpeg',
        size: 2_483_211,
        status: 'ready',
        type: 'image',
        createdAt: '2026-11-21T09:30:00.000Z',
        width: 4032,
        height: 3024,
        takenAt: '2026-08-14T16:02:11.000Z',
        tags: [],
        views: 0,
        favorite: false,
        archived: false,
        thumbnails: {
          small: `https://example-media-library-prod-media.s3.amazonaws.com/media/${USER_ID}/${MEDIA_ID}/thumb-small.webp?X-Amz-Signature=…`,
          large: `https://example-media-library-prod-media.s3.amazonaws.com/media/${USER_ID}/${MEDIA_ID}/thumb-large.webp?X-Amz-Signature=…`,
        },
      },
    },
  },
  {
    type: 'media.rejected',
    operationId: 'liveMediaRejected',
    component: 'MediaRejectedEvent',
    schema: MediaRejectedEvent,
    summary: 'An upload was refused',
    description: 'Processing refused the upload; `reason` is the item’s `rejectReason`. The item stays, as `rejected`, until it is deleted.',
    example: { type: 'media.rejected', id: EVENT_ID, at: AT, mediaId: MEDIA_ID, reason: 'type_mismatch' },
  },
  {
    type: 'media.deleted',
    operationId: 'liveMediaDeleted',
    component: 'MediaDeletedEvent',
    schema: MediaDeletedEvent,
    summary: 'An item was deleted',
    description: 'The item left the library (its deletion began: it is in no list any more, and `GET /v1/media/{id}` answers 404).',
    example: { type: 'media.deleted', id: EVENT_ID, at: AT, mediaId: MEDIA_ID },
  },
  {
    type: 'metadata.updated',
    operationId: 'liveMetadataUpdated',
    component: 'MetadataUpdatedEvent',
    schema: MetadataUpdatedEvent,
    summary: 'Title, description, tags or a flag changed',
    description:
      'The owner’s fields of an item changed (here or on another device): their new values, the favourite and archive flags, and `etag`, what `GET /v1/media/{id}/metadata` now answers as `ETag` ' +
      '(send it as `If-Match` with the next `PATCH`).',
    example: { type: 'metadata.updated', id: EVENT_ID, at: AT, mediaId: MEDIA_ID, etag: '"8"', title: 'Calanques', description: 'Evening swim', tags: ['beach', 'holiday'], favorite: true, archived: false },
  },
  {
    type: 'analysis.finished',
    operationId: 'liveAnalysisFinished',
    component: 'AnalysisFinishedEvent',
    schema: AnalysisFinishedEvent,
    summary: 'An analysis ended',
    description: 'An analysis job succeeded or failed: read its result once with `GET /v1/analyses/{id}` instead of polling it.',
    example: { type: 'analysis.finished', id: EVENT_ID, at: AT, analysisId: ANALYSIS_ID, mediaId: MEDIA_ID, status: 'succeeded' },
  },
  {
    type: 'session.revoked',
    operationId: 'liveSessionRevoked',
    component: 'SessionRevokedEvent',
    schema: SessionRevokedEvent,
    summary: 'A session ended',
    description:
      'One of the person’s sessions ended: signed out, revoked (`DELETE /v1/sessions/{id}`, a password change, a replayed refresh token) or expired. ' +
      'The connections of that session close right after this event; a client whose own session it is (the `sessionId` of its tokens) signs out.',
    example: { type: 'session.revoked', id: EVENT_ID, at: AT, sessionId: SESSION_ID, reason: 'revoked' },
  },
];

/** How to connect, for the document's description. */
export const LIVE_DESCRIPTION = `**Live updates.** A WebSocket API pushes what changed in the caller's library (the \`webhooks\` of this document, tag \`live\`; every message parses as \`LiveEvent\`). Its URL is the stack output \`LiveUrl\` (\`wss://<api>.execute-api.<region>.amazonaws.com/<stage>\`); the web app reads it as \`liveUrl\` from \`/config.json\` on its own origin (\`ws://localhost:3001\` with \`npm start\`). A browser cannot set headers on a WebSocket and a token in the URL would be logged, so the access token travels as a subprotocol: \`new WebSocket(liveUrl, ['${LIVE_PROTOCOL}', '${TOKEN_PROTOCOL_PREFIX}' + accessToken])\`; the server selects \`${LIVE_PROTOCOL}\`, and refuses the handshake with 401 for a missing, expired or revoked token (refresh it, then connect again). Every event has a \`type\`, an \`id\` unique to the change and \`at\` (when it was committed); delivery is at least once, so drop an \`id\` seen before. A client sends only \`{"type":"ping"}\` and gets \`{"type":"pong"}\`; anything else is answered with \`{"type":"error","code":"unknown_message",…}\`. API Gateway closes a connection idle for 10 minutes (ping every few minutes) and every connection after 2 hours; a connection also closes when its session ends (after \`session.revoked\`) or when the person opens more connections than the stage allows (the oldest closes). Reconnect with backoff, and read again what may have changed while disconnected.`;

/** The connection, machine-readable (the document's `x-live-updates`). */
export const LIVE_CONNECTION = {
  url: 'The stack output `LiveUrl`; the web app reads it as `liveUrl` from `/config.json` on its own origin',
  subprotocols: [LIVE_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}<accessToken>`],
  selectedSubprotocol: LIVE_PROTOCOL,
  serverMessages: { $ref: `#/components/schemas/${LIVE_COMPONENT}` },
  clientMessages: [{ type: 'ping' }],
  answers: { ping: { type: 'pong' }, other: { type: 'error', code: 'unknown_message', message: '…' } },
  idleTimeoutSeconds: 600,
  maxConnectionSeconds: 7200,
};

/** The union's own description (the component `LiveEvent`). */
export const LIVE_EVENT_DESCRIPTION = 'Any message the live-updates WebSocket pushes: one of the events below, told apart by `type`. Ignore a type you do not know (new ones may be added).';

export { LiveEvent };
