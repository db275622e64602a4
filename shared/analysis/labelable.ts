// Apart from labels.ts, so that functions deciding this do not bundle the Rekognition client.

/** What DetectLabels can read from S3: JPEG and PNG, up to 15 MB (the Rekognition quotas). */
const READABLE_TYPES = new Set(['image/jpeg', 'image/png']);
export const MAX_LABEL_BYTES = 15 * 1024 * 1024;

/** Whether Rekognition can label this original at all (WebP, GIF and larger images it cannot). */
export const labelable = (contentType: string, size: number): boolean => READABLE_TYPES.has(contentType) && size <= MAX_LABEL_BYTES;
