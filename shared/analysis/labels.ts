import { DetectLabelsCommand, type RekognitionClient } from '@aws-sdk/client-rekognition';

export interface Label {
  name: string;
  confidence: number;
}

export interface Labeler {
  /** Labels of an image stored in S3 (Rekognition reads it there, with our role's permission). */
  detect(bucket: string, key: string): Promise<Label[]>;
}

export const MAX_LABELS = 10;
export const MIN_CONFIDENCE = 70;

export function rekognitionLabeler(client: RekognitionClient): Labeler {
  return {
    async detect(bucket, key) {
      const { Labels } = await client.send(
        new DetectLabelsCommand({ Image: { S3Object: { Bucket: bucket, Name: key } }, MaxLabels: MAX_LABELS, MinConfidence: MIN_CONFIDENCE }),
      );
      return (Labels ?? [])
        .filter((label) => typeof label.Name === 'string' && typeof label.Confidence === 'number')
        .map((label) => ({ name: label.Name as string, confidence: Math.round((label.Confidence as number) * 10) / 10 }))
        .sort((a, b) => b.confidence - a.confidence);
    },
  };
}
