import * as z from 'zod/mini';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/passwordPolicy';
import { Id, IsoTimestamp } from './common';
import { normalizedString, normalizeText } from './text';

/** Trimmed and lower-cased before it is checked, so " Ann@Example.COM " and "ann@example.com" are one account. */
export const Email = z.pipe(z.string().check(z.trim(), z.toLowerCase()), z.email().check(z.maxLength(254)));
export const Password = z.string().check(z.minLength(PASSWORD_MIN_LENGTH), z.maxLength(PASSWORD_MAX_LENGTH));
export const DisplayName = normalizedString(normalizeText, z.minLength(1), z.maxLength(100));

export const CreateUserBody = z.strictObject({ email: Email, password: Password, name: DisplayName });

export const UpdateUserBody = z
  .strictObject({
    name: z.optional(DisplayName),
    password: z.optional(Password),
    currentPassword: z.optional(z.string().check(z.minLength(1), z.maxLength(PASSWORD_MAX_LENGTH))),
  })
  .check(
    z.refine((body) => body.name !== undefined || body.password !== undefined, { message: 'Give a name or a password to change', path: [] }),
    z.refine((body) => body.password === undefined || body.currentPassword !== undefined, {
      message: 'currentPassword is required to change the password',
      path: ['currentPassword'],
    }),
  );

export const DeleteUserBody = z.strictObject({ password: z.string().check(z.minLength(1), z.maxLength(PASSWORD_MAX_LENGTH)) });

/** What clients see of an account: never the password hash or internal state. */
export const UserResponse = z.object({ id: Id, email: z.string(), name: z.string(), createdAt: IsoTimestamp });
