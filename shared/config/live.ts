import type { LiveSettings } from '../domain/live';
import { requireIntEnv } from './env';

/** Live-update settings of this stage (shared/config/stages/<stage>.yml, `live`). */
export const liveSettings: LiveSettings = {
  maxConnectionsPerUser: requireIntEnv('LIVE_MAX_CONNECTIONS_PER_USER', { min: 1, max: 100 }),
};
