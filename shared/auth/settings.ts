import { requireEnv } from '../config/env';

/** Token issuer and audience of this stage: a token of one stage is worthless on another. */
export const tokenAudience = { issuer: requireEnv('JWT_ISSUER'), audience: requireEnv('JWT_AUDIENCE') };
