import { requireEnv } from '../../shared/config/env';
import { publicRoute } from '../../shared/http/handler';
import { HealthResponse } from '../../shared/schemas/health';

const stage = requireEnv('STAGE');
const version = requireEnv('SERVICE_VERSION');

/** GET /v1/health: liveness for load balancers, uptime checks and deploy smoke tests. */
export const handler = publicRoute({ auth: 'none', response: HealthResponse }, async () => ({
  status: 200,
  body: { status: 'ok' as const, version, stage },
}));
