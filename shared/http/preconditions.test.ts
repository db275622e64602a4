import { expect } from 'chai';
import { acceptedVersions, entityTag } from './preconditions';

describe('shared/http preconditions (If-Match)', () => {
  it('entity tags are the quoted version', () => {
    expect(entityTag(7)).to.equal('"7"');
    expect(acceptedVersions(entityTag(7))).to.deep.equal([7]);
  });

  it('no header or * accepts any version', () => {
    expect(acceptedVersions(undefined)).to.equal(undefined);
    expect(acceptedVersions('*')).to.equal(undefined);
    expect(acceptedVersions('"3", *')).to.equal(undefined);
  });

  it('a list accepts each version it names', () => {
    expect(acceptedVersions('"3","5" , "8"')).to.deep.equal([3, 5, 8]);
  });

  it('weak tags and anything we never issue accept nothing', () => {
    for (const value of ['W/"3"', '3', '"abc"', '""', '"0"', '"03"', '"1e3"', '"-1"', '', ',', `"${'9'.repeat(16)}"`]) {
      expect(acceptedVersions(value), value).to.deep.equal([]);
    }
    expect(acceptedVersions('W/"3", "4"')).to.deep.equal([4]);
  });
});
