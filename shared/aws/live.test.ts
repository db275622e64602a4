import { DeleteConnectionCommand, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { expect } from 'chai';
import sinon from 'sinon';
import { liveApi, liveConnections } from './live';

/** liveConnections over a Management API client that answers as told (nothing is sent). */
describe('shared/aws/live (pushing to WebSocket connections)', () => {
  afterEach(() => sinon.restore());

  const gone = (): Error => new GoneException({ message: 'gone', $metadata: { httpStatusCode: 410 } });
  const goneByStatus = (): Error => Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 410 } });
  const throttled = (): Error => Object.assign(new Error('Too many requests'), { name: 'LimitExceededException', $metadata: { httpStatusCode: 429 } });

  it('sends the message as the frame’s data to the connection: sent', async () => {
    const send = sinon.stub(liveApi, 'send').resolves({});
    expect(await liveConnections.send('abc=', '{"type":"media.deleted"}')).to.equal('sent');
    const command = send.firstCall.args[0] as PostToConnectionCommand;
    expect(command).to.be.instanceOf(PostToConnectionCommand);
    expect(command.input.ConnectionId).to.equal('abc=');
    expect(Buffer.from(command.input.Data as Uint8Array).toString()).to.equal('{"type":"media.deleted"}');
  });

  it('a connection that is gone (GoneException, or any 410) is an outcome, not an error', async () => {
    sinon.stub(liveApi, 'send').onFirstCall().rejects(gone()).onSecondCall().rejects(goneByStatus());
    expect(await liveConnections.send('abc=', '{}')).to.equal('gone');
    expect(await liveConnections.send('abc=', '{}')).to.equal('gone');
  });

  it('any other failure of a send is thrown (the stream delivers the change again)', async () => {
    const error = throttled();
    sinon.stub(liveApi, 'send').rejects(error);
    let thrown: unknown;
    await liveConnections.send('abc=', '{}').catch((caught: unknown) => (thrown = caught));
    expect(thrown).to.equal(error);
  });

  it('closes a connection; one already gone is no error, any other failure is', async () => {
    const error = throttled();
    const send = sinon.stub(liveApi, 'send').onFirstCall().resolves({}).onSecondCall().rejects(gone()).onThirdCall().rejects(error);
    await liveConnections.close('abc=');
    expect(send.firstCall.args[0]).to.be.instanceOf(DeleteConnectionCommand);
    expect((send.firstCall.args[0] as unknown as DeleteConnectionCommand).input).to.deep.equal({ ConnectionId: 'abc=' });
    await liveConnections.close('abc=');
    let thrown: unknown;
    await liveConnections.close('abc=').catch((caught: unknown) => (thrown = caught));
    expect(thrown).to.equal(error);
  });
});
