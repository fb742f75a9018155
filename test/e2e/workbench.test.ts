// The workbench as a new user meets it, in Debian's Chromium against browser mode: runs are never
// lost, forms keep what is typed, results come with a verdict, a stopped server is noticed and the tab
// reconnects by itself, Cancel says "cancelling…", an error keeps the last result. Tests wait on the
// app's own events (window.__seqlabEvents), never on sleeps. Screenshots go to test-results/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startServer, type LabServer } from '../../src/main/host/serve';
import { ensureWebBuilt, useBackend } from '../unit/helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.log(`SKIP workbench end-to-end tests: no Chromium at ${CHROMIUM}`);

const RESULTS = path.resolve('test-results');
let server: LabServer;
let staticDir: string;
let models: string;
let browser: Browser;

type Detail = Record<string, unknown>;

/** The n-th (1-based) app event of a type whose detail has the given fields. */
async function waitForEvent(page: Page, type: string, match: Detail = {}, n = 1, timeout = 90_000): Promise<Detail> {
  const handle = await page.waitForFunction(
    ([t, m, k]) => (window.__seqlabEvents ?? []).filter((e) => e.type === t && Object.entries(m).every(([key, v]) => (e.detail ?? {})[key] === v))[k - 1],
    [type, match, n] as const,
    { timeout },
  );
  return ((await handle.jsonValue()) as { detail?: Detail }).detail ?? {};
}

const count = (page: Page, type: string) => page.evaluate((t) => (window.__seqlabEvents ?? []).filter((e) => e.type === t).length, type);

/** Small, quick settings: a run of a few seconds on the wasm backend. */
async function quickSettings(page: Page, o: { units?: string; epochs?: string; windows?: string; lr?: string } = {}) {
  await page.fill('[data-testid=units]', o.units ?? '8');
  await page.fill('[data-testid=window]', '20');
  await page.fill('[data-testid=batch]', '64');
  await page.fill('[data-testid=epochs]', o.epochs ?? '1');
  await page.fill('[data-testid=max-windows]', o.windows ?? '512');
  if (o.lr) await page.fill('[data-testid=learning-rate]', o.lr);
}

async function train(page: Page): Promise<Detail> {
  const before = await count(page, 'training-done');
  await page.click('[data-testid=train]');
  return waitForEvent(page, 'training-done', {}, before + 1);
}

async function openApp(viewport = { width: 1280, height: 800 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(server.url);
  await waitForEvent(page, 'app-loaded');
  return page;
}

describe.skipIf(!haveChromium)('the workbench in a browser', () => {
  beforeAll(async () => {
    await useBackend();
    staticDir = await ensureWebBuilt();
    models = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-workbench-'));
    await fs.mkdir(RESULTS, { recursive: true });
    server = await startServer({ staticDir, modelsDir: models, backend: 'wasm' });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (models) await fs.rm(models, { recursive: true, force: true });
  });

  it('keeps what is typed in numeric fields and says what is wrong, field by field', async () => {
    const page = await openApp();
    const cases: [string, string, string | null][] = [
      ['epochs', '2000', null],
      ['window', '-3', 'must be at least 1'],
      ['learning-rate', '1e-3', null],
      ['batch', 'abc', '"abc" is not a number'],
      ['seed', '1e-3', 'must be a whole number'],
    ];
    for (const [id, typed, message] of cases) {
      await page.click(`[data-testid=${id}]`);
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.type(typed); // keys, as a person types, not a value set at once
      expect(await page.inputValue(`[data-testid=${id}]`)).toBe(typed);
      if (message) {
        expect(await page.textContent(`[data-testid=${id}-error]`)).toBe(message);
        expect(await page.getAttribute(`[data-testid=${id}]`, 'aria-invalid')).toBe('true');
      } else expect(await page.$(`[data-testid=${id}-error]`)).toBeNull();
    }
    expect(await page.isDisabled('[data-testid=train]')).toBe(true);
    // What was typed survives a reload, mistakes included.
    await page.reload();
    await waitForEvent(page, 'app-loaded');
    expect(await page.inputValue('[data-testid=epochs]')).toBe('2000');
    expect(await page.inputValue('[data-testid=batch]')).toBe('abc');
    await page.evaluate(() => localStorage.clear());
    await page.close();
  });

  it("keeps what is typed in the Signal panel's numbers, marks a bad one and keeps the last good signal", async () => {
    const page = await openApp({ width: 1024, height: 700 });
    await waitForEvent(page, 'signal-shown', { label: 'signal' });
    const cases: [string, string | null][] = [
      ['2000', null],
      ['-3', 'must be at least 2'],
      ['1e-3', 'must be a whole number'],
      ['abc', '"abc" is not a number'],
    ];
    for (const [typed, message] of cases) {
      await page.click('[data-testid=signal-length]');
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.type(typed);
      expect(await page.inputValue('[data-testid=signal-length]')).toBe(typed);
      await page.keyboard.press('Tab'); // done with the field: a good value becomes the signal
      expect(await page.inputValue('[data-testid=signal-length]')).toBe(typed);
      if (message) {
        expect(await page.textContent('[data-testid=signal-length-error]')).toBe(message);
        expect(await page.getAttribute('[data-testid=signal-length]', 'aria-invalid')).toBe('true');
        expect(await page.isDisabled('[data-testid=train]')).toBe(true);
        expect(await page.getAttribute('[data-testid=train]', 'title')).toBe(`Fix the signal first: samples ${message}`);
        expect(await page.textContent('[data-testid=signal-problem]')).toMatch(/last good one/);
      } else {
        expect(await page.$('[data-testid=signal-length-error]')).toBeNull();
        expect(await page.getAttribute('[data-testid=signal-length]', 'aria-invalid')).toBeNull();
        await expect.poll(() => page.textContent('[data-testid=signal-info]')).toMatch(/^2,000 samples at 44100 Hz/);
        expect(await page.isEnabled('[data-testid=train]')).toBe(true);
      }
    }
    // The signal shown stays the last good one while the field is wrong.
    expect(await page.textContent('[data-testid=signal-info]')).toMatch(/^2,000 samples/);
    await page.fill('[data-testid=record-seconds]', '0');
    expect(await page.textContent('[data-testid=record-seconds-error]')).toBe('must be at least 0.5');
    expect(await page.isDisabled('[data-testid=record]')).toBe(true);
    await page.screenshot({ path: path.join(RESULTS, 'workbench-signal-fields-1024.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: path.join(RESULTS, 'workbench-signal-fields-1920.png') });
    await page.evaluate(() => localStorage.clear());
    await page.close();
  });

  it('plays the signal with a playhead that moves along its waveform', async () => {
    const page = await openApp({ width: 1024, height: 700 });
    await waitForEvent(page, 'signal-shown', { label: 'signal' });
    // Ten seconds of the sine preset, so that it is still playing for the screenshots.
    await page.fill('[data-testid=signal-length]', '441000');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.textContent('[data-testid=signal-info]')).toMatch(/^441,000 samples at 44100 Hz/);
    await page.click('[data-testid=signal-play]');
    const started = await waitForEvent(page, 'playback-started', { label: 'signal' });
    expect(started).toMatchObject({ state: 'running', sampleRate: 44100, seconds: 10 });
    expect(await page.isEnabled('[data-testid=signal-stop]')).toBe(true);
    const playhead = async () => Number(await page.getAttribute('[data-testid=waveform-signal]', 'data-playhead'));
    await expect.poll(playhead).toBeGreaterThan(0.05);
    const first = await playhead();
    await expect.poll(playhead).toBeGreaterThan(first + 0.1);
    await page.screenshot({ path: path.join(RESULTS, 'workbench-signal-playing-1024.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: path.join(RESULTS, 'workbench-signal-playing-1920.png') });
    await page.click('[data-testid=signal-stop]');
    expect(await waitForEvent(page, 'playback-stopped', { label: 'signal' })).toEqual({ label: 'signal', ended: false });
    await expect.poll(playhead).toBe(0);
    expect(await page.isEnabled('[data-testid=signal-play]')).toBe(true);
    await page.evaluate(() => localStorage.clear());
    await page.close();
  });

  it('keeps two runs with the same settings; a duplicated run retrains to the same metrics', async () => {
    const page = await openApp();
    await quickSettings(page);
    const first = await train(page);
    expect(first.outcome).toBe('completed');
    await waitForEvent(page, 'models-listed');
    await expect.poll(() => page.inputValue('[data-testid=model-name]')).not.toBe(first.name);
    const second = await train(page);
    expect(second.outcome).toBe('completed');
    expect(second.name).not.toBe(first.name);
    await expect.poll(() => page.textContent('[data-testid=models]')).toMatch(new RegExp(`${first.name}[\\s\\S]*${second.name}|${second.name}[\\s\\S]*${first.name}`));

    // Change the form, then duplicate the first run: its settings come back, under a fresh name.
    await page.fill('[data-testid=units]', '4');
    await page.fill('[data-testid=epochs]', '3');
    await page.click(`[data-testid=duplicate-${first.name}]`);
    await waitForEvent(page, 'run-duplicated', { name: first.name });
    await expect.poll(() => page.inputValue('[data-testid=units]')).toBe('8');
    expect(await page.inputValue('[data-testid=epochs]')).toBe('1');
    const third = await train(page);
    expect(third.name).not.toBe(first.name);
    expect(third.test_mse).toBe(first.test_mse);
    await page.close();
  }, 120_000);

  it('says so when a model does worse than linear prediction', async () => {
    const page = await openApp();
    await quickSettings(page, { units: '2', windows: '128', lr: '1e-4' });
    const done = await train(page);
    expect(done.outcome).toBe('completed');
    await expect.poll(() => page.textContent('[data-testid=verdict]')).toMatch(/^Worse than linear prediction: [\d.,]+ ×/);
    expect(await page.textContent('[data-testid=verdict-ar]')).toMatch(/worse than linear prediction: [\d.,]+ ×/);
    await page.close();
  });

  it('shows "cancelling…" from the press of Cancel until the run ends', async () => {
    const page = await openApp();
    // Slow batches, so that the press and the end are far apart.
    await quickSettings(page, { units: '32', epochs: '50', windows: '20000' });
    await page.fill('[data-testid=window]', '200');
    await page.fill('[data-testid=batch]', '256');
    const before = await count(page, 'training-done');
    await page.click('[data-testid=train]');
    await expect.poll(() => page.textContent('[data-testid=train-status]'), { timeout: 60_000 }).toMatch(/^epoch 1, batch/);
    // Record every text the Cancel button shows from the press on.
    await page.evaluate(() => {
      const b = document.querySelector('[data-testid=cancel]')!;
      const seen: string[] = [];
      (window as unknown as { cancelTexts: string[] }).cancelTexts = seen;
      new MutationObserver(() => seen.push(b.textContent ?? '')).observe(b, { childList: true, characterData: true, subtree: true });
    });
    await page.click('[data-testid=cancel]');
    await waitForEvent(page, 'cancel-requested');
    const done = await waitForEvent(page, 'training-done', {}, before + 1);
    expect(done.outcome).toBe('cancelled');
    const texts = await page.evaluate(() => (window as unknown as { cancelTexts: string[] }).cancelTexts);
    expect(texts[0]).toBe('Cancelling…');
    expect(texts.at(-1)).toBe('Cancel');
    await page.close();
  }, 180_000);

  it('keeps the last result when a training or a generation fails', async () => {
    const page = await openApp();
    await quickSettings(page);
    const done = await train(page);
    await expect.poll(() => page.textContent('[data-testid=verdict]')).toBeTruthy();
    const points = await page.getAttribute('[data-testid=loss-chart]', 'data-points');
    const metrics = await page.textContent('[data-testid=metrics]');
    // Settings the engine refuses (over its memory budget) after the run has started.
    await page.fill('[data-testid=units]', '1024,1024,1024');
    await page.fill('[data-testid=window]', '65536');
    await page.fill('[data-testid=batch]', '65536');
    const errorsBefore = await count(page, 'error-shown');
    await page.click('[data-testid=train]');
    await waitForEvent(page, 'error-shown', {}, errorsBefore + 1);
    await expect.poll(() => page.textContent('[data-testid=error]')).toMatch(/failed|budget|memory/i);
    expect(await page.getAttribute('[data-testid=loss-chart]', 'data-points')).toBe(points);
    expect(await page.textContent('[data-testid=metrics]')).toBe(metrics);

    // The Generate list follows the model just trained; a failing generation keeps the plot.
    expect(await page.inputValue('[data-testid=gen-model]')).toBe(done.name);
    await page.fill('[data-testid=prime]', '100');
    await page.fill('[data-testid=gen-length]', '500 samples');
    await page.click('[data-testid=generate]');
    await waitForEvent(page, 'generation-done');
    await expect.poll(() => page.getAttribute('[data-testid=generation-chart]', 'data-points')).toBe('600');
    await page.fill('[data-testid=prime]', '1000000'); // longer than the signal
    const e2 = await count(page, 'error-shown');
    await page.click('[data-testid=generate]');
    await waitForEvent(page, 'error-shown', {}, e2 + 1);
    expect(await page.getAttribute('[data-testid=generation-chart]', 'data-points')).toBe('600');
    await page.close();
  }, 180_000);

  it('screenshots: a long run, and runs compared, at 1024×700 and 1920×1080', async () => {
    const page = await openApp({ width: 1920, height: 1080 });
    await quickSettings(page, { epochs: '40', windows: '256' });
    const long = await train(page);
    expect(long.outcome).toBe('completed');
    await page.screenshot({ path: path.join(RESULTS, 'workbench-long-run-1920.png') });
    // Tick every run for comparison.
    const names = (await waitForEvent(page, 'models-listed', {}, await count(page, 'models-listed'))).names as string[];
    for (const n of names) await page.check(`[data-testid=compare-${n}]`);
    await waitForEvent(page, 'compare-shown', {}, 1);
    await expect.poll(() => page.evaluate(() => (window.__seqlabEvents ?? []).filter((e) => e.type === 'compare-shown').at(-1)?.detail?.names)).toHaveLength(names.length);
    await page.locator('[data-testid=compare]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(RESULTS, 'workbench-compare-1920.png') });
    await page.setViewportSize({ width: 1024, height: 700 });
    await page.locator('[data-testid=compare]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(RESULTS, 'workbench-compare-1024.png') });
    await page.click(`[aria-label="open ${long.name}"]`);
    await waitForEvent(page, 'run-opened', { name: long.name });
    await page.locator('[data-testid=loss-chart]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(RESULTS, 'workbench-long-run-1024.png') });
    expect(await page.getAttribute('[data-testid=loss-chart]', 'aria-label')).toMatch(/over 40 epochs/);
    await page.close();
  }, 180_000);

  it('notices a stopped server within seconds and reconnects by itself when it is back', async () => {
    const page = await openApp();
    const online = await count(page, 'connection');
    const { port, token } = server;
    await server.close();
    const lost = await waitForEvent(page, 'connection', { online: false }, 1, 15_000);
    expect(lost.reason).toMatch(/connection to the engine server closed/);
    await expect.poll(() => page.textContent('[data-testid=connection]')).toMatch(/unreachable/);
    expect(await page.isDisabled('[data-testid=train]')).toBe(true);
    expect(await page.isDisabled('[data-testid=generate]')).toBe(true);
    // The same port and token (as serve keeps them in serve.json): the open tab finds it again.
    server = await startServer({ staticDir, modelsDir: models, backend: 'wasm', port, token });
    await waitForEvent(page, 'connection', {}, online + 2, 30_000);
    expect((await page.evaluate(() => (window.__seqlabEvents ?? []).filter((e) => e.type === 'connection').at(-1)?.detail)) as Detail).toEqual({ online: true });
    await expect.poll(() => page.textContent('[data-testid=connection]')).toBe('connected');
    await expect.poll(() => page.isEnabled('[data-testid=train]')).toBe(true);
    expect(await page.$('[data-testid=offline]')).toBeNull();
    await page.close();
  }, 120_000);
});
