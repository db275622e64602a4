/**
 * The typed API client: openapi-fetch over the types generated from docs/openapi.v1.json
 * (`npx gulp web-client` writes api/schema.d.ts; a test fails when it is stale). Screens call
 * `api.GET('/v1/media', …)` and get typed bodies; nobody builds a URL by hand.
 *
 * Authentication is a middleware: every request carries the access token held in memory, a token
 * about to expire is refreshed first, and a 401 is answered by one refresh and one retry.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import type { Session } from '../auth/session';

export type Api = ReturnType<typeof createClient<paths>>;
export type { paths };

/** A client without authentication, for sign-up, sign-in and refresh. */
export function publicClient(fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args)): Api {
  return createClient<paths>({ baseUrl: '', fetch: fetchImpl });
}

/** A client that authenticates as `session`. */
export function authenticatedClient(session: Session, fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args)): Api {
  const client = createClient<paths>({ baseUrl: '', fetch: fetchImpl });
  const originals = new Map<string, Request>();
  const auth: Middleware = {
    async onRequest({ request, id }) {
      const token = await session.currentAccessToken();
      if (token === null) return request;
      originals.set(id, request.clone());
      request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
    async onResponse({ response, id }) {
      const original = originals.get(id);
      originals.delete(id);
      if (response.status !== 401 || original === undefined) return response;
      // The token may have been revoked or expired early: one refresh, one retry.
      if (!(await session.refresh())) return response;
      const token = await session.currentAccessToken();
      if (token === null) return response;
      original.headers.set('authorization', `Bearer ${token}`);
      const retried = await fetchImpl(original);
      if (retried.status === 401) session.signOut('expired');
      return retried;
    },
    onError({ id }) {
      originals.delete(id);
    },
  };
  client.use(auth);
  return client;
}
