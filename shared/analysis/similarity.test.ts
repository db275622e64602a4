import { expect } from 'chai';
import { BAND_WIDTHS, bandKeys, bandValues, hammingDistance, HASH_BITS, isHash, MAX_SIMILAR_DISTANCE, probeKeys } from './similarity';

/** xorshift64: a tiny deterministic PRNG, so the property checks below are reproducible. */
function xorshift(seed: bigint): () => bigint {
  let state = seed & 0xffffffffffffffffn;
  return () => {
    state ^= (state << 13n) & 0xffffffffffffffffn;
    state ^= state >> 7n;
    state ^= (state << 17n) & 0xffffffffffffffffn;
    return state;
  };
}

const hex = (value: bigint): string => value.toString(16).padStart(16, '0');

/** An integer in [0, bound). */
const below = (next: () => bigint, bound: number): number => Number(next() % BigInt(bound));

/** `hash` with exactly `k` distinct random bits flipped. */
function flip(hash: bigint, k: number, next: () => bigint): bigint {
  const bits = new Set<number>();
  while (bits.size < k) bits.add(below(next, HASH_BITS));
  let result = hash;
  for (const bit of bits) result ^= 1n << BigInt(bit);
  return result;
}

const intersects = (a: string[], b: string[]): boolean => {
  const set = new Set(a);
  return b.some((key) => set.has(key));
};

describe('analysis/similarity', () => {
  it('constants: 64 bits, 6 bands of 11,11,11,11,10,10 bits, similar means ≤ 10', () => {
    expect(HASH_BITS).to.equal(64);
    expect(MAX_SIMILAR_DISTANCE).to.equal(10);
    expect([...BAND_WIDTHS]).to.deep.equal([11, 11, 11, 11, 10, 10]);
    expect(BAND_WIDTHS.reduce((sum, width) => sum + width, 0)).to.equal(HASH_BITS);
  });

  describe('isHash', () => {
    it('accepts 16 lower-case hex digits', () => {
      expect(isHash('0123456789abcdef')).to.equal(true);
      expect(isHash('0000000000000000')).to.equal(true);
      expect(isHash('ffffffffffffffff')).to.equal(true);
    });

    it('rejects other lengths, upper case, non-hex and padding', () => {
      for (const value of ['', '0123456789abcde', '0123456789abcdef0', '0123456789ABCDEF', '0123456789abcdeg', ' 123456789abcdef', '0123456789abcdef\n', '0x23456789abcdef']) {
        expect(isHash(value), JSON.stringify(value)).to.equal(false);
      }
    });
  });

  describe('hammingDistance', () => {
    it('is 0 for equal hashes', () => {
      expect(hammingDistance('0123456789abcdef', '0123456789abcdef')).to.equal(0);
      expect(hammingDistance('0000000000000000', '0000000000000000')).to.equal(0);
    });

    it('is 64 for complementary hashes', () => {
      expect(hammingDistance('0000000000000000', 'ffffffffffffffff')).to.equal(64);
      expect(hammingDistance('aaaaaaaaaaaaaaaa', '5555555555555555')).to.equal(64);
    });

    it('counts the differing bits', () => {
      expect(hammingDistance('0000000000000000', '0000000000000001')).to.equal(1);
      expect(hammingDistance('0000000000000000', '8000000000000000')).to.equal(1);
      expect(hammingDistance('0000000000000000', '000000000000000f')).to.equal(4);
      expect(hammingDistance('0000000000000000', 'f00000000000000f')).to.equal(8);
      expect(hammingDistance('0123456789abcdef', 'fedcba9876543210')).to.equal(64);
      expect(hammingDistance('0123456789abcdef', '0123456789abcdee')).to.equal(1);
      expect(hammingDistance('ff00ff00ff00ff00', '00ff00ff00ff00ff')).to.equal(64);
      expect(hammingDistance('1111111111111111', '3333333333333333')).to.equal(16);
    });

    it('is symmetric and matches a bit-by-bit count on random pairs', () => {
      const next = xorshift(0x1234_5678_9abc_def1n);
      for (let i = 0; i < 200; i++) {
        const a = next();
        const b = next();
        let expected = 0;
        for (let bit = 0n; bit < 64n; bit++) if (((a >> bit) & 1n) !== ((b >> bit) & 1n)) expected++;
        expect(hammingDistance(hex(a), hex(b))).to.equal(expected);
        expect(hammingDistance(hex(b), hex(a))).to.equal(expected);
      }
    });
  });

  describe('bandValues / bandKeys', () => {
    it('splits the hash most significant bits first into 11,11,11,11,10,10 bits', () => {
      expect(bandValues('0000000000000000')).to.deep.equal([0, 0, 0, 0, 0, 0]);
      expect(bandValues('ffffffffffffffff')).to.deep.equal([2047, 2047, 2047, 2047, 1023, 1023]);
      expect(bandValues('8000000000000000')).to.deep.equal([1024, 0, 0, 0, 0, 0]);
      expect(bandValues('0000000000000001')).to.deep.equal([0, 0, 0, 0, 0, 1]);
      // Bit 20 (counting from the least significant) is the lowest bit of band 3 (bits 20..30).
      expect(bandValues(hex(1n << 20n))).to.deep.equal([0, 0, 0, 1, 0, 0]);
      expect(bandValues(hex(1n << 19n))).to.deep.equal([0, 0, 0, 0, 512, 0]);
    });

    it('gives 6 keys "band#value" with the value as 3 hex digits', () => {
      expect(bandKeys('0000000000000000')).to.deep.equal(['0#000', '1#000', '2#000', '3#000', '4#000', '5#000']);
      expect(bandKeys('ffffffffffffffff')).to.deep.equal(['0#7ff', '1#7ff', '2#7ff', '3#7ff', '4#3ff', '5#3ff']);
      expect(bandKeys('8000000000000001')).to.deep.equal(['0#400', '1#000', '2#000', '3#000', '4#000', '5#001']);
    });

    it('reassembling the bands gives the hash back (random hashes)', () => {
      const next = xorshift(0xdead_beef_cafe_f00dn);
      for (let i = 0; i < 500; i++) {
        const hash = hex(next());
        const values = bandValues(hash);
        expect(values).to.have.length(6);
        let rebuilt = 0n;
        values.forEach((value, band) => {
          const width = BAND_WIDTHS[band] as number;
          expect(value).to.be.at.least(0).and.below(2 ** width);
          rebuilt = (rebuilt << BigInt(width)) | BigInt(value);
        });
        expect(hex(rebuilt)).to.equal(hash);
        expect(bandKeys(hash)).to.deep.equal(values.map((value, band) => `${band}#${value.toString(16).padStart(3, '0')}`));
      }
    });
  });

  describe('probeKeys', () => {
    it('has exactly 6 + 64 = 70 distinct keys: each band key and its 1-bit neighbours', () => {
      const next = xorshift(0x0f0f_0f0f_1234_4321n);
      for (const hash of ['0000000000000000', 'ffffffffffffffff', hex(next()), hex(next())]) {
        const keys = probeKeys(hash);
        expect(keys, hash).to.have.length(70);
        expect(new Set(keys).size).to.equal(70);
        for (const key of bandKeys(hash)) expect(keys).to.include(key);
        // Every 1-bit change of the hash lands on a probe key in the band of that bit.
        for (let bit = 0n; bit < 64n; bit++) {
          const neighbour = bandKeys(hex(BigInt(`0x${hash}`) ^ (1n << bit)));
          expect(intersects(neighbour, keys)).to.equal(true);
        }
      }
    });

    it('property: a hash within distance ≤ 10 always shares a band key with the probe keys (2000 random cases)', () => {
      const next = xorshift(0x9e37_79b9_7f4a_7c15n);
      const byK = new Map<number, { cases: number; found: number }>();
      for (let i = 0; i < 2000; i++) {
        const h = next();
        const k = below(next, 11);
        const h2 = flip(h, k, next);
        expect(hammingDistance(hex(h), hex(h2))).to.equal(k);
        const found = intersects(bandKeys(hex(h2)), probeKeys(hex(h)));
        const stats = byK.get(k) ?? { cases: 0, found: 0 };
        stats.cases++;
        if (found) stats.found++;
        byK.set(k, stats);
        expect(found, `h=${hex(h)} h2=${hex(h2)} k=${k}`).to.equal(true);
      }
      // Every k in 0..10 was exercised.
      expect([...byK.keys()].sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    it('beyond the guarantee (k in 11..20) a match may be missed: reported, not asserted', () => {
      const next = xorshift(0x5851_f42d_4c95_7f2dn);
      const missed: Record<number, string> = {};
      for (let k = 11; k <= 20; k++) {
        let misses = 0;
        const cases = 200;
        for (let i = 0; i < cases; i++) {
          const h = next();
          const h2 = flip(h, k, next);
          if (!intersects(bandKeys(hex(h2)), probeKeys(hex(h)))) misses++;
        }
        missed[k] = `${misses}/${cases}`;
      }
      console.log('      probe misses by distance:', JSON.stringify(missed));
    });
  });
});
