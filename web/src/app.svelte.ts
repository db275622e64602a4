/**
 * The app's shared state: the session, the API clients, the signed-in person and the messages
 * shown to them. Screens import `app`; nothing else holds tokens.
 */
import { authenticatedClient, publicClient, type Api } from './api/client';
import type { components } from './api/schema';
import { browserLock, Session, type SignOutReason } from './auth/session';
import { endsOwnSession, fetchLiveUrl, LiveClient } from './live/live';

export type User = components['schemas']['User'];
export interface Notice {
  id: number;
  text: string;
  kind: 'info' | 'error';
}

const SIGNED_OUT_MESSAGES: Record<SignOutReason, string> = {
  signed_out: 'You are signed out.',
  expired: 'Your session has ended. Please sign in again.',
  revoked: 'This session was ended from another device. Please sign in again.',
  account_deleted: 'Your account and everything in it have been deleted.',
};

class AppState {
  /** Whether a session is held (the screens render at once; the profile arrives beside them). */
  signedIn = $state(false);
  user = $state<User | null>(null);
  /** Whether the first check of a stored session is done (avoids flashing the sign-in screen). */
  ready = $state(false);
  notices = $state<Notice[]>([]);
  /** Bumped whenever the library changed here (upload, delete, edit), so the grid reloads. */
  libraryVersion = $state(0);
  /** The live-updates socket is open: screens stop polling (they poll whenever it is not). */
  liveConnected = $state(false);
  /** Live updates are down for more than a few seconds (the app says so, and polls meanwhile). */
  livePaused = $state(false);
  readonly publicApi: Api = publicClient();
  readonly session: Session;
  readonly api: Api;
  readonly live: LiveClient;
  private nextNotice = 1;

  constructor() {
    this.session = new Session({
      api: this.publicApi,
      local: localStorage,
      tab: sessionStorage,
      withLock: browserLock(),
      onChange: (signedIn, reason) => {
        this.signedIn = signedIn;
        if (signedIn) this.live.start();
        else {
          this.live.stop();
          this.user = null;
          // Nothing of the person stays on screen or in memory.
          this.libraryVersion += 1;
          if (reason !== undefined) this.notify(SIGNED_OUT_MESSAGES[reason], reason === 'signed_out' || reason === 'account_deleted' ? 'info' : 'error');
        }
      },
    });
    this.api = authenticatedClient(this.session);
    this.live = new LiveClient({
      loadUrl: () => fetchLiveUrl(),
      accessToken: () => this.session.currentAccessToken(),
      refreshSession: () => this.session.refresh(),
      onStatus: ({ connected, paused }) => {
        this.liveConnected = connected;
        this.livePaused = paused;
      },
    });
    this.live.on((event) => {
      // This tab's session ended elsewhere (another device, a password change): sign out here too.
      const ended = endsOwnSession(event, this.session.sessionId);
      if (ended !== null) this.session.signOut(ended);
    });
    window.addEventListener('online', () => this.live.retryNow());
    // Another tab signed out (the stored refresh token went away): so does this one.
    window.addEventListener('storage', (event) => {
      if (event.key === 'ml.refresh' && event.newValue === null && this.signedIn) this.session.signOut('signed_out');
    });
  }

  /** Resumes a stored session on load. */
  async resume(): Promise<void> {
    try {
      if (this.session.resumable && (await this.session.refresh())) {
        this.signedIn = true;
        this.live.start();
        void this.loadUser();
      }
    } finally {
      this.ready = true;
    }
  }

  async loadUser(): Promise<void> {
    const { data } = await this.api.GET('/v1/users/me');
    if (data !== undefined) this.user = data;
  }

  async signOut(): Promise<void> {
    // Close the socket first: the session.revoked this sign-out causes is not news to this tab.
    this.live.stop();
    // End the session on the server first; forget it here whatever the answer.
    await this.api.DELETE('/v1/sessions/{id}', { params: { path: { id: 'current' } } }).catch(() => undefined);
    this.session.signOut('signed_out');
  }

  notify(text: string, kind: Notice['kind'] = 'info'): void {
    const notice = { id: this.nextNotice++, text, kind };
    this.notices = [...this.notices, notice];
    setTimeout(() => this.dismiss(notice.id), kind === 'error' ? 10_000 : 5_000);
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((notice) => notice.id !== id);
  }
}

export const app = new AppState();
