import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';

/**
 * Ids are ULIDs: random (80 bits of entropy, never sequential or guessable) yet sortable
 * by creation time, which lets "newest first" listings come straight from a key order.
 */
export const newId = (): string => ulid();

export const ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** 256 random bits, base64url: refresh-token secrets and similar. */
export const randomSecret = (): string => randomBytes(32).toString('base64url');
