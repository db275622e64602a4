import { requireEnv } from '../config/env';
import { dynamo } from '../aws/dynamo';
import { dynamoSessionStore } from './sessions';

/** The sessions table of this stage (SESSIONS_TABLE); logins check the credentials they verified (USERS_TABLE). */
export const sessions = dynamoSessionStore(dynamo, requireEnv('SESSIONS_TABLE'), { usersTable: requireEnv('USERS_TABLE') });
