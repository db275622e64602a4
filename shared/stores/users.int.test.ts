import { expect } from 'chai';
import { ulid } from 'ulid';
import { userStoreContract } from '../../local/test/contracts/userStore';
import { localStack } from '../../local/test/stack';
import { dynamo } from '../aws/dynamo';
import { requireEnv } from '../config/env';
import { dynamoUserStore, EmailTaken, type UserProfile } from './users';

describe('UserStore contract: DynamoDB (DynamoDB Local)', function () {
  this.timeout(60_000);
  before(async () => {
    await localStack();
  });

  userStoreContract(async () => dynamoUserStore(dynamo, requireEnv('USERS_TABLE')));

  it('20 concurrent sign-ups with one email: exactly one account', async () => {
    const store = dynamoUserStore(dynamo, requireEnv('USERS_TABLE'));
    const email = `${ulid().toLowerCase()}@example.com`;
    const now = new Date().toISOString();
    const profiles: UserProfile[] = Array.from({ length: 20 }, () => ({ id: ulid(), email, name: 'Racer', createdAt: now, updatedAt: now, status: 'active' }));
    const results = await Promise.allSettled(profiles.map((profile) => store.create(profile, 'hash')));
    const created = results.filter((result) => result.status === 'fulfilled');
    expect(created).to.have.length(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).to.be.instanceOf(EmailTaken);
    }
    const owner = (await store.getCredentials(email))?.userId;
    const existing = await Promise.all(profiles.map((profile) => store.getProfile(profile.id)));
    expect(existing.filter((profile) => profile !== undefined).map((profile) => profile?.id)).to.deep.equal([owner]);
  });
});
