import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { systemClock } from '../../shared/clock';
import { content } from '../../shared/content/bucket';
import { sweepUploads } from '../../shared/domain/media';
import { logger } from '../../shared/log';
import { media } from '../../shared/stores/mediaTable';

/** Hourly (and `npm run sweep` locally): removes pending items older than 24 hours and their bytes. */
export const handler = middy<unknown, { swept: number }, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => {
    const swept = await sweepUploads({ media, content, clock: systemClock });
    logger.info('pending uploads swept', { swept });
    return { swept };
  });
