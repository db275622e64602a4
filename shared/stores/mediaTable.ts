import { requireEnv } from '../config/env';
import { dynamo } from '../aws/dynamo';
import { dynamoMediaStore } from './media';

/** The media table of this stage (MEDIA_TABLE); new items only for active accounts (USERS_TABLE). */
export const media = dynamoMediaStore(dynamo, requireEnv('MEDIA_TABLE'), { usersTable: requireEnv('USERS_TABLE') });
