/**
 * Debian's Chromium driven by playwright-core (no browser download): a fresh profile per
 * launch, the flags that keep it quiet and offline, and screenshots on failure.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = resolve(__dirname, '..', '..');
/** Where failure screenshots go (gitignored). */
export const RESULTS_DIR = join(ROOT, 'test-results', 'e2e');
export const CHROMIUM = process.env.NBG_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'
];

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Console errors and failed requests seen so far (for failure reports). */
  log: string[];
  /** Saves a full-page screenshot as `<name>.png` under test-results/e2e. @returns its path */
  screenshot(name: string): Promise<string>;
  dispose(): Promise<void>;
}

export async function launchBrowser(baseURL: string): Promise<BrowserSession> {
  const profile = await mkdtemp(join(tmpdir(), 'nbg-chromium-'));
  // A persistent context on a fresh profile directory is playwright's form of --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, baseURL, viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const log: string[] = [];
  const watch = (p: Page): void => {
    p.on('console', m => {
      if (m.type() === 'error') log.push(`console: ${m.text()}`);
    });
    p.on('pageerror', e => log.push(`pageerror: ${e.message}`));
    p.on('response', r => {
      if (r.status() >= 500) log.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
    });
  };
  watch(page);
  context.on('page', watch);
  return {
    context, page, log,
    async screenshot(name) {
      await mkdir(RESULTS_DIR, { recursive: true });
      const file = join(RESULTS_DIR, `${name.replace(/[^A-Za-z0-9_.-]+/g, '-')}.png`);
      const pages = context.pages();
      await (pages.at(-1) ?? page).screenshot({ path: file, fullPage: true }).catch(() => undefined);
      return file;
    },
    async dispose() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    }
  };
}
