// The categorical family end to end in Chromium: switching the family loads its defaults, training
// reports bits per sample beside its references, and a continuation sampled at a chosen temperature
// is drawn with its spectrogram (the signal has one too). Screenshots at 1024×700 and 1920×1080.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { chromiumOrSkip, openApp, RESULTS, startLab, waitForAppEvent, type Lab } from './lab-browser';

let lab: Lab;

describe.skipIf(!chromiumOrSkip('categorical end-to-end test'))('a categorical model in the browser', () => {
  beforeAll(async () => {
    lab = await startLab({ prefix: 'seqlab-cat-' });
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
  });

  it('trains with the family\'s defaults, shows bits per sample and samples at a temperature', async () => {
    const { page, errors } = await openApp(lab, { viewport: { width: 1024, height: 700 } });
    await page.selectOption('[data-testid=preset]', 'sine');
    await waitForAppEvent(page, 'signal-shown', { label: 'signal' });
    await expect.poll(() => page.getAttribute('[data-testid=spectrogram-signal]', 'data-columns')).toBe('391'); // 50,001 samples: a column per 128

    await page.selectOption('[data-testid=family]', 'categorical');
    // The family's defaults replace the notebook's: a GRU of 128, windows of 256, batches of 16.
    expect(await page.inputValue('[data-testid=units]')).toBe('128');
    expect(await page.inputValue('[data-testid=cell]')).toBe('gru');
    expect(await page.inputValue('[data-testid=window]')).toBe('256');
    expect(await page.inputValue('[data-testid=batch]')).toBe('16');
    await page.fill('[data-testid=units]', '10');
    await expect.poll(() => page.textContent('.grid-form')).toMatch(/multiple of 4/);
    await page.fill('[data-testid=units]', '16');
    await page.fill('[data-testid=model-name]', 'e2e-cat');
    await page.fill('[data-testid=epochs]', '1');
    await page.fill('[data-testid=max-windows]', '64');
    await page.click('[data-testid=train]');
    const done = await waitForAppEvent(page, 'training-done', {}, 120_000);
    expect(done.outcome).toBe('completed');
    expect(done.test_bits).toBeGreaterThan(0);
    expect(done.test_bits).toBeLessThan(8);
    await expect.poll(() => page.textContent('[data-testid=metrics]')).toMatch(/test NLL[\s\S]*bits\/sample[\s\S]*linear prediction[\s\S]*level histogram[\s\S]*uniform[\s\S]*8\.000 bits/);
    expect(await page.textContent('[data-testid=verdict]')).toMatch(/bits\/sample/);

    await page.fill('[data-testid=prime]', '500');
    await page.fill('[data-testid=gen-length]', '22050 samples');
    await page.fill('[data-testid=temperature]', '0.8');
    await page.click('[data-testid=generate]');
    expect((await waitForAppEvent(page, 'generation-done')).samples).toBe(22050);
    await expect.poll(() => page.getAttribute('[data-testid=spectrogram-generated]', 'data-columns')).toBe('173'); // a column per 128 samples (a quarter frame) under 400
    const label = await page.getAttribute('[data-testid=spectrogram-generated] canvas', 'aria-label');
    expect(label).toMatch(/generated spectrogram, 0 to 22050 Hz over 0\.50 s/);
    await page.screenshot({ path: path.join(RESULTS, 'e2e-categorical-1024.png'), fullPage: true });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: path.join(RESULTS, 'e2e-categorical-1920.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
