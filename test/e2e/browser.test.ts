// End to end in Debian's Chromium against browser mode: what a user does, waiting on the app's own
// events (window.__seqlabEvents), never on sleeps. Screenshots go to test-results/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { generateFromFolder } from '../../src/main/engine/engine';
import { decodeWav } from '../../src/shared/signals/wav';
import { WaveFile } from 'wavefile';
import { chromiumOrSkip, openApp, RESULTS, startLab, waitForAppEvent, type Lab } from './lab-browser';

let lab: Lab;

describe.skipIf(!chromiumOrSkip('browser end-to-end tests'))('the lab in a browser', () => {
  beforeAll(async () => {
    lab = await startLab({
      prefix: 'seqlab-e2e-',
      // The fake microphone plays a 16-bit WAV of a 441 Hz tone.
      beforeServer: async (models) => {
        const tone = new WaveFile();
        tone.fromScratch(1, 44100, '16', Array.from({ length: 88200 }, (_, i) => Math.round(16000 * Math.sin((2 * Math.PI * 441 * i) / 44100))));
        await fs.writeFile(path.join(models, 'mic.wav'), tone.toBuffer());
      },
      chromiumArgs: (models) => ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${path.join(models, 'mic.wav')}`],
    });
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
  });

  it('trains the sine preset, watches the loss, generates, plays and exports a WAV', async () => {
    const { page, errors } = await openApp(lab, { viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    await expect.poll(() => page.textContent('[data-testid=status]')).toMatch(/engine: wasm · browser mode/);
    await page.selectOption('[data-testid=preset]', 'sine');
    await waitForAppEvent(page, 'signal-shown', { label: 'signal' });
    await page.fill('[data-testid=model-name]', 'e2e-sine');
    await page.fill('[data-testid=epochs]', '1');
    await page.fill('[data-testid=max-windows]', '2048');
    await page.click('[data-testid=train]');
    await waitForAppEvent(page, 'training-progress');
    await expect.poll(async () => Number(await page.getAttribute('[data-testid=loss-chart]', 'data-points'))).toBeGreaterThan(0);
    const done = await waitForAppEvent(page, 'training-done');
    expect(done.outcome).toBe('completed');
    // 2,048 windows in batches of 128: one point per batch once React has rendered the last one.
    await expect.poll(() => page.getAttribute('[data-testid=loss-chart]', 'data-points')).toBe('16');
    await expect.poll(() => page.textContent('[data-testid=metrics]')).toMatch(/test MSE[\s\S]*noise floor[\s\S]*0\.0004/);
    await page.screenshot({ path: path.join(RESULTS, 'e2e-trained.png') });

    await page.fill('[data-testid=prime]', '100');
    await page.fill('[data-testid=gen-length]', '2'); // 88,200 samples at 44.1 kHz: long enough to press Stop
    await page.click('[data-testid=generate]');
    expect((await waitForAppEvent(page, 'generation-done')).samples).toBe(88200);
    await waitForAppEvent(page, 'signal-shown', { label: 'generated' });
    await expect.poll(() => page.getAttribute('[data-testid=waveform-generated]', 'data-samples')).toBe('88200');
    await expect.poll(() => page.getAttribute('[data-testid=generation-chart]', 'data-points')).toBe('88300');

    await page.click('[data-testid=play]');
    const played = await waitForAppEvent(page, 'playback-started');
    expect(played.label).toBe('generated');
    expect(played.state).toBe('running');
    expect(played.sampleRate).toBe(44100);
    await page.click('[data-testid=stop]');
    expect(await waitForAppEvent(page, 'playback-stopped')).toEqual({ label: 'generated', ended: false });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export]')]);
    const file = path.join(RESULTS, 'e2e-generated.wav');
    await download.saveAs(file);
    const wav = decodeWav(await fs.readFile(file));
    expect(wav.sampleRate).toBe(44100);
    // The exported samples are exactly what the engine generates for that model, prime and length.
    const ref = await generateFromFolder({ dir: path.join(lab.models, 'e2e-sine'), prime: 100, length: 88200 });
    expect(wav.samples).toEqual(ref.samples);
    await page.screenshot({ path: path.join(RESULTS, 'e2e-generated.png') });

    // Continue from the packed state: the continuation is appended.
    await page.fill('[data-testid=gen-length]', '1000 samples');
    await page.click('[data-testid=continue]');
    expect(await waitForAppEvent(page, 'generation-done', { continued: true })).toMatchObject({ samples: 89_200 });
    await expect.poll(() => page.textContent('[data-testid=gen-info]')).toMatch(/89,200 samples generated/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('records the microphone through the AudioWorklet and shows it as the signal', async () => {
    const page = await lab.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(lab.server.url);
    await waitForAppEvent(page, 'app-loaded');
    await page.fill('[data-testid=record-seconds]', '1');
    await page.click('[data-testid=record]');
    const rec = await waitForAppEvent(page, 'recording-done');
    expect(rec.samples).toBe(rec.sampleRate); // one second at the context's rate
    expect(rec.rms as number).toBeGreaterThan(0.2); // the tone, not silence (its RMS is 0.35)
    // Streamed into the recordings library as it was captured, whole, and chosen as the signal.
    expect(rec.stored).toBe(rec.samples);
    await waitForAppEvent(page, 'recording-chosen', { name: rec.name as string });
    await expect.poll(() => page.textContent('[data-testid=signal-info]')).toMatch(new RegExp(`${(rec.samples as number).toLocaleString('en-US')} samples at ${rec.sampleRate} Hz`));
    expect(decodeWav(await fs.readFile(path.join(lab.recordings, `${rec.name as string}.wav`))).samples.length).toBe(rec.samples);
    await page.screenshot({ path: path.join(RESULTS, 'e2e-recorded.png') });
    await page.close();
  });

  it('imports a WAV file into the library as the signal, and names the problem with a corrupt one', async () => {
    const page = await lab.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(lab.server.url);
    await waitForAppEvent(page, 'app-loaded');
    const stereo = new WaveFile();
    stereo.fromScratch(2, 8000, '16', Array.from({ length: 16000 }, (_, i) => (i % 2 ? 1000 : -1000)));
    await page.setInputFiles('[data-testid=open-wav]', { name: 'stereo.wav', mimeType: 'audio/wav', buffer: Buffer.from(stereo.toBuffer()) });
    await expect.poll(() => page.textContent('[data-testid=signal-info]')).toMatch(/8,000 samples at 8000 Hz/);
    await expect.poll(() => page.textContent('[data-testid=recordings]')).toMatch(/stereo/);
    await expect.poll(() => page.textContent('#root')).toMatch(/Recording "stereo" from the library/);
    await page.setInputFiles('[data-testid=open-wav]', { name: 'broken.wav', mimeType: 'audio/wav', buffer: Buffer.from('RIFF1234WAVEnope') });
    expect((await waitForAppEvent(page, 'error-shown')).message).toMatch(/broken\.wav is not a readable WAV file/);
    expect((await fs.readdir(lab.recordings)).filter((f) => !/^take .*\.wav$/.test(f))).toEqual(['stereo.wav']); // nothing stored for it
    await expect.poll(() => page.textContent('[data-testid=error]')).toMatch(/broken\.wav is not a readable WAV file/);
    await page.close();
  });

  it('says so when the engine dies mid-training, restarts it and stays usable', async () => {
    const page = await lab.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(lab.server.url);
    await waitForAppEvent(page, 'app-loaded');
    await page.fill('[data-testid=model-name]', 'e2e-crash');
    await page.fill('[data-testid=epochs]', '100');
    await page.fill('[data-testid=max-windows]', '1024');
    await page.click('[data-testid=train]');
    // Epoch 2's end means epoch 1's checkpoint is on disk.
    await waitForAppEvent(page, 'training-progress', { epoch: 2 });
    lab.server.supervisor.kill();
    await waitForAppEvent(page, 'engine-status', { state: 'crashed' });
    await waitForAppEvent(page, 'engine-status', { state: 'restarted' });
    await expect.poll(() => page.textContent('[data-testid=engine-note]')).toMatch(/restarted/);
    await expect.poll(() => page.textContent('[data-testid=train-status]')).toMatch(/failed: The engine stopped/);
    expect(await page.isEnabled('[data-testid=train]')).toBe(true);
    await expect.poll(() => page.textContent('[data-testid=models]')).toMatch(/e2e-crash/);
    await page.screenshot({ path: path.join(RESULTS, 'e2e-engine-restarted.png') });
    await page.close();
  });
});
