import { systemClock } from '../../shared/clock';
import { listSessions } from '../../shared/domain/accounts';
import { protectedRoute } from '../../shared/http/handler';
import { PageQuery } from '../../shared/schemas/common';
import { SessionListResponse } from '../../shared/schemas/sessions';
import { sessions } from '../../shared/stores/sessionsTable';

/** GET /v1/sessions: the caller's active sessions, newest first, `current` marking this one. */
export const handler = protectedRoute({ auth: 'bearer', query: PageQuery, response: SessionListResponse }, async ({ caller, query }) => ({
  status: 200,
  body: await listSessions({ sessions, clock: systemClock }, caller, query.limit, query.cursor),
}));
