/**
 * The browser tests' world: the real `npm start` (local/start.ts, random ports, its own data
 * folder) and Debian's Chromium driven by playwright-core (`npx playwright install` cannot download
 * browsers here). Both are stopped afterwards, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freePortsSync } from '../../local/stack/ports';
import { descendants, exited } from '../../local/stack/processes';
import { withoutCoverage } from '../../local/test/uninstrumented';

const ROOT = path.resolve(__dirname, '..', '..');
export const CHROMIUM = process.env['ML_CHROMIUM'] ?? '/usr/bin/chromium';

export interface RunningApp {
  url: string;
  s3Port: number;
  dataDir: string;
  output(): string;
  stop(): Promise<void>;
}

/** `npm start` on free ports with a fresh data folder; resolves once its banner is printed. */
export async function startApp(): Promise<RunningApp> {
  const [api, lambda, dynamodb, s3, sns, ssm, live] = freePortsSync(7) as [number, number, number, number, number, number, number];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-browser-'));
  const [program, args] = withoutCoverage(process.execPath, ['--import', 'tsx', path.join('local', 'start.ts')]);
  const child: ChildProcess = spawn(program, args, {
    cwd: ROOT,
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ML_') && !name.startsWith('AWS_'))),
      ML_API_PORT: String(api),
      ML_LAMBDA_PORT: String(lambda),
      ML_DYNAMODB_PORT: String(dynamodb),
      ML_S3_PORT: String(s3),
      ML_SNS_PORT: String(sns),
      ML_SSM_PORT: String(ssm),
      ML_WS_PORT: String(live),
      ML_DATA_DIR: dataDir,
      // The test run's bundles (local/test/stack.ts builds them once; reused under a lock, kept).
      ML_ESBUILD_WORK_FOLDER: '.esbuild-test',
      ML_ESBUILD_KEEP_WORK_FOLDER: '1',
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-(child.pid as number), 'SIGINT');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        for (const pid of descendants(child.pid as number)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
        child.kill('SIGKILL');
      }, 15_000);
      await exited(child);
      clearTimeout(timer);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 150_000;
  while (!output.includes('Ctrl-C stops everything')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`npm start did not become ready:\n${output.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url: `http://localhost:${api}`, s3Port: s3, dataDir, output: () => output, stop };
}

/** Debian's Chromium, headless, with nothing that talks to the network by itself. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** A fresh browser profile (cookies, storage) at a given viewport. */
export async function newPage(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs every 4xx answer as a console error; expected ones (409 duplicate, 401 before a
    // refresh) are the app's business, so only script errors and server failures count here.
    if (message.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) errors.push(`console: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 500) errors.push(`${response.status()} from ${response.request().method()} ${new URL(response.url()).pathname}`);
  });
  return { context, page, errors };
}

/**
 * Waits until `expression` is true in the page. Evaluated through the DevTools protocol: Playwright's
 * own waitForFunction evaluates strings with eval, which the app's CSP (rightly) refuses.
 */
export async function waitForExpression(page: Page, expression: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate<boolean>(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern (a script tag would be refused, as it should).
  if (!(await page.evaluate<boolean>("'axe' in window"))) await page.evaluate(AXE_SOURCE);
  // A string, evaluated in the page: this file is also type-checked without the DOM's types (the benchmarks import it).
  const violations = await page.evaluate<{ id: string; impact: string; help: string; targets: string[] }[]>(`axe.run(document, { resultTypes: ['violations'] }).then((result) =>
    result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, help: violation.help, targets: violation.nodes.map((node) => node.target.join(' ')).slice(0, 5) })))`);
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').map((violation) => `${violation.id} (${violation.impact}): ${violation.help} at ${violation.targets.join(', ')}`);
}
