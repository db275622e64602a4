/** What the functions' metrics (shared/metrics.ts) wrote while `work` ran: the EMF lines, read back. */
export interface EmittedMetric {
  namespace: string;
  name: string;
  value: number;
  dimensions: Record<string, string>;
}

interface EmfLine {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
  [key: string]: unknown;
}

export async function capturedMetrics(work: () => Promise<void>): Promise<EmittedMetric[]> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const disabled = process.env['POWERTOOLS_METRICS_DISABLED'];
  process.env['POWERTOOLS_METRICS_DISABLED'] = 'false';
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.startsWith('{"_aws"')) {
      lines.push(text);
      return true;
    }
    return (write as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean)(chunk, ...rest);
  });
  try {
    await work();
  } finally {
    process.stdout.write = write;
    if (disabled === undefined) delete process.env['POWERTOOLS_METRICS_DISABLED'];
    else process.env['POWERTOOLS_METRICS_DISABLED'] = disabled;
  }
  return lines.flatMap((line) => {
    const emf = JSON.parse(line) as EmfLine;
    return emf._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.map((metric) => ({
        namespace: directive.Namespace,
        name: metric.Name,
        value: Number(emf[metric.Name]),
        dimensions: Object.fromEntries((directive.Dimensions[0] ?? []).map((dimension) => [dimension, String(emf[dimension])])),
      })),
    );
  });
}
