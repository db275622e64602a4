import { requireEnv } from '../config/env';
import { verificationKeyLoader } from './keys';

/** The stage's public keys (JWKS): all a verifier needs, never the private key. */
export const verificationKeys = verificationKeyLoader(requireEnv('JWT_PUBLIC_KEYS'));
