import { revokeSession } from '../../shared/domain/accounts';
import { protectedRoute } from '../../shared/http/handler';
import { SessionIdParams } from '../../shared/schemas/sessions';
import { sessions } from '../../shared/stores/sessionsTable';

/** DELETE /v1/sessions/{id}: revoke one of the caller's sessions (`current`: log out). */
export const handler = protectedRoute({ auth: 'bearer', params: SessionIdParams }, async ({ caller, params }) => {
  await revokeSession({ sessions }, caller, params.id);
  return { status: 204 };
});
