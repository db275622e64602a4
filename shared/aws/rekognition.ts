import { RekognitionClient } from '@aws-sdk/client-rekognition';

/** Amazon Rekognition, used by the analysis worker on stages that enable labels. */
export const rekognition = new RekognitionClient({ maxAttempts: 3 });
