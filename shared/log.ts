import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one structured JSON logger. Service name and level come from
 * POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL (set per stage in serverless.yml);
 * the HTTP layer adds `requestId` and Powertools adds the function name and cold-start flag.
 * Never log request bodies, tokens or passwords: log ids and outcomes.
 */
export const logger = new Logger();
