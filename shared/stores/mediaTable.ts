import { requireEnv } from '../config/env';
import { dynamo } from '../aws/dynamo';
import { dynamoMediaStore } from './media';

/** The media table of this stage (MEDIA_TABLE). */
export const media = dynamoMediaStore(dynamo, requireEnv('MEDIA_TABLE'));
