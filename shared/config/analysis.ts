import type { AnalysisSettings } from '../domain/analyses';
import { requireEnv, requireIntEnv } from './env';

const flag = (name: string): boolean => {
  const value = requireEnv(name);
  if (value !== 'true' && value !== 'false') throw new Error(`${name} must be true or false, got "${value}"`);
  return value === 'true';
};

/** Analysis settings of this stage (shared/config/stages/<stage>.yml, `analysis`). */
export const analysisSettings: AnalysisSettings = {
  leaseSeconds: requireIntEnv('ANALYSIS_LEASE_SECONDS', { min: 10, max: 3600 }),
  labelsEnabled: flag('REKOGNITION_LABELS'),
  callbackPolicy: { allowLoopback: flag('CALLBACK_ALLOW_LOOPBACK') },
};
