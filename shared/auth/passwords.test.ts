import * as argon2 from '@node-rs/argon2';
import proxyquire from 'proxyquire';
import { expect } from 'chai';
import { ARGON2_OPTIONS, argon2Hasher, DUMMY_HASH } from './passwords';
import type * as Passwords from './passwords';

interface PhcParameters {
  algorithm: string;
  version: number;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  saltBytes: number;
  hashBytes: number;
}

/** `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` -> its parts (salt and hash: unpadded base64). */
function parsePhc(phc: string): PhcParameters {
  const match = /^\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(phc);
  if (match === null) throw new Error(`not an argon2 PHC string: ${phc}`);
  const [, algorithm, version, m, t, p, salt, hash] = match as unknown as [string, string, string, string, string, string, string, string];
  return {
    algorithm,
    version: Number(version),
    memoryCost: Number(m),
    timeCost: Number(t),
    parallelism: Number(p),
    saltBytes: Buffer.from(salt, 'base64').length,
    hashBytes: Buffer.from(hash, 'base64').length,
  };
}

const ARGON2ID_ALGORITHM = 2;

describe('shared/auth/passwords', () => {
  const password = 'correct horse battery staple';
  let realHash: string;

  before(async () => {
    realHash = await argon2Hasher.hash(password);
  });

  it('uses argon2id with OWASP minimum parameters (m = 19 MiB, t = 2, p = 1)', () => {
    expect(ARGON2_OPTIONS).to.deep.equal({ algorithm: ARGON2ID_ALGORITHM, memoryCost: 19456, timeCost: 2, parallelism: 1 });
  });

  it('hashes to an argon2id PHC string with those parameters', () => {
    expect(realHash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$'), realHash).to.equal(true);
    const parsed = parsePhc(realHash);
    expect(parsed.saltBytes).to.be.at.least(16);
    expect(parsed.hashBytes).to.be.at.least(32);
  });

  it('salts every hash: the same password hashes differently twice, and both verify', async () => {
    const again = await argon2Hasher.hash(password);
    expect(again).to.not.equal(realHash);
    expect(await argon2Hasher.verify(again, password)).to.equal(true);
  });

  it('verifies the right password', async () => {
    expect(await argon2Hasher.verify(realHash, password)).to.equal(true);
  });

  it('refuses a wrong password, including near misses', async () => {
    for (const wrong of ['wrong password', `${password} `, password.toUpperCase(), password.slice(0, -1), '']) {
      expect(await argon2Hasher.verify(realHash, wrong), wrong).to.equal(false);
    }
  });

  it('handles non-ASCII passwords', async () => {
    const unicode = 'pässwörd-日本語-🔑';
    const hashed = await argon2Hasher.hash(unicode);
    expect(await argon2Hasher.verify(hashed, unicode)).to.equal(true);
    expect(await argon2Hasher.verify(hashed, unicode.normalize('NFD'))).to.equal(false);
  });

  it('returns false, without throwing, for an unknown user (no hash)', async () => {
    expect(await argon2Hasher.verify(undefined, password)).to.equal(false);
    expect(await argon2Hasher.verify(undefined, '')).to.equal(false);
  });

  it('returns false, without throwing, for a malformed hash', async () => {
    const malformed = ['', 'not a hash', '$argon2id$', '$argon2id$v=19$m=19456,t=2,p=1$', realHash.slice(0, -10), realHash.replace('argon2id', 'bcrypt'), '$2b$10$abcdefghijklmnopqrstuuJ0JsBd1uKqP2oJ0Qy9zvE3RQDgVbG6'];
    for (const hash of malformed) {
      expect(await argon2Hasher.verify(hash, password), hash).to.equal(false);
    }
  });

  it('DUMMY_HASH is an argon2id hash with exactly the parameters of ARGON2_OPTIONS, and the shape of a real hash', () => {
    const dummy = parsePhc(DUMMY_HASH);
    const real = parsePhc(realHash);
    expect(dummy.algorithm).to.equal('argon2id');
    expect(dummy.version).to.equal(19);
    expect(dummy.memoryCost).to.equal(ARGON2_OPTIONS.memoryCost);
    expect(dummy.timeCost).to.equal(ARGON2_OPTIONS.timeCost);
    expect(dummy.parallelism).to.equal(ARGON2_OPTIONS.parallelism);
    expect(dummy).to.deep.equal(real);
  });

  it('does the same work for an unknown user as for a wrong password (no timing oracle for emails): one argon2id verify of a hash with the same parameters', async () => {
    // Timing is measured where it can be, in the login benchmark (npm run bench -- --only login);
    // here the property that makes the times equal: the same call, on a hash of the same cost.
    const calls: string[] = [];
    const { argon2Hasher: counted } = proxyquire('./passwords', {
      '@node-rs/argon2': {
        verify: async (hash: string, password: string) => {
          calls.push(hash);
          return argon2.verify(hash, password);
        },
      },
    }) as typeof Passwords;
    expect(await counted.verify(undefined, 'x')).to.equal(false);
    expect(await counted.verify(realHash, 'x')).to.equal(false);
    expect(await counted.verify(realHash, 'correct horse battery staple')).to.equal(true);
    expect(calls).to.deep.equal([DUMMY_HASH, realHash, realHash]);
    expect(parsePhc(calls[0] as string)).to.deep.equal(parsePhc(calls[1] as string));
  });
});
