/**
 * `npm run seed` (local/seed/seed.ts) against a running API: the demo account with every fixture
 * ready, titled, tagged and flagged, and an analysis; run again, it changes nothing that is there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DEMO_ACCOUNT, DEMO_MEDIA, seed } from '../seed/seed';
import { ApiClient } from '../test/http';
import { offlineApi } from '../test/stack';

interface Page {
  items: Array<{ id: string; title?: string; tags: string[]; favorite: boolean; archived: boolean }>;
  nextCursor: string | null;
}

describe('npm run seed: the demo account (local/seed/seed.ts)', function () {
  this.timeout(180_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-seed-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('makes the demo library through the API, and a second run uploads and analyses nothing again', async () => {
    const offline = await offlineApi();
    const state = path.join(dir, 'seed.json');
    const first = await seed(`${offline.baseUrl}/v1`, state);
    expect(first.media.map((item) => [item.file, item.status])).to.deep.equal(DEMO_MEDIA.map((item) => [item.file, 'ready']));
    expect(first.analysis.status).to.equal('succeeded');

    const second = await seed(`${offline.baseUrl}/v1`, state);
    expect(second.account.created).to.equal(false);
    expect(second.media.filter((item) => item.uploaded)).to.deep.equal([]);
    expect(second.media.map((item) => item.id)).to.deep.equal(first.media.map((item) => item.id));
    expect(second.analysis).to.deep.equal({ ...first.analysis, created: false });

    const api = new ApiClient(offline.baseUrl);
    const session = await api.post<{ accessToken: string }>('/v1/sessions', { body: { email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password } });
    const list = async (query: string): Promise<string[]> => (await api.get<Page>(`/v1/media?limit=100${query}`, { token: session.body.accessToken })).body.items.map((item) => item.title ?? '');
    const titles = (where: (item: (typeof DEMO_MEDIA)[number]) => boolean): string[] => DEMO_MEDIA.filter(where).map((item) => item.title).reverse();
    expect(await list('&archived=include')).to.deep.equal(titles(() => true));
    expect(await list('')).to.deep.equal(titles((item) => !item.archived));
    expect(await list('&favorite=true&archived=include')).to.deep.equal(titles((item) => item.favorite));
    expect(await list('&archived=only')).to.deep.equal(titles((item) => item.archived));
    expect(await list('&tag=travel')).to.deep.equal(titles((item) => (item.tags as readonly string[]).includes('travel') && !item.archived));
  });
});
