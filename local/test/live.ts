/**
 * A WebSocket client of the live-updates API for the test suites: opens a connection the way the
 * web app does (subprotocols `media-library.v1` and `bearer.<token>`), keeps every message it
 * receives, and waits for one.
 */
import WebSocket from 'ws';
import * as z from 'zod/mini';
import { LIVE_PROTOCOL, LiveEvent, TOKEN_PROTOCOL_PREFIX } from '../../shared/schemas/live';

export interface LiveClient {
  socket: WebSocket;
  /** The subprotocol the server selected. */
  protocol: string;
  /** Every event received, in order, parsed against the schema (a message that does not parse fails the test that waits). */
  events: Array<LiveEvent & { receivedAt: number }>;
  /** Every other message (pongs, errors). */
  messages: Array<Record<string, unknown>>;
  /** Resolves with the first event (already received or coming) that matches; rejects after timeoutMs. */
  waitFor<T extends LiveEvent['type']>(type: T, match?: (event: Extract<LiveEvent, { type: T }>) => boolean, timeoutMs?: number): Promise<Extract<LiveEvent, { type: T }> & { receivedAt: number }>;
  /** Resolves with the next non-event message. */
  nextMessage(timeoutMs?: number): Promise<Record<string, unknown>>;
  send(message: string): void;
  /** Resolves when the server closes (or the socket drops), with the close code. */
  closed: Promise<number>;
  close(): Promise<void>;
  /** Messages that were not valid JSON or not a known event shape (a test asserts this stays empty). */
  malformed: string[];
}

export const protocolsFor = (token: string): string[] => [LIVE_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}`];

/** Opens a connection; rejects with `{ status }` when the handshake is refused. */
export function openLive(url: string, protocols: string[]): Promise<LiveClient> {
  if (!/^ws:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(url)) throw new Error(`refusing a non-loopback WebSocket URL: ${url}`);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols);
    const events: LiveClient['events'] = [];
    const messages: LiveClient['messages'] = [];
    const malformed: string[] = [];
    const listeners = new Set<() => void>();
    const notify = (): void => {
      for (const listener of [...listeners]) listener();
    };
    socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        malformed.push(text);
        return notify();
      }
      const type = (parsed as { type?: unknown }).type;
      if (type === 'pong' || type === 'error') messages.push(parsed as Record<string, unknown>);
      else {
        const event = z.safeParse(LiveEvent, parsed);
        if (event.success) events.push({ ...event.data, receivedAt: Date.now() });
        else malformed.push(text);
      }
      notify();
    });
    const closed = new Promise<number>((resolveClosed) => socket.once('close', (code) => resolveClosed(code)));
    socket.once('unexpected-response', (_request, response) => {
      reject(Object.assign(new Error(`handshake refused with ${response.statusCode}`), { status: response.statusCode }));
      socket.terminate();
    });
    socket.once('error', (error) => reject(error));
    socket.once('open', () => {
      const waitUntil = <T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
        new Promise((resolveWait, rejectWait) => {
          const check = (): boolean => {
            const found = find();
            if (found === undefined) return false;
            listeners.delete(listener);
            clearTimeout(timer);
            resolveWait(found);
            return true;
          };
          const listener = (): void => void check();
          const timer = setTimeout(() => {
            listeners.delete(listener);
            rejectWait(new Error(`no ${what} within ${timeoutMs} ms; received: ${JSON.stringify(events.map((event) => event.type))}${malformed.length > 0 ? `, malformed: ${malformed.join(' | ')}` : ''}`));
          }, timeoutMs);
          listeners.add(listener);
          check();
        });
      let messagesSeen = 0;
      resolve({
        socket,
        protocol: socket.protocol,
        events,
        messages,
        malformed,
        closed,
        waitFor: (type, match = () => true, timeoutMs = 10_000) =>
          waitUntil(() => events.find((event) => event.type === type && match(event as never)) as never, timeoutMs, `${type} event`),
        nextMessage: (timeoutMs = 5_000) =>
          waitUntil(
            () => {
              const message = messages[messagesSeen];
              if (message !== undefined) messagesSeen += 1;
              return message;
            },
            timeoutMs,
            'message',
          ),
        send: (message) => socket.send(message),
        close: async () => {
          if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(1000);
          await Promise.race([closed, new Promise((resolveLater) => setTimeout(resolveLater, 2_000))]);
          socket.terminate();
        },
      });
    });
  });
}

/** The status a refused handshake got (or 101 when it was accepted, after closing it again). */
export async function handshakeStatus(url: string, protocols: string[]): Promise<number> {
  try {
    const client = await openLive(url, protocols);
    await client.close();
    return 101;
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === undefined) throw error;
    return status;
  }
}
