import * as z from 'zod/mini';
import { ID_PATTERN } from '../ids';

/** Ids are ULIDs; anything else in a path is rejected before a store is asked. */
export const Id = z.string().check(z.regex(ID_PATTERN, 'Not a valid id'));

export const IsoTimestamp = z.iso.datetime();

/** `?limit&cursor` of every list: limit 1–100, default 25; cursors are opaque. */
export const PageQuery = z.strictObject({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 25),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
});

export const ErrorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.optional(z.array(z.object({ path: z.string(), message: z.string(), code: z.optional(z.string()) }))),
    requestId: z.optional(z.string()),
    existingId: z.optional(z.string()),
  }),
});
