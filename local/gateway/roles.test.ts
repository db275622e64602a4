import { expect } from 'chai';
import { decide } from './authorize';
import { liveAuthorizations } from './actions';
import { functionRoles, IntrinsicResolver, LOCAL_LIVE_API_ID } from './roles';
import { packagedTemplate, type PackagedTemplate } from './template';

const template: PackagedTemplate = {
  Resources: {
    MediaTable: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'media-library-local-media' } },
    WebsocketsApi: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'media-library-local-live', ProtocolType: 'WEBSOCKET' } },
    HttpApi: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'local-media-library', ProtocolType: 'HTTP' } },
  },
};

describe('the roles of the packaged template (local/gateway/roles)', () => {
  const resolver = new IntrinsicResolver(template);

  it("resolves a table's StreamArn to every label of its stream (the label is known only once the stream exists)", () => {
    expect(resolver.resolve({ 'Fn::GetAtt': ['MediaTable', 'StreamArn'] })).to.equal('arn:aws:dynamodb:us-east-1:123456789012:table/media-library-local-media/stream/*');
    expect(resolver.resolve({ 'Fn::GetAtt': 'MediaTable.StreamArn' })).to.equal('arn:aws:dynamodb:us-east-1:123456789012:table/media-library-local-media/stream/*');
  });

  it("resolves Ref of the WebSocket API to the fixed local API id, also inside Fn::Sub", () => {
    expect(resolver.resolve({ Ref: 'WebsocketsApi' })).to.equal(LOCAL_LIVE_API_ID);
    expect(resolver.resolve({ Ref: 'HttpApi' })).to.equal('local-http-api');
    expect(resolver.resolve({ 'Fn::Sub': 'arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${WebsocketsApi}/local/*/@connections/*' })).to.equal(
      'arn:aws:execute-api:us-east-1:123456789012:local-live-api/local/*/@connections/*',
    );
  });

  describe('as `serverless package --stage local` emits them', function () {
    // Packaging takes a few seconds when the template is not cached yet.
    this.timeout(180_000);

    it('pushChanges and openConnection may manage the connections of the local live API; the other live functions may not', async () => {
      const roles = functionRoles(await packagedTemplate('local'));
      const byName = (name: string) => [...roles.values()].find((candidate) => candidate.name === name);
      for (const [name, allowed] of [
        ['pushChanges', true],
        ['openConnection', true],
        ['closeConnection', false],
        ['answerMessage', false],
      ] as const) {
        const fnRole = byName(name);
        expect(fnRole, name).to.not.equal(undefined);
        for (const method of ['POST', 'DELETE']) {
          const [needed] = liveAuthorizations(method);
          expect(await decide(fnRole!, needed!), `${name} ${method}`).to.equal(allowed ? 'Allowed' : 'ImplicitlyDenied');
        }
      }
    });

    it("pushChanges reads the three tables' streams with its own role, and cannot list streams", async () => {
      const pushChanges = [...functionRoles(await packagedTemplate('local')).values()].find((candidate) => candidate.name === 'pushChanges')!;
      for (const table of ['media', 'analyses', 'sessions']) {
        const stream = `arn:aws:dynamodb:us-east-1:123456789012:table/media-library-local-${table}/stream/2026-01-16T10:00:00.000`;
        for (const action of ['dynamodb:DescribeStream', 'dynamodb:GetShardIterator', 'dynamodb:GetRecords']) expect(await decide(pushChanges, { action, resource: stream }), `${action} ${table}`).to.equal('Allowed');
      }
      expect(await decide(pushChanges, { action: 'dynamodb:GetRecords', resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/media-library-local-users/stream/x' })).to.equal('ImplicitlyDenied');
      expect(await decide(pushChanges, { action: 'dynamodb:ListStreams', resource: '*' })).to.equal('ImplicitlyDenied');
    });
  });
});
