import { expect } from 'chai';
import sinon from 'sinon';
import * as z from 'zod/mini';
import { httpEvent, invoke, lambdaContext } from '../../local/test/events';
import { logger } from '../log';
import { Conflict, Forbidden, TooManyRequests } from './errors';
import { MAX_BODY_BYTES, protectedRoute, publicRoute } from './handler';

const Body = z.strictObject({ email: z.email(), password: z.string().check(z.minLength(10)) });
const Echo = z.object({ email: z.string() });

const createThing = publicRoute({ auth: 'none', body: Body, response: Echo }, async ({ body }) => ({
  status: 201,
  body: { email: body.email, password: body.password } as { email: string },
}));

const errorBody = (response: { body: unknown }) => (response.body as { error: { code: string; message: string; details?: Array<{ path: string }>; requestId?: string } }).error;

describe('shared/http handler', () => {
  afterEach(() => sinon.restore());

  describe('success responses', () => {
    it('answers JSON with x-request-id (the API Gateway request id), no-store and security headers', async () => {
      const response = await invoke(createThing, { method: 'POST', body: { email: 'a@example.com', password: 'correct horse' }, requestId: 'req-123' });
      expect(response.status).to.equal(201);
      expect(response.headers['x-request-id']).to.equal('req-123');
      expect(response.headers['content-type']).to.equal('application/json; charset=utf-8');
      expect(response.headers['cache-control']).to.equal('no-store');
      expect(response.headers['x-content-type-options']).to.equal('nosniff');
      expect(response.headers['strict-transport-security']).to.match(/max-age=/);
    });

    it('strips fields the response schema does not declare (no stray secrets leak)', async () => {
      const response = await invoke(createThing, { method: 'POST', body: { email: 'a@example.com', password: 'correct horse' } });
      expect(response.body).to.deep.equal({ email: 'a@example.com' });
    });

    it('decodes base64-encoded bodies', async () => {
      const rawBody = Buffer.from(JSON.stringify({ email: 'b@example.com', password: 'correct horse' })).toString('base64');
      const response = await invoke(createThing, { method: 'POST', rawBody, isBase64Encoded: true, headers: { 'content-type': 'application/json' } });
      expect(response.status).to.equal(201);
      expect(response.body).to.deep.equal({ email: 'b@example.com' });
    });

    it('reads headers case-insensitively (serverless-offline keeps their case)', async () => {
      const response = await invoke(createThing, {
        method: 'POST',
        rawBody: JSON.stringify({ email: 'c@example.com', password: 'correct horse' }),
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
      });
      expect(response.status).to.equal(201);
    });

    it('uses the Lambda request id when API Gateway gives none, and under serverless-offline (which repeats one placeholder)', async () => {
      const route = publicRoute({ auth: 'none' }, async ({ requestId }) => ({ status: 200, body: { requestId } }));
      const context = lambdaContext();
      const event = httpEvent({ requestId: 'offlineContext_resourceId' });
      process.env['IS_OFFLINE'] = 'true';
      try {
        const offline = await (route as unknown as (e: unknown, c: unknown) => Promise<{ headers: Record<string, string> }>)(event, context);
        expect(offline.headers['x-request-id']).to.equal(context.awsRequestId);
      } finally {
        delete process.env['IS_OFFLINE'];
      }
      const bare = httpEvent();
      delete (bare.requestContext as unknown as Record<string, unknown>)['requestId'];
      bare.headers = undefined as unknown as Record<string, string>;
      const other = lambdaContext();
      const result = await (route as unknown as (e: unknown, c: unknown) => Promise<{ headers: Record<string, string>; body: string }>)(bare, other);
      expect(result.headers['x-request-id']).to.equal(other.awsRequestId);
      expect(JSON.parse(result.body)).to.deep.equal({ requestId: other.awsRequestId });
    });

    it('sends an empty body for 204', async () => {
      const noContent = publicRoute({ auth: 'none' }, async () => ({ status: 204 }));
      const response = await invoke(noContent);
      expect(response.status).to.equal(204);
      expect(response.body).to.equal(undefined);
      expect(response.headers['x-request-id']).to.be.a('string');
    });
  });

  describe('bad input gets a 4xx JSON error and never reaches the handler', () => {
    let reached: sinon.SinonSpy;
    let guarded: ReturnType<typeof publicRoute>;
    beforeEach(() => {
      reached = sinon.spy();
      guarded = publicRoute({ auth: 'none', body: Body }, async () => {
        reached();
        return { status: 200, body: {} };
      });
    });

    it('413 for a body over 64 KB', async () => {
      const rawBody = JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(MAX_BODY_BYTES) });
      const response = await invoke(guarded, { method: 'POST', rawBody, headers: { 'content-type': 'application/json' } });
      expect(response.status).to.equal(413);
      expect(errorBody(response).code).to.equal('payload_too_large');
      expect(reached.called).to.equal(false);
    });

    it('accepts a body of exactly 64 KB', async () => {
      const padding = MAX_BODY_BYTES - JSON.stringify({ email: 'a@example.com', password: '' }).length;
      const rawBody = JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(padding) });
      expect(Buffer.byteLength(rawBody)).to.equal(MAX_BODY_BYTES);
      const response = await invoke(guarded, { method: 'POST', rawBody, headers: { 'content-type': 'application/json' } });
      expect(response.status).to.equal(200);
    });

    it('415 for a body that is not declared as JSON', async () => {
      const response = await invoke(guarded, { method: 'POST', rawBody: 'email=a@example.com', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(response.status).to.equal(415);
      expect(errorBody(response).code).to.equal('unsupported_media_type');
      expect(reached.called).to.equal(false);
    });

    it('415 for a body without any Content-Type', async () => {
      const response = await invoke(guarded, { method: 'POST', rawBody: '{}' });
      expect(response.status).to.equal(415);
    });

    it('400 invalid_json for malformed JSON', async () => {
      const response = await invoke(guarded, { method: 'POST', rawBody: '{"email": "a@example.com",', headers: { 'content-type': 'application/json' } });
      expect(response.status).to.equal(400);
      expect(errorBody(response).code).to.equal('invalid_json');
      expect(reached.called).to.equal(false);
    });

    it('400 validation_failed with field details, without echoing the values', async () => {
      const response = await invoke(guarded, { method: 'POST', body: { email: 'not-an-email', password: 'short-pw', admin: true } });
      expect(response.status).to.equal(400);
      const error = errorBody(response);
      expect(error.code).to.equal('validation_failed');
      const paths = (error.details ?? []).map((detail) => detail.path);
      expect(paths).to.include.members(['body.email', 'body.password', 'body']);
      expect(JSON.stringify(response.body)).not.to.contain('short-pw');
      expect(reached.called).to.equal(false);
    });

    it('400 when a required body is missing', async () => {
      const response = await invoke(guarded, { method: 'POST' });
      expect(response.status).to.equal(400);
      expect(errorBody(response).details?.[0]?.path).to.equal('body');
    });

    it('400 validation_failed for a string that is not well-formed Unicode (a lone surrogate from a JSON escape), naming where', async () => {
      const lone = '{"email": "a@example.com", "password": "0123456789\\udcf6"}';
      const response = await invoke(guarded, { method: 'POST', rawBody: lone, headers: { 'content-type': 'application/json' } });
      expect(response.status).to.equal(400);
      expect(errorBody(response).code).to.equal('validation_failed');
      expect(errorBody(response).details?.[0]?.path).to.equal('body.password');
      const nested = await invoke(guarded, { method: 'POST', rawBody: '{"list": [{"\\ud800": 1}]}', headers: { 'content-type': 'application/json' } });
      expect(errorBody(nested).details?.[0]?.path).to.equal('body.list.0');
      expect(reached.called).to.equal(false);
      // A well-formed pair of surrogates (an emoji) is fine.
      const emoji = await invoke(guarded, { method: 'POST', rawBody: '{"email": "a@example.com", "password": "0123456789\\ud83d\\ude00"}', headers: { 'content-type': 'application/json' } });
      expect(emoji.status).to.equal(200);
    });

    it('answers deeply nested JSON (64 KB of brackets) with a 400, not a stack overflow', async () => {
      const depth = MAX_BODY_BYTES / 2 - 8;
      for (const rawBody of [`${'['.repeat(depth)}${']'.repeat(depth)}`, `${'{"a":'.repeat(depth / 4)}"\\udc00"${'}'.repeat(depth / 4)}`]) {
        const response = await invoke(guarded, { method: 'POST', rawBody, headers: { 'content-type': 'application/json' } });
        expect(response.status).to.equal(400);
        expect(errorBody(response).code).to.equal('validation_failed');
      }
    });

    it('ignores a body sent to a route that takes none (no 413/415/400 for it)', async () => {
      const bodiless = publicRoute({ auth: 'none' }, async ({ body }) => ({ status: 200, body: { sawBody: body !== undefined } }));
      for (const rawBody of ['not json', 'x'.repeat(MAX_BODY_BYTES + 1), '{"a":1}']) {
        const response = await invoke(bodiless, { method: 'GET', rawBody, headers: { 'content-type': 'text/plain' } });
        expect(response.status, rawBody.slice(0, 10)).to.equal(200);
        expect(response.body).to.deep.equal({ sawBody: false });
      }
    });

    it('validates path and query parameters, reporting where the bad value came from', async () => {
      const route = publicRoute(
        {
          auth: 'none',
          params: z.object({ id: z.string().check(z.regex(/^[0-9A-Z]{26}$/)) }),
          query: z.strictObject({ limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 25) }),
        },
        async ({ params, query }) => ({ status: 200, body: { id: params.id, limit: query.limit } }),
      );
      const ok = await invoke(route, { pathParameters: { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' } });
      expect(ok.body).to.deep.equal({ id: '01ARZ3NDEKTSV4RRFFQ69G5FAV', limit: 25 });
      const badPath = await invoke(route, { pathParameters: { id: '../etc' } });
      expect(errorBody(badPath).details?.[0]?.path).to.equal('path.id');
      const badQuery = await invoke(route, { pathParameters: { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }, query: { limit: '1000' } });
      expect(badQuery.status).to.equal(400);
      expect(errorBody(badQuery).details?.[0]?.path).to.equal('query.limit');
    });
  });

  describe('errors', () => {
    it('maps typed errors to their status, code and headers', async () => {
      const throttled = publicRoute({ auth: 'none' }, async () => {
        throw new TooManyRequests(30);
      });
      const response = await invoke(throttled);
      expect(response.status).to.equal(429);
      expect(response.headers['retry-after']).to.equal('30');
      expect(errorBody(response).code).to.equal('too_many_requests');

      const conflict = publicRoute({ auth: 'none' }, async () => {
        throw new Conflict('email_taken', 'That email is already registered');
      });
      const forbidden = publicRoute({ auth: 'none' }, async () => {
        throw new Forbidden();
      });
      expect((await invoke(forbidden)).status).to.equal(403);

      const conflictResponse = await invoke(conflict);
      expect(conflictResponse.status).to.equal(409);
      expect(errorBody(conflictResponse)).to.deep.equal({ code: 'email_taken', message: 'That email is already registered' });
    });

    it('answers unknown errors with a generic 500 and the request id; the details go only to the log', async () => {
      const lines: string[] = [];
      const capture = (chunk: string | Uint8Array): boolean => {
        lines.push(String(chunk));
        return true;
      };
      sinon.stub(process.stdout, 'write').callsFake(capture);
      sinon.stub(process.stderr, 'write').callsFake(capture);
      // The middleware resets the level to the configured one (SILENT in tests) on every warm invocation.
      sinon.stub(logger, 'refreshSampleRateCalculation');
      logger.setLogLevel('INFO');
      try {
        const broken = publicRoute({ auth: 'none' }, async () => {
          throw new Error('connection string postgres://secret@db');
        });
        const response = await invoke(broken, { requestId: 'req-500' });
        expect(response.status).to.equal(500);
        expect(errorBody(response)).to.deep.equal({
          code: 'internal_error',
          message: 'Internal error; quote the request id when reporting it',
          requestId: 'req-500',
        });
        expect(JSON.stringify(response.body)).not.to.contain('secret');
      } finally {
        logger.setLogLevel('SILENT');
        sinon.restore();
      }
      const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const failure = entries.find((entry) => entry['message'] === 'unhandled error');
      expect(failure, 'an error log line').to.not.equal(undefined);
      expect(failure?.['requestId']).to.equal('req-500');
      expect(failure?.['function_name']).to.equal('test-function');
      expect(JSON.stringify(failure)).to.contain('postgres://secret@db');
      const access = entries.find((entry) => entry['message'] === 'request completed');
      expect(access).to.include({ requestId: 'req-500', status: 500 });
    });

    it('a failure before the request is set up (the logger middleware) is still a JSON 500 with the request id, without an access line', async () => {
      const lines: string[] = [];
      const capture = (chunk: string | Uint8Array): boolean => {
        lines.push(String(chunk));
        return true;
      };
      const handler = sinon.spy(async () => ({ status: 200, body: {} }));
      const route = publicRoute({ auth: 'none' }, handler);
      sinon.stub(process.stdout, 'write').callsFake(capture);
      sinon.stub(process.stderr, 'write').callsFake(capture);
      sinon.stub(logger, 'refreshSampleRateCalculation').throws(new TypeError('logger broke'));
      logger.setLogLevel('INFO');
      let response: Awaited<ReturnType<typeof invoke>>;
      try {
        response = await invoke(route, { requestId: 'req-early' });
      } finally {
        logger.setLogLevel('SILENT');
        sinon.restore();
      }
      expect(response.status).to.equal(500);
      expect(response.headers['x-request-id']).to.equal('req-early');
      expect(errorBody(response)).to.include({ code: 'internal_error', requestId: 'req-early' });
      expect(handler.called).to.equal(false);
      const messages = lines.map((line) => (JSON.parse(line) as Record<string, unknown>)['message']);
      expect(messages).to.include('unhandled error');
      expect(messages).to.not.include('request completed');
    });

    it('answers dependency failures (throttling, 5xx, timeouts) with 503 and Retry-After', async () => {
      const throttled = publicRoute({ auth: 'none' }, async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
      });
      const response = await invoke(throttled);
      expect(response.status).to.equal(503);
      expect(response.headers['retry-after']).to.equal('1');
      expect(errorBody(response).code).to.equal('service_unavailable');
    });

    it('fails closed with 500 when a handler returns a body its response schema rejects', async () => {
      const sloppy = publicRoute({ auth: 'none', response: Echo }, async () => ({ status: 200, body: { email: 42 } as unknown as { email: string } }));
      const response = await invoke(sloppy);
      expect(response.status).to.equal(500);
      expect(errorBody(response).code).to.equal('internal_error');
      expect(response.body).not.to.have.property('email');
    });
  });

  describe('protected routes', () => {
    const whoAmI = protectedRoute({ auth: 'bearer' }, async ({ caller }) => ({ status: 200, body: caller }));

    it('hands the authorizer context to the handler (API Gateway shape)', async () => {
      const response = await invoke(whoAmI, { caller: { userId: 'u1', sessionId: 's1' } });
      expect(response.body).to.deep.equal({ userId: 'u1', sessionId: 's1' });
    });

    it('accepts the serverless-offline shape of the authorizer context', async () => {
      const handler = whoAmI as unknown as (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
      const event = httpEvent();
      (event.requestContext as unknown as Record<string, unknown>)['authorizer'] = { userId: 'u2', sessionId: 's2', integrationLatency: '42' };
      const result = await handler(event, lambdaContext());
      expect(JSON.parse(result.body)).to.deep.equal({ userId: 'u2', sessionId: 's2' });
    });

    it('refuses with 401 when no authorizer context is present (route wired without the authorizer)', async () => {
      const response = await invoke(whoAmI);
      expect(response.status).to.equal(401);
      expect(response.headers['www-authenticate']).to.equal('Bearer');
      expect(errorBody(response).code).to.equal('unauthenticated');
    });
  });

  describe('CORS', () => {
    const route = publicRoute({ auth: 'none' }, async () => ({ status: 200, body: {} }));

    it('allows the configured origins', async () => {
      const response = await invoke(route, { headers: { origin: 'http://localhost:5173' } });
      expect(response.headers['access-control-allow-origin']).to.equal('http://localhost:5173');
      expect(response.headers['access-control-expose-headers']).to.contain('X-Request-Id');
    });

    it('does not allow other origins', async () => {
      const response = await invoke(route, { headers: { origin: 'https://evil.example' } });
      expect(response.headers['access-control-allow-origin']).to.equal(undefined);
    });

    it('adds CORS and security headers to error responses too', async () => {
      const failing = publicRoute({ auth: 'none' }, async () => {
        throw new Conflict('x', 'y');
      });
      const response = await invoke(failing, { headers: { origin: 'http://localhost:5173' } });
      expect(response.headers['access-control-allow-origin']).to.equal('http://localhost:5173');
      expect(response.headers['x-content-type-options']).to.equal('nosniff');
      expect(response.headers['x-request-id']).to.be.a('string');
    });
  });
});
