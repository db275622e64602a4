import { sessionStoreContract } from '../../local/test/contracts/sessionStore';
import { localStack } from '../../local/test/stack';
import { dynamo } from '../aws/dynamo';
import { requireEnv } from '../config/env';
import { dynamoSessionStore } from './sessions';

describe('SessionStore contract: DynamoDB (DynamoDB Local)', function () {
  this.timeout(60_000);
  before(async () => {
    await localStack();
  });

  sessionStoreContract(async () => dynamoSessionStore(dynamo, requireEnv('SESSIONS_TABLE')));
});
