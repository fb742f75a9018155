// The desktop window through Playwright's Electron driver. Electron's runtime is downloaded on first
// start, which these machines cannot do: the test is skipped, saying why, when it is missing.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// @ts-expect-error plain JavaScript helper shared with scripts/start.mjs
import { electronBinary } from '../../scripts/electron-runtime.mjs';

const runtime = electronBinary({ download: false }) as { path: string | null; reason: string | null };
const display = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const skip = !runtime.path ? runtime.reason : !display ? 'no display (run under xvfb-run)' : null;
if (skip) console.log(`SKIP Electron window tests: ${skip}`);

describe.skipIf(skip !== null)('the desktop window', () => {
  it('opens the lab with the engine behind IPC, isolated from Node', async () => {
    expect(spawnSync('npx', ['electron-vite', 'build'], { stdio: 'inherit' }).status).toBe(0);
    const models = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-electron-'));
    const { _electron } = await import('playwright-core');
    const app = await _electron.launch({ executablePath: runtime.path!, args: ['.'], env: { ...process.env, SEQUENCE_LAB_MODELS: models } });
    try {
      const page = await app.firstWindow();
      await page.waitForFunction(() => (window.__seqlabEvents ?? []).some((e) => e.type === 'app-loaded'), null, { timeout: 60_000 });
      await expect.poll(() => page.textContent('[data-testid=status]')).toMatch(/electron mode/);
      // contextIsolation and sandbox: no Node in the page, only the bridge.
      expect(await page.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined');
      expect(await page.evaluate(() => Object.keys((window as unknown as { lab: object }).lab).sort())).toEqual(['call', 'commands', 'on']);
      await page.screenshot({ path: path.resolve('test-results/electron-window.png') });
    } finally {
      await app.close();
      await fs.rm(models, { recursive: true, force: true });
    }
  });
});
