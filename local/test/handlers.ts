/**
 * Loads a handler module with its store adapters replaced by in-memory fakes (proxyquire),
 * for fast unit tests of the whole handler: validation, domain call, response shape.
 */
import path from 'node:path';
import proxyquire from 'proxyquire';
import { registerHandler } from './contract';
import { fakeHasher, memoryAnalysisQueue, memoryAnalysisStore, memoryContentStore, memoryMediaStore, memorySessionStore, memoryUserStore } from './fakes';

const ROOT = path.resolve(__dirname, '..', '..');

export interface HandlerWorld {
  users: ReturnType<typeof memoryUserStore>;
  sessions: ReturnType<typeof memorySessionStore>;
  hasher: ReturnType<typeof fakeHasher>;
  media: ReturnType<typeof memoryMediaStore>;
  content: ReturnType<typeof memoryContentStore>;
  analyses: ReturnType<typeof memoryAnalysisStore>;
  queue: ReturnType<typeof memoryAnalysisQueue>;
}

export function handlerWorld(): HandlerWorld {
  const users = memoryUserStore();
  return {
    users,
    sessions: memorySessionStore(users),
    hasher: fakeHasher(),
    media: memoryMediaStore(),
    content: memoryContentStore(),
    analyses: memoryAnalysisStore(),
    queue: memoryAnalysisQueue(),
  };
}

/** `functions/users/createUser` with the world's stores and hasher in place of the real ones. */
export function loadHandler(modulePath: string, world: HandlerWorld, extraStubs: Record<string, unknown> = {}): unknown {
  const stubs = {
    '../../shared/stores/usersTable': { users: world.users, '@noCallThru': true },
    '../../shared/stores/sessionsTable': { sessions: world.sessions, '@noCallThru': true },
    '../../shared/auth/passwords': { argon2Hasher: world.hasher },
    '../../shared/stores/mediaTable': { media: world.media, '@noCallThru': true },
    '../../shared/content/bucket': { content: world.content, '@noCallThru': true },
    '../../shared/stores/analysesTable': { analyses: world.analyses, '@noCallThru': true },
    '../../shared/messaging/analysisQueue': { analysisQueue: world.queue, '@noCallThru': true },
    ...extraStubs,
  };
  const handler = (proxyquire(path.join(ROOT, modulePath), stubs) as { handler: unknown }).handler;
  registerHandler(handler, modulePath);
  return handler;
}
