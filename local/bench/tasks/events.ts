/** The S3 and SNS events Lambda hands to the event-driven functions, for in-process invocations. */
import type { S3Event, SNSEvent } from 'aws-lambda';
import { newId } from '../../../shared/ids';

/** S3 ObjectCreated for one object of the media bucket (as the int tests build it). */
export function s3Event(key: string): S3Event {
  const bucket = process.env['MEDIA_BUCKET'] as string;
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Post',
        userIdentity: { principalId: 'bench' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'r', 'x-amz-id-2': 'i' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'processUpload',
          bucket: { name: bucket, ownerIdentity: { principalId: 'bench' }, arn: `arn:aws:s3:::${bucket}` },
          object: { key, size: 0, eTag: 'e', sequencer: '1' },
        },
      },
    ],
  };
}

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
