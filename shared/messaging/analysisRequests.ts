import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod/mini';
import { Id } from '../schemas/common';

/** What the request handler publishes and the worker receives: which job to run. */
export const AnalysisRequestMessage = z.object({ userId: Id, analysisId: Id });
export type AnalysisRequestMessage = z.infer<typeof AnalysisRequestMessage>;

export interface AnalysisQueue {
  /** `requestId`: the request asking for the analysis, sent along as the message attribute `requestId`. */
  publish(message: AnalysisRequestMessage, requestId?: string): Promise<void>;
}

export function snsAnalysisQueue(client: SNSClient, topicArn: string): AnalysisQueue {
  return {
    async publish(message, requestId) {
      const attributes = requestId === undefined ? {} : { MessageAttributes: { requestId: { DataType: 'String', StringValue: requestId } } };
      await client.send(new PublishCommand({ TopicArn: topicArn, Message: JSON.stringify(message), ...attributes }));
    },
  };
}
