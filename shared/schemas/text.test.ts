import { expect } from 'chai';
import { Tag, UpdateMetadataBody } from './media';
import { normalizeFilename, normalizeTag, normalizeText } from './text';
import { DisplayName } from './users';

describe('schemas/text: limits apply to text as stored', () => {
  it('normalises to NFC, removes bidi embeddings, overrides and isolates, trims', () => {
    expect(normalizeText('  Cafe\u0301 \u202eevil\u202c ')).to.equal('Caf\u00e9 evil');
    expect(normalizeText('\u05e9\u200f')).to.equal('\u05e9\u200f');
    expect(normalizeTag(' \u200fBEACH\u2066 ')).to.equal('beach');
    expect(normalizeTag('\u0130')).to.equal('i\u0307');
    expect(normalizeFilename('a\u0000b\u202e\u200e.jpg')).to.equal('ab.jpg');
  });

  it('measures after normalising: 50 × U+FB2C is 150 characters as stored, so it is not a valid tag', () => {
    expect(Tag.safeParse('\ufb2c'.repeat(50)).success).to.equal(false);
    expect(Tag.safeParse('\ufb2c'.repeat(16)).data).to.have.length(48);
    expect(Tag.safeParse('\u202e').success, 'nothing left once normalised').to.equal(false);
    expect(DisplayName.safeParse('\ufb2c'.repeat(34)).success).to.equal(false);
    expect(DisplayName.safeParse('\ufb2c'.repeat(33)).success).to.equal(true);
    expect(UpdateMetadataBody.safeParse({ description: 'e\u0301'.repeat(1001) }).success, 'NFC shortens too: 2002 → 1001').to.equal(true);
  });
});
