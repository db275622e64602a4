/**
 * Password rules, apart from the hashing module so that schemas can use them without
 * pulling the native argon2 binding into every bundle.
 */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;
