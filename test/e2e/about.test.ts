// The about box in a browser: the same report as `sequence-lab doctor`, asked of the engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { startServer, type LabServer } from '../../src/main/host/serve';
import { ensureWebBuilt } from '../unit/helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.log(`SKIP about-box end-to-end test: no Chromium at ${CHROMIUM}`);

let server: LabServer;
let models: string;
let browser: Browser;

describe.skipIf(!haveChromium)('about this machine', () => {
  beforeAll(async () => {
    const staticDir = await ensureWebBuilt();
    models = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-about-'));
    server = await startServer({ staticDir, modelsDir: models, backend: 'wasm' });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (models) await fs.rm(models, { recursive: true, force: true });
  });

  it('lists each backend with why it does not load, and the models folder', async () => {
    const page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
    await page.goto(server.url);
    await page.click('[data-testid=about]');
    await expect.poll(() => page.textContent('[data-testid=about-engine]'), { timeout: 60_000 }).toBe('wasm');
    const rows = await page.$$eval('[data-testid=about-backends] tbody tr', (trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent ?? '')));
    expect(rows.map((r) => r[0])).toEqual(['cuda', 'node', 'wasm', 'cpu']);
    expect(rows[0][1]).toBe('no');
    expect(rows[0][2]).toMatch(/(not installed|failed).*fix:/);
    expect(rows[2][1]).toBe('yes');
    expect(await page.textContent('[data-testid=about-panel]')).toContain(models);
    await fs.mkdir(path.resolve('test-results'), { recursive: true });
    await page.screenshot({ path: path.resolve('test-results/e2e-about-1024.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: path.resolve('test-results/e2e-about-1920.png') });
    await page.close();
  });
});
