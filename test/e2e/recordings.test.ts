// The recordings library end to end in Chromium, with a fake microphone playing a 330 Hz tone: a take
// streams into the library as it is captured and holds the tone's pitch; killing the engine mid-take
// loses at most a second of it; MP3 and FLAC files made with lame and sox import; regions marked on a
// recording train a model and stay with it; a recording is renamed, downloaded and deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { WaveFile } from 'wavefile';
import { decodeWav } from '../../src/shared/signals/wav';
import { yinPitch } from '../../src/shared/dsp/continuation-metrics';
import { chromiumOrSkip, openApp, RESULTS, startLab, waitForAppEvent, type Lab } from './lab-browser';

const TONE_HZ = 330;
const tools = ['/usr/bin/sox', '/usr/bin/lame'].filter((t) => !existsSync(t));
if (tools.length) console.log(`SKIP the MP3/FLAC import test: ${tools.join(', ')} missing (apt-get install sox lame)`);

let lab: Lab;

describe.skipIf(!chromiumOrSkip('recordings end-to-end tests'))('the recordings library in a browser', () => {
  beforeAll(async () => {
    lab = await startLab({
      prefix: 'seqlab-rec-',
      beforeServer: async (models) => {
        const tone = new WaveFile();
        tone.fromScratch(1, 48000, '16', Array.from({ length: 96000 }, (_, i) => Math.round(12000 * Math.sin((2 * Math.PI * TONE_HZ * i) / 48000))));
        await fs.writeFile(path.join(models, 'mic.wav'), tone.toBuffer());
      },
      chromiumArgs: (models) => ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${path.join(models, 'mic.wav')}`],
    });
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
  });

  it('records 2 s into the library with the tone\'s pitch, then marks regions and trains on them', async () => {
    const { page, errors } = await openApp(lab, { viewport: { width: 1024, height: 700 } });
    expect(await page.textContent('[data-testid=recordings-empty]')).toMatch(/No recordings yet/);
    await page.fill('[data-testid=record-seconds]', '2');
    await page.click('[data-testid=record]');
    await expect.poll(() => page.getAttribute('[data-testid=level]', 'aria-valuenow'), { timeout: 10_000 }).not.toBe('-90'); // the meter moves
    const rec = await waitForAppEvent(page, 'recording-done');
    expect(rec.stored).toBe(rec.samples);
    const file = path.join(lab.recordings, `${rec.name as string}.wav`);
    const wav = decodeWav(await fs.readFile(file));
    expect(wav.samples.length).toBe(2 * wav.sampleRate);
    const { pitchHz } = yinPitch(wav.samples, wav.sampleRate);
    console.log(`take: ${wav.samples.length} samples at ${wav.sampleRate} Hz, pitch ${pitchHz!.toFixed(2)} Hz for a ${TONE_HZ} Hz tone`);
    expect(Math.abs(pitchHz! / TONE_HZ - 1)).toBeLessThan(0.01);
    await waitForAppEvent(page, 'recording-chosen', { name: rec.name as string });
    await expect.poll(() => page.textContent('[data-testid=recordings]')).toContain(rec.name as string);

    // Regions as text (the waveform draws them, draggable); the model trains on one and keeps both.
    await page.fill('[data-testid=train-region]', '0-1.5');
    await page.press('[data-testid=train-region]', 'Enter');
    await page.fill('[data-testid=prime-region]', '1.5-2');
    await page.press('[data-testid=prime-region]', 'Enter');
    await expect.poll(() => page.getAttribute('[data-testid=waveform-signal]', 'data-regions')).toBe('region:0.00-1.50 primeRegion:1.50-2.00');
    await page.fill('[data-testid=prime-region]', '3-2');
    await page.press('[data-testid=prime-region]', 'Enter');
    expect(await page.textContent('[data-testid=prime-region-error]')).toBe('must end after it starts');
    await page.fill('[data-testid=prime-region]', '1.5-2');
    await page.press('[data-testid=prime-region]', 'Enter');
    await page.screenshot({ path: path.join(RESULTS, 'e2e-recordings-regions-1024.png'), fullPage: true });

    await page.selectOption('[data-testid=family]', 'regression');
    await page.fill('[data-testid=units]', '8');
    await page.fill('[data-testid=model-name]', 'e2e-region');
    await page.fill('[data-testid=epochs]', '1');
    await page.fill('[data-testid=max-windows]', '64');
    await page.click('[data-testid=train]');
    expect((await waitForAppEvent(page, 'training-done', {}, 120_000)).outcome).toBe('completed');
    await expect.poll(() => page.textContent('[data-testid=models]')).toMatch(/recording take [^\n]*0\.00-1\.50 s/);
    const spec = JSON.parse(await fs.readFile(path.join(lab.models, 'e2e-region', 'spec.json'), 'utf8'));
    expect(spec.source).toMatchObject({ kind: 'wav', recording: rec.name, region: { start: 0, end: 1.5 }, primeRegion: { start: 1.5, end: 2 } });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: path.join(RESULTS, 'e2e-recordings-1920.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('keeps a take whose engine is killed mid-recording, losing at most 1 s', async () => {
    const page = await lab.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(lab.server.url);
    await waitForAppEvent(page, 'app-loaded');
    await page.fill('[data-testid=record-seconds]', '8');
    await page.click('[data-testid=record]');
    // Past 2.5 s captured, the engine dies.
    await expect.poll(async () => Number(await page.getAttribute('[data-testid=take]', 'data-seconds')), { timeout: 15_000, interval: 50 }).toBeGreaterThan(2.5);
    const name = await page.getAttribute('[data-testid=take]', 'data-name');
    const captured = Number(await page.getAttribute('[data-testid=take]', 'data-seconds'));
    lab.server.supervisor.kill();
    expect((await waitForAppEvent(page, 'error-shown')).message).toMatch(/The take stopped at \d+\.\d s/);
    await waitForAppEvent(page, 'engine-status', { state: 'restarted' });
    // The restarted engine recovered it; the page lists it again.
    await expect.poll(() => page.textContent('[data-testid=recordings]'), { timeout: 15_000 }).toContain(name!);
    const wav = decodeWav(await fs.readFile(path.join(lab.recordings, `${name}.wav`)));
    const kept = wav.samples.length / wav.sampleRate;
    console.log(`engine killed after ${captured.toFixed(3)} s captured; the recovered take holds ${kept.toFixed(3)} s`);
    expect(kept).toBeGreaterThan(captured - 1);
    expect(Math.abs(yinPitch(wav.samples, wav.sampleRate).pitchHz! / TONE_HZ - 1)).toBeLessThan(0.01);
    await page.close();
  }, 120_000);

  it('says why the microphone cannot be used (denied, busy) and stays usable', async () => {
    const page = await lab.browser.newPage({ viewport: { width: 1280, height: 800 } });
    // The browser refuses as it would for a user who said no, then for a device another app holds.
    await page.addInitScript(() => {
      let calls = 0;
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', ++calls === 1 ? 'NotAllowedError' : 'NotReadableError'));
    });
    await page.goto(lab.server.url);
    await waitForAppEvent(page, 'app-loaded');
    await page.click('[data-testid=record]');
    expect((await waitForAppEvent(page, 'error-shown')).message).toMatch(/^Microphone access was denied \(Permission denied\): allow the microphone/);
    expect(await page.isEnabled('[data-testid=record]')).toBe(true);
    await page.click('[data-testid=record]');
    expect((await waitForAppEvent(page, 'error-shown', {}, 10_000, 2)).message).toMatch(/another application may be using it/);
    expect(await page.isEnabled('[data-testid=record]')).toBe(true);
    expect(await page.isEnabled('[data-testid=train]')).toBe(true);
    await page.close();
  });

  it.skipIf(tools.length > 0)('imports an MP3 and a FLAC, renames, downloads and deletes a recording', async () => {
    const dir = path.join(lab.recordings, '..');
    const src = path.join(dir, 'src.wav');
    execFileSync('sox', ['-n', '-r', '22050', '-c', '2', src, 'synth', '1.5', 'pluck', '220']);
    execFileSync('sox', [src, path.join(dir, 'pluck.flac')]);
    execFileSync('lame', ['--quiet', src, path.join(dir, 'pluck.mp3')]);
    const { page, errors } = await openApp(lab, { viewport: { width: 1280, height: 800 } });
    await page.setInputFiles('[data-testid=open-wav]', path.join(dir, 'pluck.flac'));
    expect(await waitForAppEvent(page, 'recording-imported', { name: 'pluck' })).toMatchObject({ samples: 33075, sampleRate: 22050 });
    await expect.poll(() => page.textContent('[data-testid=signal-info]')).toMatch(/33,075 samples at 22050 Hz/);
    await page.setInputFiles('[data-testid=open-wav]', path.join(dir, 'pluck.mp3'));
    const mp3 = await waitForAppEvent(page, 'recording-imported', { name: 'pluck (2)' });
    expect(mp3.sampleRate).toBe(22050);
    expect(Math.abs((mp3.samples as number) - 33075)).toBeLessThan(2000); // the encoder's padding

    const row = '[data-testid="recording-pluck (2)"]';
    await page.click(`${row} [data-testid=rename-recording]`);
    await page.fill('[data-testid=rename-input]', 'pluck mp3');
    await page.click('[data-testid=rename-save]');
    await expect.poll(() => page.textContent('[data-testid=recordings]')).toContain('pluck mp3');
    expect(existsSync(path.join(lab.recordings, 'pluck mp3.wav'))).toBe(true);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="recording-pluck mp3"] [data-testid=download-recording]')]);
    const saved = path.join(RESULTS, 'e2e-recording-download.wav');
    await download.saveAs(saved);
    expect(decodeWav(await fs.readFile(saved)).samples).toEqual(decodeWav(await fs.readFile(path.join(lab.recordings, 'pluck mp3.wav'))).samples);

    await page.click('[data-testid="recording-pluck mp3"] [data-testid=delete-recording]');
    await page.click('[data-testid=delete-confirm]');
    await expect.poll(() => page.textContent('[data-testid=recordings]')).not.toContain('pluck mp3');
    expect(existsSync(path.join(lab.recordings, 'pluck mp3.wav'))).toBe(false);
    await page.screenshot({ path: path.join(RESULTS, 'e2e-recordings-import.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
