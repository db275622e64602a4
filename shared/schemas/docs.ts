import * as z from 'zod/mini';

/**
 * `GET /docs` (no file: the page) and `GET /docs/{file}` (one of its assets; an unknown name
 * is a 404, whatever it looks like: the route has no 400). One function serves both routes.
 */
export const DocsAssetParams = z.object({ file: z.optional(z.string()) });
