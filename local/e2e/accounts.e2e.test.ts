/**
 * Accounts and sessions over real HTTP: serverless-offline with the Lambda authorizer,
 * DynamoDB Local, the functions as bundled for deployment.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import { attackTokens } from '../test/tokens';
import { ApiClient, newAccount, type ApiResponse } from '../test/http';
import { badBodies } from '../test/badInput';
import { localStack, offlineApi } from '../test/stack';
import { TOOLING_CREDENTIALS } from '../stack/credentials';
import { requireEnv } from '../../shared/config/env';
import { sessionKey } from '../../shared/stores/keys';

interface Tokens {
  sessionId: string;
  tokenType: string;
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}
interface ErrorBody {
  error: { code: string; message: string };
}

describe('accounts and sessions over HTTP', function () {
  this.timeout(120_000);
  let api: ApiClient;

  before(async () => {
    api = new ApiClient((await offlineApi()).baseUrl);
  });

  async function signUpAndLogIn(remember = false) {
    const account = newAccount();
    const created = await api.post<{ id: string }>('/v1/users', { body: account });
    expect(created.status, created.text).to.equal(201);
    const session = await api.post<Tokens>('/v1/sessions', { body: { email: account.email, password: account.password, remember } });
    expect(session.status, session.text).to.equal(201);
    return { account, userId: created.body.id, tokens: session.body };
  }

  it('the whole flow: sign up, log in short and long, use, refresh, list, revoke, log out, delete', async () => {
    const account = newAccount('flow');
    const created = await api.post<{ id: string; email: string }>('/v1/users', { body: { ...account, email: account.email.toUpperCase() } });
    expect(created.status).to.equal(201);
    expect(created.body.email).to.equal(account.email);

    const short = await api.post<Tokens>('/v1/sessions', { body: { email: account.email, password: account.password } });
    const long = await api.post<Tokens>('/v1/sessions', { body: { email: account.email, password: account.password, remember: true }, headers: { 'user-agent': 'PhoneApp/1.0' } });
    expect(short.status).to.equal(201);
    expect(Date.parse(short.body.refreshTokenExpiresAt) - Date.now()).to.be.within(23.9 * 3600_000, 24 * 3600_000);
    expect(Date.parse(long.body.refreshTokenExpiresAt) - Date.now()).to.be.within(29.9 * 86400_000, 30 * 86400_000);

    const me = await api.get<{ id: string; email: string; name: string }>('/v1/users/me', { token: short.body.accessToken });
    expect(me.status).to.equal(200);
    expect(me.body).to.include({ id: created.body.id, email: account.email, name: account.name });

    const refreshed = await api.post<Tokens>('/v1/sessions/refresh', { body: { refreshToken: short.body.refreshToken } });
    expect(refreshed.status).to.equal(200);
    expect(refreshed.body.refreshToken).not.to.equal(short.body.refreshToken);
    expect((await api.get('/v1/users/me', { token: refreshed.body.accessToken })).status).to.equal(200);

    const reused = await api.post<ErrorBody>('/v1/sessions/refresh', { body: { refreshToken: short.body.refreshToken } });
    expect(reused.status).to.equal(401);
    expect(reused.body.error.code).to.equal('invalid_refresh_token');
    expect((await api.get('/v1/users/me', { token: refreshed.body.accessToken })).status, 'reuse revoked the whole session').to.equal(401);
    expect((await api.post('/v1/sessions/refresh', { body: { refreshToken: refreshed.body.refreshToken } })).status).to.equal(401);

    const third = await api.post<Tokens>('/v1/sessions', { body: { email: account.email, password: account.password } });
    const list = await api.get<{ items: Array<{ id: string; current: boolean; userAgent: string }> }>('/v1/sessions', { token: long.body.accessToken });
    expect(list.status).to.equal(200);
    expect(list.body.items.map((item) => item.id)).to.deep.equal([third.body.sessionId, long.body.sessionId]);
    expect(list.body.items.find((item) => item.current)?.id).to.equal(long.body.sessionId);
    expect(list.body.items.find((item) => item.current)?.userAgent).to.equal('PhoneApp/1.0');

    expect((await api.delete(`/v1/sessions/${third.body.sessionId}`, { token: long.body.accessToken })).status).to.equal(204);
    expect((await api.get('/v1/users/me', { token: third.body.accessToken })).status, 'revocation is immediate').to.equal(401);

    expect((await api.delete('/v1/sessions/current', { token: long.body.accessToken })).status).to.equal(204);
    expect((await api.get('/v1/users/me', { token: long.body.accessToken })).status, 'logout is immediate').to.equal(401);

    const again = await api.post<Tokens>('/v1/sessions', { body: { email: account.email, password: account.password } });
    expect((await api.delete('/v1/users/me', { token: again.body.accessToken, body: { password: 'not my password' } })).status).to.equal(403);
    expect((await api.delete('/v1/users/me', { token: again.body.accessToken, body: { password: account.password } })).status).to.equal(204);
    expect((await api.get('/v1/users/me', { token: again.body.accessToken })).status).to.equal(401);
    const gone = await api.post<ErrorBody>('/v1/sessions', { body: { email: account.email, password: account.password } });
    expect(gone.status, 'a deleted user cannot log in').to.equal(401);
    expect(gone.body.error.code).to.equal('invalid_credentials');
  });

  it('records when a session was last used, at most every 5 minutes (the authorizer writes it)', async () => {
    const { userId, tokens } = await signUpAndLogIn();
    const stack = await localStack();
    const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials: TOOLING_CREDENTIALS }));
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    await dynamo.send(new UpdateCommand({ TableName: requireEnv('SESSIONS_TABLE'), Key: sessionKey(userId, tokens.sessionId), UpdateExpression: 'SET lastUsedAt = :then', ExpressionAttributeValues: { ':then': tenMinutesAgo } }));
    expect((await api.get('/v1/users/me', { token: tokens.accessToken })).status).to.equal(200);
    const listed = await api.get<{ items: Array<{ id: string; lastUsedAt: string }> }>('/v1/sessions', { token: tokens.accessToken });
    const lastUsedAt = Date.parse(listed.body.items.find((item) => item.id === tokens.sessionId)?.lastUsedAt ?? '');
    expect(Date.now() - lastUsedAt, 'the use just now was recorded').to.be.below(60_000);
  });

  it('a password change revokes every other session and keeps this one', async () => {
    const { account, tokens } = await signUpAndLogIn();
    const other = await api.post<Tokens>('/v1/sessions', { body: { email: account.email, password: account.password } });
    const changed = await api.patch('/v1/users/me', { token: tokens.accessToken, body: { password: 'a whole new password', currentPassword: account.password } });
    expect(changed.status).to.equal(200);
    expect((await api.get('/v1/users/me', { token: tokens.accessToken })).status).to.equal(200);
    expect((await api.get('/v1/users/me', { token: other.body.accessToken })).status).to.equal(401);
    expect((await api.post('/v1/sessions', { body: { email: account.email, password: 'a whole new password' } })).status).to.equal(201);
  });

  it('publishes the JWKS that verifies access tokens', async () => {
    const jwks = await api.get<{ keys: Array<{ kid: string }> }>('/v1/.well-known/jwks.json');
    expect(jwks.status).to.equal(200);
    const { tokens } = await signUpAndLogIn();
    const kid = (JSON.parse(Buffer.from(tokens.accessToken.split('.')[0] as string, 'base64url').toString()) as { kid: string }).kid;
    expect(jwks.body.keys.map((key) => key.kid)).to.include(kid);
  });

  describe('token attacks on a protected route, each answered 401', () => {
    let attacks: Record<string, string>;
    let revokedToken: string;
    before(async () => {
      const { userId, tokens } = await signUpAndLogIn();
      attacks = attackTokens({ userId, sessionId: tokens.sessionId }, tokens.refreshToken);
      const victim = await signUpAndLogIn();
      revokedToken = victim.tokens.accessToken;
      expect((await api.delete('/v1/sessions/current', { token: revokedToken })).status).to.equal(204);
    });

    it('no token at all', async () => {
      expect((await api.get('/v1/users/me')).status).to.equal(401);
    });

    it('the token of a revoked session', async () => {
      expect((await api.get('/v1/users/me', { token: revokedToken })).status).to.equal(401);
    });

    for (const attack of ['garbage', 'alg none', 'HS256 signed with the public key', 'expired', 'wrong iss', 'wrong aud', 'wrong typ', 'unknown kid', 'signed by another key', 'tampered payload', 'refresh token as access token']) {
      it(attack, async () => {
        const token = attacks[attack];
        expect(token, attack).to.be.a('string');
        const response = await api.get('/v1/users/me', { token: token as string });
        expect(response.status).to.equal(401);
        expect(response.text).not.to.contain('@example.com');
      });
    }
  });

  describe('concurrency', () => {
    it('20 parallel sign-ups with one email: exactly one 201, the rest 409 email_taken', async () => {
      const account = newAccount('race');
      const responses = await Promise.all(Array.from({ length: 20 }, () => api.post<ErrorBody>('/v1/users', { body: account })));
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 201)).to.have.length(1);
      expect(statuses.filter((status) => status === 409)).to.have.length(19);
    });

    it('10 parallel refreshes with one refresh token: at most one 200', async () => {
      const { tokens } = await signUpAndLogIn();
      const responses = await Promise.all(Array.from({ length: 10 }, () => api.post('/v1/sessions/refresh', { body: { refreshToken: tokens.refreshToken } })));
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 200)).to.have.length.at.most(1);
      expect(statuses.every((status) => status === 200 || status === 401), statuses.join(',')).to.equal(true);
    });
  });

  it('the 6th failed login within 15 minutes gets 429 with Retry-After', async () => {
    const { account } = await signUpAndLogIn();
    for (let i = 0; i < 5; i++) {
      expect((await api.post('/v1/sessions', { body: { email: account.email, password: `wrong guess ${i}` } })).status).to.equal(401);
    }
    const locked = await api.post<ErrorBody>('/v1/sessions', { body: { email: account.email, password: account.password } });
    expect(locked.status).to.equal(429);
    expect(Number(locked.headers.get('retry-after'))).to.be.within(1, 60);
    expect(locked.body.error.code).to.equal('too_many_attempts');
  });

  describe('bad input on every endpoint gets a 4xx JSON error, never a 5xx', () => {
    let tokens: Tokens;
    before(async () => {
      tokens = (await signUpAndLogIn()).tokens;
    });

    const bodyRoutes: Array<[string, string, Record<string, unknown>, boolean]> = [
      ['POST', '/v1/users', newAccount(), false],
      ['POST', '/v1/sessions', { email: 'a@example.com', password: 'whatever pw' }, false],
      ['POST', '/v1/sessions/refresh', { refreshToken: 'x' }, false],
      ['PATCH', '/v1/users/me', { name: 'New name' }, true],
      ['DELETE', '/v1/users/me', { password: 'whatever pw' }, true],
    ];
    for (const [method, path, valid, needsToken] of bodyRoutes) {
      for (const bad of badBodies(valid)) {
        it(`${method} ${path}: ${bad.what} -> ${bad.status}`, async () => {
          const response: ApiResponse<ErrorBody> = await api.request<ErrorBody>(method, path, {
            ...(needsToken ? { token: tokens.accessToken } : {}),
            rawBody: bad.rawBody ?? JSON.stringify(bad.body),
            headers: { 'content-type': bad.contentType ?? 'application/json' },
          });
          expect(response.status, response.text).to.equal(bad.status);
          expect(response.body.error.code).to.be.oneOf([bad.code, bad.offlineCode ?? bad.code]);
          expect(response.headers.get('x-request-id')).to.be.a('string');
        });
      }
    }

    for (const [path, what] of [
      ['/v1/sessions?limit=0', 'limit 0'],
      ['/v1/sessions?limit=abc', 'a non-numeric limit'],
      ['/v1/sessions?cursor=%21%21', 'a garbage cursor'],
      ['/v1/sessions?cursor=eyJwayI6IlVTRVIjMDFBUlozTkRFS1RTVjRSUkZGUTY5RzVGQVYiLCJzayI6IlNFU1NJT04jMDFBUlozTkRFS1RTVjRSUkZGUTY5RzVGQVYifQ', "a cursor into someone else's sessions"],
    ] as const) {
      it(`GET ${path} (${what}) -> 400`, async () => {
        const response = await api.get<ErrorBody>(path, { token: tokens.accessToken });
        expect(response.status).to.equal(400);
      });
    }

    for (const id of ['not-an-id', '01ARZ3NDEKTSV4RRFFQ69G5FAV']) {
      it(`DELETE /v1/sessions/${id} -> 4xx`, async () => {
        const response = await api.delete<ErrorBody>(`/v1/sessions/${id}`, { token: tokens.accessToken });
        expect(response.status).to.be.oneOf([400, 404]);
      });
    }
  });
});
