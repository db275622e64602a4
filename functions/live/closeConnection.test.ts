/** WebSocket $disconnect in process, as the closeConnection function, against the run's DynamoDB Local. */
import type { APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { expect } from 'chai';
import sinon from 'sinon';
import { ulid } from 'ulid';
import { connectionOf } from '../../local/test/contracts/connectionStore';
import { lambdaContext, websocketEvent } from '../../local/test/events';
import { asFunction } from '../../local/test/identity';
import { localStack } from '../../local/test/stack';
import { dynamo } from '../../shared/aws/dynamo';
import { requireEnv } from '../../shared/config/env';
import { logger } from '../../shared/log';
import { dynamoConnectionStore } from '../../shared/stores/connections';
import { handler } from './closeConnection';

const disconnect = (connectionId: string): Promise<{ statusCode: number }> =>
  asFunction('closeConnection', () =>
    (handler as unknown as (event: APIGatewayProxyWebsocketEventV2, context: Context) => Promise<{ statusCode: number }>)(
      websocketEvent('$disconnect', { connectionId }),
      lambdaContext('closeConnection'),
    ),
  );

describe('closeConnection (WebSocket $disconnect; DynamoDB Local)', function () {
  this.timeout(60_000);
  const connections = dynamoConnectionStore(dynamo, requireEnv('CONNECTIONS_TABLE'));

  before(async () => {
    await localStack();
  });
  afterEach(() => sinon.restore());

  it('forgets the connection, leaving the user’s others, and logs whose it was', async () => {
    const userId = ulid();
    const [closing, staying] = [connectionOf(userId, new Date(), 2000), connectionOf(userId, new Date(), 1000)];
    await connections.add(closing, 10);
    await connections.add(staying, 10);
    const info = sinon.spy(logger, 'info');

    expect(await disconnect(closing.id)).to.deep.equal({ statusCode: 200 });

    expect(await connections.ofUser(userId, new Date())).to.deep.equal([staying]);
    expect(info.getCalls().map((call) => call.args)).to.deep.include(['connection closed', { connectionId: closing.id, userId }]);
  });

  it('answers 200 for a connection it does not know (closed by a push, or $disconnect delivered twice)', async () => {
    const info = sinon.spy(logger, 'info');
    const connectionId = `${ulid().slice(-15)}=`;
    expect(await disconnect(connectionId)).to.deep.equal({ statusCode: 200 });
    expect(info.getCalls().map((call) => call.args)).to.deep.include(['connection closed', { connectionId, known: false }]);
  });

  it('fails (for API Gateway to log) when DynamoDB fails', async () => {
    sinon.stub(dynamo, 'send').rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    let failure: unknown;
    await disconnect(`${ulid().slice(-15)}=`).catch((error: unknown) => (failure = error));
    expect(failure).to.have.property('name', 'ProvisionedThroughputExceededException');
  });
});
