import { expect } from 'chai';
import * as z from 'zod/mini';
import { CreateMediaBody, ListMediaQuery, UpdateMetadataBody } from './media';

/** The messages of a failed parse, by path (as the HTTP layer reports them). */
function problems(schema: z.ZodMiniType, value: unknown): Array<{ path: string; message: string }> {
  const result = z.safeParse(schema, value);
  if (result.success) return [];
  return result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

describe('shared/schemas/media', () => {
  describe('UpdateMetadataBody (PATCH /v1/media/{id}/metadata)', () => {
    it('accepts a change of any one field alone', () => {
      expect(z.parse(UpdateMetadataBody, { title: '  Sunset  ' })).to.deep.equal({ title: 'Sunset' });
      expect(z.parse(UpdateMetadataBody, { description: 'At the pier' })).to.deep.equal({ description: 'At the pier' });
      expect(z.parse(UpdateMetadataBody, { tags: [' Beach ', 'SEA'] })).to.deep.equal({ tags: ['beach', 'sea'] });
    });

    it('accepts clearing a field with an empty value (a change, not nothing)', () => {
      expect(z.parse(UpdateMetadataBody, { title: '', tags: [] })).to.deep.equal({ title: '', tags: [] });
    });

    it('refuses a body that changes nothing, with one message for the whole body', () => {
      expect(problems(UpdateMetadataBody, {})).to.deep.equal([{ path: '', message: 'Give a title, a description, tags, favorite or archived to change' }]);
    });

    it('refuses unknown fields, control characters in titles and more than 50 tags', () => {
      expect(problems(UpdateMetadataBody, { title: 'x', views: 7 })).to.have.length(1);
      expect(problems(UpdateMetadataBody, { title: 'a\u0007b' })).to.deep.equal([{ path: 'title', message: 'No control characters in titles' }]);
      const tags = Array.from({ length: 51 }, (_, i) => `tag${i}`);
      expect(problems(UpdateMetadataBody, { tags })).to.deep.equal([{ path: 'tags', message: 'At most 50 tags per item' }]);
    });
  });

  describe('CreateMediaBody and ListMediaQuery', () => {
    it('a sha256 must be 64 hex characters; any content type string passes (415 is decided later)', () => {
      const body = { filename: 'a.jpg', contentType: 'application/x-anything', size: 10 };
      expect(z.parse(CreateMediaBody, body)).to.deep.equal(body);
      expect(problems(CreateMediaBody, { ...body, sha256: 'abc' })).to.deep.equal([{ path: 'sha256', message: 'A SHA-256 is 64 hex characters' }]);
    });

    it('normalises the tag filter and applies the default page size', () => {
      expect(z.parse(ListMediaQuery, { tag: ' Beach ' })).to.deep.equal({ limit: 25, tag: 'beach' });
      expect(problems(ListMediaQuery, { tag: 'a\u0001' })).to.deep.equal([{ path: 'tag', message: 'Tags cannot contain control characters' }]);
    });
  });
});
