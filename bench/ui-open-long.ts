// How long the UI takes to show a long recording: opens a WAV in Chromium against browser mode and
// times it from choosing the file to the waveform drawn (the app's 'signal-shown' event).
// Usage: node --import tsx bench/ui-open-long.ts FILE.wav   (make one: sox -n -r 16000 -c 1 -b 16 hour.wav synth 3600 sawtooth 220)
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer } from '../src/main/host/serve';

/** The app's event log in the page (typed here: this script is checked without the DOM's types). */
type PageEvents = { __seqlabEvents?: { type: string }[] };

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node --import tsx bench/ui-open-long.ts FILE.wav\n');
  process.exit(2);
}
const models = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-ui-long-'));
const server = await startServer({ staticDir: path.resolve('out/renderer'), modelsDir: models, backend: 'wasm' });
const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
try {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.goto(server.url);
  await page.waitForFunction((t) => ((globalThis as unknown as PageEvents).__seqlabEvents ?? []).some((e) => e.type === t), 'app-loaded');
  const infoBefore = await page.textContent('[data-testid=signal-info]');
  const pageT0 = await page.evaluate(() => performance.now());
  const t0 = performance.now();
  await page.setInputFiles('[data-testid=open-wav]', file);
  // The file's own waveform: the info line changes to it, and a signal-shown event follows the choice.
  await page.waitForFunction((before) => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector('[data-testid=signal-info]')?.textContent !== before, infoBefore, { timeout: 120_000, polling: 20 });
  await page.waitForFunction(
    (since) => ((globalThis as unknown as PageEvents).__seqlabEvents as { type: string; at: number }[] | undefined ?? []).some((e) => e.type === 'signal-shown' && e.at > since),
    pageT0,
    { timeout: 120_000, polling: 20 },
  );
  const seconds = (performance.now() - t0) / 1000;
  const info = await page.textContent('[data-testid=signal-info]');
  await page.screenshot({ path: path.resolve('test-results/ui-open-long.png') });
  process.stdout.write(JSON.stringify({ file: path.basename(file), seconds_to_waveform: Math.round(seconds * 100) / 100, shown: info?.trim() }) + '\n');
} finally {
  await browser.close();
  await server.close();
  await fs.rm(models, { recursive: true, force: true });
}
