import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { accountGuardsContract } from '../../local/test/contracts/accountGuards';
import { localStack } from '../../local/test/stack';
import { dynamo } from '../aws/dynamo';
import { requireEnv } from '../config/env';
import { dynamoAnalysisStore } from './analyses';
import { credentialsKey } from './keys';
import { dynamoMediaStore } from './media';
import { CredentialsChanged, dynamoSessionStore } from './sessions';
import { dynamoUserStore, type Credentials } from './users';

describe('account guards: DynamoDB stores (DynamoDB Local)', function () {
  this.timeout(60_000);
  before(async () => {
    await localStack();
  });

  accountGuardsContract(async () => {
    const tables = { users: requireEnv('USERS_TABLE'), sessions: requireEnv('SESSIONS_TABLE'), media: requireEnv('MEDIA_TABLE'), analyses: requireEnv('ANALYSES_TABLE') };
    return {
      users: dynamoUserStore(dynamo, tables.users),
      sessions: dynamoSessionStore(dynamo, tables.sessions, { usersTable: tables.users }),
      media: dynamoMediaStore(dynamo, tables.media, { usersTable: tables.users }),
      analyses: dynamoAnalysisStore(dynamo, tables.analyses, { mediaTable: tables.media }),
    };
  });

  it('credentials written before generations existed (no attribute) count as generation 0: sessions from them are accepted until the first change', async () => {
    const usersTable = requireEnv('USERS_TABLE');
    const users = dynamoUserStore(dynamo, usersTable);
    const sessions = dynamoSessionStore(dynamo, requireEnv('SESSIONS_TABLE'), { usersTable });
    const email = `${ulid().toLowerCase()}@example.com`;
    const userId = ulid();
    await dynamo.send(new PutCommand({ TableName: usersTable, Item: { ...credentialsKey(email), email, userId, passwordHash: 'legacy-hash' } }));
    const legacy = (await users.getCredentials(email)) as Credentials;
    expect(legacy.generation).to.equal(0);
    const now = new Date();
    const session = (id: string) => ({
      id,
      userId,
      createdAt: now.toISOString(),
      lastUsedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 60_000).toISOString(),
      remember: false,
      userAgent: '',
      currentHash: 'a'.repeat(64),
      previousHashes: [],
    });
    await sessions.create(session(ulid()), legacy);
    expect(await users.changePassword(legacy, 'new-hash')).to.equal(true);
    expect((await users.getCredentials(email))?.generation).to.equal(1);
    const error = await sessions.create(session(ulid()), legacy).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(CredentialsChanged);
  });
});
