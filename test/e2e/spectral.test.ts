// The spectral family end to end in Chromium: switching the family loads its defaults (windows count
// frames), training reports nats per bin beside persistence and the bins' own spread, a prime shorter
// than a frame is refused with a message that says so, and a continuation is drawn with its
// spectrogram. Screenshots at 1024×700 and 1920×1080.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { chromiumOrSkip, openApp, RESULTS, startLab, waitForAppEvent, type Lab } from './lab-browser';

let lab: Lab;

describe.skipIf(!chromiumOrSkip('spectral end-to-end test'))('a spectral model in the browser', () => {
  beforeAll(async () => {
    lab = await startLab({ prefix: 'seqlab-spec-' });
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
  });

  it("trains with the family's defaults, shows nats per bin, refuses a prime shorter than a frame and generates", async () => {
    const { page, errors } = await openApp(lab, { viewport: { width: 1024, height: 700 } });
    await page.selectOption('[data-testid=preset]', 'sine');
    await waitForAppEvent(page, 'signal-shown', { label: 'signal' });

    await page.selectOption('[data-testid=family]', 'spectral');
    expect(await page.inputValue('[data-testid=units]')).toBe('128');
    expect(await page.inputValue('[data-testid=window]')).toBe('32');
    // 50,001 samples are 197 frames of 256: the hint counts frames, not samples.
    await expect.poll(() => page.textContent('[data-testid=epoch-coverage]')).toMatch(/windows of 32 frames/);
    await page.fill('[data-testid=units]', '16');
    await page.fill('[data-testid=model-name]', 'e2e-spec');
    await page.fill('[data-testid=epochs]', '2');
    await page.fill('[data-testid=max-windows]', '32');
    await page.click('[data-testid=train]');
    const done = await waitForAppEvent(page, 'training-done', {}, 120_000);
    expect(done.outcome).toBe('completed');
    expect(Number.isFinite(done.test_nll)).toBe(true);
    await expect.poll(() => page.textContent('[data-testid=metrics]')).toMatch(/test NLL[\s\S]*nats\/bin[\s\S]*one-step LSD[\s\S]*dB[\s\S]*persistence[\s\S]*bin spread/);

    await page.fill('[data-testid=prime]', '500');
    await page.fill('[data-testid=gen-length]', '22050 samples');
    await page.click('[data-testid=generate]');
    await expect.poll(() => page.textContent('[data-testid=error]')).toMatch(/frames of 1024 samples needs a prime of at least 1024 samples, but got 500/);

    await page.fill('[data-testid=prime]', '4096');
    await page.fill('[data-testid=temperature]', '0.8');
    await page.click('[data-testid=generate]');
    expect((await waitForAppEvent(page, 'generation-done')).samples).toBe(22050);
    await expect.poll(() => page.getAttribute('[data-testid=spectrogram-generated]', 'data-columns')).toBe('173');
    // Its loss goes below zero: the runs comparison draws it on a linear scale.
    await page.check('[data-testid=compare-e2e-spec]');
    await expect.poll(() => page.inputValue('[data-testid=compare-scale]')).toBe('linear');
    expect(await page.isDisabled('[data-testid=compare-scale]')).toBe(true);
    await page.screenshot({ path: path.join(RESULTS, 'e2e-spectral-1024.png'), fullPage: true });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: path.join(RESULTS, 'e2e-spectral-1920.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
