// What every end-to-end test in Chromium shares: where Chromium is (skipped with a printed reason when
// it is not), how it is started, a browser-mode server on a temporary models folder, and waiting on
// the app's own events (window.__seqlabEvents) instead of sleeping.
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { startServer, type LabServer } from '../../src/main/host/serve';
import { ensureWebBuilt, useBackend } from '../unit/helpers';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const RESULTS = path.resolve('test-results');

/** True where Chromium exists; otherwise prints why `what` is skipped. */
export function chromiumOrSkip(what: string): boolean {
  const ok = existsSync(CHROMIUM);
  if (!ok) console.log(`SKIP ${what}: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  return ok;
}

export interface Lab {
  server: LabServer;
  browser: Browser;
  models: string;
  /** The recordings library's folder (beside `models`, in the same temporary folder). */
  recordings: string;
  close(): Promise<void>;
}

/** A browser-mode server on a fresh models folder (wasm backend) and a headless Chromium. */
export async function startLab(o: { prefix: string; chromiumArgs?: (models: string) => string[]; beforeServer?: (models: string) => Promise<void> }): Promise<Lab> {
  await useBackend();
  const staticDir = await ensureWebBuilt();
  const root = await fs.mkdtemp(path.join(os.tmpdir(), o.prefix));
  const models = path.join(root, 'models');
  const recordings = path.join(root, 'recordings');
  await fs.mkdir(models);
  await fs.mkdir(RESULTS, { recursive: true });
  await o.beforeServer?.(models);
  const server = await startServer({ staticDir, modelsDir: models, recordingsDir: recordings, backend: 'wasm' });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...(o.chromiumArgs?.(models) ?? [])],
  });
  return {
    server,
    browser,
    models,
    recordings,
    close: async () => {
      await browser.close();
      await server.close();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/** Waits for the n-th (1-based) app event of a type whose detail has the given fields (no eval: the page's CSP forbids it). */
export async function waitForAppEvent(page: Page, type: string, match: Record<string, unknown> = {}, timeout = 60_000, n = 1): Promise<Record<string, unknown>> {
  const handle = await page.waitForFunction(
    ([t, m, k]) => (window.__seqlabEvents ?? []).filter((e) => e.type === t && Object.entries(m).every(([key, v]) => (e.detail ?? {})[key] === v))[k - 1],
    [type, match, n] as const,
    { timeout },
  );
  return ((await handle.jsonValue()) as { detail?: Record<string, unknown> }).detail ?? {};
}

/** A new page on the lab's app, loaded (its 'app-loaded' event seen), and the page errors it raises from the start. */
export async function openApp(lab: Lab, options: BrowserContextOptions): Promise<{ page: Page; errors: string[] }> {
  const page = await lab.browser.newPage(options);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(lab.server.url);
  await waitForAppEvent(page, 'app-loaded');
  return { page, errors };
}
