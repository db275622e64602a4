import { expect } from 'chai';
import sinon from 'sinon';
import type { Api } from '../api/client';
import { browserLock, Session, type SessionDeps, type SignOutReason, type Tokens } from './session';
import { MemoryStorage } from './memoryStorage';

const KEY = 'ml.refresh';
const NOW = Date.parse('2024-05-01T12:00:00.000Z');

interface RefreshInit {
  body: { refreshToken: string };
}
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

const issued = (data: Tokens): FetchResult => ({ data, error: undefined, response: new Response(JSON.stringify(data), { status: 200 }) });
const refused = (status: number, code: string): FetchResult => ({ data: undefined, error: { error: { code, message: code } }, response: new Response(null, { status }) });

/** A promise settled from outside: holds a fake request in flight. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

/** Lets every pending promise callback run. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 50; turn += 1) await Promise.resolve();
}

/** One mutex shared by several Session objects: the Web Locks API between tabs. */
function mutex(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
  };
}

function setup(overrides: Partial<SessionDeps> & { now?: () => number } = {}) {
  const post = sinon.stub<[string, RefreshInit], Promise<FetchResult>>();
  const local = new MemoryStorage();
  const tab = new MemoryStorage();
  const onChange = sinon.stub<[signedIn: boolean, reason?: SignOutReason], void>();
  const session = new Session({ api: { POST: post } as unknown as Api, local, tab, now: () => NOW, onChange, ...overrides });
  return { session, post, local, tab, onChange };
}

describe('web Session', () => {
  describe('signIn', () => {
    it('keeps the refresh token in the tab storage only, and clears a remembered one', () => {
      const { session, local, tab, onChange } = setup();
      local.setItem(KEY, 'refresh-old');
      session.signIn(tokens(1), false);
      expect(tab.getItem(KEY)).to.equal('refresh-1');
      expect(local.getItem(KEY)).to.equal(null);
      expect(session.signedIn).to.equal(true);
      expect(session.resumable).to.equal(true);
      expect(onChange.args).to.deep.equal([[true]]);
    });

    it('with "keep me signed in" keeps it in the local storage only, and clears the tab one', () => {
      const { session, local, tab } = setup();
      tab.setItem(KEY, 'refresh-old');
      session.signIn(tokens(1), true);
      expect(local.getItem(KEY)).to.equal('refresh-1');
      expect(tab.getItem(KEY)).to.equal(null);
    });

    it('never stores the access token', () => {
      const { session, local, tab } = setup();
      session.signIn(tokens(1), true);
      expect([...local.items.values(), ...tab.items.values()]).to.not.include('access-1');
    });

    it('knows the id of its session (live updates tell this tab’s session.revoked from another’s), until sign-out', async () => {
      const { session, post } = setup();
      expect(session.sessionId).to.equal(null);
      session.signIn(tokens(1), false);
      expect(session.sessionId).to.equal('session-1');
      post.resolves(issued({ ...tokens(2), sessionId: 'session-2' }));
      await session.refresh();
      expect(session.sessionId).to.equal('session-2');
      session.signOut();
      expect(session.sessionId).to.equal(null);
    });
  });

  describe('currentAccessToken', () => {
    const expiresAt = NOW + 15 * 60_000;

    it('answers the token in memory while it has more than 30 s left', async () => {
      const { session, post } = setup({ now: () => expiresAt - 31_000 });
      session.signIn(tokens(1), false);
      expect(await session.currentAccessToken()).to.equal('access-1');
      expect(post.called).to.equal(false);
    });

    for (const left of [30_000, 29_000, 0, -60_000]) {
      it(`refreshes first when the token has ${left / 1000} s left`, async () => {
        const { session, post, tab } = setup({ now: () => expiresAt - left });
        session.signIn(tokens(1), false);
        post.resolves(issued(tokens(2)));
        expect(await session.currentAccessToken()).to.equal('access-2');
        expect(post.callCount).to.equal(1);
        expect(post.firstCall.args).to.deep.equal(['/v1/sessions/refresh', { body: { refreshToken: 'refresh-1' } }]);
        expect(tab.getItem(KEY)).to.equal('refresh-2');
      });
    }

    it('after a reload (no token in memory) refreshes with the stored refresh token', async () => {
      const { session, post, local } = setup();
      local.setItem(KEY, 'refresh-1');
      expect(session.signedIn).to.equal(false);
      post.resolves(issued(tokens(2)));
      expect(await session.currentAccessToken()).to.equal('access-2');
      expect(session.signedIn).to.equal(true);
    });

    it('is null, without a request, when nobody is signed in', async () => {
      const { session, post } = setup();
      expect(await session.currentAccessToken()).to.equal(null);
      expect(post.called).to.equal(false);
    });
  });

  describe('refresh', () => {
    it('rotates a remembered token in the local storage', async () => {
      const { session, post, local, tab } = setup();
      session.signIn(tokens(1), true);
      post.resolves(issued(tokens(2)));
      expect(await session.refresh()).to.equal(true);
      expect(local.getItem(KEY)).to.equal('refresh-2');
      expect(tab.getItem(KEY)).to.equal(null);
    });

    it('rotates a tab-only token in the tab storage', async () => {
      const { session, post, local, tab } = setup();
      session.signIn(tokens(1), false);
      post.resolves(issued(tokens(2)));
      expect(await session.refresh()).to.equal(true);
      expect(tab.getItem(KEY)).to.equal('refresh-2');
      expect(local.getItem(KEY)).to.equal(null);
    });

    it('rotates in the storage the token came from even when another tab signed in with "keep me signed in" meanwhile', async () => {
      const { session, post, local, tab } = setup();
      session.signIn(tokens(1), false);
      const answer = deferred<FetchResult>();
      post.returns(answer.promise);
      const refreshing = session.refresh();
      await settle();
      local.setItem(KEY, 'refresh-of-another-tab');
      answer.resolve(issued(tokens(2)));
      expect(await refreshing).to.equal(true);
      expect(tab.getItem(KEY)).to.equal('refresh-2');
      expect(local.getItem(KEY)).to.equal('refresh-of-another-tab');
    });

    it('does not bring back a session signed out while its refresh was in flight', async () => {
      const { session, post, local, tab } = setup();
      session.signIn(tokens(1), true);
      const answer = deferred<FetchResult>();
      post.returns(answer.promise);
      const refreshing = session.refresh();
      await settle();
      session.signOut();
      answer.resolve(issued(tokens(2)));
      expect(await refreshing).to.equal(false);
      expect(local.getItem(KEY)).to.equal(null);
      expect(tab.getItem(KEY)).to.equal(null);
      expect(session.signedIn).to.equal(false);
      expect(await session.currentAccessToken()).to.equal(null);
    });

    it('makes one request for concurrent calls in one tab, and a new one afterwards', async () => {
      const { session, post } = setup({ now: () => NOW + 15 * 60_000 - 10_000 });
      session.signIn(tokens(1), false);
      const answer = deferred<FetchResult>();
      post.onFirstCall().returns(answer.promise);
      const calls = [session.refresh(), session.refresh(), session.currentAccessToken()];
      await settle();
      expect(post.callCount).to.equal(1);
      answer.resolve(issued(tokens(2)));
      expect(await Promise.all(calls)).to.deep.equal([true, true, 'access-2']);
      expect(post.callCount).to.equal(1);

      post.onSecondCall().resolves(issued(tokens(3)));
      expect(await session.refresh()).to.equal(true);
      expect(post.callCount).to.equal(2);
      expect(post.secondCall.args[1].body.refreshToken).to.equal('refresh-2');
    });

    it('between two tabs, reads the token inside the lock: the second tab sends the rotated token, never the old one', async () => {
      const local = new MemoryStorage();
      const withLock = mutex();
      // The server: each refresh token works once (a reused one would be a replay and revoke the session).
      const used = new Set<string>();
      const answers: { refreshToken: string; answer: ReturnType<typeof deferred<FetchResult>> }[] = [];
      const post = sinon.stub<[string, RefreshInit], Promise<FetchResult>>().callsFake((_path, { body }) => {
        const answer = deferred<FetchResult>();
        answers.push({ refreshToken: body.refreshToken, answer });
        return answer.promise;
      });
      const answerNext = (): void => {
        const next = answers.shift();
        if (next === undefined) throw new Error('no request in flight');
        if (used.has(next.refreshToken)) return next.answer.resolve(refused(401, 'invalid_refresh_token'));
        used.add(next.refreshToken);
        const n = Number(next.refreshToken.split('-')[1]) + 1;
        next.answer.resolve(issued(tokens(n)));
      };
      const tab = (): Session => new Session({ api: { POST: post } as unknown as Api, local, tab: new MemoryStorage(), withLock, now: () => NOW });
      const first = tab();
      const second = tab();
      first.signIn(tokens(1), true);

      const refreshes = [first.refresh(), second.refresh()];
      await settle();
      expect(post.callCount).to.equal(1); // the second tab waits for the lock
      answerNext();
      await settle();
      expect(post.callCount).to.equal(2);
      answerNext();

      expect(await Promise.all(refreshes)).to.deep.equal([true, true]);
      expect(post.args.map(([, init]) => init.body.refreshToken)).to.deep.equal(['refresh-1', 'refresh-2']);
      expect(local.getItem(KEY)).to.equal('refresh-3');
      expect(second.signedIn).to.equal(true);
    });

    it('a 401 signs out: storages cleared, onChange(false, "expired")', async () => {
      const { session, post, local, tab, onChange } = setup();
      session.signIn(tokens(1), true);
      onChange.resetHistory();
      post.resolves(refused(401, 'invalid_refresh_token'));
      expect(await session.refresh()).to.equal(false);
      expect(session.signedIn).to.equal(false);
      expect(session.resumable).to.equal(false);
      expect(local.getItem(KEY)).to.equal(null);
      expect(tab.getItem(KEY)).to.equal(null);
      expect(onChange.args).to.deep.equal([[false, 'expired']]);
    });

    for (const [status, code] of [
      [503, 'service_unavailable'],
      [429, 'too_many_attempts'],
    ] as const) {
      it(`a ${status} keeps the session for a later try`, async () => {
        const { session, post, local, onChange } = setup();
        session.signIn(tokens(1), true);
        onChange.resetHistory();
        post.resolves(refused(status, code));
        expect(await session.refresh()).to.equal(false);
        expect(session.signedIn).to.equal(true);
        expect(local.getItem(KEY)).to.equal('refresh-1');
        expect(onChange.called).to.equal(false);

        post.resolves(issued(tokens(2)));
        expect(await session.refresh()).to.equal(true);
        expect(post.lastCall.args[1].body.refreshToken).to.equal('refresh-1');
      });
    }

    it('without a stored refresh token (another tab signed out) signs out without a request', async () => {
      const { session, post, local, onChange } = setup();
      session.signIn(tokens(1), true);
      onChange.resetHistory();
      local.removeItem(KEY);
      expect(await session.refresh()).to.equal(false);
      expect(post.called).to.equal(false);
      expect(session.signedIn).to.equal(false);
      expect(onChange.args).to.deep.equal([[false, 'expired']]);
    });
  });

  describe('signOut', () => {
    it('clears both storages and the token in memory, and notifies once', async () => {
      const { session, post, local, tab, onChange } = setup();
      session.signIn(tokens(1), true);
      tab.setItem(KEY, 'refresh-stray');
      onChange.resetHistory();
      session.signOut();
      session.signOut();
      expect(local.getItem(KEY)).to.equal(null);
      expect(tab.getItem(KEY)).to.equal(null);
      expect(session.signedIn).to.equal(false);
      expect(await session.currentAccessToken()).to.equal(null);
      expect(post.called).to.equal(false);
      expect(onChange.args).to.deep.equal([[false, 'signed_out']]);
    });

    it('passes the reason on', () => {
      const { session, onChange } = setup();
      session.signIn(tokens(1), false);
      session.signOut('account_deleted');
      expect(onChange.lastCall.args).to.deep.equal([false, 'account_deleted']);
    });

    it('does not notify when nobody was signed in', () => {
      const { session, onChange } = setup();
      session.signOut();
      expect(onChange.called).to.equal(false);
    });
  });

  describe('browserLock', () => {
    const original = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    afterEach(() => {
      if (original === undefined) Reflect.deleteProperty(globalThis, 'navigator');
      else Object.defineProperty(globalThis, 'navigator', original);
    });

    it('is undefined where the browser has no Web Locks', () => {
      Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true });
      expect(browserLock()).to.equal(undefined);
    });

    it('runs the task under one named lock of the origin', async () => {
      const request = sinon.stub<[string, () => Promise<unknown>], Promise<unknown>>().callsFake((_name, task) => task());
      Object.defineProperty(globalThis, 'navigator', { value: { locks: { request } }, configurable: true });
      const withLock = browserLock();
      expect(withLock).to.be.a('function');
      expect(await withLock?.(async () => 'done')).to.equal('done');
      expect(request.firstCall.args[0]).to.equal('ml.session.refresh');
    });
  });
});
