import type { APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { expect } from 'chai';
import sinon from 'sinon';
import { lambdaContext, websocketEvent } from '../../local/test/events';
import { logger } from '../../shared/log';
import { LiveError } from '../../shared/schemas/live';
import { handler } from './answerMessage';

type Reply = { statusCode: number; body: string };
const send = (body: string | undefined): Promise<Reply> =>
  (handler as unknown as (event: APIGatewayProxyWebsocketEventV2, context: Context) => Promise<Reply>)(
    websocketEvent('$default', { connectionId: 'abcdefghijklmno=', ...(body === undefined ? {} : { body }) }),
    lambdaContext('answerMessage'),
  );

describe('answerMessage (WebSocket $default)', () => {
  afterEach(() => sinon.restore());

  it('answers a ping with a pong, on the same connection (the route’s response)', async () => {
    expect(await send('{"type":"ping"}')).to.deep.equal({ statusCode: 200, body: '{"type":"pong"}' });
  });

  for (const [what, body] of [
    ['junk', 'hello'],
    ['a ping with extra fields', '{"type":"ping","token":"secret"}'],
    ['an array', '[{"type":"ping"}]'],
    ['null', 'null'],
    ['no body', undefined],
    ['a ping padded past 1 KB', `{"type":"ping"}${' '.repeat(1010)}`],
  ] as Array<[string, string | undefined]>) {
    it(`answers ${what} with an error message and keeps the connection (200)`, async () => {
      const reply = await send(body);
      expect(reply.statusCode).to.equal(200);
      const message = LiveError.parse(JSON.parse(reply.body));
      expect(message.code).to.equal('unknown_message');
    });
  }

  it('logs an unknown message by its connection, never its content', async () => {
    const info = sinon.spy(logger, 'info');
    await send('{"type":"ping","token":"secret"}');
    expect(info.getCalls().map((call) => call.args)).to.deep.equal([['unknown message', { connectionId: 'abcdefghijklmno=' }]]);
  });

  it('needs nothing from AWS: no AWS SDK among its modules (its role allows nothing but its logs)', () => {
    const seen = new Set<string>();
    const visit = (module: NodeJS.Module | undefined): void => {
      if (module === undefined || seen.has(module.filename)) return;
      seen.add(module.filename);
      module.children.forEach(visit);
    };
    visit(require.cache[require.resolve('./answerMessage')]);
    expect(seen.size).to.be.greaterThan(3);
    expect([...seen].filter((file) => file.includes('/@aws-sdk/') || file.includes('/shared/aws/'))).to.deep.equal([]);
  });
});
