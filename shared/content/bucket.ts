import { requireEnv } from '../config/env';
import { s3 } from '../aws/s3';
import { s3ContentStore } from './s3Content';

/** The media bucket of this stage (MEDIA_BUCKET). */
export const content = s3ContentStore(s3, requireEnv('MEDIA_BUCKET'));
