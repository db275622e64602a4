import { DetectLabelsCommand, type DetectLabelsCommandOutput, type RekognitionClient } from '@aws-sdk/client-rekognition';
import { expect } from 'chai';
import sinon from 'sinon';
import { MAX_LABELS, MIN_CONFIDENCE, rekognitionLabeler } from './labels';

function stubClient(): { client: RekognitionClient; send: sinon.SinonStub } {
  const send = sinon.stub();
  return { client: { send } as unknown as RekognitionClient, send };
}

const output = (labels: DetectLabelsCommandOutput['Labels']): Partial<DetectLabelsCommandOutput> => ({ Labels: labels, $metadata: {} });

describe('analysis/labels', () => {
  it('limits: 10 labels of at least 70% confidence', () => {
    expect(MAX_LABELS).to.equal(10);
    expect(MIN_CONFIDENCE).to.equal(70);
  });

  it('sends one DetectLabelsCommand for the S3 object, with MaxLabels and MinConfidence', async () => {
    const { client, send } = stubClient();
    send.resolves(output([]));
    await rekognitionLabeler(client).detect('media-bucket', 'users/u1/media/m1/original');
    expect(send.callCount).to.equal(1);
    const [command] = send.firstCall.args as [unknown];
    expect(command).to.be.instanceOf(DetectLabelsCommand);
    expect((command as DetectLabelsCommand).input).to.deep.equal({
      Image: { S3Object: { Bucket: 'media-bucket', Name: 'users/u1/media/m1/original' } },
      MaxLabels: MAX_LABELS,
      MinConfidence: MIN_CONFIDENCE,
    });
  });

  it('maps labels to {name, confidence} rounded to 0.1, most confident first', async () => {
    const { client, send } = stubClient();
    send.resolves(
      output([
        { Name: 'Tree', Confidence: 71.04 },
        { Name: 'Beach', Confidence: 99.96 },
        { Name: 'Sea', Confidence: 87.65, Instances: [], Parents: [{ Name: 'Water' }] },
        { Name: 'Sky', Confidence: 92.349 },
      ]),
    );
    expect(await rekognitionLabeler(client).detect('b', 'k')).to.deep.equal([
      { name: 'Beach', confidence: 100 },
      { name: 'Sky', confidence: 92.3 },
      { name: 'Sea', confidence: 87.7 },
      { name: 'Tree', confidence: 71 },
    ]);
  });

  it('drops entries without a Name or a Confidence', async () => {
    const { client, send } = stubClient();
    send.resolves(output([{ Name: 'Dog', Confidence: 80 }, { Confidence: 95 }, { Name: 'Cat' }, {}, { Name: 'Animal', Confidence: 90.01 }]));
    expect(await rekognitionLabeler(client).detect('b', 'k')).to.deep.equal([
      { name: 'Animal', confidence: 90 },
      { name: 'Dog', confidence: 80 },
    ]);
  });

  it('no Labels in the answer: []', async () => {
    const { client, send } = stubClient();
    send.resolves({ $metadata: {} });
    expect(await rekognitionLabeler(client).detect('b', 'k')).to.deep.equal([]);
    send.resolves(output([]));
    expect(await rekognitionLabeler(client).detect('b', 'k')).to.deep.equal([]);
  });

  it('a client error propagates', async () => {
    const { client, send } = stubClient();
    const failure = Object.assign(new Error('Unable to get object metadata from S3'), { name: 'InvalidS3ObjectException' });
    send.rejects(failure);
    let caught: unknown;
    try {
      await rekognitionLabeler(client).detect('b', 'missing');
    } catch (error) {
      caught = error;
    }
    expect(caught).to.equal(failure);
  });
});
