import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import type * as core from 'zod/v4/core';
import type { ErrorDetail } from './errors';

// zod/mini ships without messages; load only the English ones (importing `z.locales`
// would bundle every language, ~260 KB) so clients get readable details.
z.config(en());

/**
 * zod issues -> `details` of a 400 `validation_failed`. Paths are prefixed with where
 * the value came from (`body.email`, `query.limit`, `path.id`). Input values are never
 * echoed back: they may be passwords or tokens.
 */
export function validationDetails(error: core.$ZodError, location: string): ErrorDetail[] {
  return error.issues.slice(0, 20).map((issue) => ({
    path: [location, ...issue.path.map(String)].join('.'),
    message: issue.message,
    code: issue.code,
  }));
}
