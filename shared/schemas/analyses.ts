import * as z from 'zod/mini';
import { Id, IsoTimestamp } from './common';

export const CreateAnalysisBody = z.optional(z.strictObject({
  callbackUrl: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
}));

export const AnalysisIdParams = z.strictObject({ id: Id });

export const AnalysisResponse = z.object({
  id: Id,
  mediaId: Id,
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  createdAt: IsoTimestamp,
  updatedAt: IsoTimestamp,
  result: z.optional(
    z.object({
      perceptualHash: z.string(),
      dominantColors: z.array(z.object({ hex: z.string(), ratio: z.number() })),
      similarMedia: z.array(z.object({ mediaId: Id, distance: z.number() })),
      labels: z.nullable(z.array(z.object({ name: z.string(), confidence: z.number() }))),
      labelsSource: z.enum(['rekognition', 'disabled', 'unsupported']),
    }),
  ),
  error: z.optional(z.object({ code: z.string(), message: z.string() })),
  callback: z.optional(
    z.object({
      url: z.string(),
      status: z.enum(['delivered', 'failed']),
      attempts: z.number(),
      statusCode: z.optional(z.number()),
      error: z.optional(z.string()),
      lastAttemptAt: IsoTimestamp,
    }),
  ),
});
