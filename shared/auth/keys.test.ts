import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import proxyquire from 'proxyquire';
import sinon from 'sinon';
import { newSigningKey, publicJwks } from '../../local/stack/keys';
import type * as KeysModule from './keys';
import { KEY_CACHE_MS, parseSigningKey, parseVerificationKeys, signingKeyLoader, verificationKeyLoader, type Jwks, type PrivateKeysDocument } from './keys';

const pem = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

describe('shared/auth/keys', () => {
  describe('parseSigningKey', () => {
    it('returns the first (current) key of the document as a P-256 private key', () => {
      const current = newSigningKey();
      const previous = newSigningKey();
      const key = parseSigningKey(JSON.stringify({ keys: [current, previous] } satisfies PrivateKeysDocument));
      expect(key.kid).to.equal(current.kid);
      expect(key.privateKey.type).to.equal('private');
      expect(key.privateKey.asymmetricKeyType).to.equal('ec');
      expect(key.privateKey.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
      expect(key.privateKey.export({ format: 'jwk' })).to.deep.equal(createPrivateKey(current.privateKeyPem).export({ format: 'jwk' }));
      expect(key.privateKey.export({ format: 'jwk' })).to.not.deep.equal(createPrivateKey(previous.privateKeyPem).export({ format: 'jwk' }));
    });

    it('throws when the document lists no keys', () => {
      expect(() => parseSigningKey(JSON.stringify({ keys: [] }))).to.throw('lists no keys');
      expect(() => parseSigningKey(JSON.stringify({}))).to.throw('lists no keys');
    });

    it('throws on something that is not JSON or not a PEM', () => {
      expect(() => parseSigningKey('not json')).to.throw(SyntaxError);
      expect(() => parseSigningKey(JSON.stringify({ keys: [{ kid: 'k', privateKeyPem: 'not a pem' }] }))).to.throw();
    });

    it('throws, naming the kid, on a key that is not P-256 (P-384, RSA, Ed25519)', () => {
      const others = [
        generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
        generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
        generateKeyPairSync('ed25519').privateKey,
      ];
      for (const privateKey of others) {
        expect(() => parseSigningKey(JSON.stringify({ keys: [{ kid: 'odd-key', privateKeyPem: pem(privateKey) }] }))).to.throw('Signing key odd-key is not a P-256 key');
      }
    });
  });

  describe('parseVerificationKeys', () => {
    it('maps every key of a valid JWKS by kid, as public keys', () => {
      const document = { keys: [newSigningKey(), newSigningKey()] };
      const jwks = publicJwks(document);
      const keys = parseVerificationKeys(JSON.stringify(jwks));
      expect([...keys.byKid.keys()]).to.deep.equal(document.keys.map(({ kid }) => kid));
      for (const { kid, privateKeyPem } of document.keys) {
        const key = keys.byKid.get(kid);
        expect(key?.type).to.equal('public');
        const expected = createPrivateKey(privateKeyPem).export({ format: 'jwk' });
        const actual = key?.export({ format: 'jwk' });
        expect(actual).to.deep.equal({ kty: 'EC', crv: 'P-256', x: expected.x, y: expected.y });
      }
      expect(keys.jwks).to.deep.equal(jwks);
    });

    it('publishes only the public fields (kty crv x y kid alg use), never d', () => {
      const { kid, privateKeyPem } = newSigningKey();
      const privateJwk = createPrivateKey(privateKeyPem).export({ format: 'jwk' });
      expect(privateJwk.d).to.be.a('string');
      const input = { keys: [{ ...privateJwk, kid, alg: 'ES256', use: 'sig', key_ops: ['sign'], extra: 'x' }] };
      const keys = parseVerificationKeys(JSON.stringify(input));
      const [published] = keys.jwks.keys;
      expect(published).to.deep.equal({ kty: 'EC', crv: 'P-256', x: privateJwk.x, y: privateJwk.y, kid, alg: 'ES256', use: 'sig' });
      expect(JSON.stringify(keys.jwks)).to.not.include(String(privateJwk.d));
      expect(keys.byKid.get(kid)?.type).to.equal('public');
    });

    it('throws when the JWKS lists no keys', () => {
      expect(() => parseVerificationKeys(JSON.stringify({ keys: [] }))).to.throw('lists no keys');
      expect(() => parseVerificationKeys(JSON.stringify({}))).to.throw('lists no keys');
      expect(() => parseVerificationKeys(JSON.stringify({ keys: 'none' }))).to.throw('lists no keys');
    });

    it('throws on an entry with the wrong kty, crv, alg or use, or without kid, x or y', () => {
      const [valid] = publicJwks({ keys: [newSigningKey()] }).keys;
      if (valid === undefined) throw new Error('no key');
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
      const broken: Array<Record<string, unknown>> = [
        { ...valid, kty: 'RSA' },
        { ...rsa, kid: 'rsa', alg: 'RS256', use: 'sig' },
        { ...valid, crv: 'P-384' },
        { ...p384, kid: 'p384', alg: 'ES384', use: 'sig' },
        { ...p384, kid: 'p384', alg: 'ES256', use: 'sig' },
        { ...valid, alg: 'ES384' },
        { ...valid, alg: 'HS256' },
        { ...valid, alg: 'none' },
        { ...valid, kid: undefined },
        { ...valid, kid: 7 },
        { ...valid, x: undefined },
        { ...valid, y: undefined },
        { ...valid, use: 'enc' },
        { ...valid, use: undefined },
      ];
      for (const entry of broken) {
        // A bad entry anywhere in the list spoils the document.
        expect(() => parseVerificationKeys(JSON.stringify({ keys: [valid, entry] })), JSON.stringify(entry)).to.throw(/is not an ES256 P-256 key/);
      }
    });

    it('throws on a JWKS that is not JSON', () => {
      expect(() => parseVerificationKeys('{"keys": [')).to.throw(SyntaxError);
    });
  });

  describe('loaders', () => {
    let dir: string;
    let privateFile: string;
    let publicFile: string;
    let firstDocument: PrivateKeysDocument;
    let secondDocument: PrivateKeysDocument;

    const write = (file: string, content: PrivateKeysDocument | Jwks): void => fs.writeFileSync(file, JSON.stringify(content));

    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-keys-test-'));
      privateFile = path.join(dir, 'private.json');
      publicFile = path.join(dir, 'public.json');
      firstDocument = { keys: [newSigningKey()] };
      secondDocument = { keys: [newSigningKey(), ...firstDocument.keys] };
    });
    afterEach(() => {
      fs.rmSync(dir, { recursive: true, force: true });
      sinon.restore();
    });

    it('signingKeyLoader reads a file: source', async () => {
      write(privateFile, firstDocument);
      const key = await signingKeyLoader(`file:${privateFile}`)();
      expect(key.kid).to.equal(firstDocument.keys[0]?.kid);
    });

    it('verificationKeyLoader reads a file: source', async () => {
      write(publicFile, publicJwks(secondDocument));
      const keys = await verificationKeyLoader(`file:${publicFile}`)();
      expect([...keys.byKid.keys()]).to.deep.equal(secondDocument.keys.map(({ kid }) => kid));
    });

    it('caches the signing key for KEY_CACHE_MS, then re-reads (rotation reaches warm functions)', async () => {
      let clock = 1_000_000;
      write(privateFile, firstDocument);
      const load = signingKeyLoader(`file:${privateFile}`, () => clock);
      expect((await load()).kid).to.equal(firstDocument.keys[0]?.kid);

      write(privateFile, secondDocument);
      clock += 1;
      expect((await load()).kid, 'cached').to.equal(firstDocument.keys[0]?.kid);
      clock += KEY_CACHE_MS - 1;
      expect((await load()).kid, 'exactly KEY_CACHE_MS later: still cached').to.equal(firstDocument.keys[0]?.kid);
      clock += 1;
      expect((await load()).kid, 'after KEY_CACHE_MS: re-read').to.equal(secondDocument.keys[0]?.kid);
    });

    it('caches the verification keys for KEY_CACHE_MS, then re-reads', async () => {
      let clock = 0;
      write(publicFile, publicJwks(firstDocument));
      const load = verificationKeyLoader(`file:${publicFile}`, () => clock);
      const first = await load();
      expect(first.byKid.size).to.equal(1);

      write(publicFile, publicJwks(secondDocument));
      clock = KEY_CACHE_MS / 2;
      expect(await load()).to.equal(first);
      clock = KEY_CACHE_MS + 1;
      const second = await load();
      expect(second).to.not.equal(first);
      expect(second.byKid.size).to.equal(2);
      // The new value is cached from the time it was loaded.
      write(publicFile, publicJwks(firstDocument));
      clock = 2 * KEY_CACHE_MS;
      expect(await load()).to.equal(second);
    });

    it('does not cache a failed load: a missing file rejects, and the next call reads it once it exists', async () => {
      const clock = 0;
      const load = signingKeyLoader(`file:${privateFile}`, () => clock);
      const error = (await rejection(load())) as NodeJS.ErrnoException;
      expect(error.code).to.equal('ENOENT');
      write(privateFile, firstDocument);
      expect((await load()).kid).to.equal(firstDocument.keys[0]?.kid);
    });

    it('does not cache a document that fails to parse', async () => {
      fs.writeFileSync(publicFile, JSON.stringify({ keys: [] }));
      const load = verificationKeyLoader(`file:${publicFile}`, () => 0);
      expect((await rejection(load())).message).to.include('lists no keys');
      write(publicFile, publicJwks(firstDocument));
      expect((await load()).byKid.has(firstDocument.keys[0]?.kid ?? '')).to.equal(true);
    });

    it('rejects an unsupported source, naming it', async () => {
      for (const uri of ['https://example.com/jwks.json', '/etc/keys.json', '', 'FILE:/tmp/x', 's3://bucket/key']) {
        expect((await rejection(signingKeyLoader(uri)())).message).to.include(`Unsupported key source "${uri}"`);
        expect((await rejection(verificationKeyLoader(uri)())).message).to.include('Unsupported key source');
      }
    });

    describe('ssm: source', () => {
      const loadWithSsm = (getParameter: sinon.SinonStub): typeof KeysModule =>
        proxyquire<typeof KeysModule>('./keys', { '../aws/ssm': { getParameter, '@noCallThru': true } });

      it('reads the private key document from the named SSM parameter', async () => {
        const getParameter = sinon.stub().resolves(JSON.stringify(secondDocument));
        const keys = loadWithSsm(getParameter);
        const key = await keys.signingKeyLoader('ssm:/media-library/test/jwt/private', () => 0)();
        expect(key.kid).to.equal(secondDocument.keys[0]?.kid);
        expect(getParameter.calledOnceWithExactly('/media-library/test/jwt/private')).to.equal(true);
      });

      it('reads the JWKS from the named SSM parameter, once per cache period, sharing one load between concurrent callers', async () => {
        let clock = 0;
        const getParameter = sinon.stub().resolves(JSON.stringify(publicJwks(firstDocument)));
        const keys = loadWithSsm(getParameter);
        const load = keys.verificationKeyLoader('ssm:/media-library/test/jwt/public', () => clock);
        const [a, b] = await Promise.all([load(), load()]);
        expect(a).to.equal(b);
        await load();
        expect(getParameter.callCount).to.equal(1);
        expect(getParameter.firstCall.args).to.deep.equal(['/media-library/test/jwt/public']);
        clock = KEY_CACHE_MS + 1;
        await load();
        expect(getParameter.callCount).to.equal(2);
      });

      it('retries SSM on the next call after a failure', async () => {
        const getParameter = sinon.stub();
        getParameter.onFirstCall().rejects(new Error('ThrottlingException'));
        getParameter.onSecondCall().resolves(JSON.stringify(publicJwks(firstDocument)));
        const keys = loadWithSsm(getParameter);
        const load = keys.verificationKeyLoader('ssm:/p', () => 0);
        expect((await rejection(load())).message).to.equal('ThrottlingException');
        expect((await load()).byKid.size).to.equal(1);
        expect(getParameter.callCount).to.equal(2);
      });
    });
  });
});
