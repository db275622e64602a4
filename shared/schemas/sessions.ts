import * as z from 'zod/mini';
import { PASSWORD_MAX_LENGTH } from '../auth/passwordPolicy';
import { Id, IsoTimestamp } from './common';
import { Email } from './users';

export const CreateSessionBody = z.strictObject({
  email: Email,
  // Login accepts any length up to the maximum: the rules of the day apply to new passwords only.
  password: z.string().check(z.minLength(1), z.maxLength(PASSWORD_MAX_LENGTH)),
  remember: z._default(z.boolean(), false),
});

export const RefreshSessionBody = z.strictObject({ refreshToken: z.string().check(z.minLength(1), z.maxLength(512)) });

export const SessionTokensResponse = z.object({
  sessionId: Id,
  tokenType: z.literal('Bearer'),
  accessToken: z.string(),
  accessTokenExpiresAt: IsoTimestamp,
  refreshToken: z.string(),
  refreshTokenExpiresAt: IsoTimestamp,
});

export const SessionView = z.object({
  id: Id,
  createdAt: IsoTimestamp,
  lastUsedAt: IsoTimestamp,
  expiresAt: IsoTimestamp,
  userAgent: z.string(),
  current: z.boolean(),
});

export const SessionListResponse = z.object({ items: z.array(SessionView), nextCursor: z.nullable(z.string()) });

/** `DELETE /v1/sessions/{id}`: a session id, or `current` for the session making the request. */
export const SessionIdParams = z.strictObject({ id: z.union([z.literal('current'), Id]) });

export const JwksResponse = z.object({
  keys: z.array(
    z.object({
      kty: z.literal('EC'),
      crv: z.literal('P-256'),
      alg: z.literal('ES256'),
      use: z.literal('sig'),
      kid: z.string(),
      x: z.string(),
      y: z.string(),
    }),
  ),
});
