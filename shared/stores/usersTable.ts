import { requireEnv } from '../config/env';
import { dynamo } from '../aws/dynamo';
import { dynamoUserStore } from './users';

/** The users table of this stage (USERS_TABLE), for functions that need accounts. */
export const users = dynamoUserStore(dynamo, requireEnv('USERS_TABLE'));
