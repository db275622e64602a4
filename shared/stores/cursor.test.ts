import { expect } from 'chai';
import { HttpError } from '../http/errors';
import { decodeCursor, encodeCursor, InvalidCursor } from './cursor';

const ATTRIBUTES = ['pk', 'sk'] as const;
const OWN_PARTITION = 'USER#01HZY0AAAAAAAAAAAAAAAAAAAA';
const ownPartition = (key: Record<string, string>): boolean => key['pk'] === OWN_PARTITION;
const validKey = { pk: OWN_PARTITION, sk: 'MEDIA#01HZY0BBBBBBBBBBBBBBBBBB' };

/** A cursor as a client could forge it: any JSON, base64url-encoded. */
const forge = (json: string): string => Buffer.from(json, 'utf8').toString('base64url');

function expectInvalidCursor(cursor: string, attributes: readonly string[] = ATTRIBUTES, accept: (key: Record<string, string>) => boolean = ownPartition): void {
  let caught: unknown;
  try {
    decodeCursor(cursor, attributes, accept);
  } catch (error) {
    caught = error;
  }
  expect(caught, `cursor ${JSON.stringify(cursor)} should be refused`).to.be.instanceOf(InvalidCursor);
  expect(caught).to.be.instanceOf(HttpError);
  expect((caught as HttpError).status).to.equal(400);
  expect((caught as HttpError).code).to.equal('invalid_cursor');
}

describe('shared/stores/cursor', () => {
  describe('encodeCursor', () => {
    it('returns null when there is no LastEvaluatedKey (the last page)', () => {
      expect(encodeCursor(undefined)).to.equal(null);
    });

    it('returns an opaque base64url string (no padding, URL-safe)', () => {
      const cursor = encodeCursor({ pk: '??>>~~', sk: 'ÿÿÿ' });
      expect(cursor).to.be.a('string');
      expect(cursor).to.match(/^[A-Za-z0-9_-]+$/);
      expect(cursor).to.not.include('pk');
    });
  });

  describe('decodeCursor', () => {
    it('round-trips what encodeCursor produced', () => {
      const cursor = encodeCursor(validKey);
      expect(decodeCursor(cursor ?? undefined, ATTRIBUTES, ownPartition)).to.deep.equal(validKey);
    });

    it('round-trips non-ASCII values and ignores the attribute order', () => {
      const key = { sk: 'TAG#été#日本', pk: OWN_PARTITION };
      const cursor = encodeCursor(key);
      expect(decodeCursor(cursor ?? undefined, ['sk', 'pk'], ownPartition)).to.deep.equal(key);
      expect(decodeCursor(cursor ?? undefined, ['pk', 'sk'], ownPartition)).to.deep.equal(key);
    });

    it('returns undefined when there is no cursor (the first page)', () => {
      let called = false;
      expect(
        decodeCursor(undefined, ATTRIBUTES, () => {
          called = true;
          return true;
        }),
      ).to.equal(undefined);
      expect(called).to.equal(false);
    });

    it('passes the decoded key to accept', () => {
      const seen: Array<Record<string, string>> = [];
      decodeCursor(encodeCursor(validKey) ?? undefined, ATTRIBUTES, (key) => {
        seen.push(key);
        return true;
      });
      expect(seen).to.deep.equal([validKey]);
    });

    it('accepts values of exactly 1024 characters', () => {
      const key = { pk: OWN_PARTITION, sk: 'x'.repeat(1024) };
      expect(decodeCursor(encodeCursor(key) ?? undefined, ATTRIBUTES, ownPartition)).to.deep.equal(key);
    });

    describe('refuses with 400 invalid_cursor', () => {
      it('a cursor with characters outside base64url, or an empty one', () => {
        const valid = encodeCursor(validKey) ?? '';
        expectInvalidCursor('');
        expectInvalidCursor(`${valid}=`);
        expectInvalidCursor(Buffer.from(JSON.stringify(validKey)).toString('base64').replace(/=+$/, '') + '+/');
        expectInvalidCursor(`${valid.slice(0, 10)}.${valid.slice(10)}`);
        expectInvalidCursor(`${valid} `);
        expectInvalidCursor(`${valid}\n`);
        expectInvalidCursor('%7B%7D');
        expectInvalidCursor(JSON.stringify(validKey));
      });

      it('a cursor longer than 2048 characters', () => {
        expectInvalidCursor('A'.repeat(2049));
      });

      it('base64url of something that is not JSON', () => {
        expectInvalidCursor(forge('not json'));
        expectInvalidCursor(forge('{"pk":'));
        expectInvalidCursor(forge("{'pk':'a','sk':'b'}"));
      });

      it('JSON that is not an object: array, null, string, number, boolean', () => {
        expectInvalidCursor(forge(JSON.stringify([OWN_PARTITION, 'MEDIA#1'])));
        expectInvalidCursor(forge(JSON.stringify([])));
        expectInvalidCursor(forge('null'));
        expectInvalidCursor(forge('"pk"'));
        expectInvalidCursor(forge('42'));
        expectInvalidCursor(forge('true'));
      });

      it('a missing attribute', () => {
        expectInvalidCursor(forge(JSON.stringify({ pk: OWN_PARTITION })));
        expectInvalidCursor(forge(JSON.stringify({})));
      });

      it('an extra attribute', () => {
        expectInvalidCursor(forge(JSON.stringify({ ...validKey, gsi1pk: 'x' })));
        expectInvalidCursor(forge(`{"pk":"${OWN_PARTITION}","sk":"a","__proto__":"b"}`));
      });

      it('another attribute in place of an expected one', () => {
        expectInvalidCursor(forge(JSON.stringify({ pk: OWN_PARTITION, SK: 'MEDIA#1' })));
      });

      it('a value that is not a string', () => {
        for (const sk of [1, true, null, { S: 'MEDIA#1' }, ['MEDIA#1']]) {
          expectInvalidCursor(forge(JSON.stringify({ pk: OWN_PARTITION, sk })));
        }
      });

      it('an empty string value', () => {
        expectInvalidCursor(forge(JSON.stringify({ pk: OWN_PARTITION, sk: '' })));
      });

      it('a value longer than 1024 characters', () => {
        expectInvalidCursor(forge(JSON.stringify({ pk: OWN_PARTITION, sk: 'x'.repeat(1025) })));
      });

      it('a key that accept refuses, such as another user\'s partition', () => {
        const otherUsers = { pk: 'USER#01HZY0CCCCCCCCCCCCCCCCCCCC', sk: 'MEDIA#01HZY0DDDDDDDDDDDDDDDDDD' };
        expectInvalidCursor(encodeCursor(otherUsers) ?? '');
        expectInvalidCursor(encodeCursor(validKey) ?? '', ATTRIBUTES, () => false);
      });
    });
  });
});
