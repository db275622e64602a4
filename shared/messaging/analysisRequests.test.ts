import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { expect } from 'chai';
import sinon from 'sinon';
import * as z from 'zod/mini';
import { sns } from '../aws/sns';
import { AnalysisRequestMessage, snsAnalysisQueue } from './analysisRequests';

describe('analysis request messages', () => {
  afterEach(() => sinon.restore());

  it('publishes {userId, analysisId} as JSON to the topic', async () => {
    const send = sinon.stub(SNSClient.prototype, 'send').resolves({ MessageId: 'm-1' });
    const message = { userId: '01JD8X5Q2W4K6M8N0P2R4T6V8X', analysisId: '01JD8X5Q2W4K6M8N0P2R4T6V9A' };
    await snsAnalysisQueue(sns, 'arn:aws:sns:us-east-1:123456789012:requests').publish(message);
    const command = send.firstCall.args[0] as PublishCommand;
    expect(command).to.be.instanceOf(PublishCommand);
    expect(command.input).to.deep.equal({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:requests', Message: JSON.stringify(message) });
  });

  it('lets a publish failure reach the caller', async () => {
    sinon.stub(SNSClient.prototype, 'send').rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    let error: Error | undefined;
    await snsAnalysisQueue(sns, 'arn').publish({ userId: '01JD8X5Q2W4K6M8N0P2R4T6V8X', analysisId: '01JD8X5Q2W4K6M8N0P2R4T6V9A' }).catch((caught: Error) => (error = caught));
    expect(error?.name).to.equal('ThrottlingException');
  });

  it('the worker accepts only messages naming two ids', () => {
    expect(z.safeParse(AnalysisRequestMessage, { userId: '01JD8X5Q2W4K6M8N0P2R4T6V8X', analysisId: '01JD8X5Q2W4K6M8N0P2R4T6V9A' }).success).to.equal(true);
    for (const bad of [{}, { userId: 'x', analysisId: 'y' }, null, 'string', { userId: '01JD8X5Q2W4K6M8N0P2R4T6V8X' }]) {
      expect(z.safeParse(AnalysisRequestMessage, bad).success, JSON.stringify(bad)).to.equal(false);
    }
  });
});
