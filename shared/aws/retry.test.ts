import { expect } from 'chai';
import sinon from 'sinon';
import { retryTransient } from './retry';

const throttled = (): Error => Object.assign(new Error('throttled'), { name: 'ThrottlingException' });

describe('shared/aws retryTransient', () => {
  it('returns what the work returns, running it once when it succeeds', async () => {
    const work = sinon.stub().resolves(42);
    expect(await retryTransient(work)).to.equal(42);
    expect(work.callCount).to.equal(1);
  });

  it('runs the work again after passing dependency failures', async () => {
    const work = sinon.stub();
    work.onFirstCall().rejects(throttled());
    work.onSecondCall().rejects(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    work.onThirdCall().resolves('done');
    expect(await retryTransient(work, { baseDelayMs: 1 })).to.equal('done');
    expect(work.callCount).to.equal(3);
  });

  it('gives up after the attempts, throwing the last failure', async () => {
    const last = throttled();
    const work = sinon.stub().rejects(throttled());
    work.onCall(3).rejects(last);
    let thrown: unknown;
    await retryTransient(work, { attempts: 4, baseDelayMs: 1 }).catch((error: unknown) => (thrown = error));
    expect(thrown).to.equal(last);
    expect(work.callCount).to.equal(4);
  });

  it('throws anything else at once', async () => {
    const bug = new TypeError('bug');
    const work = sinon.stub().rejects(bug);
    let thrown: unknown;
    await retryTransient(work, { baseDelayMs: 1 }).catch((error: unknown) => (thrown = error));
    expect(thrown).to.equal(bug);
    expect(work.callCount).to.equal(1);
  });
});
