import { requireEnv } from '../config/env';
import { dynamo } from '../aws/dynamo';
import { dynamoAnalysisStore } from './analyses';

/** The analyses table of this stage (ANALYSES_TABLE); new jobs only for ready media items (MEDIA_TABLE). */
export const analyses = dynamoAnalysisStore(dynamo, requireEnv('ANALYSES_TABLE'), { mediaTable: requireEnv('MEDIA_TABLE') });
