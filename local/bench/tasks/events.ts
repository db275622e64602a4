/** The S3 and SNS events Lambda hands to the event-driven functions, for in-process invocations. */
import type { S3Event, SNSEvent } from 'aws-lambda';
import { newId } from '../../../shared/ids';
import { s3Event as s3EventOf } from '../../test/events';

/** S3 ObjectCreated for one object of the media bucket (the tests' builder). */
export const s3Event = (key: string): S3Event => s3EventOf([key], { bucket: process.env['MEDIA_BUCKET'] as string });

/** One SNS notification carrying `message` as JSON (the analysis request topic). */
export function snsEvent(message: unknown): SNSEvent {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:bench',
        Sns: {
          Type: 'Notification',
          MessageId: newId(),
          TopicArn: process.env['ANALYSIS_TOPIC_ARN'] as string,
          Subject: '',
          Message: JSON.stringify(message),
          Timestamp: new Date().toISOString(),
          SignatureVersion: '1',
          Signature: '',
          SigningCertUrl: '',
          UnsubscribeUrl: '',
          MessageAttributes: {},
        },
      },
    ],
  };
}
