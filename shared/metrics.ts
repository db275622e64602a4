import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as Unit } from '@aws-lambda-powertools/metrics/types';

/**
 * The product's own figures (docs/operations.md): CloudWatch metrics in the namespace
 * `MediaLibrary` with the dimension `service` (POWERTOOLS_SERVICE_NAME), written as embedded
 * metric format log lines (Powertools Metrics): no API call, no permission, nothing to wait for.
 * Each is published at once on its own line, so the dimensions of one never mix with another's.
 * The alarms and the dashboard that read them are in local/serverless/operations.cjs.
 */
export const METRICS_NAMESPACE = 'MediaLibrary';

export type BusinessMetric = 'SignUps' | 'Logins' | 'LoginLocks' | 'RefreshTokenReuse' | 'Uploads' | 'Analyses' | 'Callbacks' | 'Pushes';
export type MeasuredMetric = 'ProcessingTime' | 'ProcessedBytes' | 'AnalysisTime';

const metrics = new Metrics({ namespace: METRICS_NAMESPACE });

function publish(name: string, unit: Unit, value: number, dimensions: Record<string, string>): void {
  const single = metrics.singleMetric();
  for (const [dimension, dimensionValue] of Object.entries(dimensions)) single.addDimension(dimension, dimensionValue);
  single.addMetric(name, unit, value);
}

/** Counts `value` events now; `dimensions` (low cardinality only: outcomes, types) split the metric. */
export function countEvent(name: BusinessMetric, dimensions: Record<string, string> = {}, value = 1): void {
  publish(name, MetricUnit.Count, value, dimensions);
}

/** Records one measurement: milliseconds for the *Time metrics, bytes for ProcessedBytes. */
export function measure(name: MeasuredMetric, value: number, dimensions: Record<string, string> = {}): void {
  publish(name, name === 'ProcessedBytes' ? MetricUnit.Bytes : MetricUnit.Milliseconds, value, dimensions);
}
