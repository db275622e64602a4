/**
 * The media library over real HTTP: presigned POST uploads to the S3 stand-in, S3 events into
 * processUpload, thumbnails, listing and pagination, tags, deletion, and what a lying or
 * foreign client gets.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import sharp from 'sharp';
import { ApiClient, newAccount } from '../test/http';
import { settled, standInS3, tryUpload, upload, type MediaBody } from '../test/media';
import { runToEnd } from '../test/run';
import { offlineApi } from '../test/stack';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'media');
const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));
const BUCKET = 'media-library-local-media';

interface ErrorBody {
  error: { code: string; message: string; existingId?: string };
}
interface Page {
  items: MediaBody[];
  nextCursor: string | null;
}

describe('media library over HTTP', function () {
  this.timeout(180_000);
  let api: ApiClient;
  let s3: S3Client;
  let lambdaPort: number;

  async function account(): Promise<{ token: string; userId: string }> {
    const body = newAccount('media');
    const created = await api.post<{ id: string }>('/v1/users', { body });
    const session = await api.post<{ accessToken: string }>('/v1/sessions', { body: { email: body.email, password: body.password } });
    return { token: session.body.accessToken, userId: created.body.id };
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key as string).sort();
  }

  before(async () => {
    const offline = await offlineApi();
    api = new ApiClient(offline.baseUrl);
    s3 = standInS3(offline.s3Endpoint);
    lambdaPort = offline.lambdaPort;
  });

  it('photo: upload -> ready -> metadata -> thumbnails -> tag -> list -> delete, with S3 and DynamoDB kept consistent', async () => {
    const { token, userId } = await account();
    const bytes = fixture('photo-exif.jpg');
    const created = await upload(api, token, { bytes, filename: 'eiffel.jpg', contentType: 'image/jpeg' });
    expect(created.media.status).to.equal('pending');
    expect(created.upload.fields['key']).to.equal(`media/${userId}/${created.media.id}/original`);
    expect(Date.parse(created.upload.expiresAt) - Date.now()).to.be.within(14 * 60_000, 15 * 60_000);

    const media = await settled(api, token, created.media.id);
    expect(media).to.include({ status: 'ready', type: 'image', width: 480, height: 640, takenAt: '2024-07-14T16:32:05.000Z', filename: 'eiffel.jpg' });

    const metadata = await api.get<Record<string, unknown>>(`/v1/media/${media.id}/metadata`, { token });
    expect(metadata.body).to.deep.equal({
      width: 480,
      height: 640,
      takenAt: '2024-07-14T16:32:05.000Z',
      camera: { make: 'Canon', model: 'Canon EOS R6' },
      location: { latitude: 48.85837, longitude: 2.294481, altitude: 35 },
      orientation: 6,
      title: '',
      description: '',
      tags: [],
      favorite: false,
      archived: false,
    });

    const original = await fetch(media.downloadUrl as string);
    expect(original.status).to.equal(200);
    expect(Buffer.from(await original.arrayBuffer()).equals(bytes)).to.equal(true);
    for (const [size, url] of Object.entries(media.thumbnails ?? {})) {
      const response = await fetch(url);
      expect(response.status, size).to.equal(200);
      const info = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
      expect(info.format).to.equal('webp');
      // Upright (orientation applied) and within its box: small 256, large 1024 (never enlarged).
      expect([info.width, info.height]).to.deep.equal(size === 'small' ? [192, 256] : [480, 640]);
    }

    const patched = await api.patch<Record<string, unknown>>(`/v1/media/${media.id}/metadata`, {
      token,
      body: { title: ' Eiffel Tower ', description: 'Summer', tags: ['Paris', 'travel', ' paris '] },
    });
    expect(patched.status).to.equal(200);
    expect(patched.body).to.include({ title: 'Eiffel Tower', description: 'Summer' });
    expect(patched.body['tags']).to.deep.equal(['paris', 'travel']);
    expect((await api.patch(`/v1/media/${media.id}/metadata`, { token, body: { width: 1 } })).status, 'only title, description, tags').to.equal(400);
    const tags = await api.get<{ items: Array<{ tag: string; count: number }> }>('/v1/tags', { token });
    expect(tags.body.items).to.deep.equal([
      { tag: 'paris', count: 1 },
      { tag: 'travel', count: 1 },
    ]);

    const byTag = await api.get<Page>('/v1/media?tag=PARIS', { token });
    expect(byTag.body.items.map((item) => item.id)).to.deep.equal([media.id]);
    expect(byTag.body.items[0]?.thumbnails?.small).to.be.a('string');
    expect(byTag.body.items[0], 'the title, for alt text, read from the item itself').to.include({ title: 'Eiffel Tower' });

    expect(await keysUnder(`media/${userId}/${media.id}/`)).to.deep.equal([
      `media/${userId}/${media.id}/original`,
      `media/${userId}/${media.id}/thumb-large.webp`,
      `media/${userId}/${media.id}/thumb-small.webp`,
    ]);
    expect((await api.delete(`/v1/media/${media.id}`, { token })).status).to.equal(204);
    expect(await keysUnder(`media/${userId}/`), 'original and thumbnails are gone').to.deep.equal([]);
    expect((await api.get(`/v1/media/${media.id}`, { token })).status).to.equal(404);
    expect((await api.get<{ items: unknown[] }>('/v1/tags', { token })).body.items, 'tag counts follow').to.deep.equal([]);
    expect((await api.get<Page>('/v1/media?tag=paris', { token })).body.items).to.deep.equal([]);
    expect((await api.delete(`/v1/media/${media.id}`, { token })).status, 'deleting again').to.equal(404);
  });

  it('videos: MP4 and QuickTime become ready with size, duration and capture time', async () => {
    const { token } = await account();
    const mp4 = await upload(api, token, { bytes: fixture('clip.mp4'), filename: 'clip.mp4', contentType: 'video/mp4' });
    const mov = await upload(api, token, { bytes: fixture('clip.mov'), filename: 'clip.mov', contentType: 'video/quicktime' });
    expect(await settled(api, token, mp4.media.id)).to.include({ status: 'ready', type: 'video', width: 320, height: 240, durationSeconds: 2, takenAt: '2024-07-14T16:32:05.000Z' });
    const movie = await settled(api, token, mov.media.id);
    expect(movie).to.include({ status: 'ready', type: 'video', width: 160, height: 120, durationSeconds: 1.52, takenAt: '2023-01-02T03:04:05.000Z' });
    expect(movie.thumbnails, 'no video thumbnails (no ffmpeg in Lambda)').to.equal(undefined);
    const videos = await api.get<Page>('/v1/media?type=video', { token });
    expect(videos.body.items.map((item) => item.id)).to.deep.equal([mov.media.id, mp4.media.id]);
    expect((await api.get<Page>('/v1/media?type=image', { token })).body.items).to.deep.equal([]);
  });

  it('a lying client: declared image/jpeg but text, or PNG bytes as JPEG, is rejected and its object deleted', async () => {
    const { token, userId } = await account();
    const text = await upload(api, token, { bytes: fixture('not-an-image.jpg'), filename: 'cat.jpg', contentType: 'image/jpeg' });
    const png = fixture('graphic.png');
    const wrongType = await upload(api, token, { bytes: png, filename: 'g.jpg', contentType: 'image/jpeg' });
    expect(await settled(api, token, text.media.id)).to.include({ status: 'rejected', rejectReason: 'type_mismatch' });
    expect(await settled(api, token, wrongType.media.id)).to.include({ status: 'rejected', rejectReason: 'type_mismatch' });
    expect(await keysUnder(`media/${userId}/`), 'no bytes of rejected uploads stay').to.deep.equal([]);
    const rejected = await api.get<Page>('/v1/media?status=rejected', { token });
    expect(rejected.body.items).to.have.length(2);
  });

  it('an upload form used again after its item was rejected stores nothing (the audit kept such bytes forever)', async () => {
    const { token, userId } = await account();
    const bytes = fixture('not-an-image.jpg');
    const first = await upload(api, token, { bytes, filename: 'cat.jpg', contentType: 'image/jpeg' });
    expect(await settled(api, token, first.media.id)).to.include({ status: 'rejected', rejectReason: 'type_mismatch' });
    const again = new FormData();
    for (const [name, value] of Object.entries(first.upload.fields)) again.append(name, value);
    again.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), 'cat.jpg');
    expect((await fetch(first.upload.url, { method: 'POST', body: again })).status, 'S3 takes it: the form has not expired').to.equal(204);
    const deadline = Date.now() + 10_000;
    while ((await keysUnder(`media/${userId}/`)).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await keysUnder(`media/${userId}/`)).to.deep.equal([]);
    expect((await api.get<MediaBody>(`/v1/media/${first.media.id}`, { token })).body).to.include({ status: 'rejected', views: 0 });
  });

  it('thumbnails of a list load in a browser (URLs signed by listMedia, inline WebP), the same URLs on every list within the hour, cacheable', async () => {
    const { token } = await account();
    const photo = await upload(api, token, { bytes: fixture('photo-exif.jpg'), filename: 'p.jpg', contentType: 'image/jpeg' });
    await settled(api, token, photo.media.id);
    const hour = (): number => Math.floor(Date.now() / 3600_000);
    const listed = async (): Promise<MediaBody['thumbnails']> => (await api.get<Page>('/v1/media', { token })).body.items[0]?.thumbnails;
    const shown = async (): Promise<MediaBody['thumbnails']> => (await api.get<MediaBody>(`/v1/media/${photo.media.id}`, { token })).body.thumbnails;
    let started: number;
    let lists: Array<MediaBody['thumbnails']>;
    let gets: Array<MediaBody['thumbnails']>;
    do {
      // Both lists (and both gets) within one clock hour: the URLs change from one hour to the next.
      started = hour();
      lists = [await listed(), await listed()];
      gets = [await shown(), await shown()];
    } while (hour() !== started);
    expect(lists[1]).to.deep.equal(lists[0]);
    expect(gets[1], 'GET /v1/media/{id} too').to.deep.equal(gets[0]);
    const thumbnail = await fetch(lists[0]?.small as string);
    expect([thumbnail.status, thumbnail.headers.get('content-type'), thumbnail.headers.get('content-disposition')]).to.deep.equal([200, 'image/webp', 'inline']);
    expect(thumbnail.headers.get('cache-control')).to.equal('private, max-age=3600');
    expect((await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata()).format).to.equal('webp');
    const viewed = await fetch(gets[0]?.large as string);
    expect([viewed.status, viewed.headers.get('cache-control')]).to.deep.equal([200, 'private, max-age=3600']);
    await viewed.arrayBuffer();
  });

  it('bytes that do not match the declared sha256 are rejected, and the hash is free again', async () => {
    const { token, userId } = await account();
    const png = fixture('graphic.png');
    const real = createHash('sha256').update(png).digest('hex');
    const lied = await upload(api, token, { bytes: png, filename: 'g.png', contentType: 'image/png', sha256: 'f'.repeat(64) });
    expect(await settled(api, token, lied.media.id)).to.include({ status: 'rejected', rejectReason: 'checksum_mismatch' });
    const claimedWrongly = await upload(api, token, { bytes: png, filename: 'g.png', contentType: 'image/png', sha256: 'f'.repeat(64) });
    expect(claimedWrongly.media.status, 'the rejected upload released its claim on that hash').to.equal('pending');
    const honest = await upload(api, token, { bytes: png, filename: 'g.png', contentType: 'image/png', sha256: real });
    expect(await settled(api, token, honest.media.id)).to.include({ status: 'ready' });
    await settled(api, token, claimedWrongly.media.id);
    expect((await keysUnder(`media/${userId}/`)).filter((key) => key.endsWith('/original'))).to.deep.equal([`media/${userId}/${honest.media.id}/original`]);
  });

  it('views count when a viewer records one, never when the item is read', async () => {
    const { token } = await account();
    const photo = await upload(api, token, { bytes: fixture('graphic.png'), filename: 'g.png', contentType: 'image/png' });
    await settled(api, token, photo.media.id);
    for (let i = 0; i < 3; i++) await api.get(`/v1/media/${photo.media.id}`, { token });
    const viewed = await api.post<{ id: string; views: number }>(`/v1/media/${photo.media.id}/views`, { token });
    expect([viewed.status, viewed.body]).to.deep.equal([200, { id: photo.media.id, views: 1 }]);
    expect((await api.get<MediaBody>(`/v1/media/${photo.media.id}`, { token })).body.views).to.equal(1);
    const download = await fetch((await api.get<MediaBody>(`/v1/media/${photo.media.id}`, { token })).body.downloadUrl as string);
    expect(download.headers.get('content-type')).to.equal('image/png');
    expect(download.headers.get('content-disposition')).to.match(/^attachment; filename="g.png"/);
  });

  it('S3 itself refuses an upload that breaks the presigned policy (size, type): nothing is stored, the item stays pending', async () => {
    const { token, userId } = await account();
    const png = fixture('graphic.png');
    const smaller = await tryUpload(api, token, { bytes: png, filename: 'g.png', contentType: 'image/png', declaredSize: png.length + 100 });
    expect([smaller.posted.status, smaller.posted.text]).to.satisfy(([status, text]: [number, string]) => status === 400 && text.includes('<Code>EntityTooSmall</Code>'));
    const larger = await tryUpload(api, token, { bytes: png, filename: 'g.png', contentType: 'image/png', declaredSize: png.length - 1 });
    expect([larger.posted.status, larger.posted.text]).to.satisfy(([status, text]: [number, string]) => status === 400 && text.includes('<Code>EntityTooLarge</Code>'));
    const html = await tryUpload(api, token, { bytes: png, filename: 'g.png', contentType: 'image/png', formContentType: 'text/html' });
    expect(html.posted.status).to.equal(403);
    expect(html.posted.text).to.contain('Policy Condition failed').and.contain('$Content-Type');
    expect(await keysUnder(`media/${userId}/`), 'S3 stored nothing').to.deep.equal([]);
    for (const attempt of [smaller, larger, html]) expect((await api.get<MediaBody>(`/v1/media/${attempt.created.media.id}`, { token })).body.status).to.equal('pending');
  });

  it('refuses at request time what it would never accept: 415 for other types, 413 over the limit, 409 for a duplicate', async () => {
    const { token } = await account();
    const pdf = await api.post<ErrorBody>('/v1/media', { token, body: { filename: 'a.pdf', contentType: 'application/pdf', size: 1000 } });
    expect(pdf.status).to.equal(415);
    expect(pdf.body.error.code).to.equal('unsupported_media_type');
    const huge = await api.post<ErrorBody>('/v1/media', { token, body: { filename: 'a.jpg', contentType: 'image/jpeg', size: 51 * 1024 * 1024 } });
    expect(huge.status).to.equal(413);
    expect((await api.post('/v1/media', { token, body: { filename: 'a.mp4', contentType: 'video/mp4', size: 1024 * 1024 * 1024 } })).status, 'videos may be 2 GB').to.equal(201);

    const png = fixture('graphic.png');
    const sha256 = createHash('sha256').update(png).digest('hex');
    const first = await upload(api, token, { bytes: png, filename: 'g.png', contentType: 'image/png', sha256 });
    const again = await api.post<ErrorBody>('/v1/media', { token, body: { filename: 'copy.png', contentType: 'image/png', size: png.length, sha256 } });
    expect(again.status).to.equal(409);
    expect(again.body.error).to.include({ code: 'duplicate', existingId: first.media.id });
    expect((await settled(api, token, first.media.id)).status).to.equal('ready');
  });

  it('lists 60 items newest first in pages of 25 with no item lost or repeated, and filters by type and tag', async () => {
    const { token } = await account();
    const png = fixture('graphic.png');
    const ids: string[] = [];
    for (let batch = 0; batch < 6; batch++) {
      const uploads = await Promise.all(Array.from({ length: 10 }, (_, i) => upload(api, token, { bytes: png, filename: `p${batch * 10 + i}.png`, contentType: 'image/png' })));
      ids.push(...uploads.map((created) => created.media.id));
    }
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '?limit=25' : `?limit=25&cursor=${encodeURIComponent(cursor)}`;
      const page = await api.get<Page>(`/v1/media${query}`, { token });
      expect(page.status).to.equal(200);
      pageSizes.push(page.body.items.length);
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(pageSizes.slice(0, 3)).to.deep.equal([25, 25, 10]);
    expect(seen).to.deep.equal([...ids].sort().reverse());

    await Promise.all(ids.slice(0, 8).map((id) => settled(api, token, id)));
    for (const id of ids.slice(0, 5)) expect((await api.patch(`/v1/media/${id}/metadata`, { token, body: { tags: ['screenshot'] } })).status).to.equal(200);
    const newestTagged = ids.slice(0, 5).sort().reverse();
    const tagged = await api.get<Page>('/v1/media?tag=screenshot&limit=2', { token });
    expect(tagged.body.items.map((item) => item.id)).to.deep.equal(newestTagged.slice(0, 2));
    const rest = await api.get<Page>(`/v1/media?tag=screenshot&cursor=${encodeURIComponent(tagged.body.nextCursor as string)}`, { token });
    expect(rest.body.items.map((item) => item.id)).to.deep.equal(newestTagged.slice(2));
    expect((await api.get<Page>('/v1/media?type=image&limit=100', { token })).body.items).to.have.length(60);
    expect((await api.get<{ items: Array<{ tag: string; count: number }> }>('/v1/tags', { token })).body.items).to.deep.equal([{ tag: 'screenshot', count: 5 }]);
  });

  it('favourites and archive: flags set over PATCH, the timeline, favourites and archive views follow; a stranger can neither flag nor see them', async () => {
    const owner = await account();
    const stranger = await account();
    const ids: string[] = [];
    for (const name of ['first.png', 'second.png', 'third.png']) {
      const bytes = await sharp({ create: { width: 8 + ids.length, height: 8, channels: 3, background: '#3366aa' } }).png().toBuffer();
      const created = await upload(api, owner.token, { bytes, filename: name, contentType: 'image/png' });
      await settled(api, owner.token, created.media.id);
      ids.push(created.media.id);
    }
    const [first, second, third] = ids as [string, string, string];
    const patch = (id: string, body: unknown, token = owner.token) => api.request<MediaBody & ErrorBody>('PATCH', `/v1/media/${id}/metadata`, { token, body });
    expect((await patch(first, { favorite: true })).status).to.equal(200);
    const archived = await patch(second, { archived: true, favorite: true });
    expect(archived.status).to.equal(200);
    expect(archived.body).to.include({ favorite: true, archived: true });
    const idsOf = async (query: string, token = owner.token): Promise<string[]> => {
      const response = await api.get<Page>(`/v1/media${query}`, { token });
      expect(response.status, query).to.equal(200);
      return response.body.items.map((item) => item.id);
    };
    expect(await idsOf('')).to.deep.equal([third, first]);
    expect(await idsOf('?favorite=true')).to.deep.equal([first]);
    expect(await idsOf('?favorite=true&archived=include')).to.deep.equal([second, first]);
    expect(await idsOf('?archived=only')).to.deep.equal([second]);
    expect(await idsOf('?archived=include&limit=1')).to.deep.equal([third]);
    expect((await api.get<MediaBody>(`/v1/media/${second}`, { token: owner.token })).body).to.include({ favorite: true, archived: true });

    // A stranger: 404 for flagging the owner's item, nothing of the owner's in any view, and the flags unchanged.
    for (const body of [{ favorite: false }, { archived: false }, { favorite: true, archived: true }]) {
      const response = await patch(second, body, stranger.token);
      expect(response.status, JSON.stringify(body)).to.equal(404);
      expect(response.body.error.code).to.equal('media_not_found');
    }
    for (const query of ['', '?favorite=true&archived=include', '?archived=only', '?archived=include']) expect(await idsOf(query, stranger.token), query).to.deep.equal([]);
    expect(await idsOf('?favorite=true&archived=include')).to.deep.equal([second, first]);
    for (const query of ['?favorite=1', '?favorite=yes', '?archived=true', '?archived=']) {
      const response = await api.get<ErrorBody>(`/v1/media${query}`, { token: owner.token });
      expect(response.status, query).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
    }
    const refused = await patch(first, { favorite: 'yes' });
    expect(refused.status).to.equal(400);

    // Unarchiving brings the item back to the timeline; deleting a flagged item takes it out of every view.
    expect((await patch(second, { archived: false })).status).to.equal(200);
    expect(await idsOf('')).to.deep.equal([third, second, first]);
    expect((await api.request('DELETE', `/v1/media/${second}`, { token: owner.token })).status).to.equal(204);
    expect(await idsOf('?favorite=true&archived=include')).to.deep.equal([first]);
    expect(await idsOf('?archived=only')).to.deep.equal([]);
  });

  it('batch edits: tags, favourite and archive on several items at once, a result per id; another user’s ids are 404 and stay as they were', async () => {
    const owner = await account();
    const stranger = await account();
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) {
      const bytes = await sharp({ create: { width: 6 + index, height: 5, channels: 3, background: '#aa6633' } }).png().toBuffer();
      ids.push((await upload(api, owner.token, { bytes, filename: `batch-${index}.png`, contentType: 'image/png' })).media.id);
    }
    for (const id of ids) await settled(api, owner.token, id);
    const theirs = (await upload(api, stranger.token, { bytes: fixture('graphic.png'), filename: 'theirs.png', contentType: 'image/png' })).media.id;
    await settled(api, stranger.token, theirs);
    const batch = (body: unknown, token = owner.token) => api.post<{ results: Array<{ status: number; error?: { code: string } }>; succeeded: number; failed: number } & ErrorBody>('/v1/media/batch', { token, body });

    const tagged = await batch({ ids: [...ids, theirs], addTags: ['Batch', 'trip'], favorite: true });
    expect(tagged.status).to.equal(200);
    expect(tagged.body.results.map((result) => result.status)).to.deep.equal([200, 200, 200, 404]);
    expect(tagged.body).to.include({ succeeded: 3, failed: 1 });
    const page = await api.get<Page>('/v1/media?tag=batch', { token: owner.token });
    expect(page.body.items.map((item) => item.id)).to.deep.equal([...ids].reverse());
    expect(page.body.items.every((item) => item.favorite && item.tags.join() === 'batch,trip')).to.equal(true);
    expect((await api.get<{ items: Array<{ tag: string; count: number }> }>('/v1/tags', { token: owner.token })).body.items).to.deep.include({ tag: 'batch', count: 3 });

    const archived = await batch({ ids: ids.slice(0, 2), removeTags: ['trip'], archived: true });
    expect(archived.body.results.map((result) => result.status)).to.deep.equal([200, 200]);
    expect((await api.get<Page>('/v1/media', { token: owner.token })).body.items.map((item) => item.id)).to.deep.equal([ids[2]]);
    expect((await api.get<Page>('/v1/media?archived=only', { token: owner.token })).body.items.map((item) => item.id)).to.deep.equal([ids[1], ids[0]]);

    // The stranger's item, named in the owner's batches: untouched.
    const theirItem = await api.get<MediaBody>(`/v1/media/${theirs}`, { token: stranger.token });
    expect(theirItem.body).to.include({ favorite: false, archived: false });
    expect(theirItem.body.tags).to.deep.equal([]);
    // And the stranger cannot reach the owner's items in a batch of their own.
    expect((await batch({ ids, archived: false }, stranger.token)).body.results.map((result) => result.status)).to.deep.equal([404, 404, 404]);
    expect((await api.get<Page>('/v1/media?archived=only', { token: owner.token })).body.items).to.have.length(2);
    for (const body of [{ ids: [] , favorite: true }, { ids: [ids[0], ids[0]], favorite: true }, { ids, addTags: ['x'], removeTags: ['x'] }, { ids }]) {
      const refused = await batch(body);
      expect(refused.status, JSON.stringify(body)).to.equal(400);
      expect(refused.body.error.code).to.equal('validation_failed');
    }
  });

  it("another user's media id is 404 on every route, and a tampered cursor is 400", async () => {
    const owner = await account();
    const stranger = await account();
    const created = await upload(api, owner.token, { bytes: fixture('graphic.png'), filename: 'mine.png', contentType: 'image/png' });
    await settled(api, owner.token, created.media.id);
    const id = created.media.id;
    for (const [method, route, body] of [
      ['GET', `/v1/media/${id}`, undefined],
      ['GET', `/v1/media/${id}/metadata`, undefined],
      ['POST', `/v1/media/${id}/views`, undefined],
      ['PATCH', `/v1/media/${id}/metadata`, { title: 'mine now' }],
      ['DELETE', `/v1/media/${id}`, undefined],
    ] as const) {
      const response = await api.request<ErrorBody>(method, route, { token: stranger.token, ...(body === undefined ? {} : { body }) });
      expect(response.status, `${method} ${route}`).to.equal(404);
      expect(response.body.error.code).to.equal('media_not_found');
    }
    const still = await api.get<MediaBody>(`/v1/media/${id}`, { token: owner.token });
    expect(still.status).to.equal(200);
    expect(still.body.views, "the stranger's view was not counted").to.equal(0);
    expect((await api.get<Page>('/v1/media', { token: stranger.token })).body.items).to.deep.equal([]);

    const cursorOfOwner = Buffer.from(JSON.stringify({ pk: `USER#${owner.userId}`, sk: `MEDIA#${id}` })).toString('base64url');
    for (const cursor of [cursorOfOwner, 'not-a-cursor!', Buffer.from('{"pk":1}').toString('base64url')]) {
      const response = await api.get<ErrorBody>(`/v1/media?cursor=${encodeURIComponent(cursor)}`, { token: stranger.token });
      expect(response.status, cursor).to.equal(400);
    }
    for (const query of ['?limit=0', '?limit=101', '?type=audio', '?status=done', '?tag=', `?tag=${'x'.repeat(51)}`]) {
      expect((await api.get(`/v1/media${query}`, { token: stranger.token })).status, query).to.equal(400);
    }
  });

  it('the bucket answers a browser upload preflight from an allowed origin (CORS), and not from others', async () => {
    const { token } = await account();
    const created = await api.post<{ upload: { url: string } }>('/v1/media', { token, body: { filename: 'a.png', contentType: 'image/png', size: 10 } });
    const preflight = (origin: string) =>
      fetch(created.body.upload.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    const allowed = await preflight('http://localhost:5173');
    expect(allowed.status).to.equal(200);
    // s3rver answers a matched preflight with `*` (S3 echoes the origin); a refused one is 403 in both.
    expect(allowed.headers.get('access-control-allow-origin')).to.be.oneOf(['*', 'http://localhost:5173']);
    expect(allowed.headers.get('access-control-allow-methods')).to.contain('POST');
    const refused = await preflight('https://evil.example');
    expect(refused.status).to.equal(403);
    expect(refused.headers.get('access-control-allow-origin')).to.equal(null);
  });

  it('deleting the account deletes its media: objects, items and tags', async () => {
    const body = newAccount('leaver');
    const created = await api.post<{ id: string }>('/v1/users', { body });
    const session = await api.post<{ accessToken: string }>('/v1/sessions', { body: { email: body.email, password: body.password } });
    const token = session.body.accessToken;
    const photo = await upload(api, token, { bytes: fixture('photo-exif.jpg'), filename: 'p.jpg', contentType: 'image/jpeg' });
    await settled(api, token, photo.media.id);
    await api.patch(`/v1/media/${photo.media.id}/metadata`, { token, body: { tags: ['mine'] } });
    expect((await keysUnder(`media/${created.body.id}/`)).length).to.equal(3);
    expect((await api.delete('/v1/users/me', { token, body: { password: body.password } })).status).to.equal(204);
    expect(await keysUnder(`media/${created.body.id}/`)).to.deep.equal([]);
  });

  it('`npm run sweep` runs the hourly sweep on demand through the local Lambda endpoint', async () => {
    const result = await runToEnd(process.execPath, ['--import', 'tsx', path.join('local', 'sweep.ts')], {
      cwd: path.resolve(__dirname, '..', '..'),
      env: { ...process.env, ML_LAMBDA_PORT: String(lambdaPort) },
    });
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/sweepUploads: \{"swept":\d+\}/);
  });

  it('bad input on the media routes gets a 4xx, never a 5xx', async () => {
    const { token } = await account();
    const cases: Array<[string, string, unknown]> = [
      ['POST', '/v1/media', {}],
      ['POST', '/v1/media', { filename: 'a.jpg', contentType: 'image/jpeg', size: 0 }],
      ['POST', '/v1/media', { filename: 'a.jpg', contentType: 'image/jpeg', size: -5 }],
      ['POST', '/v1/media', { filename: 'a.jpg', contentType: 'image/jpeg', size: 1.5 }],
      ['POST', '/v1/media', { filename: 'a.jpg', contentType: 'image/jpeg', size: '100' }],
      ['POST', '/v1/media', { filename: 'a.jpg', contentType: 'image/jpeg', size: 100, sha256: 'abc' }],
      ['POST', '/v1/media', { filename: '', contentType: 'image/jpeg', size: 100 }],
      ['POST', '/v1/media', { filename: 'a.jpg', contentType: 'image/jpeg', size: 100, key: 'media/other/x/original' }],
      ['GET', '/v1/media/not-an-id', undefined],
      ['GET', '/v1/media/01ARZ3NDEKTSV4RRFFQ69G5FAV', undefined],
      ['PATCH', '/v1/media/01ARZ3NDEKTSV4RRFFQ69G5FAV/metadata', { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }],
      ['PATCH', '/v1/media/01ARZ3NDEKTSV4RRFFQ69G5FAV/metadata', { title: 't'.repeat(201) }],
      ['PATCH', '/v1/media/01ARZ3NDEKTSV4RRFFQ69G5FAV/metadata', { description: 'd'.repeat(2001) }],
      ['PATCH', '/v1/media/01ARZ3NDEKTSV4RRFFQ69G5FAV/metadata', { tags: ['ok', ''] }],
    ];
    for (const [method, route, body] of cases) {
      const response = await api.request(method, route, { token, ...(body === undefined ? {} : { body }) });
      expect(response.status, `${method} ${route} ${JSON.stringify(body)?.slice(0, 80)}`).to.be.within(400, 499);
    }
  });
});
