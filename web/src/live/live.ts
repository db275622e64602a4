/**
 * Live updates: one WebSocket to the live-updates API (docs/live.md) while someone is signed in.
 *
 * - Where: `liveUrl` of `/config.json` on the app's own origin, read once; without it the app
 *   simply keeps polling.
 * - Who: the access token travels as a second subprotocol beside `media-library.v1` (a browser
 *   cannot set headers on a WebSocket, and a URL ends up in logs). A refused handshake (401) shows
 *   in browsers only as a close before `open` (code 1006): the session is refreshed once, in case
 *   the token had expired, then the client backs off.
 * - Alive: API Gateway closes a connection idle for 10 minutes, so the client pings every 4
 *   minutes; no answer within 10 s means the connection is dead (a laptop that slept, a network
 *   that changed) and it is replaced.
 * - Down: reconnects with exponential backoff and jitter (1 s doubling to 30 s); while it is down
 *   `connected` is false and the screens poll as they did before live updates. After a reconnect
 *   `onResync` listeners read again what may have changed meanwhile.
 * - Events: delivery is at least once, so an id seen before is dropped (the last 1,000 ids).
 * - Sign-out: `stop()` closes the socket and forgets every id seen.
 *
 * Plain TypeScript (no runes) so that it runs under mocha; app.svelte.ts mirrors its status
 * into reactive state.
 */
import type { components } from '../api/schema';

export type LiveEvent = components['schemas']['LiveEvent'];
export type LiveEventOf<T extends LiveEvent['type']> = Extract<LiveEvent, { type: T }>;

/** The subprotocol the app speaks, and the prefix of the one carrying the token (shared/schemas/live.ts). */
export const LIVE_PROTOCOL = 'media-library.v1';
export const TOKEN_PROTOCOL_PREFIX = 'bearer.';

export const PING_INTERVAL_MS = 240_000;
export const PONG_TIMEOUT_MS = 10_000;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 30_000;
/** A connection that lasted this long was healthy: the next failure starts the backoff again. */
export const STABLE_AFTER_MS = 30_000;
/** How long the socket may be down before `paused` says so (a reconnect usually takes a second). */
export const PAUSED_AFTER_MS = 5_000;
export const SEEN_IDS = 1_000;

const EVENT_TYPES = new Set<string>(['media.ready', 'media.rejected', 'media.deleted', 'metadata.updated', 'analysis.finished', 'session.revoked']);

/** What the client needs of a WebSocket (the browser's, or a fake in tests). */
export type LiveSocket = Pick<WebSocket, 'send' | 'close' | 'onopen' | 'onmessage' | 'onclose' | 'onerror'>;
export type OpenSocket = (url: string, protocols: string[]) => LiveSocket;

export interface LiveStatus {
  /** The socket is open: events arrive, polling may stop. */
  connected: boolean;
  /** Live updates are configured but the socket has been down for more than a few seconds. */
  paused: boolean;
}

export interface LiveOptions {
  /** The WebSocket URL (`liveUrl` of /config.json), or null when this installation has none. */
  loadUrl: () => Promise<string | null>;
  /** The current access token (refreshed when about to expire); null when signed out. */
  accessToken: () => Promise<string | null>;
  /** Refreshes the session now; false when that did not work (refused: the session signs out). */
  refreshSession: () => Promise<boolean>;
  openSocket?: OpenSocket;
  /** 0 ≤ x < 1, for the jitter. */
  random?: () => number;
  onStatus?: (status: LiveStatus) => void;
}

type Timer = ReturnType<typeof setTimeout>;

/** `liveUrl` from the app's /config.json: null when there is none (a network failure throws, to be tried again). */
export async function fetchLiveUrl(fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args)): Promise<string | null> {
  const response = await fetchImpl('/config.json', { cache: 'no-cache', headers: { accept: 'application/json' } });
  if (!response.ok) return null;
  try {
    const url = ((await response.json()) as { liveUrl?: unknown } | null)?.liveUrl;
    return typeof url === 'string' && /^wss?:\/\/[^\s]+$/.test(url) ? url : null;
  } catch {
    // Not JSON: an SPA fallback answered index.html for a missing file.
    return null;
  }
}

/**
 * Whether `event` ends this tab's own session (its tokens' `sessionId`), and why: the tab then
 * signs out. Another session's end is none of its business (the account screen lists it).
 */
export function endsOwnSession(event: LiveEvent, sessionId: string | null): 'revoked' | 'expired' | null {
  if (event.type !== 'session.revoked' || sessionId === null || event.sessionId !== sessionId) return null;
  return event.reason;
}

/** The delay before reconnect attempt `failures` (0-based): half of it fixed, half random. */
export function backoffDelay(failures: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures, 16));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export class LiveClient {
  private readonly openSocket: OpenSocket;
  private readonly random: () => number;
  private readonly listeners = new Set<(event: LiveEvent) => void>();
  private readonly resyncListeners = new Set<(reconnected: boolean) => void>();
  private readonly seen = new Set<string>();
  private url: Promise<string | null> | undefined;
  private running = false;
  /** Bumped by start and stop: continuations of an older run find it changed and give up. */
  private run = 0;
  private socket: LiveSocket | null = null;
  private openedAt = 0;
  private everOpened = false;
  private failures = 0;
  private refreshedSinceOpen = false;
  private status: LiveStatus = { connected: false, paused: false };
  private reconnectTimer: Timer | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: Timer | undefined;
  private pausedTimer: Timer | undefined;

  constructor(private readonly options: LiveOptions) {
    this.openSocket = options.openSocket ?? ((url, protocols) => new WebSocket(url, protocols));
    this.random = options.random ?? Math.random;
  }

  get connected(): boolean {
    return this.status.connected;
  }

  get paused(): boolean {
    return this.status.paused;
  }

  /** Every new event (repeats dropped). Returns the unsubscribe function. */
  on(listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Called whenever the socket opens: `reconnected` is true when an earlier connection of this
   * sign-in existed, so events may have been missed while it was down.
   */
  onResync(listener: (reconnected: boolean) => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** After sign-in (or a resumed session): connects, and keeps connected until `stop`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.run += 1;
    void this.connect(this.run);
  }

  /** On sign-out: closes the socket, cancels every timer, forgets the ids seen. */
  stop(): void {
    this.running = false;
    this.run += 1;
    this.discardSocket();
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pausedTimer);
    this.reconnectTimer = undefined;
    this.pausedTimer = undefined;
    this.failures = 0;
    this.refreshedSinceOpen = false;
    this.everOpened = false;
    this.seen.clear();
    this.setStatus({ connected: false, paused: false });
  }

  /** The network is back (the browser's `online` event): try now rather than at the end of the backoff. */
  retryNow(): void {
    if (!this.running || this.reconnectTimer === undefined) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    void this.connect(this.run);
  }

  private liveUrl(): Promise<string | null> {
    this.url ??= this.options.loadUrl().catch(() => {
      // Not reachable now: ask again at the next sign-in.
      this.url = undefined;
      return null;
    });
    return this.url;
  }

  private async connect(run: number): Promise<void> {
    const url = await this.liveUrl();
    if (run !== this.run || url === null) return;
    this.markDown();
    let token: string | null;
    try {
      token = await this.options.accessToken();
    } catch {
      // The refresh behind it failed on the network: try again later.
      this.scheduleReconnect(run);
      return;
    }
    if (run !== this.run || token === null || this.socket !== null) return;
    let socket: LiveSocket;
    try {
      socket = this.openSocket(url, [LIVE_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}`]);
    } catch {
      // A malformed URL or one the Content-Security-Policy refuses: keep polling, try later.
      this.scheduleReconnect(run);
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.opened(socket);
    };
    socket.onmessage = (message) => {
      if (this.socket === socket) this.received(message.data);
    };
    socket.onerror = () => undefined; // a close always follows
    socket.onclose = () => {
      if (this.socket === socket) this.closed(run, opened);
    };
  }

  private opened(socket: LiveSocket): void {
    this.openedAt = Date.now();
    this.refreshedSinceOpen = false;
    clearTimeout(this.pausedTimer);
    this.pausedTimer = undefined;
    this.setStatus({ connected: true, paused: false });
    this.pingTimer = setInterval(() => this.ping(socket), PING_INTERVAL_MS);
    const reconnected = this.everOpened;
    this.everOpened = true;
    for (const listener of [...this.resyncListeners]) this.safely(() => listener(reconnected));
  }

  private ping(socket: LiveSocket): void {
    if (this.pongTimer !== undefined) return;
    try {
      socket.send(JSON.stringify({ type: 'ping' }));
    } catch {
      // Not open any more: the missing pong below replaces it.
    }
    this.pongTimer = setTimeout(() => {
      this.pongTimer = undefined;
      if (this.socket !== socket) return;
      // No answer: the connection is dead even if the browser has not noticed yet.
      this.discardSocket();
      this.closed(this.run, true);
    }, PONG_TIMEOUT_MS);
  }

  private received(data: unknown): void {
    // Anything arriving proves the connection works (a pong, or an event just before it).
    clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
    if (typeof data !== 'string') return;
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message === null || typeof message !== 'object') return;
    const { type, id } = message as { type?: unknown; id?: unknown };
    // pong, error, or a type this version of the app does not know: nothing to do.
    if (typeof type !== 'string' || !EVENT_TYPES.has(type) || typeof id !== 'string') return;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    if (this.seen.size > SEEN_IDS) this.seen.delete(this.seen.values().next().value as string);
    for (const listener of [...this.listeners]) this.safely(() => listener(message as LiveEvent));
  }

  private closed(run: number, opened: boolean): void {
    const lasted = opened ? Date.now() - this.openedAt : 0;
    this.discardSocket();
    this.setStatus({ connected: false, paused: this.status.paused });
    if (!this.running || run !== this.run) return;
    this.markDown();
    if (opened && lasted >= STABLE_AFTER_MS) this.failures = 0;
    if (!opened && !this.refreshedSinceOpen) {
      // Refused before it opened: most likely an access token that expired (or was ended) in the
      // meantime. One refresh, then at once again; a refused refresh signs out (and stops this).
      this.refreshedSinceOpen = true;
      void this.options
        .refreshSession()
        .catch(() => false)
        .then((refreshed) => {
          if (run !== this.run) return;
          if (refreshed) void this.connect(run);
          else this.scheduleReconnect(run);
        });
      return;
    }
    this.scheduleReconnect(run);
  }

  private scheduleReconnect(run: number): void {
    if (run !== this.run || this.reconnectTimer !== undefined) return;
    const delay = backoffDelay(this.failures, this.random);
    this.failures += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect(run);
    }, delay);
  }

  /** Down (or not up yet): `paused` turns true unless it opens within PAUSED_AFTER_MS. */
  private markDown(): void {
    if (this.status.connected || this.status.paused || this.pausedTimer !== undefined) return;
    this.pausedTimer = setTimeout(() => {
      this.pausedTimer = undefined;
      if (this.running && !this.status.connected) this.setStatus({ connected: false, paused: true });
    }, PAUSED_AFTER_MS);
  }

  private discardSocket(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = undefined;
    this.pongTimer = undefined;
    const socket = this.socket;
    this.socket = null;
    if (socket === null) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    try {
      socket.close(1000);
    } catch {
      // already closed
    }
  }

  private setStatus(status: LiveStatus): void {
    if (status.connected === this.status.connected && status.paused === this.status.paused) return;
    this.status = status;
    this.options.onStatus?.({ ...status });
  }

  private safely(task: () => void): void {
    try {
      task();
    } catch (error) {
      // One screen's mistake must not stop the others from hearing about the change; the
      // browser reports it as it would an uncaught error.
      if (typeof globalThis.reportError === 'function') globalThis.reportError(error);
    }
  }
}
