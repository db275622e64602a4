/**
 * The web app in Chromium against the real `npm start`: a person signs up, uploads, finds, views,
 * edits, deletes, manages sessions and leaves, by keyboard and by accessible role and name (the
 * way a screen-reader user finds things), with axe-core checking every screen.
 */
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { MEDIA_FIXTURES } from '../../local/fixtures/mediaFiles';
import path from 'node:path';
import { accessibilityViolations, launchBrowser, newPage, startApp, type RunningApp } from './harness';

const fixture = (name: string): string => path.join(MEDIA_FIXTURES, name);
const PASSWORD = 'a long browser password';

async function signUp(page: Page, url: string, email: string, name = 'Browser Person'): Promise<void> {
  await page.goto(`${url}/signup`);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('button', { name: 'Account' }).waitFor();
}

async function noSeriousViolations(page: Page, screen: string): Promise<void> {
  expect(await accessibilityViolations(page), `axe on ${screen}`).to.deep.equal([]);
}

describe('web app in a browser (npm start + Chromium)', function () {
  this.timeout(240_000);
  let app: RunningApp;
  let browser: Browser;

  before(async () => {
    [app, browser] = await Promise.all([startApp(), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('sign up, upload with progress, see the thumbnail appear, view, tag, find by tag, delete with confirmation, sign out', async () => {
    const { context, page, errors } = await newPage(browser);
    const email = `browser-${Date.now()}@example.com`;
    await page.goto(`${app.url}/`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await noSeriousViolations(page, 'sign in');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('button', { name: 'Create account' }).waitFor();
    await noSeriousViolations(page, 'sign up');
    await signUp(page, app.url, email);
    await page.getByText('Your library is empty.').waitFor();
    await noSeriousViolations(page, 'empty library');

    // Pending placeholders become thumbnails when the live updates say so: no item is polled.
    const itemReads: string[] = [];
    const countItemReads = (request: { method(): string; url(): string }): void => {
      if (request.method() === 'GET' && /\/v1\/media\/[0-9A-Z]{26}$/.test(new URL(request.url()).pathname)) itemReads.push(request.url());
    };
    page.on('request', countItemReads);
    await page.getByLabel('Upload').setInputFiles([fixture('photo-exif.jpg'), fixture('graphic.png')]);
    await page.getByRole('region', { name: 'Adding files' }).waitFor();
    const photo = page.getByRole('img', { name: 'photo-exif.jpg', exact: true });
    await photo.waitFor({ timeout: 30_000 });
    await page.getByRole('img', { name: 'graphic.png', exact: true }).waitFor({ timeout: 30_000 });
    page.off('request', countItemReads);
    expect(itemReads, 'GET /v1/media/{id} while the uploads were processed').to.deep.equal([]);
    expect(await photo.getAttribute('src')).to.match(/^http:\/\/(127\.0\.0\.1|localhost):\d+\/.+thumb-(small|large)\.webp\?/);
    await noSeriousViolations(page, 'library with items');

    // Dropped anywhere on the page: added like picked files.
    const dropped = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array([0x47, 0x49, 0x46])], 'dropped.gif', { type: 'image/gif' }));
      return transfer;
    });
    await page.getByRole('main').dispatchEvent('dragover', { dataTransfer: dropped });
    await page.getByRole('main').dispatchEvent('drop', { dataTransfer: dropped });
    // Three bytes are no GIF: the service refuses it after the upload and the grid says so.
    await page.getByRole('img', { name: 'dropped.gif: not added' }).waitFor({ timeout: 30_000 });

    // The same file again: recognised before it is sent.
    await page.getByLabel('Upload').setInputFiles(fixture('photo-exif.jpg'));
    await page.getByText('Already in your library').waitFor();
    // A file the library does not take says why.
    await page.getByLabel('Upload').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await page.getByText(/cannot be added/).waitFor();

    await photo.click();
    const viewer = page.getByRole('dialog');
    await viewer.waitFor();
    await viewer.getByRole('link', { name: 'Download' }).waitFor();
    await viewer.getByText('Dimensions').waitFor();
    await noSeriousViolations(page, 'viewer');
    const addTag = viewer.getByRole('textbox', { name: 'Add tag' });
    await addTag.fill('Sunset ');
    await addTag.press('Enter');
    await viewer.getByRole('button', { name: 'Remove tag sunset' }).waitFor();
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached' });

    await page.getByRole('searchbox', { name: 'Search' }).fill('sunset');
    await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await page.getByText('Tagged “sunset”').waitFor();
    await photo.waitFor();
    expect(await page.getByRole('img', { name: 'graphic.png', exact: true }).count()).to.equal(0);
    await page.getByRole('link', { name: 'Show everything' }).click();
    await page.getByRole('img', { name: 'graphic.png', exact: true }).waitFor();

    // Favourite, then archive: the views follow, and the timeline leaves the archived photo out.
    const views = page.getByRole('navigation', { name: 'Views' });
    await photo.click();
    await viewer.getByRole('button', { name: 'Favourite' }).click();
    await viewer.getByRole('button', { name: 'Favourite', pressed: true }).waitFor();
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached' });
    await views.getByRole('link', { name: 'Favourites' }).click();
    await page.getByRole('heading', { name: 'Favourites' }).waitFor();
    await photo.waitFor();
    expect(await page.getByRole('img', { name: 'graphic.png', exact: true }).count(), 'not a favourite').to.equal(0);
    expect(await views.getByRole('link', { name: 'Favourites' }).getAttribute('aria-current')).to.equal('page');
    await noSeriousViolations(page, 'favourites');
    await photo.click();
    await viewer.getByRole('button', { name: 'Archive' }).click();
    await viewer.getByRole('button', { name: 'Unarchive' }).waitFor();
    await page.keyboard.press('Escape');
    await views.getByRole('link', { name: 'Library' }).click();
    await page.getByRole('img', { name: 'graphic.png', exact: true }).waitFor();
    await photo.waitFor({ state: 'detached' });
    await views.getByRole('link', { name: 'Archive' }).click();
    await page.getByRole('heading', { name: 'Archive' }).waitFor();
    await photo.waitFor();
    await noSeriousViolations(page, 'archive');
    await photo.click();
    await viewer.getByRole('button', { name: 'Unarchive' }).click();
    await page.getByText('is back in the timeline').waitFor();
    await viewer.waitFor({ state: 'detached' });
    await page.getByText('Nothing is archived.').waitFor();
    await views.getByRole('link', { name: 'Library' }).click();
    await photo.waitFor();

    // Select with a click and a shift-click (the range between), tag both at once; then select all and favourite them.
    await page.getByRole('button', { name: 'Select', exact: true }).click();
    const bar = page.getByRole('toolbar', { name: 'Selection' });
    await bar.getByText('0 selected').waitFor();
    const photoCell = page.getByRole('button', { name: /^photo-exif\.jpg/ });
    const graphicCell = page.getByRole('button', { name: /^graphic\.png/ });
    await photoCell.click();
    await graphicCell.click({ modifiers: ['Shift'] });
    await bar.getByText('2 selected').waitFor();
    expect(await photoCell.getAttribute('aria-pressed')).to.equal('true');
    await noSeriousViolations(page, 'selection');
    await bar.getByRole('textbox', { name: 'Tag for the selected items' }).fill('Picked');
    await bar.getByRole('button', { name: 'Add tag' }).click();
    await page.getByText('2 items changed.').waitFor();
    await bar.waitFor({ state: 'detached' });
    await page.getByRole('searchbox', { name: 'Search' }).fill('picked');
    await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await page.getByText('Tagged “picked”').waitFor();
    await photo.waitFor();
    await page.getByRole('img', { name: 'graphic.png', exact: true }).waitFor();
    await page.getByRole('link', { name: 'Show everything' }).click();
    await page.getByRole('button', { name: 'Select', exact: true }).click();
    await page.getByRole('button', { name: /^photo-exif\.jpg/ }).waitFor();
    const everything = await page.locator('.grid .cell').count();
    expect(everything, 'the photo, the graphic and the refused GIF').to.equal(3);
    await bar.getByRole('button', { name: 'Select all' }).click();
    await bar.getByText(`${everything} selected`).waitFor();
    expect(await page.getByRole('main').getByRole('button', { pressed: true }).count(), 'every cell, and the Select toggle').to.equal(everything + 1);
    await bar.getByRole('button', { name: 'Favourite', exact: true }).click();
    await page.getByText(`${everything} items changed.`).waitFor();
    await views.getByRole('link', { name: 'Favourites' }).click();
    await page.getByRole('img', { name: 'graphic.png', exact: true }).waitFor();
    await photo.waitFor();
    await views.getByRole('link', { name: 'Library' }).click();

    await page.getByRole('img', { name: 'graphic.png', exact: true }).click();
    await viewer.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this item?' });
    await confirm.waitFor();
    await noSeriousViolations(page, 'delete confirmation');
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('was deleted').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('img', { name: 'graphic.png', exact: true }).waitFor({ state: 'detached' });
    await page.reload();
    await photo.waitFor();
    expect(await page.getByRole('img', { name: 'graphic.png', exact: true }).count(), 'deleted for good').to.equal(0);

    await page.getByRole('button', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    // Nothing of the person is left in the browser.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    expect(stored).not.to.match(/\./);
    await page.goBack();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(errors).to.deep.equal([]);
    await context.close();
  });
  it('keep me signed in survives a reload; sessions are listed and ended; a refused refresh signs the tab out with a message', async () => {
    const email = `sessions-${Date.now()}@example.com`;
    const first = await newPage(browser);
    await signUp(first.page, app.url, email);
    await first.page.getByRole('button', { name: 'Account' }).click();
    await first.page.getByRole('button', { name: 'Sign out' }).click();
    await first.page.getByLabel('Email').fill(email);
    await first.page.getByLabel('Password').fill(PASSWORD);
    await first.page.getByLabel('Keep me signed in').check();
    await first.page.getByRole('button', { name: 'Sign in' }).click();
    await first.page.getByRole('button', { name: 'Account' }).waitFor();
    await first.page.reload();
    await first.page.getByRole('button', { name: 'Account' }).waitFor();

    // The same person in another browser (a second session).
    const second = await newPage(browser);
    await second.page.goto(`${app.url}/signin`);
    await second.page.getByLabel('Email').fill(email);
    await second.page.getByLabel('Password').fill(PASSWORD);
    await second.page.getByRole('button', { name: 'Sign in' }).click();
    await second.page.getByRole('button', { name: 'Account' }).click();
    await second.page.getByRole('link', { name: 'Account settings' }).click();
    await second.page.getByRole('heading', { name: 'Where you are signed in' }).waitFor();
    await second.page.getByRole('button', { name: 'End the session of this browser' }).waitFor();
    await noSeriousViolations(second.page, 'account');
    const endOther = second.page.getByRole('button', { name: /^End session/ });
    expect(await endOther.count()).to.equal(1);
    await endOther.click();
    await endOther.waitFor({ state: 'detached' });

    // The first browser's session is gone: told over its live connection, it signs out at once, untouched, and says why.
    await first.page.getByRole('button', { name: 'Sign in' }).waitFor();
    await first.page.getByText('This session was ended from another device. Please sign in again.').waitFor();
    expect(await first.page.evaluate(() => localStorage.length + sessionStorage.length)).to.equal(0);
    expect(first.errors).to.deep.equal([]);
    await first.context.close();

    // A rejected access token is refreshed once and the request retried, unnoticed.
    let refusedOnce = false;
    let refreshes = 0;
    second.page.on('request', (request) => {
      if (request.url().endsWith('/v1/sessions/refresh')) refreshes += 1;
    });
    await second.page.route('**/v1/users/me', async (route) => {
      if (!refusedOnce && route.request().method() === 'PATCH') {
        refusedOnce = true;
        await route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ message: 'Unauthorized' }) });
        return;
      }
      await route.continue();
    });
    await second.page.getByLabel('Name').fill('Renamed Person');
    await second.page.getByRole('button', { name: 'Save name' }).click();
    await second.page.getByText('Saved.').waitFor();
    expect(refreshes, 'one refresh after the 401').to.equal(1);
    await second.page.getByRole('button', { name: 'Account' }).click();
    await second.page.getByText('Renamed Person').waitFor();
    await second.page.keyboard.press('Escape');

    // A wrong current password is refused in words; the right one changes it.
    await second.page.getByLabel('Current password').fill('not my password');
    await second.page.getByLabel('New password').fill('a brand new password');
    await second.page.getByRole('button', { name: 'Change password' }).click();
    await second.page.getByText('That password is not right.').waitFor();
    await second.page.getByLabel('Current password').fill(PASSWORD);
    await second.page.getByRole('button', { name: 'Change password' }).click();
    await second.page.getByText(/Password changed/).waitFor();

    // Deleting the account asks for the password and confirmation, then signs out.
    await second.page.getByLabel('Password to confirm').fill('a brand new password');
    await second.page.getByRole('button', { name: 'Delete forever' }).click();
    const confirm = second.page.getByRole('dialog', { name: 'Delete your account?' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await second.page.getByText('Your account and everything in it have been deleted.').waitFor();
    await second.page.getByRole('button', { name: 'Sign in' }).waitFor();
    await second.page.getByLabel('Email').fill(email);
    await second.page.getByLabel('Password').fill('a brand new password');
    await second.page.getByRole('button', { name: 'Sign in' }).click();
    await second.page.getByText('That email and password do not match an account.').waitFor();
    expect(second.errors).to.deep.equal([]);
    await second.context.close();
  });

  it('live: an upload, a title edit, an archive and a deletion in another browser show up here without a reload', async () => {
    const email = `live-${Date.now()}@example.com`;
    const here = await newPage(browser);
    await signUp(here.page, app.url, email);
    await here.page.getByText('Your library is empty.').waitFor();
    const there = await newPage(browser);
    await there.page.goto(`${app.url}/signin`);
    await there.page.getByLabel('Email').fill(email);
    await there.page.getByLabel('Password').fill(PASSWORD);
    await there.page.getByRole('button', { name: 'Sign in' }).click();
    await there.page.getByRole('button', { name: 'Account' }).waitFor();

    await there.page.getByLabel('Upload').setInputFiles(fixture('photo-other.jpg'));
    const thereImage = there.page.getByRole('img', { name: 'photo-other.jpg', exact: true });
    await thereImage.waitFor({ timeout: 30_000 });
    await here.page.getByRole('img', { name: 'photo-other.jpg', exact: true }).waitFor({ timeout: 15_000 });

    await thereImage.click();
    const viewer = there.page.getByRole('dialog');
    await viewer.getByLabel('Title').fill('Harbour at dusk');
    await viewer.getByLabel('Title').press('Enter');
    await here.page.getByRole('img', { name: 'Harbour at dusk', exact: true }).waitFor({ timeout: 15_000 });

    // Archived there: it leaves the timeline here; unarchived, it comes back.
    await viewer.getByRole('button', { name: 'Archive' }).click();
    await here.page.getByRole('img', { name: 'Harbour at dusk', exact: true }).waitFor({ state: 'detached', timeout: 15_000 });
    await there.page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Archive' }).click();
    await there.page.getByRole('img', { name: 'Harbour at dusk', exact: true }).click();
    await viewer.getByRole('button', { name: 'Unarchive' }).click();
    await viewer.waitFor({ state: 'detached' });
    await there.page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Library' }).click();
    await there.page.getByRole('img', { name: 'Harbour at dusk', exact: true }).click();
    await here.page.getByRole('img', { name: 'Harbour at dusk', exact: true }).waitFor({ timeout: 15_000 });

    await viewer.getByRole('button', { name: 'Delete' }).click();
    await there.page.getByRole('dialog', { name: 'Delete this item?' }).getByRole('button', { name: 'Delete' }).click();
    await here.page.getByRole('img', { name: 'Harbour at dusk', exact: true }).waitFor({ state: 'detached', timeout: 15_000 });
    expect(here.errors).to.deep.equal([]);
    expect(there.errors).to.deep.equal([]);
    await here.context.close();
    await there.context.close();
  });

  it('on a 360 px phone: videos play, arrows move between items, similar photos are found, an upload can be cancelled, a title typed while another tab tags the photo is saved on top of that tag', async () => {
    const { context, page, errors } = await newPage(browser, { width: 360, height: 740 });
    await signUp(page, app.url, `phone-${Date.now()}@example.com`);
    await page.getByLabel('Upload').setInputFiles([fixture('photo-exif.jpg'), fixture('photo-other.jpg'), fixture('clip.mp4')]);
    for (const name of ['photo-exif.jpg', 'photo-other.jpg', 'clip.mp4']) await page.getByRole('img', { name, exact: true }).waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth), 'no sideways scrolling at 360 px').to.be.at.most(360);
    await page.getByRole('button', { name: 'Select', exact: true }).click();
    await page.getByRole('toolbar', { name: 'Selection' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth), 'no sideways scrolling in selection mode at 360 px').to.be.at.most(360);
    await page.getByRole('toolbar', { name: 'Selection' }).getByRole('button', { name: 'Done' }).click();
    // Only videos, then everything again.
    await page.getByRole('combobox', { name: 'Show' }).selectOption({ label: 'Videos' });
    await page.getByRole('img', { name: 'photo-exif.jpg', exact: true }).waitFor({ state: 'detached' });
    await page.getByRole('img', { name: 'clip.mp4', exact: true }).waitFor();
    expect(await page.getByRole('main').getByRole('link').count()).to.equal(1);
    await page.getByRole('combobox', { name: 'Show' }).selectOption({ label: 'Photos and videos' });
    await page.getByRole('img', { name: 'photo-exif.jpg', exact: true }).waitFor();
    await noSeriousViolations(page, 'library at 360 px');

    await page.getByRole('img', { name: 'clip.mp4', exact: true }).click();
    const viewer = page.getByRole('dialog');
    const video = viewer.locator('video');
    await video.waitFor();
    await page.waitForFunction(() => (document.querySelector<HTMLVideoElement>('dialog video')?.readyState ?? 0) >= 1, undefined, { timeout: 15_000 });
    // The arrows follow the grid's order (newest first; the three uploads ran side by side).
    const order = await page
      .getByRole('main')
      .getByRole('link')
      .evaluateAll((links) => links.map((link) => link.querySelector('img')?.alt ?? link.querySelector('[role="img"]')?.getAttribute('aria-label') ?? '').filter((name) => name !== ''));
    expect(order).to.have.members(['photo-exif.jpg', 'photo-other.jpg', 'clip.mp4']);
    const shown = (name: string) => (name === 'clip.mp4' ? viewer.locator('video') : viewer.getByRole('img', { name, exact: true }));
    await page.keyboard.press('Escape');
    await page.getByRole('main').getByRole('link').first().click();
    await shown(order[0] as string).waitFor();
    await page.keyboard.press('ArrowRight');
    await shown(order[1] as string).waitFor();
    await page.keyboard.press('ArrowRight');
    await shown(order[2] as string).waitFor();
    await page.keyboard.press('ArrowLeft');
    await shown(order[1] as string).waitFor();
    // Similar photos of a photo.
    if (order[1] === 'clip.mp4') await page.keyboard.press('ArrowRight');
    await viewer.getByRole('button', { name: 'Find similar' }).click();
    await viewer.getByRole('heading', { name: 'Colours' }).waitFor({ timeout: 30_000 });

    // Someone else (another tab) tags the photo while a title is being typed here: the tag shows up
    // at once (live), what was typed stays, and saving it meets the newer version (If-Match's 412)
    // and is applied on top of it: neither edit is lost.
    const mediaId = new URL(page.url()).pathname.split('/').pop() as string;
    const titleBox = viewer.getByRole('textbox', { name: 'Title' });
    await titleBox.fill('Typed here');
    const token = await page.evaluate(async (id) => {
      const refreshToken = sessionStorage.getItem('ml.refresh') as string;
      const refreshed = await fetch('/v1/sessions/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken }) });
      const tokens = (await refreshed.json()) as { accessToken: string; refreshToken: string };
      sessionStorage.setItem('ml.refresh', tokens.refreshToken);
      await fetch(`/v1/media/${id}/metadata`, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.accessToken}` }, body: JSON.stringify({ tags: ['from-elsewhere'] }) });
      return tokens.accessToken;
    }, mediaId);
    expect(token).to.be.a('string');
    await viewer.getByRole('button', { name: 'Remove tag from-elsewhere' }).waitFor();
    expect(await titleBox.inputValue()).to.equal('Typed here');
    await titleBox.press('Enter');
    await page.getByText(/changed elsewhere meanwhile/).waitFor();
    await viewer.getByRole('textbox', { name: 'Add tag' }).fill('mine');
    await viewer.getByRole('textbox', { name: 'Add tag' }).press('Enter');
    await viewer.getByRole('button', { name: 'Remove tag mine' }).waitFor();
    const saved = await page.evaluate(async ([id, accessToken]) => {
      const response = await fetch(`/v1/media/${id}/metadata`, { headers: { authorization: `Bearer ${accessToken}` } });
      return (await response.json()) as { title: string; tags: string[] };
    }, [mediaId, token] as const);
    expect(saved.title).to.equal('Typed here');
    expect(saved.tags).to.have.members(['from-elsewhere', 'mine']);
    await viewer.getByRole('button', { name: 'Close' }).click();

    // An upload held at the storage can be cancelled, and nothing is added.
    await page.route(/\/media-library-local-media$/, async () => {
      // never answered: the upload stays in flight until cancelled
    });
    await page.getByLabel('Upload').setInputFiles(fixture('graphic.png'));
    await page.getByRole('progressbar', { name: 'Progress of graphic.png' }).waitFor();
    await page.getByRole('button', { name: 'Cancel graphic.png' }).click();
    await page.getByText('Cancelled').waitFor();
    expect(errors.filter((error) => !error.includes('ERR_FAILED'))).to.deep.equal([]);
    await context.close();
  });
});
