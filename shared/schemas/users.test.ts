import { expect } from 'chai';
import * as z from 'zod/mini';
import { PASSWORD_MIN_LENGTH } from '../auth/passwordPolicy';
import { CreateUserBody, UpdateUserBody } from './users';

function problems(schema: z.ZodMiniType, value: unknown): Array<{ path: string; message: string }> {
  const result = z.safeParse(schema, value);
  if (result.success) return [];
  return result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

const password = 'p'.repeat(PASSWORD_MIN_LENGTH);

describe('shared/schemas/users', () => {
  describe('UpdateUserBody (PATCH /v1/users/me)', () => {
    it('accepts a new name alone, trimmed', () => {
      expect(z.parse(UpdateUserBody, { name: '  Ann  ' })).to.deep.equal({ name: 'Ann' });
    });

    it('accepts a new password together with the current one', () => {
      expect(z.parse(UpdateUserBody, { password, currentPassword: 'old secret' })).to.deep.equal({ password, currentPassword: 'old secret' });
    });

    it('refuses a new password without the current one, pointing at currentPassword', () => {
      expect(problems(UpdateUserBody, { password })).to.deep.equal([{ path: 'currentPassword', message: 'currentPassword is required to change the password' }]);
      expect(problems(UpdateUserBody, { name: 'Ann', password })).to.deep.equal([{ path: 'currentPassword', message: 'currentPassword is required to change the password' }]);
    });

    it('refuses a body that changes nothing (the current password alone is not a change)', () => {
      expect(problems(UpdateUserBody, {})).to.deep.equal([{ path: '', message: 'Give a name or a password to change' }]);
      expect(problems(UpdateUserBody, { currentPassword: 'old secret' })).to.deep.equal([{ path: '', message: 'Give a name or a password to change' }]);
    });
  });

  it('CreateUserBody: one account per email whatever its case and spacing', () => {
    expect(z.parse(CreateUserBody, { email: ' Ann@Example.COM ', password, name: 'Ann' })).to.deep.equal({ email: 'ann@example.com', password, name: 'Ann' });
  });
});
