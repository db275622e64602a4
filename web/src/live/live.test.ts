import { expect } from 'chai';
import sinon from 'sinon';
import * as server from '../../../shared/schemas/live';
import {
  BACKOFF_CAP_MS,
  backoffDelay,
  endsOwnSession,
  fetchLiveUrl,
  LIVE_PROTOCOL,
  LiveClient,
  PAUSED_AFTER_MS,
  PING_INTERVAL_MS,
  PONG_TIMEOUT_MS,
  SEEN_IDS,
  STABLE_AFTER_MS,
  TOKEN_PROTOCOL_PREFIX,
  type LiveEvent,
  type LiveOptions,
  type LiveStatus,
} from './live';

const URL = 'wss://abc123.execute-api.eu-west-1.amazonaws.com/test';
const MEDIA = '01JD8X6A1B2C3D4E5F6G7H8J9K';

/** A WebSocket as the client sees one; the test plays the server's side. */
class FakeSocket {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: string[] = [];
  closedWith: number | undefined;

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}

  send(data: string): void {
    this.sent.push(data);
  }

  close(code?: number): void {
    this.closedWith ??= code ?? 1005;
  }

  // The server's side.
  accept(): void {
    this.onopen?.({});
  }

  push(message: unknown): void {
    this.onmessage?.({ data: typeof message === 'string' ? message : JSON.stringify(message) });
  }

  /** The connection ends (1006: abnormal, as a refused handshake or a dropped network shows). */
  drop(code = 1006): void {
    this.onclose?.({ code });
  }
}

const deleted = (id: string, mediaId = MEDIA): LiveEvent => ({ type: 'media.deleted', id, at: '2026-11-21T09:30:04.000Z', mediaId });

function setup(overrides: Partial<LiveOptions> = {}) {
  const sockets: FakeSocket[] = [];
  const statuses: LiveStatus[] = [];
  let issued = 0;
  const options = {
    loadUrl: sinon.stub<[], Promise<string | null>>().resolves(URL),
    accessToken: sinon.stub<[], Promise<string | null>>().callsFake(async () => `access-${issued}`),
    refreshSession: sinon.stub<[], Promise<boolean>>().callsFake(async () => {
      issued += 1;
      return true;
    }),
    // Always the longest delay of each step, so the steps are exact (backoffDelay's own test covers the jitter).
    random: () => 1,
  };
  const client = new LiveClient({
    ...options,
    openSocket: (url, protocols) => {
      const socket = new FakeSocket(url, protocols);
      sockets.push(socket);
      return socket;
    },
    onStatus: (status) => statuses.push(status),
    ...overrides,
  });
  const events: LiveEvent[] = [];
  const resyncs: boolean[] = [];
  client.on((event) => events.push(event));
  client.onResync((reconnected) => resyncs.push(reconnected));
  const last = (): FakeSocket => sockets[sockets.length - 1] as FakeSocket;
  return { client, options, sockets, statuses, events, resyncs, last };
}

describe('web live updates (LiveClient)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: Date.parse('2026-11-21T09:30:00.000Z') });
  });
  afterEach(() => {
    clock.restore();
    sinon.restore();
  });

  it('speaks the server’s subprotocol and carries the token in the second one (shared/schemas/live.ts)', () => {
    expect(LIVE_PROTOCOL).to.equal(server.LIVE_PROTOCOL);
    expect(TOKEN_PROTOCOL_PREFIX).to.equal(server.TOKEN_PROTOCOL_PREFIX);
  });

  describe('connecting', () => {
    it('opens the URL of /config.json with the two subprotocols, the token never in the URL', async () => {
      const { client, sockets, options } = setup();
      client.start();
      await clock.tickAsync(0);
      expect(sockets).to.have.length(1);
      expect(sockets[0]?.url).to.equal(URL);
      expect(sockets[0]?.protocols).to.deep.equal(['media-library.v1', 'bearer.access-0']);
      expect(options.loadUrl.callCount).to.equal(1);
    });

    it('reads /config.json once, however often it connects or is started again', async () => {
      const { client, options, last } = setup();
      client.start();
      await clock.tickAsync(0);
      last().accept();
      last().drop();
      await clock.tickAsync(BACKOFF_CAP_MS);
      client.stop();
      client.start();
      await clock.tickAsync(0);
      expect(options.loadUrl.callCount).to.equal(1);
    });

    it('without a live URL stays off: no socket, never connected, never "paused" (the app keeps polling)', async () => {
      const { client, sockets, statuses } = setup({ loadUrl: async () => null });
      client.start();
      await clock.tickAsync(60_000);
      expect(sockets).to.deep.equal([]);
      expect(statuses).to.deep.equal([]);
      expect(client.connected).to.equal(false);
    });

    it('asks for /config.json again at the next start when it could not be read', async () => {
      const loadUrl = sinon.stub<[], Promise<string | null>>();
      loadUrl.onFirstCall().rejects(new TypeError('Failed to fetch'));
      loadUrl.onSecondCall().resolves(URL);
      const { client, sockets } = setup({ loadUrl });
      client.start();
      await clock.tickAsync(0);
      client.stop();
      client.start();
      await clock.tickAsync(0);
      expect(sockets).to.have.length(1);
    });

    it('does not connect when nobody is signed in any more', async () => {
      const { client, sockets } = setup({ accessToken: async () => null });
      client.start();
      await clock.tickAsync(60_000);
      expect(sockets).to.deep.equal([]);
    });
  });

  describe('events', () => {
    it('passes each event on once: a repeated id (at-least-once delivery) is dropped, also after a reconnect', async () => {
      const { client, events, last } = setup();
      client.start();
      await clock.tickAsync(0);
      last().accept();
      last().push(deleted('e1'));
      last().push(deleted('e1'));
      last().push(deleted('e2', 'other'));
      last().drop();
      await clock.tickAsync(BACKOFF_CAP_MS);
      last().accept();
      last().push(deleted('e2', 'other'));
      expect(events.map((event) => event.id)).to.deep.equal(['e1', 'e2']);
    });

    it('remembers a bounded number of ids (the oldest are forgotten)', async () => {
      const { client, events, last } = setup();
      client.start();
      await clock.tickAsync(0);
      last().accept();
      last().push(deleted('first'));
      for (let n = 0; n < SEEN_IDS; n += 1) last().push(deleted(`e${n}`));
      last().push(deleted(`e${SEEN_IDS - 1}`));
      expect(events).to.have.length(SEEN_IDS + 1);
      last().push(deleted('first'));
      expect(events).to.have.length(SEEN_IDS + 2);
    });

    it('ignores pongs, errors, unknown types and what is not JSON', async () => {
      const { client, events, last } = setup();
      client.start();
      await clock.tickAsync(0);
      last().accept();
      for (const message of [{ type: 'pong' }, { type: 'error', code: 'unknown_message', message: 'x' }, { type: 'album.created', id: 'x1' }, { type: 'media.deleted' }, 'not json', '42']) last().push(message);
      expect(events).to.deep.equal([]);
    });

    it('a listener that throws does not keep the others from the event (the browser reports the error)', async () => {
      const global = globalThis as { reportError?: (error: unknown) => void };
      const original = global.reportError;
      const reported = sinon.stub<[unknown], void>();
      global.reportError = reported;
      try {
        const { client, events, last } = setup();
        const second: string[] = [];
        client.on(() => {
          throw new Error('broken screen');
        });
        client.on((event) => second.push(event.id));
        client.start();
        await clock.tickAsync(0);
        last().accept();
        last().push(deleted('e1'));
        expect(events).to.have.length(1);
        expect(second).to.deep.equal(['e1']);
        expect(reported.callCount).to.equal(1);
        expect((reported.firstCall.args[0] as Error).message).to.equal('broken screen');
      } finally {
        global.reportError = original;
      }
    });

    it('an unsubscribed listener hears nothing more', async () => {
      const { client, last } = setup();
      const heard: string[] = [];
      const off = client.on((event) => heard.push(event.id));
      client.start();
      await clock.tickAsync(0);
      last().accept();
      last().push(deleted('e1'));
      off();
      last().push(deleted('e2'));
      expect(heard).to.deep.equal(['e1']);
    });
  });

  describe('reconnecting', () => {
    it('backs off exponentially, 1 s doubling up to 30 s, while connections keep failing', async () => {
      const { client, sockets, last } = setup();
      client.start();
      await clock.tickAsync(0);
      const delays: number[] = [];
      for (let attempt = 0; attempt < 8; attempt += 1) {
        // Each connection opens and drops at once (a handshake failure would first refresh the session: below).
        last().accept();
        last().drop();
        const before = sockets.length;
        let waited = 0;
        while (sockets.length === before) {
          await clock.tickAsync(100);
          waited += 100;
        }
        delays.push(waited);
      }
      expect(delays).to.deep.equal([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    });

    it('adds jitter: each delay lies between half and all of its step', () => {
      expect(backoffDelay(0, () => 0)).to.equal(500);
      expect(backoffDelay(0, () => 0.999)).to.be.within(999, 1000);
      expect(backoffDelay(3, () => 0.5)).to.equal(6000);
      expect(backoffDelay(40, () => 0)).to.equal(BACKOFF_CAP_MS / 2);
      expect(backoffDelay(40, () => 1)).to.equal(BACKOFF_CAP_MS);
    });

    it('starts the backoff again after a connection that lasted', async () => {
      const { client, sockets, last } = setup();
      client.start();
      await clock.tickAsync(0);
      for (let attempt = 0; attempt < 4; attempt += 1) {
        last().accept();
        last().drop();
        await clock.tickAsync(BACKOFF_CAP_MS);
      }
      last().accept();
      await clock.tickAsync(STABLE_AFTER_MS);
      // Keep it answering pings meanwhile: it is healthy, then API Gateway's 2-hour limit ends it.
      last().drop(1001);
      const before = sockets.length;
      await clock.tickAsync(999);
      expect(sockets).to.have.length(before);
      await clock.tickAsync(1);
      expect(sockets).to.have.length(before + 1);
    });

    it('a handshake refused before open (401 shows as 1006): refreshes the session once and connects again at once with the new token, then backs off', async () => {
      const { client, sockets, options, last } = setup();
      client.start();
      await clock.tickAsync(0);
      last().drop(1006);
      await clock.tickAsync(0);
      expect(options.refreshSession.callCount).to.equal(1);
      expect(sockets).to.have.length(2);
      expect(sockets[1]?.protocols).to.deep.equal(['media-library.v1', 'bearer.access-1']);
      last().drop(1006);
      await clock.tickAsync(999);
      expect(sockets).to.have.length(2);
      await clock.tickAsync(1);
      expect(sockets).to.have.length(3);
      last().drop(1006);
      await clock.tickAsync(2000);
      expect(sockets).to.have.length(4);
      expect(options.refreshSession.callCount).to.equal(1);
      // Once a connection opened, the next refused handshake may refresh again.
      last().accept();
      last().drop();
      await clock.tickAsync(BACKOFF_CAP_MS);
      last().drop(1006);
      await clock.tickAsync(0);
      expect(options.refreshSession.callCount).to.equal(2);
    });

    it('a refresh that did not work (a 503, the network) backs off; a refused one signs out, which stops the client', async () => {
      const refreshSession = sinon.stub<[], Promise<boolean>>().resolves(false);
      const { client, sockets, last } = setup({ refreshSession });
      client.start();
      await clock.tickAsync(0);
      last().drop(1006);
      await clock.tickAsync(999);
      expect(sockets).to.have.length(1);
      await clock.tickAsync(1);
      expect(sockets).to.have.length(2);
      // The session signed out during the refresh (what Session does on a refused refresh).
      refreshSession.callsFake(async () => {
        client.stop();
        return false;
      });
      client.stop();
      client.start();
      await clock.tickAsync(0);
      last().drop(1006);
      await clock.tickAsync(BACKOFF_CAP_MS * 4);
      expect(sockets).to.have.length(3);
    });

    it('tries at once when the network is back, instead of waiting out the backoff', async () => {
      const { client, sockets, last } = setup();
      client.start();
      await clock.tickAsync(0);
      for (let attempt = 0; attempt < 5; attempt += 1) {
        last().accept();
        last().drop();
        await clock.tickAsync(BACKOFF_CAP_MS);
      }
      last().accept();
      last().drop();
      client.retryNow();
      await clock.tickAsync(0);
      expect(sockets).to.have.length(7);
    });
  });

  describe('the polling fallback and the catch-up', () => {
    it('is connected only while the socket is open: the screens poll the rest of the time', async () => {
      const { client, statuses, last } = setup();
      client.start();
      await clock.tickAsync(0);
      expect(client.connected).to.equal(false);
      last().accept();
      expect(client.connected).to.equal(true);
      last().drop();
      expect(client.connected).to.equal(false);
      await clock.tickAsync(1000);
      last().accept();
      expect(statuses).to.deep.equal([
        { connected: true, paused: false },
        { connected: false, paused: false },
        { connected: true, paused: false },
      ]);
    });

    it('says "paused" only when it has been down for more than a few seconds, and not any more once back', async () => {
      const { client, last } = setup();
      client.start();
      await clock.tickAsync(0);
      last().accept();
      last().drop();
      await clock.tickAsync(1000);
      last().drop();
      await clock.tickAsync(PAUSED_AFTER_MS - 1000 - 1);
      expect(client.paused).to.equal(false);
      await clock.tickAsync(1);
      expect(client.paused).to.equal(true);
      await clock.tickAsync(BACKOFF_CAP_MS);
      last().accept();
      expect(client.paused).to.equal(false);
      expect(client.connected).to.equal(true);
    });

    it('asks the screens to catch up after every reconnect (not after the first connection of a sign-in)', async () => {
      const { client, resyncs, last } = setup();
      client.start();
      await clock.tickAsync(0);
      last().accept();
      expect(resyncs).to.deep.equal([false]);
      last().drop();
      await clock.tickAsync(BACKOFF_CAP_MS);
      last().accept();
      expect(resyncs).to.deep.equal([false, true]);
      client.stop();
      client.start();
      await clock.tickAsync(0);
      last().accept();
      expect(resyncs).to.deep.equal([false, true, false]);
    });
  });

  describe('sign-out', () => {
    it('closes the socket, reconnects no more, reports off, and forgets the ids it saw', async () => {
      const { client, sockets, statuses, events, last } = setup();
      client.start();
      await clock.tickAsync(0);
      last().accept();
      last().push(deleted('e1'));
      client.stop();
      expect(sockets[0]?.closedWith).to.equal(1000);
      expect(statuses[statuses.length - 1]).to.deep.equal({ connected: false, paused: false });
      // A close reported after stop() is not a reason to reconnect.
      sockets[0]?.drop(1000);
      await clock.tickAsync(10 * 60_000);
      expect(sockets).to.have.length(1);
      expect(client.paused).to.equal(false);
      // Someone signs in again: nothing of the previous person is remembered.
      client.start();
      await clock.tickAsync(0);
      last().accept();
      last().push(deleted('e1'));
      expect(events.map((event) => event.id)).to.deep.equal(['e1', 'e1']);
    });

    it('stopped while the token was being read, it opens nothing', async () => {
      let release!: (token: string) => void;
      const { client, sockets } = setup({ accessToken: () => new Promise<string>((resolve) => (release = resolve)) });
      client.start();
      await clock.tickAsync(0);
      client.stop();
      release('access-0');
      await clock.tickAsync(0);
      expect(sockets).to.deep.equal([]);
    });
  });

  describe('liveness', () => {
    it('pings every 4 minutes (API Gateway closes connections idle for 10), and a pong keeps the connection', async () => {
      const { client, sockets, last } = setup();
      client.start();
      await clock.tickAsync(0);
      last().accept();
      await clock.tickAsync(PING_INTERVAL_MS - 1);
      expect(last().sent).to.deep.equal([]);
      await clock.tickAsync(1);
      expect(last().sent).to.deep.equal(['{"type":"ping"}']);
      last().push({ type: 'pong' });
      await clock.tickAsync(PING_INTERVAL_MS);
      expect(last().sent).to.have.length(2);
      last().push({ type: 'pong' });
      await clock.tickAsync(PONG_TIMEOUT_MS * 2);
      expect(sockets).to.have.length(1);
      expect(client.connected).to.equal(true);
      expect(PING_INTERVAL_MS).to.be.within(4 * 60_000, 5 * 60_000);
    });

    it('no pong within 10 s: the connection is dead, closed and replaced', async () => {
      const { client, sockets, statuses, last } = setup();
      client.start();
      await clock.tickAsync(0);
      last().accept();
      await clock.tickAsync(PING_INTERVAL_MS + PONG_TIMEOUT_MS - 1);
      expect(client.connected).to.equal(true);
      await clock.tickAsync(1);
      expect(client.connected).to.equal(false);
      expect(sockets[0]?.closedWith).to.equal(1000);
      expect(statuses.map((status) => status.connected)).to.deep.equal([true, false]);
      await clock.tickAsync(BACKOFF_CAP_MS);
      expect(sockets).to.have.length(2);
    });
  });
});

describe('web live updates: endsOwnSession', () => {
  const SESSION = '01JD8X4M6N8P0Q2R4S6T8V0W2X';
  const revoked = (sessionId: string, reason: 'revoked' | 'expired' = 'revoked'): LiveEvent => ({ type: 'session.revoked', id: `s-${sessionId}`, at: '2026-11-21T09:30:04.000Z', sessionId, reason });

  it('signs this tab out when its own session ended, with the reason', () => {
    expect(endsOwnSession(revoked(SESSION), SESSION)).to.equal('revoked');
    expect(endsOwnSession(revoked(SESSION, 'expired'), SESSION)).to.equal('expired');
  });

  it('leaves it signed in when another session ended, or for any other event', () => {
    expect(endsOwnSession(revoked('01JD8X4M6N8P0Q2R4S6T8V0W2Y'), SESSION)).to.equal(null);
    expect(endsOwnSession(revoked(SESSION), null)).to.equal(null);
    expect(endsOwnSession(deleted('e1'), SESSION)).to.equal(null);
  });
});

describe('web live updates: fetchLiveUrl', () => {
  const answer = (body: string, status = 200) => sinon.stub<Parameters<typeof fetch>, ReturnType<typeof fetch>>().resolves(new Response(body, { status }));

  it('reads liveUrl of /config.json, asking the server to revalidate', async () => {
    const fetchStub = answer(JSON.stringify({ liveUrl: 'ws://localhost:3001' }));
    expect(await fetchLiveUrl(fetchStub)).to.equal('ws://localhost:3001');
    expect(fetchStub.firstCall.args[0]).to.equal('/config.json');
    expect(fetchStub.firstCall.args[1]).to.deep.include({ cache: 'no-cache' });
    expect(await fetchLiveUrl(answer(JSON.stringify({ liveUrl: URL })))).to.equal(URL);
  });

  it('is null without a usable liveUrl: no file, an SPA fallback’s HTML, another scheme, none at all', async () => {
    expect(await fetchLiveUrl(answer('not found', 404))).to.equal(null);
    expect(await fetchLiveUrl(answer('<!doctype html><html></html>'))).to.equal(null);
    expect(await fetchLiveUrl(answer(JSON.stringify({ liveUrl: 'https://example.com/' })))).to.equal(null);
    expect(await fetchLiveUrl(answer(JSON.stringify({})))).to.equal(null);
    expect(await fetchLiveUrl(answer('null'))).to.equal(null);
  });

  it('throws when the network fails (tried again at the next sign-in)', async () => {
    const failing = sinon.stub<Parameters<typeof fetch>, ReturnType<typeof fetch>>().rejects(new TypeError('Failed to fetch'));
    await fetchLiveUrl(failing).then(
      () => expect.fail('resolved'),
      (error: Error) => expect(error).to.be.instanceOf(TypeError),
    );
  });
});
