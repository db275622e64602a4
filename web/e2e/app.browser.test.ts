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

    await page.getByLabel('Upload').setInputFiles([fixture('photo-exif.jpg'), fixture('graphic.png')]);
    await page.getByRole('region', { name: 'Adding files' }).waitFor();
    // Each file shows its progress while it is being checked and sent.
    await page.getByRole('progressbar').first().waitFor({ timeout: 10_000 }).catch(() => undefined);
    const photo = page.getByRole('img', { name: 'photo-exif.jpg', exact: true });
    await photo.waitFor({ timeout: 30_000 });
    await page.getByRole('img', { name: 'graphic.png', exact: true }).waitFor({ timeout: 30_000 });
    expect(await photo.getAttribute('src')).to.match(/^http:\/\/(127\.0\.0\.1|localhost):\d+\/.+thumb-(small|large)\.webp\?/);
    await noSeriousViolations(page, 'library with items');

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
});
