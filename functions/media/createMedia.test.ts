import { expect } from 'chai';
import { ulid } from 'ulid';
import { badBodies } from '../../local/test/badInput';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';

interface Created {
  media: Record<string, unknown> & { id: string };
  upload: { method: string; url: string; fields: Record<string, string>; expiresAt: string };
}
interface ErrorBody {
  error: { code: string; existingId?: string; details?: Array<{ path: string }> };
}

const MB = 1024 * 1024;
const valid = { filename: 'eiffel.jpg', contentType: 'image/jpeg', size: 71587 };
const sha = 'ab'.repeat(32);

describe('POST /v1/media (createMedia)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  const caller = { userId: ulid(), sessionId: ulid() };
  const stranger = { userId: ulid(), sessionId: ulid() };

  beforeEach(() => {
    world = handlerWorld();
    handler = loadHandler('functions/media/createMedia', world);
  });

  const create = (body: unknown, who: { userId: string; sessionId: string } = caller) => invoke<Created>(handler, { method: 'POST', body, caller: who });
  const createError = (body: unknown, who: { userId: string; sessionId: string } = caller) => invoke<ErrorBody>(handler, { method: 'POST', body, caller: who });

  it('201 with the pending item, a presigned POST bound to the key and type (15 minutes), and a Location', async () => {
    const before = Date.now();
    const response = await create(valid);
    const after = Date.now();
    expect(response.status).to.equal(201);
    expect(response.headers['x-request-id']).to.be.a('string').that.is.not.empty;
    const { media, upload } = response.body;
    expect(response.body).to.have.keys(['media', 'upload']);
    expect(media).to.have.keys(['id', 'filename', 'contentType', 'size', 'status', 'type', 'createdAt', 'tags', 'views', 'favorite', 'archived']);
    expect(media).to.include({ favorite: false, archived: false });
    expect(media).to.include({ filename: 'eiffel.jpg', contentType: 'image/jpeg', size: 71587, status: 'pending', type: 'image', views: 0 });
    expect(media['tags']).to.deep.equal([]);
    expect(media.id).to.match(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(response.headers['location']).to.equal(`/v1/media/${media.id}`);

    expect(upload).to.have.keys(['method', 'url', 'fields', 'expiresAt']);
    expect(upload.method).to.equal('POST');
    expect(upload.url).to.match(/^https:\/\//);
    expect(upload.fields['key']).to.equal(`media/${caller.userId}/${media.id}/original`);
    expect(upload.fields['Content-Type']).to.equal('image/jpeg');
    const expires = new Date(upload.expiresAt).getTime();
    expect(expires).to.be.within(before + 15 * 60_000 - 1000, after + 15 * 60_000 + 1000);
    const created = new Date(media['createdAt'] as string).getTime();
    expect(created).to.be.within(before - 1000, after + 1000);
    expect(expires - created).to.equal(15 * 60_000);

    const stored = await world.media.get(caller.userId, media.id);
    expect(stored).to.include({ status: 'pending', type: 'image', contentType: 'image/jpeg', size: 71587, userId: caller.userId });
    expect(world.media.items.size).to.equal(1);
  });

  it('nothing internal leaks (userId, sha256, version, S3 keys of thumbnails)', async () => {
    const response = await create({ ...valid, sha256: sha });
    expect(response.status).to.equal(201);
    const text = JSON.stringify(response.body.media);
    for (const internal of ['userId', 'sha256', 'version', 'dirtyTags', 'objectETag', 'updatedAt', sha, caller.userId]) expect(text).not.to.contain(internal);
  });

  it('videos are typed as video', async () => {
    const response = await create({ filename: 'clip.mov', contentType: 'video/quicktime', size: 1000 });
    expect(response.status).to.equal(201);
    expect(response.body.media).to.include({ type: 'video', status: 'pending' });
  });

  for (const contentType of ['application/pdf', 'image/svg+xml', 'video/x-matroska', 'text/html']) {
    it(`415 unsupported_media_type for ${contentType}, with nothing written`, async () => {
      const response = await createError({ ...valid, contentType, sha256: sha });
      expect(response.status).to.equal(415);
      expect(response.body.error.code).to.equal('unsupported_media_type');
      expect(world.media.items.size).to.equal(0);
      expect(world.media.shaClaims.size).to.equal(0);
    });
  }

  it('MAX_IMAGE_BYTES is 50 MB on this stage', () => {
    expect(process.env['MAX_IMAGE_BYTES']).to.equal(String(50 * MB));
  });

  for (const [what, body] of [
    ['an image one byte over 50 MB', { ...valid, size: 50 * MB + 1 }],
    ['a video over 2 GB', { filename: 'long.mp4', contentType: 'video/mp4', size: 2048 * MB + 1 }],
  ] as const) {
    it(`413 payload_too_large for ${what}, with nothing written`, async () => {
      const response = await createError({ ...body, sha256: sha });
      expect(response.status).to.equal(413);
      expect(response.body.error.code).to.equal('payload_too_large');
      expect(world.media.items.size).to.equal(0);
      expect(world.media.shaClaims.size).to.equal(0);
    });
  }

  it('accepts an image of exactly 50 MB and a video of 1 GB', async () => {
    expect((await create({ ...valid, size: 50 * MB })).status).to.equal(201);
    const video = await create({ filename: 'long.mp4', contentType: 'video/mp4', size: 1024 * MB });
    expect(video.status).to.equal(201);
    expect(video.body.media).to.include({ type: 'video', size: 1024 * MB });
    expect(world.media.items.size).to.equal(2);
  });

  it('409 duplicate with existingId for the same sha256 of the same user; another user may upload it', async () => {
    const first = await create({ ...valid, sha256: sha });
    expect(first.status).to.equal(201);
    const again = await createError({ ...valid, filename: 'copy.jpg', sha256: sha });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal('duplicate');
    expect(again.body.error.existingId).to.equal(first.body.media.id);
    expect(world.media.items.size).to.equal(1);
    const theirs = await create({ ...valid, sha256: sha }, stranger);
    expect(theirs.status).to.equal(201);
    expect(world.media.items.size).to.equal(2);
  });

  it('sha256 in upper case is normalised to lower case (and is the same hash as its lower-case form)', async () => {
    const upper = 'AB'.repeat(32);
    const first = await create({ ...valid, sha256: upper });
    expect(first.status).to.equal(201);
    expect((await world.media.get(caller.userId, first.body.media.id))?.sha256).to.equal(sha);
    expect(world.media.shaClaims.get(`${caller.userId}/${sha}`)).to.equal(first.body.media.id);
    const lower = await createError({ ...valid, sha256: sha });
    expect(lower.status).to.equal(409);
    expect(lower.body.error.existingId).to.equal(first.body.media.id);
  });

  for (const [filename, expected] of [
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\ann\\photo.jpg', 'photo.jpg'],
    ['hol\u0000i\u001fday\u007f.jpg', 'holiday.jpg'],
    ['line\nbreak.jpg', 'linebreak.jpg'],
    ['  spaced.jpg  ', 'spaced.jpg'],
    ['folder/', 'upload'],
    // Bidi overrides make a name display as another ("photo" + RLO + "gpj.exe" reads "photoexe.jpg").
    ['photo\u202egpj.exe', 'photogpj.exe'],
    ['\u2066a\u2069\u200fb\u202a.jpg', 'ab.jpg'],
    // Stored in NFC: a decomposed é becomes one character.
    ['cafe\u0301.jpg', 'caf\u00e9.jpg'],
  ] as const) {
    it(`cleans the filename ${JSON.stringify(filename)} to ${JSON.stringify(expected)}`, async () => {
      const response = await create({ ...valid, filename });
      expect(response.status).to.equal(201);
      expect(response.body.media['filename']).to.equal(expected);
      expect((await world.media.get(caller.userId, response.body.media.id))?.filename).to.equal(expected);
    });
  }

  for (const [what, body] of [
    ['size 0', { ...valid, size: 0 }],
    ['a negative size', { ...valid, size: -1 }],
    ['a fractional size', { ...valid, size: 1.5 }],
    ['a size as a string', { ...valid, size: '100' }],
    ['a missing size', { filename: 'a.jpg', contentType: 'image/jpeg' }],
    ['a missing contentType', { filename: 'a.jpg', size: 10 }],
    ['an empty filename', { ...valid, filename: '' }],
    ['a filename that NFC makes longer than 255 characters', { ...valid, filename: '\ufb2c'.repeat(100) }],
    ['a filename of bidi controls only', { ...valid, filename: '\u202e\u202e' }],
    ['a 256-character filename', { ...valid, filename: `${'a'.repeat(252)}.jpg` }],
    ['a sha256 that is not 64 hex characters', { ...valid, sha256: 'xyz' }],
    ['a sha256 of 63 characters', { ...valid, sha256: 'a'.repeat(63) }],
    ['an unknown field (userId)', { ...valid, userId: stranger.userId }],
    ['an unknown field (status)', { ...valid, status: 'ready' }],
  ] as const) {
    it(`400 validation_failed for ${what}, with nothing written`, async () => {
      const response = await createError(body);
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
      expect(response.body.error.details?.[0]?.path).to.match(/^body/);
      expect(world.media.items.size).to.equal(0);
    });
  }

  for (const bad of badBodies(valid)) {
    it(`${bad.status} ${bad.code} for ${bad.what}`, async () => {
      const response = await invoke<ErrorBody>(handler, {
        method: 'POST',
        caller,
        ...(bad.rawBody === undefined ? { body: bad.body } : { rawBody: bad.rawBody }),
        headers: { 'content-type': bad.contentType ?? 'application/json' },
      });
      expect(response.status).to.equal(bad.status);
      expect(response.body.error.code).to.equal(bad.code);
      expect(world.media.items.size).to.equal(0);
    });
  }

  it('401 without a caller, with nothing written', async () => {
    const response = await invoke<ErrorBody>(handler, { method: 'POST', body: valid });
    expect(response.status).to.equal(401);
    expect(response.body.error.code).to.equal('unauthenticated');
    expect(world.media.items.size).to.equal(0);
  });
});
