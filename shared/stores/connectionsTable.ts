import { requireEnv } from '../config/env';
import { dynamo } from '../aws/dynamo';
import { dynamoConnectionStore } from './connections';

/** The open WebSocket connections of this stage (CONNECTIONS_TABLE). */
export const connections = dynamoConnectionStore(dynamo, requireEnv('CONNECTIONS_TABLE'));
