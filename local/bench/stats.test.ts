/** The benchmark's statistics (./stats.ts) and its command line (./options.ts): pure, no timing. */
import { expect } from 'chai';
import { selectSuites, SUITES } from './options';
import { fixed, formatBytes, median, quantile, ratio, summarize, withRange, withSpread } from './stats';

describe('bench statistics', () => {
  it('interpolates quantiles between closest ranks, whatever the input order', () => {
    const values = [40, 10, 30, 20];
    expect(quantile(values, 0)).to.equal(10);
    expect(quantile(values, 1)).to.equal(40);
    expect(median(values)).to.equal(25);
    expect(quantile(values, 0.25)).to.equal(17.5);
    expect(quantile([7], 0.99)).to.equal(7);
    expect(values).to.deep.equal([40, 10, 30, 20]);
  });

  it('has no quantile of nothing, and refuses a quantile outside [0, 1]', () => {
    expect(Number.isNaN(median([]))).to.equal(true);
    expect(() => quantile([1], 1.5)).to.throw(RangeError);
    expect(() => quantile([1], Number.NaN)).to.throw(RangeError);
  });

  it('summarises with the spread beside the median', () => {
    const summary = summarize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(summary).to.include({ n: 10, min: 1, max: 10, median: 5.5, p25: 3.25, p75: 7.75 });
    expect(summary.p99).to.be.closeTo(9.91, 1e-9);
    expect(withSpread(summary)).to.equal('5.5 (3.3–7.8)');
    expect(withRange(summary, 0, ' ms')).to.equal('6 ms (1–10)');
  });

  it('formats what is not a number as a dash, bytes as KiB or MiB, and ratios to an empty baseline as NaN', () => {
    expect(fixed(Number.NaN)).to.equal('–');
    expect(fixed(undefined)).to.equal('–');
    expect(fixed(Number.POSITIVE_INFINITY)).to.equal('–');
    expect(formatBytes(512 * 1024)).to.equal('512.0 KiB');
    expect(formatBytes(1.5 * 1024 * 1024)).to.equal('1.5 MiB');
    expect(Number.isNaN(ratio(1, 0))).to.equal(true);
    expect(ratio(5, 4)).to.equal(1.25);
  });
});

describe('bench command line', () => {
  it('runs every benchmark by default, a chosen few in the canonical order, and cost as the round trips', () => {
    expect(selectSuites(undefined)).to.deep.equal([...SUITES]);
    expect(selectSuites(' ')).to.deep.equal([...SUITES]);
    expect(selectSuites('login, footprint')).to.deep.equal(['footprint', 'login']);
    expect(selectSuites('cost')).to.deep.equal(['roundtrips']);
  });

  it('refuses a benchmark it does not know, naming the ones it does', () => {
    expect(() => selectSuites('footprint,speed')).to.throw(/unknown benchmark\(s\): speed; choose from footprint/);
  });
});
