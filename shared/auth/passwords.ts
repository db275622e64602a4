import { hash, verify, type Algorithm } from '@node-rs/argon2';

/**
 * Password hashing: argon2id with OWASP's minimum parameters (m = 19 MiB, t = 2, p = 1).
 * The PHC string stores the parameters, so raising them later keeps old hashes verifiable.
 */
// `Algorithm` is a const enum (inlined at compile time, unavailable to per-file transpilers): 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;
export const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * Verified instead of a real hash when the email is unknown, so that an unknown email and a
 * wrong password cost the same time and cannot be told apart (argon2id, same parameters,
 * of a random password nobody knows).
 */
export const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$3SHZEI+HJPIbuF+CUrmtvQ$eN/14L6PuoKqL7bjbniXNR+Rh5ccmtQdER1kSwMdC3o';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(passwordHash: string | undefined, password: string): Promise<boolean>;
}

export const argon2Hasher: PasswordHasher = {
  hash: (password) => hash(password, ARGON2_OPTIONS),
  async verify(passwordHash, password) {
    try {
      const ok = await verify(passwordHash ?? DUMMY_HASH, password);
      return passwordHash !== undefined && ok;
    } catch {
      return false;
    }
  },
};
