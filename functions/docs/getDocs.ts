import swaggerUiBundle from 'swagger-ui-dist/swagger-ui-bundle.js';
import swaggerUiCss from 'swagger-ui-dist/swagger-ui.css';
import { NotFound } from '../../shared/http/errors';
import { publicRoute } from '../../shared/http/handler';
import { DocsAssetParams } from '../../shared/schemas/docs';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Media Library API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// A file, not an inline script: the page's Content-Security-Policy allows scripts from 'self' only.
const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/v1/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
});
`;

// Swagger UI's files, bundled as text by esbuild: no CDN, no node_modules in the zip.
const ASSETS: Record<string, { contentType: string; text: string }> = {
  'swagger-ui-bundle.js': { contentType: 'text/javascript; charset=utf-8', text: swaggerUiBundle },
  'swagger-ui.css': { contentType: 'text/css; charset=utf-8', text: swaggerUiCss },
  'init.js': { contentType: 'text/javascript; charset=utf-8', text: INIT },
};

/** Swagger UI needs scripts and styles from this origin, and inline style attributes. */
const CONTENT_SECURITY_POLICY = {
  'default-src': "'none'",
  'script-src': "'self'",
  'style-src': "'self' 'unsafe-inline'",
  'img-src': "'self' data:",
  'font-src': "'self' data:",
  'connect-src': "'self'",
  'base-uri': "'none'",
  'form-action': "'none'",
  'frame-ancestors': "'none'",
  'navigate-to': false,
  'report-to': false,
  'require-trusted-types-for': false,
  'trusted-types': false,
  sandbox: false,
  'upgrade-insecure-requests': false,
} as const;

/** GET /docs and GET /docs/{file}: Swagger UI over /v1/openapi.json, from the swagger-ui-dist package. */
export const handler = publicRoute(
  { auth: 'none', params: DocsAssetParams, contentSecurityPolicy: CONTENT_SECURITY_POLICY },
  async ({ params }) => {
    if (params.file === undefined) {
      return { status: 200, text: PAGE, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' } };
    }
    const asset = Object.hasOwn(ASSETS, params.file) ? ASSETS[params.file] : undefined;
    if (asset === undefined) throw new NotFound('asset_not_found', 'No such file');
    return { status: 200, text: asset.text, headers: { 'content-type': asset.contentType, 'cache-control': 'public, max-age=86400' } };
  },
);
