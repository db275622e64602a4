import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { expect } from 'chai';
import sinon from 'sinon';
import { getParameter } from './ssm';

describe('shared/aws/ssm getParameter', () => {
  afterEach(() => sinon.restore());

  it('asks for the decrypted value of the named parameter', async () => {
    const send = sinon.stub(SSMClient.prototype, 'send').resolves({ Parameter: { Value: '{"keys":[]}' } });
    expect(await getParameter('/media-library/dev/jwt/private')).to.equal('{"keys":[]}');
    const command = send.firstCall.args[0] as GetParameterCommand;
    expect(command).to.be.instanceOf(GetParameterCommand);
    expect(command.input).to.deep.equal({ Name: '/media-library/dev/jwt/private', WithDecryption: true });
  });

  it('fails loudly when the parameter has no value', async () => {
    sinon.stub(SSMClient.prototype, 'send').resolves({ Parameter: {} });
    let error: Error | undefined;
    await getParameter('/x').catch((caught: Error) => (error = caught));
    expect(error?.message).to.contain('/x');
  });
});
