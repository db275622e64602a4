import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import { ARGON2_OPTIONS, argon2Hasher, DUMMY_HASH } from './passwords';

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

async function medianMs(times: number, run: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i += 1) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

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

  it('does comparable work for an unknown user and a wrong password (no timing oracle for emails)', async function () {
    this.timeout(60_000);
    // Warm up both paths once, so neither pays for first-call allocation.
    await argon2Hasher.verify(undefined, 'x');
    await argon2Hasher.verify(realHash, 'x');
    const unknownUser = await medianMs(5, () => argon2Hasher.verify(undefined, 'x'));
    const wrongPassword = await medianMs(5, () => argon2Hasher.verify(realHash, 'x'));
    const ratio = unknownUser / wrongPassword;
    expect(ratio, `unknown user ${unknownUser.toFixed(1)} ms, wrong password ${wrongPassword.toFixed(1)} ms`).to.be.within(0.5, 2);
  });
});
