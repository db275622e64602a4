/**
 * The signed-in session in the browser.
 *
 * Where the tokens live, and why:
 * - the access token (15 minutes) only in memory: script injected into the page could use it
 *   while the page is open, but cannot take it away for later, and a reload simply refreshes it;
 * - the refresh token in sessionStorage (this tab, until it is closed) or, with "Keep me signed
 *   in", in localStorage (every tab, until it expires or is revoked). A SPA cannot hide it from
 *   injected script entirely (an HttpOnly cookie would need the API to set it); the strict CSP
 *   (script from our own origin only) is what keeps script out, rotation on every refresh with
 *   reuse detection on the server limits what a stolen token is worth, and sign-out ends the
 *   session on the server and clears both storages.
 * Refreshes are serialised across tabs with the Web Locks API: the refresh token rotates, and
 *   two tabs refreshing with the same token at once would look like a replay (which revokes).
 */
import type { Api } from '../api/client';
import type { components } from '../api/schema';

export type Tokens = components['schemas']['SessionTokens'];

export type SignOutReason = 'signed_out' | 'expired' | 'revoked' | 'account_deleted';

const REFRESH_KEY = 'ml.refresh';
const EXPIRY_MARGIN_MS = 30_000;

export interface SessionDeps {
  api: Api;
  local: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  tab: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  /** Runs `task` while holding a lock shared by every tab of this origin. */
  withLock?: <T>(task: () => Promise<T>) => Promise<T>;
  now?: () => number;
  onChange?: (signedIn: boolean, reason?: SignOutReason) => void;
}

export class Session {
  private accessToken: string | null = null;
  private accessExpiresAt = 0;
  private heldSessionId: string | null = null;
  private refreshing: Promise<boolean> | null = null;
  private readonly now: () => number;

  constructor(private readonly deps: SessionDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Whether a refresh token is kept (a reload can resume the session). */
  get resumable(): boolean {
    return this.storedRefreshToken() !== null;
  }

  get signedIn(): boolean {
    return this.accessToken !== null;
  }

  /** The id of the session this tab holds (as `GET /v1/sessions` and live `session.revoked` name it); null when signed out. */
  get sessionId(): string | null {
    return this.heldSessionId;
  }

  /** After POST /v1/sessions. */
  signIn(tokens: Tokens, remember: boolean): void {
    this.deps.local.removeItem(REFRESH_KEY);
    this.deps.tab.removeItem(REFRESH_KEY);
    (remember ? this.deps.local : this.deps.tab).setItem(REFRESH_KEY, tokens.refreshToken);
    this.keep(tokens);
    this.deps.onChange?.(true);
  }

  /** The access token, refreshed first when it is about to expire; null when signed out. */
  async currentAccessToken(): Promise<string | null> {
    if (this.accessToken !== null && this.accessExpiresAt - EXPIRY_MARGIN_MS > this.now()) return this.accessToken;
    if (!this.resumable) return this.accessToken;
    await this.refresh();
    return this.accessToken;
  }

  /** Exchanges the refresh token for new tokens; false (and signed out) when the server refuses it. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.lock(() => this.refreshOnce()).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Forgets everything of the session in this browser (the server side is ended by the caller). */
  signOut(reason: SignOutReason = 'signed_out'): void {
    const was = this.accessToken !== null || this.resumable;
    this.accessToken = null;
    this.accessExpiresAt = 0;
    this.heldSessionId = null;
    this.deps.local.removeItem(REFRESH_KEY);
    this.deps.tab.removeItem(REFRESH_KEY);
    if (was) this.deps.onChange?.(false, reason);
  }

  private async refreshOnce(): Promise<boolean> {
    // Read inside the lock: another tab may have rotated it a moment ago.
    const store = this.deps.local.getItem(REFRESH_KEY) !== null ? this.deps.local : this.deps.tab;
    const refreshToken = store.getItem(REFRESH_KEY);
    if (refreshToken === null) {
      this.signOut('expired');
      return false;
    }
    const { data, response } = await this.deps.api.POST('/v1/sessions/refresh', { body: { refreshToken } });
    if (data !== undefined) {
      // Signed out (here or in another tab) while the request was in flight: it stays signed out.
      if (store.getItem(REFRESH_KEY) !== refreshToken) return false;
      // The rotated token goes where the old one was, never over what another tab stored meanwhile.
      store.setItem(REFRESH_KEY, data.refreshToken);
      this.keep(data);
      return true;
    }
    // 401: expired, revoked or replayed. A 429/5xx keeps the session for a later try.
    if (response.status === 401) this.signOut('expired');
    return false;
  }

  private keep(tokens: Tokens): void {
    this.accessToken = tokens.accessToken;
    this.accessExpiresAt = Date.parse(tokens.accessTokenExpiresAt);
    this.heldSessionId = tokens.sessionId;
  }

  private storedRefreshToken(): string | null {
    return this.deps.local.getItem(REFRESH_KEY) ?? this.deps.tab.getItem(REFRESH_KEY);
  }

  private lock<T>(task: () => Promise<T>): Promise<T> {
    return this.deps.withLock ? this.deps.withLock(task) : task();
  }
}

/** The browser's cross-tab lock, when it has one. */
export function browserLock(): SessionDeps['withLock'] {
  const locks = globalThis.navigator?.locks;
  if (locks === undefined) return undefined;
  return <T>(task: () => Promise<T>) => locks.request('ml.session.refresh', task) as Promise<T>;
}
