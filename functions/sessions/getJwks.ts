import { verificationKeys } from '../../shared/auth/verifier';
import { publicRoute } from '../../shared/http/handler';
import { JwksResponse } from '../../shared/schemas/sessions';

/** GET /v1/.well-known/jwks.json: the public keys (current and previous) that verify our signatures. */
export const handler = publicRoute({ auth: 'none', response: JwksResponse }, async () => ({
  status: 200,
  body: (await verificationKeys()).jwks,
  // Verifiers may cache the set for a few minutes; rotations keep the previous key published.
  headers: { 'cache-control': 'public, max-age=300' },
}));
