// Playback while generating, end to end in Chromium: a categorical model (44.1 kHz, generating at a
// few times real time) generates 2 s that start to sound before generation ends, through the playback
// AudioWorklet and a SharedArrayBuffer ring (the page is cross-origin isolated), play to the end with
// no under-run, while the waveform grows under a moving playhead. Then, on a page served without the
// isolation headers, the same through the worklet's port; Stop and Continue. Screenshots at
// 1024×700 and 1920×1080.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumOrSkip, openApp, RESULTS, startLab, waitForAppEvent, type Lab } from './lab-browser';

let lab: Lab;

interface Logged {
  type: string;
  at: number;
  detail?: Record<string, unknown>;
}

/** The app events of these types so far, with their times (performance.now() in the page). */
const events = (page: Page, types: string[]) => page.evaluate((t) => (window.__seqlabEvents ?? []).filter((e) => t.includes(e.type)) as Logged[], types);

/** Starts logging the generated waveform's drawn length and playhead on every change. */
async function watchWaveform(page: Page): Promise<void> {
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid=waveform-generated]') as HTMLElement;
    const log: { samples: number; playhead: number }[] = [];
    (window as unknown as { __waveLog: typeof log }).__waveLog = log;
    new MutationObserver(() => log.push({ samples: Number(el.dataset.samples), playhead: Number(el.dataset.playhead ?? 0) })).observe(el, { attributes: true, attributeFilter: ['data-samples', 'data-playhead'] });
  });
}
const waveLog = (page: Page) => page.evaluate(() => (window as unknown as { __waveLog: { samples: number; playhead: number }[] }).__waveLog);

describe.skipIf(!chromiumOrSkip('playback end-to-end test'))('playback while generating', () => {
  beforeAll(async () => {
    lab = await startLab({ prefix: 'seqlab-play-', chromiumArgs: () => ['--autoplay-policy=no-user-gesture-required', '--disable-features=LocalNetworkAccessChecks'] });
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
  });

  it('generates 2 s with playback starting before generation ends and no underrun', async () => {
    const { page, errors } = await openApp(lab, { viewport: { width: 1024, height: 700 } });
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.selectOption('[data-testid=preset]', 'sine');
    await waitForAppEvent(page, 'signal-shown', { label: 'signal' });
    // The categorical family's GRU of 128 samples about 2-4 x real time at 44.1 kHz on one core:
    // fast enough to play without a gap, slow enough that 2 s take a while to generate.
    await page.selectOption('[data-testid=family]', 'categorical');
    await page.fill('[data-testid=model-name]', 'e2e-play');
    await page.fill('[data-testid=epochs]', '1');
    await page.fill('[data-testid=max-windows]', '32');
    await page.click('[data-testid=train]');
    expect((await waitForAppEvent(page, 'training-done', {}, 120_000)).outcome).toBe('completed');

    await page.fill('[data-testid=gen-length]', '2');
    expect(await page.getAttribute('[data-testid=gen-length]', 'title')).toMatch(/now 88,200 samples at 44,100 Hz/);
    expect(await page.isChecked('[data-testid=play-live]')).toBe(true);
    await watchWaveform(page);
    const clicked = await page.evaluate(() => performance.now());
    await page.click('[data-testid=generate]');
    const started = await waitForAppEvent(page, 'playback-started', { label: 'generated' });
    expect(started).toMatchObject({ streaming: true, state: 'running', sampleRate: 44100, shared: true, generationDone: false });
    const panel = page.locator('section[aria-labelledby=gen-h]');
    await panel.screenshot({ path: path.join(RESULTS, 'playback-1024-playing.png') }); // mid-stream: the waveform so far, the playhead
    expect((await waitForAppEvent(page, 'generation-done')).samples).toBe(88200);
    const ended = await waitForAppEvent(page, 'playback-ended', { label: 'generated' });
    expect(ended.underruns).toBe(0);
    expect(ended.seconds).toBe(2);

    // Sound started before the whole continuation was there, by the page's clock too.
    const log = await events(page, ['playback-started', 'generation-done', 'playback-ended']);
    const at = (type: string) => log.find((e) => e.type === type)!.at;
    expect(log.map((e) => e.type)).toEqual(['playback-started', 'generation-done', 'playback-ended']);
    expect(at('playback-started')).toBeLessThan(at('generation-done'));
    console.log(
      `playback: first sound ${(at('playback-started') - clicked).toFixed(0)} ms after Generate (${Number(started.bufferedSeconds).toFixed(3)} s buffered), ` +
        `generation done after ${(at('generation-done') - clicked).toFixed(0)} ms, playback ended after ${(at('playback-ended') - clicked).toFixed(0)} ms, ${ended.underruns} under-runs`,
    );
    // The waveform grew chunk by chunk, and the playhead moved while it was still growing.
    const wave = await waveLog(page);
    const lengths = [...new Set(wave.map((w) => w.samples))].filter((n) => n > 0);
    expect(lengths.length).toBeGreaterThan(2);
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
    expect(wave.some((w) => w.playhead > 0 && w.samples < 88200)).toBe(true);
    expect(Math.max(...wave.map((w) => w.playhead))).toBeGreaterThan(1.5);
    await expect.poll(() => page.textContent('[data-testid=playback-status]')).toBe('played 2.00 s, no gaps');

    await panel.screenshot({ path: path.join(RESULTS, 'playback-1024.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await panel.screenshot({ path: path.join(RESULTS, 'playback-1920.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('plays through the worklet port where the page is not cross-origin isolated; Stop and Continue', async () => {
    const page = await lab.browser.newPage({ viewport: { width: 1024, height: 700 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The same server without the isolation headers: no SharedArrayBuffer, chunks go over the port.
    await page.route((url) => url.protocol === 'http:', async (route) => {
      const res = await route.fetch();
      const headers = { ...res.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response: res, headers });
    });
    await page.goto(lab.server.url);
    await waitForAppEvent(page, 'app-loaded');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    await page.selectOption('[data-testid=gen-model]', 'e2e-play');

    // Stop while it plays: the sound stops, the generation still arrives whole.
    await page.fill('[data-testid=gen-length]', '2');
    await page.click('[data-testid=generate]');
    expect(await waitForAppEvent(page, 'playback-started', { label: 'generated' })).toMatchObject({ shared: false, generationDone: false });
    await page.click('[data-testid=stop]');
    expect(await waitForAppEvent(page, 'playback-stopped', { label: 'generated' })).toMatchObject({ ended: false });
    expect((await waitForAppEvent(page, 'generation-done')).samples).toBe(88200);
    await expect.poll(() => page.textContent('[data-testid=playback-status]')).toMatch(/^stopped after \d\.\d\d s$/);

    // Continue streams too: 0.5 s more, heard from where the continuation starts, to its end.
    await page.fill('[data-testid=gen-length]', '500 ms');
    await page.click('[data-testid=continue]');
    expect(await waitForAppEvent(page, 'playback-started', { label: 'generated' }, 60_000, 2)).toMatchObject({ shared: false });
    expect(await waitForAppEvent(page, 'generation-done', { continued: true })).toMatchObject({ samples: 88200 + 22050 });
    const ended = await waitForAppEvent(page, 'playback-ended', { label: 'generated' });
    expect(ended).toMatchObject({ underruns: 0, seconds: 0.5 });
    await expect.poll(() => page.getAttribute('[data-testid=waveform-generated]', 'data-samples')).toBe(String(88200 + 22050));

    // A length that is not one is named, and Generate waits for a good one.
    await page.fill('[data-testid=gen-length]', 'two');
    expect(await page.textContent('[data-testid=gen-length-error]')).toMatch(/"two" is not a length/);
    expect(await page.isDisabled('[data-testid=generate]')).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
