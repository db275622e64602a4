import { expect } from 'chai';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { lambdaContext } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { attackTokens, validToken } from '../../local/test/tokens';
import { newRefreshToken } from '../../shared/auth/refreshTokens';

type Authorizer = (event: APIGatewayRequestAuthorizerEventV2, context: unknown) => Promise<{ isAuthorized: boolean; context: Record<string, string> }>;

function authorizerEvent(authorization: string | undefined, headerName = 'authorization'): APIGatewayRequestAuthorizerEventV2 {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/v1/users/me',
    identitySource: authorization === undefined ? [] : [authorization],
    routeKey: 'GET /v1/users/me',
    rawPath: '/v1/users/me',
    rawQueryString: '',
    headers: authorization === undefined ? {} : { [headerName]: authorization },
    requestContext: {} as APIGatewayRequestAuthorizerEventV2['requestContext'],
  } as APIGatewayRequestAuthorizerEventV2;
}

describe('authorizer (HTTP API Lambda authorizer)', () => {
  let world: HandlerWorld;
  let authorize: Authorizer;
  const subject = { userId: '01JD8X5Q2W4K6M8N0P2R4T6V8X', sessionId: '01JD8X5Q2W4K6M8N0P2R4T6V9A' };

  beforeEach(async () => {
    world = handlerWorld();
    authorize = loadHandler('functions/sessions/authorizer', world) as Authorizer;
    const now = Date.now();
    await world.sessions.create({
      id: subject.sessionId,
      userId: subject.userId,
      createdAt: new Date(now).toISOString(),
      lastUsedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 3600_000).toISOString(),
      remember: false,
      userAgent: '',
      currentHash: 'a'.repeat(64),
      previousHashes: [],
    });
  });

  const denied = async (event: APIGatewayRequestAuthorizerEventV2): Promise<string> => {
    try {
      await authorize(event, lambdaContext('authorizer'));
    } catch (error) {
      return (error as Error).message;
    }
    return 'allowed';
  };

  it('allows a valid token of a live session and passes {userId, sessionId} to the route', async () => {
    const result = await authorize(authorizerEvent(`Bearer ${validToken(subject)}`), lambdaContext('authorizer'));
    expect(result).to.deep.equal({ isAuthorized: true, context: subject });
  });

  it('reads the header whatever its case (serverless-offline keeps `Authorization`)', async () => {
    const result = await authorize(authorizerEvent(`Bearer ${validToken(subject)}`, 'Authorization'), lambdaContext('authorizer'));
    expect(result.isAuthorized).to.equal(true);
  });

  it('falls back to the identity source when the headers are not passed', async () => {
    const event = authorizerEvent(`Bearer ${validToken(subject)}`);
    event.headers = {};
    expect((await authorize(event, lambdaContext('authorizer'))).isAuthorized).to.equal(true);
  });

  it('fails (500 at the gateway, never an allow) when the verification keys cannot be loaded', async () => {
    const failing = loadHandler('functions/sessions/authorizer', world, {
      '../../shared/auth/verifier': { verificationKeys: () => Promise.reject(new Error('SSM unavailable')) },
    }) as Authorizer;
    let message = 'allowed';
    await failing(authorizerEvent(`Bearer ${validToken(subject)}`), lambdaContext('authorizer')).catch((error: Error) => (message = error.message));
    expect(message).to.equal('SSM unavailable');
  });

  it('denies (401 "Unauthorized") without a token or with another scheme', async () => {
    expect(await denied(authorizerEvent(undefined))).to.equal('Unauthorized');
    expect(await denied(authorizerEvent('Basic dXNlcjpwYXNz'))).to.equal('Unauthorized');
  });

  it('denies the token of a revoked session: logout takes effect on the next request', async () => {
    const token = validToken(subject);
    await world.sessions.delete(subject.userId, subject.sessionId);
    expect(await denied(authorizerEvent(`Bearer ${token}`))).to.equal('Unauthorized');
  });

  it('denies the token of an expired session even before DynamoDB’s TTL removes it', async () => {
    const stored = await world.sessions.get(subject.userId, subject.sessionId);
    world.sessions.records.set(`${subject.userId}/${subject.sessionId}`, { ...(stored as NonNullable<typeof stored>), expiresAt: new Date(Date.now() - 1000).toISOString() });
    expect(await denied(authorizerEvent(`Bearer ${validToken(subject)}`))).to.equal('Unauthorized');
  });

  for (const [attack, token] of Object.entries(attackTokens(subject, newRefreshToken(subject.userId, subject.sessionId).token))) {
    it(`denies ${attack}`, async () => {
      expect(await denied(authorizerEvent(`Bearer ${token}`))).to.equal('Unauthorized');
    });
  }

  it('lets a request through marked `unavailable` when DynamoDB fails, carrying no caller (the function answers 503)', async () => {
    world.sessions.get = () => Promise.reject(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    const result = await authorize(authorizerEvent(`Bearer ${validToken(subject)}`), lambdaContext('authorizer'));
    expect(result).to.deep.equal({ isAuthorized: true, context: { userId: '', sessionId: '', unavailable: 'true' } });
  });

  it('does the same when the verification keys cannot be loaded because SSM is throttling', async () => {
    const failing = loadHandler('functions/sessions/authorizer', world, {
      '../../shared/auth/verifier': { verificationKeys: () => Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })) },
    }) as Authorizer;
    const result = await failing(authorizerEvent(`Bearer ${validToken(subject)}`), lambdaContext('authorizer'));
    expect(result.context).to.deep.equal({ userId: '', sessionId: '', unavailable: 'true' });
  });

  it('still denies a bad token outright while DynamoDB fails (the signature needs no database)', async () => {
    world.sessions.get = () => Promise.reject(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    expect(await denied(authorizerEvent('Bearer not.a.token'))).to.equal('Unauthorized');
  });

  it('allows a live session even when recording its use fails (lastUsedAt is best effort)', async () => {
    const stored = await world.sessions.get(subject.userId, subject.sessionId);
    world.sessions.records.set(`${subject.userId}/${subject.sessionId}`, { ...(stored as NonNullable<typeof stored>), lastUsedAt: new Date(Date.now() - 3600_000).toISOString() });
    world.sessions.touch = () => Promise.reject(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    const result = await authorize(authorizerEvent(`Bearer ${validToken(subject)}`), lambdaContext('authorizer'));
    expect(result).to.deep.equal({ isAuthorized: true, context: subject });
  });

  it('lets other failures surface as errors (API Gateway answers 500), never as an allow', async () => {
    world.sessions.get = () => Promise.reject(new TypeError('a bug'));
    expect(await denied(authorizerEvent(`Bearer ${validToken(subject)}`))).to.equal('a bug');
  });
});
