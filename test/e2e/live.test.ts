// Live mode end to end in Chromium: a fake microphone (a 330 Hz tone, 0.6 s on and 0.6 s off, looped)
// is recorded into the library, a small categorical model trains on it at 16 kHz, and the microphone
// then runs through the model over the WebSocket for 10 s in follow mode: every batch answered, no
// under-run, the round trip shown. Call and response then answers in the pauses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { WaveFile } from 'wavefile';
import { chromiumOrSkip, openApp, RESULTS, startLab, waitForAppEvent, type Lab } from './lab-browser';

let lab: Lab;

describe.skipIf(!chromiumOrSkip('live mode end-to-end test'))('live mode in a browser', () => {
  beforeAll(async () => {
    lab = await startLab({
      prefix: 'seqlab-live-',
      beforeServer: async (models) => {
        const rate = 48000;
        const on = 0.6 * rate;
        const tone = new WaveFile();
        tone.fromScratch(1, rate, '16', Array.from({ length: 2 * on }, (_, i) => (i < on ? Math.round(12000 * Math.sin((2 * Math.PI * 330 * i) / rate)) : 0)));
        await fs.writeFile(path.join(models, 'mic.wav'), tone.toBuffer());
      },
      chromiumArgs: (models) => [
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${path.join(models, 'mic.wav')}`,
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
  });

  it('runs the microphone through a model for 10 s with no under-run and shows the round trip; call and response answers in the pauses', async () => {
    const { page, errors } = await openApp(lab, { viewport: { width: 1024, height: 700 } });
    expect(await page.isDisabled('[data-testid=live-start]')).toBe(true); // no model yet

    await page.fill('[data-testid=record-seconds]', '1.2');
    await page.click('[data-testid=record]');
    await waitForAppEvent(page, 'recording-chosen');
    await page.selectOption('[data-testid=family]', 'categorical');
    await page.fill('[data-testid=units]', '16');
    await page.fill('[data-testid=model-name]', 'e2e-live');
    await page.fill('[data-testid=epochs]', '1');
    await page.fill('[data-testid=max-windows]', '16');
    await page.click('[data-testid=train]');
    expect((await waitForAppEvent(page, 'training-done', {}, 120_000)).outcome).toBe('completed');

    await page.selectOption('[data-testid=live-model]', 'e2e-live');
    await page.selectOption('[data-testid=live-mode]', 'follow');
    await page.click('[data-testid=live-start]');
    expect(await waitForAppEvent(page, 'live-started')).toMatchObject({ model: 'e2e-live', sampleRate: 16000, family: 'categorical', mode: 'follow' });
    // 10 s of batches of 128 at 16 kHz: 1,250 answers.
    await expect.poll(async () => Number(await page.getAttribute('[data-testid=live-figures]', 'data-batches')), { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(1250);
    expect(await page.textContent('[data-testid=live-latency]')).toMatch(/\d+\.\d ms median, \d+\.\d ms 95 %, \d+\.\d ms max/);
    await page.screenshot({ path: path.join(RESULTS, 'e2e-live-1024.png'), fullPage: true });
    await page.click('[data-testid=live-stop]');
    const follow = await waitForAppEvent(page, 'live-stopped');
    expect(follow.batches as number).toBeGreaterThanOrEqual(1250);
    expect(follow.underruns).toBe(0);
    expect(follow.dropped).toBe(0);
    expect(follow.medianMs as number).toBeGreaterThan(0);
    console.log(`live follow, 10 s: round trip median ${(follow.medianMs as number).toFixed(1)} ms, 95 % ${(follow.p95Ms as number).toFixed(1)} ms, max ${(follow.maxMs as number).toFixed(1)} ms, ${follow.batches} batches, ${follow.underruns} under-runs`);

    await page.selectOption('[data-testid=live-mode]', 'call-response');
    await page.click('[data-testid=live-start]');
    await waitForAppEvent(page, 'live-started', { mode: 'call-response' });
    // The tone stops every 0.6 s for 0.6 s: past the 0.3 s hold, the model answers.
    await expect.poll(() => page.textContent('[data-testid=live-state]'), { timeout: 15_000, interval: 50 }).toMatch(/responding/);
    await expect.poll(() => page.textContent('[data-testid=live-state]'), { timeout: 15_000, interval: 50 }).toMatch(/listening/);
    await page.click('[data-testid=live-stop]');
    const call = await waitForAppEvent(page, 'live-stopped', {}, 60_000, 2);
    expect(call.responses as number).toBeGreaterThanOrEqual(1);
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: path.join(RESULTS, 'e2e-live-1920.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('keeps what a generation made before its engine died, and continues from the last chunk', async () => {
    const page = await lab.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(lab.server.url);
    await waitForAppEvent(page, 'app-loaded');
    await page.selectOption('[data-testid=gen-model]', 'e2e-live');
    await page.fill('[data-testid=gen-length]', '120'); // 1.9 M samples: seconds of work, so there is time to kill it
    await page.click('[data-testid=generate]');
    await expect.poll(async () => Number(await page.getAttribute('[data-testid=waveform-generated]', 'data-samples')), { timeout: 30_000, interval: 20 }).toBeGreaterThan(0);
    lab.server.supervisor.kill();
    const shown = await waitForAppEvent(page, 'error-shown');
    const kept = Number(/The ([\d,]+) samples generated before that are kept/.exec(shown.message as string)![1].replace(/,/g, ''));
    expect(kept).toBeGreaterThan(0);
    expect(kept % 4096).toBe(0); // whole chunks
    await waitForAppEvent(page, 'engine-status', { state: 'restarted' });
    await expect.poll(() => page.getAttribute('[data-testid=waveform-generated]', 'data-samples')).toBe(String(kept));
    await page.fill('[data-testid=gen-length]', '8000 samples');
    await page.click('[data-testid=continue]');
    expect(await waitForAppEvent(page, 'generation-done', { continued: true })).toMatchObject({ samples: kept + 8000 });
    await page.close();
  }, 120_000);
});
