import { requireIntEnv } from './env';
import type { MediaSettings } from '../domain/media';

/** Upload limits and URL lifetimes of this stage (shared/config/stages/<stage>.yml, `media`). */
export const mediaSettings: MediaSettings = {
  maxImageBytes: requireIntEnv('MAX_IMAGE_BYTES', { min: 1 }),
  maxVideoBytes: requireIntEnv('MAX_VIDEO_BYTES', { min: 1 }),
  uploadUrlSeconds: requireIntEnv('UPLOAD_URL_SECONDS', { min: 60, max: 7 * 24 * 3600 }),
  downloadUrlSeconds: requireIntEnv('DOWNLOAD_URL_SECONDS', { min: 10, max: 7 * 24 * 3600 }),
};
