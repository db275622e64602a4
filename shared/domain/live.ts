/**
 * Live updates (docs/live.md): who may open a WebSocket connection, and which committed change
 * becomes which event for which connections.
 *
 * Events come from the tables' DynamoDB Streams, not from the code that makes a change: a stream
 * holds every committed write exactly as it was committed, in order per item, so no change is
 * missed (a request that crashes after its write is still announced) and nothing is announced
 * that did not happen (a write that failed never reaches the stream). Pushing is at least once:
 * a push that fails is retried with its stream record, so a client may see an event twice and
 * drops the repeat by its id.
 */
import type { AccessTokenSubject } from '../auth/tokens';
import type { Clock } from '../clock';
import type { ConnectionRecord, ConnectionStore } from '../stores/connections';
import type { MediaRecord } from '../stores/media';
import type { LiveEvent } from '../schemas/live';
import { LIVE_PROTOCOL, TOKEN_PROTOCOL_PREFIX } from '../schemas/liveProtocol';
import type { MediaView } from './media';

/** API Gateway ends every WebSocket connection after 2 hours. */
export const CONNECTION_LIFETIME_SECONDS = 2 * 60 * 60;

export interface LiveSettings {
  /** Connections one person may hold (tabs, devices); beyond it the oldest is closed. */
  maxConnectionsPerUser: number;
}

/** What a push needs of the WebSocket API: send one message, close a connection. */
export interface LivePusher {
  send(connectionId: string, message: string): Promise<'sent' | 'gone'>;
  close(connectionId: string): Promise<void>;
}

/** The $connect request was not made with a valid token of a live session. */
export class ConnectionRefused extends Error {
  override readonly name = 'ConnectionRefused';
}

/**
 * The access token of a WebSocket handshake. A browser cannot set headers on a WebSocket, and a
 * token in the URL would end up in access logs and browser history; so it travels in the one
 * header a browser lets a page set, `Sec-WebSocket-Protocol`, as a second subprotocol beside the
 * one the app speaks: `media-library.v1, bearer.<access token>`. The server selects
 * `media-library.v1`, so the token is never echoed back.
 */
export function tokenOfProtocols(header: string | undefined): string | undefined {
  const offered = (header ?? '').split(',').map((protocol) => protocol.trim());
  if (!offered.includes(LIVE_PROTOCOL)) return undefined;
  const tokens = offered.filter((protocol) => protocol.startsWith(TOKEN_PROTOCOL_PREFIX));
  if (tokens.length !== 1) return undefined;
  const token = (tokens[0] as string).slice(TOKEN_PROTOCOL_PREFIX.length);
  return token === '' ? undefined : token;
}

export interface OpenDeps {
  connections: ConnectionStore;
  live: LivePusher;
  /** This stage's WebSocket API (LIVE_ENDPOINT): recorded with each connection. */
  endpoint: string;
  clock: Clock;
  settings: LiveSettings;
  /** The subject of a valid access token whose session is live; throws ConnectionRefused otherwise. */
  authenticate(token: string): Promise<AccessTokenSubject>;
  /** A connection closed to make room could not be closed (it expires on its own). */
  report(error: unknown): void;
}

/** $connect: records the connection of whoever the token names; the subprotocol to answer with. */
export async function openConnection(deps: OpenDeps, connectionId: string, protocols: string | undefined): Promise<{ protocol: string; connection: ConnectionRecord }> {
  const token = tokenOfProtocols(protocols);
  if (token === undefined) throw new ConnectionRefused(`no ${LIVE_PROTOCOL} subprotocol with one bearer token`);
  const subject = await deps.authenticate(token);
  const now = deps.clock.now();
  const connection: ConnectionRecord = {
    id: connectionId,
    userId: subject.userId,
    sessionId: subject.sessionId,
    connectedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + CONNECTION_LIFETIME_SECONDS * 1000).toISOString(),
    endpoint: deps.endpoint,
  };
  const evicted = await deps.connections.add(connection, deps.settings.maxConnectionsPerUser);
  for (const old of evicted) await deps.live.close(old.id).catch((error: unknown) => deps.report(error));
  return { protocol: LIVE_PROTOCOL, connection };
}

/** $disconnect: forgets the connection (whatever closed it: the client, a push, API Gateway's limits). */
export async function closeConnection(deps: Pick<OpenDeps, 'connections'>, connectionId: string): Promise<ConnectionRecord | undefined> {
  return deps.connections.remove(connectionId);
}

/** $default: a ping gets a pong; anything else an error message (the connection stays open). */
export function answerMessage(body: string | undefined): { type: 'pong' } | { type: 'error'; code: string; message: string } {
  try {
    const message = JSON.parse(body ?? '') as { type?: unknown };
    if (typeof message === 'object' && message !== null && message.type === 'ping' && Object.keys(message).length === 1) return { type: 'pong' };
  } catch {
    // not JSON: answered below
  }
  return { type: 'error', code: 'unknown_message', message: 'This API only pushes; send {"type":"ping"} to check the connection' };
}

// --- changes → events ---------------------------------------------------------------------------

type Item = Record<string, unknown>;

/** One committed change of a table, as its stream reports it (images unmarshalled). */
export interface Change {
  table: 'media' | 'analyses' | 'sessions';
  /** The stream record's id: unique per change, so it is the event's id. */
  eventId: string;
  kind: 'INSERT' | 'MODIFY' | 'REMOVE';
  at: Date;
  oldImage?: Item | undefined;
  newImage?: Item | undefined;
  /** Removed by DynamoDB's TTL rather than by a request. */
  expired: boolean;
}

/** An event for every connection of `userId`; with `endsSession`, that session's connections close afterwards. */
export interface Announcement {
  userId: string;
  event: LiveEvent;
  endsSession?: string;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const afterPrefix = (value: unknown, prefix: string): string | undefined => {
  const string = text(value);
  return string?.startsWith(prefix) === true ? string.slice(prefix.length) : undefined;
};
const sameList = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

export interface AnnounceDeps {
  /** The item as lists show it (thumbnail URLs signed as lists sign them). */
  present(record: MediaRecord): Promise<MediaView>;
  toRecord(item: Item): MediaRecord;
}

/** What a change announces, to whom: nothing for a change nobody sees (views, tag entries, leases). */
export async function announcementsOf(deps: AnnounceDeps, change: Change): Promise<Announcement[]> {
  const base = { id: change.eventId, at: change.at.toISOString() };
  const image = change.newImage ?? change.oldImage ?? {};
  const userId = afterPrefix(image['pk'], 'USER#');
  if (userId === undefined) return [];
  const before = change.oldImage;
  const after = change.newImage;

  if (change.table === 'sessions') {
    const sessionId = afterPrefix(image['sk'], 'SESSION#');
    if (sessionId === undefined || change.kind !== 'REMOVE') return [];
    return [{ userId, event: { type: 'session.revoked', ...base, sessionId, reason: change.expired ? 'expired' : 'revoked' }, endsSession: sessionId }];
  }

  if (change.table === 'analyses') {
    const analysisId = afterPrefix(image['sk'], 'ANALYSIS#');
    const status = text(after?.['status']);
    const finished = (value: unknown): boolean => value === 'succeeded' || value === 'failed';
    if (analysisId === undefined || after === undefined || !finished(status) || finished(before?.['status'])) return [];
    return [{ userId, event: { type: 'analysis.finished', ...base, analysisId, mediaId: text(after['mediaId']) as string, status: status as 'succeeded' | 'failed' } }];
  }

  const mediaId = afterPrefix(image['sk'], 'MEDIA#');
  if (mediaId === undefined) return [];
  // A deletion is announced once, when it begins (the item leaves every list then); the removal
  // that finishes it, or of an item whose deletion was already announced, says nothing new.
  if (change.kind === 'REMOVE') return before?.['deleting'] === true ? [] : [{ userId, event: { type: 'media.deleted', ...base, mediaId } }];
  if (after === undefined || after['deleting'] === true) {
    return after?.['deleting'] === true && before?.['deleting'] !== true ? [{ userId, event: { type: 'media.deleted', ...base, mediaId } }] : [];
  }
  const announcements: Announcement[] = [];
  const status = text(after['status']);
  const wasStatus = text(before?.['status']);
  if (status === 'ready' && (wasStatus !== 'ready' || before?.['objectETag'] !== after['objectETag'])) {
    announcements.push({ userId, event: { type: 'media.ready', ...base, media: await deps.present(deps.toRecord(after)) } });
  } else if (status === 'rejected' && wasStatus !== 'rejected') {
    announcements.push({ userId, event: { type: 'media.rejected', ...base, mediaId, reason: text(after['rejectReason']) ?? 'rejected' } });
  }
  const metadataChanged =
    before !== undefined &&
    before['version'] !== after['version'] &&
    (before['title'] !== after['title'] ||
      before['description'] !== after['description'] ||
      !sameList(before['tags'], after['tags']) ||
      (before['favorite'] === true) !== (after['favorite'] === true) ||
      (before['archived'] === true) !== (after['archived'] === true));
  if (metadataChanged) {
    announcements.push({
      userId,
      event: {
        type: 'metadata.updated',
        // One change may announce two things: each gets an id of its own.
        id: announcements.length === 0 ? base.id : `${base.id}.metadata`,
        at: base.at,
        mediaId,
        etag: `"${String(after['version'])}"`,
        title: text(after['title']) ?? '',
        description: text(after['description']) ?? '',
        tags: Array.isArray(after['tags']) ? (after['tags'] as string[]) : [],
        favorite: after['favorite'] === true,
        archived: after['archived'] === true,
      },
    });
  }
  return announcements;
}

// --- pushing -------------------------------------------------------------------------------------

export interface PushDeps {
  connections: ConnectionStore;
  live: LivePusher;
  clock: Clock;
  /** This stage's WebSocket API: only connections it holds are pushed to (see ConnectionRecord.endpoint). */
  endpoint: string;
}

export interface PushResult {
  sent: number;
  gone: number;
  closed: number;
}

/**
 * Sends each announcement to every open connection of its user. A connection found gone is
 * forgotten; a session that ended has its connections closed after they were told. A push that
 * fails otherwise (after the SDK's retries) throws: the caller hands the change back to the
 * stream, which delivers it again (connections that already got it drop the repeat by its id).
 */
export async function pushAnnouncements(deps: PushDeps, announcements: Announcement[], known = new Map<string, ConnectionRecord[]>()): Promise<PushResult> {
  const result: PushResult = { sent: 0, gone: 0, closed: 0 };
  for (const { userId, event, endsSession } of announcements) {
    let open = known.get(userId);
    if (open === undefined) {
      open = (await deps.connections.ofUser(userId, deps.clock.now())).filter((connection) => connection.endpoint === deps.endpoint);
      known.set(userId, open);
    }
    const message = JSON.stringify(event);
    const outcomes = await Promise.all(open.map(async (connection) => ({ connection, outcome: await deps.live.send(connection.id, message) })));
    for (const { connection, outcome } of outcomes) {
      if (outcome === 'sent') {
        result.sent += 1;
        continue;
      }
      result.gone += 1;
      await deps.connections.removeOf(userId, connection.id);
    }
    let remaining = outcomes.filter(({ outcome }) => outcome === 'sent').map(({ connection }) => connection);
    if (endsSession !== undefined) {
      const ending = remaining.filter((connection) => connection.sessionId === endsSession);
      for (const connection of ending) {
        await deps.live.close(connection.id);
        await deps.connections.removeOf(userId, connection.id);
        result.closed += 1;
      }
      remaining = remaining.filter((connection) => connection.sessionId !== endsSession);
    }
    known.set(userId, remaining);
  }
  return result;
}
