import { expect } from 'chai';
import { createHash, type KeyObject } from 'node:crypto';
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt, { type JwtPayload } from 'jsonwebtoken';
import sinon from 'sinon';
import { testSigningKey } from '../../local/test/tokens';
import { parseVerificationKeys, type SigningKey } from '../auth/keys';
import { CallbackUrlRejected } from '../net/callbackUrl';
import { bodyDigest, CALLBACK_TOKEN_SECONDS, CALLBACK_TOKEN_TYPE, deliverCallback, postOnce, SIGNATURE_HEADER, signCallback } from './callback';

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

type Reply = (response: http.ServerResponse) => void;

const status =
  (code: number, headers: Record<string, string> = {}): Reply =>
  (response) => {
    response.writeHead(code, headers);
    response.end('{}');
  };
/** Reads the request and never answers. */
const silence: Reply = () => undefined;

/** A callback receiver on 127.0.0.1: records every request, answers from a script (200 when it runs out). */
class Receiver {
  readonly requests: Received[] = [];
  connections = 0;
  replies: Reply[] = [];
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.requests.push({ method: request.method, url: request.url, headers: request.headers, body: Buffer.concat(chunks) });
      (this.replies.shift() ?? status(200))(response);
    });
  });

  constructor() {
    this.server.on('connection', () => this.connections++);
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  reset(...replies: Reply[]): void {
    this.requests.length = 0;
    this.connections = 0;
    this.replies = replies;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve, reject) => this.server.close((error) => (error === undefined ? resolve() : reject(error))));
  }
}

function publicKeyFor(kid: string): KeyObject {
  const keys = parseVerificationKeys(fs.readFileSync((process.env['JWT_PUBLIC_KEYS'] as string).slice('file:'.length), 'utf8'));
  const key = keys.byKid.get(kid);
  if (key === undefined) throw new Error(`no public key ${kid} in the test JWKS`);
  return key;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const issuer = (): string => process.env['JWT_ISSUER'] as string;

describe('analysis/callback', () => {
  let key: SigningKey;
  let publicKey: KeyObject;

  before(() => {
    key = testSigningKey();
    publicKey = publicKeyFor(key.kid);
  });

  describe('bodyDigest', () => {
    it('is the base64url SHA-256 of the UTF-8 bytes', () => {
      expect(bodyDigest('')).to.equal('47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU');
      expect(bodyDigest('{"id":"é"}')).to.equal(createHash('sha256').update(Buffer.from('{"id":"é"}', 'utf8')).digest('base64url'));
    });
  });

  describe('signCallback', () => {
    const body = JSON.stringify({ id: '01J0000000000000000000000A', status: 'succeeded', result: { colors: [] } });
    const url = 'https://receiver.example/hooks/media?x=1';
    const now = new Date('2025-03-04T05:06:07.890Z');
    const iat = Math.floor(now.getTime() / 1000);

    const verify = (token: string, options: jwt.VerifyOptions = {}): jwt.Jwt =>
      jwt.verify(token, publicKey, { algorithms: ['ES256'], issuer: issuer(), audience: url, clockTimestamp: iat + 1, ...options, complete: true });

    it('is an ES256 JWT, typ callback+jwt, verifiable with the JWKS key of its kid', () => {
      const token = signCallback(body, url, key, issuer(), now);
      const { header, payload } = verify(token);
      expect(header).to.deep.equal({ alg: 'ES256', kid: key.kid, typ: CALLBACK_TOKEN_TYPE });
      expect(CALLBACK_TOKEN_TYPE).to.equal('callback+jwt');
      const claims = payload as JwtPayload;
      expect(claims.iss).to.equal(issuer());
      expect(claims.aud).to.equal(url);
      expect(claims.iat).to.equal(iat);
      expect(claims.exp).to.equal(iat + 300);
      expect(CALLBACK_TOKEN_SECONDS).to.equal(300);
      expect(claims.jti).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(claims['body_sha256']).to.equal(bodyDigest(body));
      expect(Object.keys(claims).sort()).to.deep.equal(['aud', 'body_sha256', 'exp', 'iat', 'iss', 'jti']);
    });

    it('a tampered body no longer matches body_sha256', () => {
      const claims = verify(signCallback(body, url, key, issuer(), now)).payload as JwtPayload;
      const tampered = body.replace('succeeded', 'failed');
      expect(tampered).to.not.equal(body);
      expect(bodyDigest(tampered)).to.not.equal(claims['body_sha256']);
      expect(bodyDigest(`${body} `)).to.not.equal(claims['body_sha256']);
    });

    it('does not verify for another audience, another issuer, or after exp', () => {
      const token = signCallback(body, url, key, issuer(), now);
      expect(() => verify(token, { audience: 'https://receiver.example/other' })).to.throw(/audience invalid/);
      expect(() => verify(token, { issuer: 'https://evil.example' })).to.throw(/issuer invalid/);
      expect(() => verify(token, { clockTimestamp: iat + 299 })).to.not.throw();
      expect(() => verify(token, { clockTimestamp: iat + 300 })).to.throw(/jwt expired/);
      expect(() => verify(token, { algorithms: ['RS256'] })).to.throw(/invalid algorithm/);
    });

    it('a unique jti per signature', () => {
      const a = verify(signCallback(body, url, key, issuer(), now)).payload as JwtPayload;
      const b = verify(signCallback(body, url, key, issuer(), now)).payload as JwtPayload;
      expect(a.jti).to.not.equal(b.jti);
    });
  });

  describe('delivery to a real receiver on 127.0.0.1', () => {
    const receiver = new Receiver();
    const elsewhere = new Receiver();
    const LOOPBACK = { allowLoopback: true };
    const body = JSON.stringify({ id: '01J0000000000000000000000B', status: 'succeeded', title: 'Plage à Nice 🌊' });

    before(async () => {
      await receiver.start();
      await elsewhere.start();
    });

    after(async () => {
      await receiver.stop();
      await elsewhere.stop();
    });

    beforeEach(() => {
      receiver.reset();
      elsewhere.reset();
    });

    /** What a receiver does: verify the JWT for its own URL, then the digest of the raw bytes it got. */
    function receiverAccepts(request: Received, url: string): JwtPayload {
      const token = request.headers[SIGNATURE_HEADER];
      expect(token, 'signature header').to.be.a('string');
      const { header, payload } = jwt.verify(token as string, publicKey, { algorithms: ['ES256'], issuer: issuer(), audience: url, complete: true });
      expect(header.typ).to.equal('callback+jwt');
      expect(header.kid).to.equal(key.kid);
      const claims = payload as JwtPayload;
      expect(claims['body_sha256']).to.equal(createHash('sha256').update(request.body).digest('base64url'));
      return claims;
    }

    function delivery(url: string, overrides: Partial<Parameters<typeof deliverCallback>[0]> = {}) {
      const sign = sinon.stub<[], Promise<string>>().callsFake(async () => signCallback(body, url, key, issuer(), new Date()));
      const sleep = sinon.stub<[number], Promise<void>>().resolves();
      const options = { url, body, sign, sleep, policy: LOOPBACK, ...overrides };
      return { sign, sleep, run: () => deliverCallback(options) };
    }

    it('200: delivered in 1 attempt, body and headers as sent, signature verifiable end to end', async () => {
      const url = receiver.url('/hooks/analysis?token=abc');
      const at = new Date('2025-01-02T03:04:05.000Z');
      const { sign, sleep, run } = delivery(url, { now: () => at });
      const outcome = await run();
      expect(outcome).to.deep.equal({ url, status: 'delivered', attempts: 1, statusCode: 200, lastAttemptAt: at.toISOString() });
      expect(sign.callCount).to.equal(1);
      expect(sleep.called).to.equal(false);
      expect(receiver.requests).to.have.length(1);
      const [request] = receiver.requests as [Received];
      expect(request.method).to.equal('POST');
      expect(request.url).to.equal('/hooks/analysis?token=abc');
      expect(request.body.toString('utf8')).to.equal(body);
      expect(request.headers['content-type']).to.equal('application/json');
      expect(request.headers['content-length']).to.equal(String(Buffer.byteLength(body)));
      expect(request.headers['user-agent']).to.equal('media-library-callbacks/1');
      receiverAccepts(request, url);
      // A receiver registered under another URL must not accept it.
      expect(() => jwt.verify(request.headers[SIGNATURE_HEADER] as string, publicKey, { algorithms: ['ES256'], audience: receiver.url('/other') })).to.throw(/audience invalid/);
    });

    it('500 then 200: delivered in 2 attempts after a 1 s backoff, each attempt freshly signed', async () => {
      receiver.reset(status(500), status(200));
      const url = receiver.url();
      const { sign, sleep, run } = delivery(url);
      const outcome = await run();
      expect(outcome).to.include({ status: 'delivered', attempts: 2, statusCode: 200 });
      expect(outcome).to.not.have.property('error');
      expect(sleep.args).to.deep.equal([[1000]]);
      expect(sign.callCount).to.equal(2);
      expect(receiver.requests).to.have.length(2);
      const [first, second] = receiver.requests.map((request) => receiverAccepts(request, url)) as [JwtPayload, JwtPayload];
      expect(first.jti).to.not.equal(second.jti);
      expect(receiver.requests[0]?.headers[SIGNATURE_HEADER]).to.not.equal(receiver.requests[1]?.headers[SIGNATURE_HEADER]);
    });

    it('three 503s: failed after 3 attempts with statusCode 503 (backoff 1 s then 4 s)', async () => {
      receiver.reset(status(503), status(503), status(503), status(200));
      const { sign, sleep, run } = delivery(receiver.url());
      const outcome = await run();
      expect(outcome).to.include({ status: 'failed', attempts: 3, statusCode: 503, error: 'the receiver answered 503' });
      expect(sleep.args).to.deep.equal([[1000], [4000]]);
      expect(sign.callCount).to.equal(3);
      expect(receiver.requests).to.have.length(3);
    });

    it('404: failed after 1 attempt, not retried', async () => {
      receiver.reset(status(404), status(200));
      const { sleep, run } = delivery(receiver.url());
      const outcome = await run();
      expect(outcome).to.include({ status: 'failed', attempts: 1, statusCode: 404, error: 'the receiver answered 404' });
      expect(sleep.called).to.equal(false);
      expect(receiver.requests).to.have.length(1);
    });

    it('302: failed after 1 attempt, the redirect is not followed', async () => {
      receiver.reset(status(302, { location: elsewhere.url('/stolen') }), status(200));
      const { run } = delivery(receiver.url());
      const outcome = await run();
      expect(outcome).to.include({ status: 'failed', attempts: 1, statusCode: 302, error: 'redirects are not followed' });
      expect(receiver.requests).to.have.length(1);
      expect(elsewhere.requests).to.have.length(0);
      expect(elsewhere.connections).to.equal(0);
    });

    it('429 is retried', async () => {
      receiver.reset(status(429), status(204));
      const { sleep, run } = delivery(receiver.url());
      const outcome = await run();
      expect(outcome).to.include({ status: 'delivered', attempts: 2, statusCode: 204 });
      expect(sleep.args).to.deep.equal([[1000]]);
      expect(receiver.requests).to.have.length(2);
    });

    it('a receiver that never answers: timeout, retried, failed after 3 attempts', async () => {
      receiver.reset(silence, silence, silence);
      const { sign, sleep, run } = delivery(receiver.url(), { timeoutMs: 200 });
      const started = Date.now();
      const outcome = await run();
      expect(outcome).to.include({ status: 'failed', attempts: 3, error: 'no answer within 200 ms' });
      expect(outcome).to.not.have.property('statusCode');
      expect(sleep.callCount).to.equal(2);
      expect(sign.callCount).to.equal(3);
      expect(receiver.requests).to.have.length(3);
      expect(Date.now() - started).to.be.below(5000);
    });

    it('maxAttempts and delaysMs are honoured', async () => {
      receiver.reset(status(500), status(500), status(500), status(500));
      const { sleep, run } = delivery(receiver.url(), { maxAttempts: 4, delaysMs: [10, 20] });
      const outcome = await run();
      expect(outcome).to.include({ status: 'failed', attempts: 4, statusCode: 500 });
      expect(sleep.args).to.deep.equal([[10], [20], [20]]);
    });

    it('a URL the policy refuses: failed after 1 attempt, nothing sent', async () => {
      const { sign, run } = delivery(receiver.url(), { policy: { allowLoopback: false } });
      const outcome = await run();
      expect(outcome.status).to.equal('failed');
      expect(outcome.attempts).to.equal(1);
      expect(outcome.error).to.match(/^callback URL refused/);
      expect(outcome).to.not.have.property('statusCode');
      expect(sign.called).to.equal(false);
      expect(receiver.requests).to.have.length(0);
      expect(receiver.connections).to.equal(0);
    });

    it('DNS rebinding guard: postOnce to a name resolving to loopback is refused at connect time', async () => {
      const url = new URL(`http://localhost:${receiver.port}/hook`);
      const error = await rejection(postOnce(url, body, {}, { allowLoopback: false }, 1000));
      expect(error).to.be.instanceOf(CallbackUrlRejected);
      expect(error.message).to.equal('resolved to a forbidden address');
      expect((error as NodeJS.ErrnoException).code).to.equal('EFORBIDDEN');
      expect(receiver.requests).to.have.length(0);
      expect(receiver.connections).to.equal(0);
    });

    it('DNS rebinding guard: the URL check saw a public address, the connection would go to loopback: refused, nothing sent', async () => {
      const url = `https://localhost:${receiver.port}/hook`;
      const resolve = sinon.stub<[string], Promise<string[]>>().resolves(['93.184.216.34']);
      const { sign, run } = delivery(url, { policy: { allowLoopback: false }, resolve });
      const outcome = await run();
      expect(resolve.calledWith('localhost')).to.equal(true);
      expect(outcome).to.include({ status: 'failed', attempts: 1, error: 'callback URL refused: resolved to a forbidden address' });
      expect(sign.callCount).to.equal(1);
      expect(receiver.connections).to.equal(0);
      expect(receiver.requests).to.have.length(0);
    });

    it('postOnce to a loopback name is allowed when the policy allows loopback', async () => {
      const url = new URL(`http://localhost:${receiver.port}/by-name`);
      expect(await postOnce(url, body, { 'x-extra': 'yes' }, LOOPBACK, 1000)).to.deep.equal({ statusCode: 200 });
      expect(receiver.requests).to.have.length(1);
      expect(receiver.requests[0]?.url).to.equal('/by-name');
      expect(receiver.requests[0]?.headers['x-extra']).to.equal('yes');
      expect(receiver.requests[0]?.body.toString('utf8')).to.equal(body);
    });

    it('a connection error (nobody listening) is retried', async () => {
      const closed = new Receiver();
      await closed.start();
      const url = closed.url();
      await closed.stop();
      const { sleep, run } = delivery(url);
      const outcome = await run();
      expect(outcome).to.include({ status: 'failed', attempts: 3 });
      expect(outcome.error).to.match(/ECONNREFUSED/);
      expect(sleep.callCount).to.equal(2);
    });

    it('without a sleep option it really waits between attempts', async () => {
      receiver.reset(status(500), status(200));
      const url = receiver.url();
      const started = Date.now();
      const outcome = await deliverCallback({ url, body, sign: async () => signCallback(body, url, key, issuer(), new Date()), policy: LOOPBACK, delaysMs: [60] });
      expect(outcome).to.include({ status: 'delivered', attempts: 2 });
      expect(Date.now() - started).to.be.at.least(55);
    });

    it('with no delays given, waits 1 s between attempts', async () => {
      receiver.reset(status(500), status(500));
      const { sleep, run } = delivery(receiver.url(), { maxAttempts: 2, delaysMs: [] });
      expect(await run()).to.include({ status: 'failed', attempts: 2, statusCode: 500 });
      expect(sleep.args).to.deep.equal([[1000]]);
    });

    describe('when the name stops resolving at delivery time', () => {
      let lookup: sinon.SinonStub;
      beforeEach(() => {
        lookup = sinon.stub(dns, 'lookup').callsFake(((hostname: string, _options: unknown, callback: (error: Error, addresses: unknown[]) => void) => {
          process.nextTick(() => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []));
        }) as never);
      });
      afterEach(() => lookup.restore());

      it('postOnce fails with the resolver\'s error, and connects nowhere', async () => {
        const error = await rejection(postOnce(new URL(`http://receiver.example:${receiver.port}/hook`), body, {}, LOOPBACK, 1000));
        expect(error).to.not.be.instanceOf(CallbackUrlRejected);
        expect((error as NodeJS.ErrnoException).code).to.equal('ENOTFOUND');
        expect(lookup.firstCall.args[0]).to.equal('receiver.example');
        expect(receiver.connections).to.equal(0);
      });

      it('the delivery counts it as a passing network failure: retried, then failed with the reason', async () => {
        const resolve = sinon.stub<[string], Promise<string[]>>().resolves(['93.184.216.34']);
        const { sleep, run } = delivery('https://receiver.example/hook', { policy: { allowLoopback: false }, resolve });
        const outcome = await run();
        expect(outcome).to.include({ status: 'failed', attempts: 3, error: 'getaddrinfo ENOTFOUND receiver.example' });
        expect(sleep.callCount).to.equal(2);
        expect(receiver.connections).to.equal(0);
      });
    });
  });
});
