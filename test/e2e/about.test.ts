// The about box in a browser: the same report as `sequence-lab doctor`, asked of the engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { chromiumOrSkip, RESULTS, startLab, type Lab } from './lab-browser';

let lab: Lab;

describe.skipIf(!chromiumOrSkip('about-box end-to-end test'))('about this machine', () => {
  beforeAll(async () => {
    lab = await startLab({ prefix: 'seqlab-about-' });
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
  });

  it('lists each backend with why it does not load, and the models folder', async () => {
    const page = await lab.browser.newPage({ viewport: { width: 1024, height: 700 } });
    await page.goto(lab.server.url);
    await page.click('[data-testid=about]');
    await expect.poll(() => page.textContent('[data-testid=about-engine]'), { timeout: 60_000 }).toBe('wasm');
    const rows = await page.$$eval('[data-testid=about-backends] tbody tr', (trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent ?? '')));
    expect(rows.map((r) => r[0])).toEqual(['cuda', 'node', 'wasm', 'cpu']);
    expect(rows[0][1]).toBe('no');
    expect(rows[0][2]).toMatch(/(not installed|failed).*fix:/);
    expect(rows[2][1]).toBe('yes');
    expect(await page.textContent('[data-testid=about-panel]')).toContain(lab.models);
    await page.screenshot({ path: path.join(RESULTS, 'e2e-about-1024.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: path.join(RESULTS, 'e2e-about-1920.png') });
    await page.close();
  });
});
