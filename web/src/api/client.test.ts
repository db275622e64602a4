import { expect } from 'chai';
import sinon from 'sinon';
import { Session, type SignOutReason, type Tokens } from '../auth/session';
import { authenticatedClient, publicClient, type Api } from './client';
import { MemoryStorage } from '../auth/memoryStorage';

const NOW = Date.parse('2024-05-01T12:00:00.000Z');
// openapi-fetch builds a Request from baseUrl + path; a browser resolves '' against the page, Node needs an origin.
const ORIGIN = 'http://app.test';

interface FetchResult {
  data?: Tokens;
  error?: unknown;
  response: Response;
}

function tokens(n: number, accessTokenExpiresAt = new Date(NOW + 15 * 60_000).toISOString()): Tokens {
  return {
    sessionId: 'session-1',
    tokenType: 'Bearer',
    accessToken: `access-${n}`,
    accessTokenExpiresAt,
    refreshToken: `refresh-${n}`,
    refreshTokenExpiresAt: new Date(NOW + 30 * 86_400_000).toISOString(),
  };
}

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** What the fake network saw of one request (its body read from a copy, as a server would read it). */
interface Sent {
  method: string;
  url: string;
  authorization: string | null;
  contentType: string | null;
  body: string;
}

function setup() {
  const refreshPost = sinon.stub<[string, { body: { refreshToken: string } }], Promise<FetchResult>>();
  const local = new MemoryStorage();
  const tab = new MemoryStorage();
  const onChange = sinon.stub<[signedIn: boolean, reason?: SignOutReason], void>();
  const session = new Session({ api: { POST: refreshPost } as unknown as Api, local, tab, now: () => NOW, onChange });
  const sent: Sent[] = [];
  const replies: Response[] = [];
  const fetch = sinon.stub<[Request], Promise<Response>>().callsFake(async (request) => {
    expect(request).to.be.instanceOf(Request);
    sent.push({
      method: request.method,
      url: request.url,
      authorization: request.headers.get('authorization'),
      contentType: request.headers.get('content-type'),
      body: await request.clone().text(),
    });
    const reply = replies.shift();
    if (reply === undefined) throw new Error('unexpected request');
    return reply;
  });
  const api = authenticatedClient(session, fetch as unknown as typeof globalThis.fetch);
  return { session, refreshPost, local, tab, onChange, sent, replies, fetch, api };
}

const created = { media: { id: 'm1' } };
const upload = { filename: 'beach.jpg', contentType: 'image/jpeg', size: 1234, sha256: 'a'.repeat(64) };

describe('web api client', () => {
  describe('authenticatedClient', () => {
    it('sends the access token as a bearer token', async () => {
      const { session, sent, replies, api } = setup();
      session.signIn(tokens(1), false);
      replies.push(json(200, { id: 'u1', email: 'a@example.com', name: 'A', createdAt: new Date(NOW).toISOString() }));
      const { data } = await api.GET('/v1/users/me', { baseUrl: ORIGIN });
      expect(data?.id).to.equal('u1');
      expect(sent).to.have.length(1);
      expect(sent[0]).to.include({ method: 'GET', url: `${ORIGIN}/v1/users/me`, authorization: 'Bearer access-1' });
    });

    it('refreshes a token about to expire before sending the request', async () => {
      const { session, refreshPost, sent, replies, api } = setup();
      session.signIn(tokens(1, new Date(NOW + 10_000).toISOString()), false);
      refreshPost.resolves({ data: tokens(2), response: new Response(null, { status: 200 }) });
      replies.push(json(200, { items: [], nextCursor: null }));
      await api.GET('/v1/media', { baseUrl: ORIGIN });
      expect(refreshPost.callCount).to.equal(1);
      expect(sent.map((request) => request.authorization)).to.deep.equal(['Bearer access-2']);
    });

    it('on a 401 refreshes once and retries the same request, same body, with the new token', async () => {
      const { session, refreshPost, sent, replies, api, onChange } = setup();
      session.signIn(tokens(1), false);
      refreshPost.resolves({ data: tokens(2), response: new Response(null, { status: 200 }) });
      replies.push(json(401, { message: 'Unauthorized' }), json(201, created));
      const { data, response } = await api.POST('/v1/media', { baseUrl: ORIGIN, body: upload });
      expect(response.status).to.equal(201);
      expect(data).to.deep.equal(created);
      expect(refreshPost.callCount).to.equal(1);
      expect(sent).to.have.length(2);
      const [first, retry] = sent as [Sent, Sent];
      expect(first.authorization).to.equal('Bearer access-1');
      expect(retry.authorization).to.equal('Bearer access-2');
      expect(retry).to.deep.include({ method: 'POST', url: `${ORIGIN}/v1/media`, contentType: 'application/json', body: first.body });
      expect(JSON.parse(retry.body)).to.deep.equal(upload);
      expect(session.signedIn).to.equal(true);
      expect(onChange.calledWith(false)).to.equal(false);
    });

    it('signs out when the retry is refused too', async () => {
      const { session, refreshPost, local, tab, sent, replies, api, onChange } = setup();
      session.signIn(tokens(1), true);
      refreshPost.resolves({ data: tokens(2), response: new Response(null, { status: 200 }) });
      replies.push(json(401, { message: 'Unauthorized' }), json(401, { message: 'Unauthorized' }));
      const { data, error, response } = await api.GET('/v1/users/me', { baseUrl: ORIGIN });
      expect(data).to.equal(undefined);
      expect(error).to.deep.equal({ message: 'Unauthorized' });
      expect(response.status).to.equal(401);
      expect(sent).to.have.length(2);
      expect(refreshPost.callCount).to.equal(1);
      expect(session.signedIn).to.equal(false);
      expect(local.getItem('ml.refresh')).to.equal(null);
      expect(tab.getItem('ml.refresh')).to.equal(null);
      expect(onChange.lastCall.args).to.deep.equal([false, 'expired']);
    });

    it('does not retry when the refresh is refused, and is signed out by it', async () => {
      const { session, refreshPost, sent, replies, api, onChange } = setup();
      session.signIn(tokens(1), false);
      refreshPost.resolves({ data: undefined, error: { error: { code: 'invalid_refresh_token' } }, response: new Response(null, { status: 401 }) });
      replies.push(json(401, { message: 'Unauthorized' }));
      const { response } = await api.GET('/v1/users/me', { baseUrl: ORIGIN });
      expect(response.status).to.equal(401);
      expect(sent).to.have.length(1);
      expect(session.signedIn).to.equal(false);
      expect(onChange.lastCall.args).to.deep.equal([false, 'expired']);
    });

    it('answers other errors as they are, without refreshing', async () => {
      const { session, refreshPost, sent, replies, api } = setup();
      session.signIn(tokens(1), false);
      replies.push(json(404, { error: { code: 'media_not_found', message: 'no' } }));
      const { error, response } = await api.GET('/v1/media/{id}', { baseUrl: ORIGIN, params: { path: { id: 'm1' } } });
      expect(response.status).to.equal(404);
      expect(error).to.deep.equal({ error: { code: 'media_not_found', message: 'no' } });
      expect(sent).to.have.length(1);
      expect(refreshPost.called).to.equal(false);
    });

    it('sends a request without a session without the header, and does not retry its 401', async () => {
      const { refreshPost, sent, replies, api } = setup();
      replies.push(json(401, { message: 'Unauthorized' }));
      const { response } = await api.GET('/v1/users/me', { baseUrl: ORIGIN });
      expect(response.status).to.equal(401);
      expect(sent).to.have.length(1);
      expect(sent[0]?.authorization).to.equal(null);
      expect(refreshPost.called).to.equal(false);
    });

    it('lets a network failure through', async () => {
      const { session, fetch, api } = setup();
      session.signIn(tokens(1), false);
      fetch.rejects(new TypeError('fetch failed'));
      let thrown: unknown;
      try {
        await api.GET('/v1/users/me', { baseUrl: ORIGIN });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(TypeError);
    });
  });

  describe('publicClient', () => {
    it('sends no authorization, even while someone is signed in', async () => {
      const { session } = setup();
      session.signIn(tokens(1), true);
      const fetch = sinon.stub<[Request], Promise<Response>>().resolves(json(201, tokens(2)));
      const api = publicClient(fetch as unknown as typeof globalThis.fetch);
      const { data } = await api.POST('/v1/sessions', { baseUrl: ORIGIN, body: { email: 'a@example.com', password: 'correct horse', remember: false } });
      expect(data?.accessToken).to.equal('access-2');
      const request = fetch.firstCall.args[0];
      expect(request.url).to.equal(`${ORIGIN}/v1/sessions`);
      expect(request.headers.has('authorization')).to.equal(false);
    });
  });
});

describe('web api client: the browser fetch by default', () => {
  const original = globalThis.fetch;
  afterEach(() => {
    globalThis.fetch = original;
  });

  it('both clients call the global fetch when given none (so tests and the page share one code path)', async () => {
    const seen: string[] = [];
    globalThis.fetch = (input: RequestInfo | URL) => {
      seen.push(input instanceof Request ? new URL(input.url).pathname : String(input));
      return Promise.resolve(new Response(JSON.stringify({ status: 'ok' }), { status: 200, headers: { 'content-type': 'application/json' } }));
    };
    const nothingStored = { getItem: () => null, setItem: () => undefined, removeItem: () => undefined };
    const session = new Session({ api: publicClient(), local: nothingStored, tab: nothingStored });
    await publicClient().GET('/v1/health', { baseUrl: 'http://app.local' });
    await authenticatedClient(session).GET('/v1/health', { baseUrl: 'http://app.local' });
    expect(seen).to.deep.equal(['/v1/health', '/v1/health']);
  });
});
