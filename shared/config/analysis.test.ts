import path from 'node:path';
import { expect } from 'chai';
import proxyquire from 'proxyquire';
import type { AnalysisSettings } from '../domain/analyses';

function load(env: Record<string, string>): AnalysisSettings {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return (proxyquire.noPreserveCache()(path.join(__dirname, 'analysis'), {}) as { analysisSettings: AnalysisSettings }).analysisSettings;
  } finally {
    process.env = saved;
  }
}

describe('shared/config/analysis', () => {
  it('reads the lease and the two switches of the stage', () => {
    expect(load({ ANALYSIS_LEASE_SECONDS: '90', REKOGNITION_LABELS: 'true', CALLBACK_ALLOW_LOOPBACK: 'false' })).to.deep.equal({
      leaseSeconds: 90,
      labelsEnabled: true,
      callbackPolicy: { allowLoopback: false },
    });
  });

  it('fails loudly at start-up for a switch that is not true or false', () => {
    expect(() => load({ ANALYSIS_LEASE_SECONDS: '90', REKOGNITION_LABELS: 'yes', CALLBACK_ALLOW_LOOPBACK: 'false' })).to.throw('REKOGNITION_LABELS must be true or false');
  });
});
