import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * The product's own figures (docs/operations.md): CloudWatch metrics in the namespace
 * `MediaLibrary` with the dimension `service` (POWERTOOLS_SERVICE_NAME), written as embedded
 * metric format log lines (Powertools Metrics): no API call, no permission, nothing to wait for.
 * Each is published at once on its own line, so the dimensions of one never mix with another's.
 * The alarms and the dashboard that read them are in local/serverless/operations.cjs.
 */
export const METRICS_NAMESPACE = 'MediaLibrary';

export type BusinessMetric = 'SignUps' | 'Logins' | 'LoginLocks';

const metrics = new Metrics({ namespace: METRICS_NAMESPACE });

/** Counts one event now; `dimensions` (low cardinality only: outcomes, types) split the metric. */
export function countEvent(name: BusinessMetric, dimensions: Record<string, string> = {}, value = 1): void {
  const single = metrics.singleMetric();
  for (const [dimension, dimensionValue] of Object.entries(dimensions)) single.addDimension(dimension, dimensionValue);
  single.addMetric(name, MetricUnit.Count, value);
}
