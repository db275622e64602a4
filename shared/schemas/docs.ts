import * as z from 'zod/mini';

/**
 * `GET /docs` (no file: the page) and `GET /docs/{file}` (one of its assets; an unknown name
 * is a 404). One function serves both routes.
 */
export const DocsAssetParams = z.strictObject({ file: z.optional(z.string().check(z.minLength(1), z.maxLength(64))) });
