/**
 * The local edge: one origin for the web app and the API, as CloudFront gives them on AWS
 * (`/v1/*` and `/docs*` to the HTTP API, everything else to the app). `npm start` puts it on the
 * API port, serverless-offline behind it on an internal port.
 */
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface EdgeOptions {
  port: number;
  /** serverless-offline's HTTP API. */
  api: string;
  /** A built single-page app to serve for every other path (index.html as the fallback), if there is one. */
  appDir?: string;
  /** The S3 endpoint the app's uploads, thumbnails and videos use (img-src, media-src, connect-src). */
  storageOrigins?: string[];
  /** The live-updates WebSocket (connect-src only). */
  liveOrigins?: string[];
  /** What `/` answers while there is no app. */
  landingPage: () => string;
  /**
   * The app's runtime settings, served as /config.json (on AWS, local/delivery/deploy-web.ts
   * uploads it from the stack's outputs): where the live-updates WebSocket is.
   */
  appConfig?: Record<string, unknown>;
}

export interface RunningEdge {
  url: string;
  stop(): Promise<void>;
}

const API_PATHS = /^\/(v1(\/|$)|docs(\/|$))/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

function proxy(target: URL, request: IncomingMessage, response: ServerResponse): void {
  const upstream = http.request(
    { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: { ...request.headers, host: request.headers.host ?? target.host } },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  upstream.once('error', () => {
    if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
    response.end('the local API is not answering');
  });
  request.pipe(upstream);
}

/**
 * The app's security headers, the same policy CloudFront's response headers policy sets on AWS
 * (serverless.yml): script and style from our own origin only, images, media and uploads also
 * from the storage origin, no framing. Served locally so a violation shows up here first.
 */
export function appSecurityHeaders(storageOrigins: string[], liveOrigins: string[] = []): Record<string, string> {
  const storage = storageOrigins.join(' ');
  return {
    'content-security-policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      `img-src 'self' blob: data: ${storage}`,
      `media-src 'self' blob: ${storage}`,
      `connect-src 'self' ${[...storageOrigins, ...liveOrigins].join(' ')}`,
      "worker-src 'self'",
      "object-src 'none'",
      "frame-ancestors 'none'",
      "base-uri 'self'",
      "form-action 'self'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'strict-origin-when-cross-origin',
  };
}

function serveApp(appDir: string, headers: Record<string, string>, request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://local');
  const file = path.join(appDir, path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ''));
  const inside = file.startsWith(appDir + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile();
  // The SPA fallback: every path that is not a file is the app's own route.
  const chosen = inside ? file : path.join(appDir, 'index.html');
  const hashed = inside && /\/assets\//.test(url.pathname);
  response.writeHead(200, {
    'content-type': TYPES[path.extname(chosen)] ?? 'application/octet-stream',
    'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...headers,
  });
  fs.createReadStream(chosen).pipe(response);
}

export async function startEdge(options: EdgeOptions): Promise<RunningEdge> {
  const api = new URL(options.api);
  const headers = appSecurityHeaders(options.storageOrigins ?? [], options.liveOrigins ?? []);
  const server = http.createServer((request, response) => {
    const pathname = (request.url ?? '/').split('?')[0] as string;
    if (API_PATHS.test(pathname)) return proxy(api, request, response);
    if (pathname === '/config.json' && options.appConfig !== undefined && (request.method === 'GET' || request.method === 'HEAD')) {
      const body = JSON.stringify(options.appConfig);
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-cache' }).end(request.method === 'HEAD' ? undefined : body);
      return;
    }
    if (options.appDir !== undefined && fs.existsSync(path.join(options.appDir, 'index.html'))) return serveApp(options.appDir, headers, request, response);
    if (pathname === '/' && (request.method === 'GET' || request.method === 'HEAD')) {
      const body = options.landingPage();
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-cache' }).end(request.method === 'HEAD' ? undefined : body);
      return;
    }
    return proxy(api, request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
