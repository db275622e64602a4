/**
 * The live-updates WebSocket protocol's names (docs/live.md), apart from the event schemas so
 * that functions needing only these (answerMessage, openConnection) bundle no schema library.
 */

/** The subprotocol the app speaks; the access token travels beside it. */
export const LIVE_PROTOCOL = 'media-library.v1';
export const TOKEN_PROTOCOL_PREFIX = 'bearer.';
