/**
 * Demo data for a local stack, made through the API as a person would make it (sign-up, presigned
 * uploads, processing, tags, an analysis): the account `demo@example.com` with the fixture photos
 * and videos, titled and tagged, a favourite and an archived item, and an analysis of the first photo. Running it again changes
 * nothing that is already there (uploads are recognised by their sha256, edits are the same edits).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const DEMO_ACCOUNT = { name: 'Demo', email: 'demo@example.com', password: 'demo-password-local-only' } as const;

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'media');

/** What the demo library holds: each fixture with its type, title, tags and flags. */
export const DEMO_MEDIA = [
  { file: 'photo-exif.jpg', contentType: 'image/jpeg', title: 'Eiffel Tower at dusk', tags: ['paris', 'travel'], favorite: true, archived: false },
  { file: 'photo-other.jpg', contentType: 'image/jpeg', title: 'Garden path', tags: ['garden', 'travel'], favorite: false, archived: false },
  { file: 'graphic.png', contentType: 'image/png', title: 'Logo sketch', tags: ['design'], favorite: false, archived: false },
  { file: 'bars.webp', contentType: 'image/webp', title: 'Colour bars', tags: ['design'], favorite: false, archived: false },
  { file: 'anim.gif', contentType: 'image/gif', title: 'Spinner', tags: ['fun'], favorite: false, archived: true },
  { file: 'clip.mp4', contentType: 'video/mp4', title: 'Street clip', tags: ['video', 'travel'], favorite: true, archived: false },
  { file: 'clip.mov', contentType: 'video/quicktime', title: 'Phone clip', tags: ['video'], favorite: false, archived: false },
] as const;

export interface SeedResult {
  account: { email: string; password: string; created: boolean };
  media: Array<{ file: string; id: string; status: string; uploaded: boolean }>;
  analysis: { id: string; status: string; created: boolean };
}

type Json = Record<string, unknown>;

class Api {
  constructor(
    readonly base: string,
    private token?: string,
  ) {}

  async call(method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${this.base}${route}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as Json };
  }

  async expect(method: string, route: string, statuses: number[], body?: unknown): Promise<{ status: number; body: Json }> {
    const answer = await this.call(method, route, body);
    if (!statuses.includes(answer.status)) throw new Error(`${method} ${route} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer;
  }

  signIn(token: string): void {
    this.token = token;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function seed(apiBase: string, stateFile: string): Promise<SeedResult> {
  const api = new Api(apiBase);
  const signUp = await api.expect('POST', '/users', [201, 409], DEMO_ACCOUNT);
  const session = await api.expect('POST', '/sessions', [201], { email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password, remember: true });
  api.signIn(session.body['accessToken'] as string);

  const media: SeedResult['media'] = [];
  for (const item of DEMO_MEDIA) {
    const bytes = fs.readFileSync(path.join(FIXTURES, item.file));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const request = { filename: item.file, contentType: item.contentType, size: bytes.length, sha256 };
    let created = await api.expect('POST', '/media', [201, 409], request);
    if (created.status === 409) {
      // An upload a crashed earlier run never finished holds the hash: start that one over.
      const existing = (created.body['error'] as { existingId: string }).existingId;
      if ((await api.expect('GET', `/media/${existing}`, [200])).body['status'] === 'pending') {
        await api.expect('DELETE', `/media/${existing}`, [204]);
        created = await api.expect('POST', '/media', [201], request);
      }
    }
    let id: string;
    if (created.status === 201) {
      const { media: made, upload } = created.body as { media: { id: string }; upload: { url: string; fields: Record<string, string> } };
      const form = new FormData();
      for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
      form.append('file', new Blob([new Uint8Array(bytes)], { type: item.contentType }), item.file);
      const posted = await fetch(upload.url, { method: 'POST', body: form });
      if (posted.status !== 204) throw new Error(`uploading ${item.file} answered ${posted.status}: ${await posted.text()}`);
      id = made.id;
    } else {
      id = (created.body['error'] as { existingId: string }).existingId;
    }
    const settled = await until(`processing ${item.file}`, async () => {
      const answer = await api.expect('GET', `/media/${id}`, [200]);
      return answer.body['status'] === 'pending' ? undefined : (answer.body['status'] as string);
    });
    if (settled === 'ready') await api.expect('PATCH', `/media/${id}/metadata`, [200], { title: item.title, tags: item.tags, favorite: item.favorite, archived: item.archived });
    media.push({ file: item.file, id, status: settled, uploaded: created.status === 201 });
  }

  // One analysis of the first photo, kept across runs: a finished one is not made again.
  const state = fs.existsSync(stateFile) ? (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { analysisId?: string }) : {};
  const photo = media[0] as SeedResult['media'][number];
  let analysis: SeedResult['analysis'] | undefined;
  if (state.analysisId !== undefined) {
    const known = await api.call('GET', `/analyses/${state.analysisId}`);
    if (known.status === 200 && known.body['status'] === 'succeeded') analysis = { id: state.analysisId, status: 'succeeded', created: false };
  }
  if (analysis === undefined) {
    const started = await api.expect('POST', `/media/${photo.id}/analyses`, [202]);
    const id = started.body['id'] as string;
    const status = await until('the analysis', async () => {
      const answer = await api.expect('GET', `/analyses/${id}`, [200]);
      return ['succeeded', 'failed'].includes(answer.body['status'] as string) ? (answer.body['status'] as string) : undefined;
    });
    analysis = { id, status, created: true };
    fs.mkdirSync(path.dirname(stateFile), { recursive: true });
    fs.writeFileSync(stateFile, JSON.stringify({ analysisId: id }));
  }
  return { account: { email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password, created: signUp.status === 201 }, media, analysis };
}
