/**
 * `npm run screenshots`: the README's pictures of the web app, taken in Chromium from a fresh
 * `npm start` holding the demo account of `npm run seed` (docs/screenshots/*.png).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEMO_ACCOUNT, seed } from '../../local/seed/seed';
import type { Page } from 'playwright-core';
import { launchBrowser, newPage, startApp } from './harness';

const OUT = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const app = await startApp();
  const browser = await launchBrowser();
  try {
    await seed(`${app.url}/v1`, path.join(app.dataDir, 'seed.json'));
    const shot = async (name: string, width: number, height: number, steps: (page: Page) => Promise<void>): Promise<void> => {
      const { context, page } = await newPage(browser, { width, height });
      await steps(page);
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: path.join(OUT, `${name}.png`) });
      await context.close();
      console.log(`docs/screenshots/${name}.png`);
    };
    const signIn = async (page: Page): Promise<void> => {
      await page.goto(`${app.url}/signin`);
      await page.getByLabel('Email').fill(DEMO_ACCOUNT.email);
      await page.getByLabel('Password').fill(DEMO_ACCOUNT.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      // Signed in (the header's Account menu), then the library's first page on screen.
      await page.getByRole('button', { name: 'Account' }).waitFor();
      await page.getByRole('main').locator('img').first().waitFor();
    };
    await shot('sign-in', 1200, 760, async (page) => {
      await page.goto(`${app.url}/signin`);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
    });
    await shot('library', 1200, 760, signIn);
    await shot('viewer', 1200, 760, async (page) => {
      await signIn(page);
      await page.getByRole('main').locator('img').first().click();
      await page.getByRole('dialog').getByText('Dimensions').waitFor();
      await page.getByRole('dialog').getByRole('button', { name: 'Find similar' }).click();
      await page.getByRole('dialog').getByRole('heading', { name: 'Colours' }).waitFor({ timeout: 30_000 });
    });
    await shot('favourites', 1200, 760, async (page) => {
      await signIn(page);
      await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Favourites' }).click();
      await page.getByRole('heading', { name: 'Favourites' }).waitFor();
      await page.getByRole('main').locator('img').first().waitFor();
    });
    await shot('selection', 1200, 760, async (page) => {
      await signIn(page);
      await page.getByRole('button', { name: 'Select', exact: true }).click();
      const cells = page.getByRole('main').getByRole('button', { pressed: false });
      await cells.nth(1).click();
      await cells.nth(2).click({ modifiers: ['Shift'] });
      await page.getByRole('toolbar', { name: 'Selection' }).getByText('selected').waitFor();
    });
    await shot('account', 1200, 900, async (page) => {
      await signIn(page);
      await page.goto(`${app.url}/account`);
      await page.getByRole('heading', { name: 'Where you are signed in' }).waitFor();
      await page.waitForTimeout(500);
    });
    await shot('phone', 390, 800, signIn);
    await shot('phone-viewer', 360, 740, async (page) => {
      await signIn(page);
      await page.getByRole('main').locator('img').first().click();
      await page.getByRole('dialog').getByText('Dimensions').waitFor();
    });
  } finally {
    await browser.close();
    await app.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
