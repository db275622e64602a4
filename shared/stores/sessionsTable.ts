import { requireEnv } from '../config/env';
import { dynamo } from '../aws/dynamo';
import { dynamoSessionStore } from './sessions';

/** The sessions table of this stage (SESSIONS_TABLE). */
export const sessions = dynamoSessionStore(dynamo, requireEnv('SESSIONS_TABLE'));
