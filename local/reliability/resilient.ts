/**
 * A well-behaved client for the reliability suites: repeats a request answered 503 or 429
 * after its Retry-After (capped, to keep runs short), and counts what it saw per route.
 */
import { findOperation } from '../test/contract';
import type { ApiClient, ApiResponse, RequestOptions } from '../test/http';

export interface RouteFigures {
  requests: number;
  statuses: Record<number, number>;
  latenciesMs: number[];
}

export class ResilientClient {
  readonly routes = new Map<string, RouteFigures>();
  retries = 0;
  /** 503s that were not clean: no `Retry-After`, or not the `service_unavailable` error body. */
  readonly unclean: string[] = [];

  constructor(
    readonly api: ApiClient,
    private readonly options: { maxAttempts?: number; maxWaitMs?: number } = {},
  ) {}

  private record(method: string, path: string, status: number, latencyMs: number): void {
    const route = `${method} ${findOperation(method, path)?.path ?? path}`;
    const figures = this.routes.get(route) ?? { requests: 0, statuses: {}, latenciesMs: [] };
    figures.requests += 1;
    figures.statuses[status] = (figures.statuses[status] ?? 0) + 1;
    figures.latenciesMs.push(latencyMs);
    this.routes.set(route, figures);
  }

  /** One request, repeated while it is answered 503/429; `retried` tells whether an attempt failed first. */
  async call<T = Record<string, unknown>>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T> & { retried: boolean }> {
    const maxAttempts = this.options.maxAttempts ?? 10;
    let retried = false;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const response = await this.api.request<T>(method, path, options);
      this.record(method, path, response.status, performance.now() - started);
      if (response.status === 503) {
        const code = (response.body as { error?: { code?: unknown } } | undefined)?.error?.code;
        if (!/^[1-9]\d*$/.test(response.headers.get('retry-after') ?? '') || code !== 'service_unavailable') this.unclean.push(`${method} ${path}: ${response.text.slice(0, 200)}`);
      }
      if ((response.status !== 503 && response.status !== 429) || attempt >= maxAttempts) return { ...response, retried };
      retried = true;
      this.retries += 1;
      const retryAfter = Number(response.headers.get('retry-after') ?? '1');
      await new Promise((resolve) => setTimeout(resolve, Math.min(Number.isFinite(retryAfter) ? retryAfter * 1000 : 1000, this.options.maxWaitMs ?? 2000)));
    }
  }

  get = <T = Record<string, unknown>>(path: string, options?: RequestOptions) => this.call<T>('GET', path, options);
  post = <T = Record<string, unknown>>(path: string, options?: RequestOptions) => this.call<T>('POST', path, options);
  patch = <T = Record<string, unknown>>(path: string, options?: RequestOptions) => this.call<T>('PATCH', path, options);
  delete = <T = Record<string, unknown>>(path: string, options?: RequestOptions) => this.call<T>('DELETE', path, options);

  /** Every answer by status, over all routes. */
  statusTotals(): Record<number, number> {
    const totals: Record<number, number> = {};
    for (const figures of this.routes.values()) for (const [status, count] of Object.entries(figures.statuses)) totals[Number(status)] = (totals[Number(status)] ?? 0) + count;
    return totals;
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
