import { expect } from 'chai';
import { ulid } from 'ulid';
import { mediaPrefix, originalKey, parseOriginalKey, thumbnailKeys, userPrefix } from './keys';

describe('content/keys', () => {
  const userId = '01JD8X5Q2W4K6M8N0P2R4T6V8X';
  const mediaId = '01JD8X5Q2W4K6M8N0P2R4T6V9A';

  describe('key builders', () => {
    it('userPrefix is media/{userId}/', () => {
      expect(userPrefix(userId)).to.equal(`media/${userId}/`);
    });

    it('mediaPrefix is media/{userId}/{mediaId}/, inside the user prefix', () => {
      expect(mediaPrefix(userId, mediaId)).to.equal(`media/${userId}/${mediaId}/`);
      expect(mediaPrefix(userId, mediaId).startsWith(userPrefix(userId))).to.equal(true);
    });

    it('originalKey is media/{userId}/{mediaId}/original', () => {
      expect(originalKey(userId, mediaId)).to.equal(`media/${userId}/${mediaId}/original`);
    });

    it('thumbnails are WebP files beside the original, under the media prefix', () => {
      const keys = thumbnailKeys(userId, mediaId);
      expect(keys).to.deep.equal({ small: `media/${userId}/${mediaId}/thumb-small.webp`, large: `media/${userId}/${mediaId}/thumb-large.webp` });
      for (const key of Object.values(keys)) expect(key.startsWith(mediaPrefix(userId, mediaId))).to.equal(true);
    });

    it('one user’s prefix does not cover another user whose id starts the same way', () => {
      const other = `${userId.slice(0, 25)}Z`;
      expect(originalKey(other, mediaId).startsWith(userPrefix(userId))).to.equal(false);
      expect(originalKey(userId, `${mediaId.slice(0, 25)}Z`).startsWith(mediaPrefix(userId, mediaId))).to.equal(false);
    });
  });

  describe('parseOriginalKey', () => {
    it('reads the owner and media id of an original key', () => {
      expect(parseOriginalKey(`media/${userId}/${mediaId}/original`)).to.deep.equal({ userId, mediaId });
    });

    it('round-trips originalKey for fresh ULIDs', () => {
      for (let i = 0; i < 20; i++) {
        const ids = { userId: ulid(), mediaId: ulid() };
        expect(parseOriginalKey(originalKey(ids.userId, ids.mediaId))).to.deep.equal(ids);
      }
    });

    it('thumbnails and other keys are not originals', () => {
      const thumbs = thumbnailKeys(userId, mediaId);
      for (const key of [
        thumbs.small,
        thumbs.large,
        mediaPrefix(userId, mediaId),
        userPrefix(userId),
        `media/${userId}/${mediaId}/original.jpg`,
        `media/${userId}/${mediaId}/originals`,
        `media/${userId}/${mediaId}/xoriginal`,
        `media/${userId}/${mediaId}/Original`,
        `media/${userId}/${mediaId}/original/`,
        `media/${userId}/original`,
        `media/${userId}/${mediaId}/extra/original`,
        `uploads/${userId}/${mediaId}/original`,
        `/media/${userId}/${mediaId}/original`,
        `xmedia/${userId}/${mediaId}/original`,
        `prefix/media/${userId}/${mediaId}/original`,
        'original',
        '',
      ]) {
        expect(parseOriginalKey(key), key).to.equal(undefined);
      }
    });

    it('ids that are not ULIDs are refused', () => {
      for (const [user, media] of [
        [userId.slice(0, 25), mediaId], // 25 characters
        [userId, `${mediaId}A`], // 27 characters
        [userId.replace(/.$/, 'I'), mediaId], // I, L, O and U are not Crockford base32
        [userId, mediaId.replace(/.$/, 'L')],
        [userId.replace(/^./, 'O'), mediaId],
        [userId, mediaId.replace(/.$/, 'U')],
        [userId.toLowerCase(), mediaId], // the service only makes upper-case ULIDs
        ['3f2c9a4e-6d1b-4c8e-9f0a-1b2c3d4e5f60', mediaId], // a UUID
        ['12345', mediaId],
        [userId, '*'],
        ['', mediaId],
        [userId, ''],
        [`${userId.slice(0, 13)}-${userId.slice(14)}`, mediaId],
      ] as const) {
        expect(parseOriginalKey(`media/${user}/${media}/original`), `${user} / ${media}`).to.equal(undefined);
      }
    });

    it('path traversal and other tricks are refused', () => {
      for (const key of [
        'media/../../original',
        `media/../${mediaId}/original`,
        `media/${userId}/../original`,
        `media/${userId}/${mediaId}/../original`,
        `media/${userId}/${mediaId}/../../${mediaId}/original`,
        `media/${userId}/./${mediaId}/original`,
        `media/${userId}/${mediaId}/./original`,
        `media/${userId}%2F..%2F${mediaId}/original`,
        `media/${userId}/${mediaId}%2Foriginal`,
        `media/${userId}\\..\\${mediaId}/original`,
        `media/${userId}//${mediaId}/original`,
        `media//${userId}/${mediaId}/original`,
        `media/${userId}/${mediaId}//original`,
        `media/${userId}/${mediaId}/original\n`,
        `media/${userId}/${mediaId}/original\u0000`,
        `media/${userId}/${mediaId}/original\nmedia/${userId}/${mediaId}/original`,
        `media/${userId}/${mediaId}/original/../original`,
        ` media/${userId}/${mediaId}/original`,
        `media/${userId}/${mediaId}/original `,
        `media/ ${userId}/${mediaId}/original`,
      ]) {
        expect(parseOriginalKey(key), JSON.stringify(key)).to.equal(undefined);
      }
    });
  });
});
