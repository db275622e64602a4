import { requireEnv } from '../config/env';
import { sns } from '../aws/sns';
import { snsAnalysisQueue } from './analysisRequests';

/** The analysis request topic of this stage (ANALYSIS_TOPIC_ARN). */
export const analysisQueue = snsAnalysisQueue(sns, requireEnv('ANALYSIS_TOPIC_ARN'));
