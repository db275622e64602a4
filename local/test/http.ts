/**
 * A small JSON client for the end-to-end suites (loopback only). Every response is checked
 * against docs/openapi.v1.json (./contract.ts) unless a request opts out with `contract: false`
 * (requests that are off the contract on purpose, such as unknown routes).
 */
import { checkHttpResponse } from './contract';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
  /** false: do not check this response against the OpenAPI document. */
  contract?: boolean;
}

export class ApiClient {
  constructor(readonly baseUrl: string) {
    if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(baseUrl)) throw new Error(`refusing a non-loopback base URL: ${baseUrl}`);
  }

  async request<T = Record<string, unknown>>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers['content-type'] ??= 'application/json';
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    const started = Date.now();
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(options.rawBody !== undefined ? { body: options.rawBody } : options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (error) {
      // Say which request failed, and when: a connection closed after 30 s is a timeout, at once a crash.
      throw new Error(`${method} ${path} failed after ${Date.now() - started} ms: ${error instanceof Error ? `${error.message} (${String((error as { cause?: unknown }).cause)})` : String(error)}`, { cause: error });
    }
    const text = await response.text();
    if (options.contract !== false) {
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
      checkHttpResponse(method, path, { status: response.status, headers, text });
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: response.status, headers: response.headers, body: body as T, text };
  }

  get<T = Record<string, unknown>>(path: string, options?: RequestOptions) {
    return this.request<T>('GET', path, options);
  }
  post<T = Record<string, unknown>>(path: string, options?: RequestOptions) {
    return this.request<T>('POST', path, options);
  }
  patch<T = Record<string, unknown>>(path: string, options?: RequestOptions) {
    return this.request<T>('PATCH', path, options);
  }
  delete<T = Record<string, unknown>>(path: string, options?: RequestOptions) {
    return this.request<T>('DELETE', path, options);
  }
}

/** A fresh, unique test account's sign-up body. */
export function newAccount(prefix = 'user'): { email: string; password: string; name: string } {
  const unique = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return { email: `${prefix}-${unique}@example.com`, password: `pw-${unique}-long-enough`, name: `${prefix} ${unique}` };
}
