// The desktop window through Playwright's Electron driver, on the real Electron runtime. The runtime
// is downloaded on first start, which these machines cannot do: the test is skipped, saying why,
// when it is missing. Without a display it runs under xvfb-run where that exists.
// (test/unit/electron-main.test.ts covers the same main process on a fake Electron everywhere.)
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, promises as fs, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// @ts-expect-error plain JavaScript helper shared with scripts/start.mjs
import { electronBinary } from '../../scripts/electron-runtime.mjs';

const runtime = electronBinary({ download: false }) as { path: string | null; reason: string | null };
const display = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const xvfbRun = !display && spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' }).stdout.trim();
const skip = !runtime.path ? runtime.reason : !display && !xvfbRun ? 'no display, and no xvfb-run to make one (apt-get install xvfb)' : null;
if (skip) console.log(`SKIP Electron window tests: ${skip}`);

/** The executable Playwright starts: Electron itself, or a script running it under xvfb-run. */
function executable(dir: string): string {
  if (!xvfbRun) return runtime.path!;
  const wrapper = path.join(dir, 'electron-under-xvfb.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${JSON.stringify(xvfbRun)} -a -s "-screen 0 1280x800x24" ${JSON.stringify(runtime.path)} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

describe.skipIf(skip !== null)('the desktop window', () => {
  it('opens the lab with the engine behind IPC, isolated from Node', async () => {
    expect(spawnSync('npx', ['electron-vite', 'build'], { stdio: 'inherit' }).status).toBe(0);
    const models = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-electron-'));
    const { _electron } = await import('playwright-core');
    // Chromium refuses to run as root with its OS sandbox (CI runs as root); the page's own
    // sandbox (webPreferences.sandbox) is unaffected.
    const args = process.getuid?.() === 0 ? ['--no-sandbox', '.'] : ['.'];
    const app = await _electron.launch({ executablePath: executable(models), args, env: { ...process.env, SEQUENCE_LAB_MODELS: models } });
    try {
      const page = await app.firstWindow();
      await page.waitForFunction(() => (window.__seqlabEvents ?? []).some((e) => e.type === 'app-loaded'), null, { timeout: 60_000 });
      await expect.poll(() => page.textContent('[data-testid=status]')).toMatch(/electron mode/);
      // contextIsolation and sandbox: no Node in the page, only the bridge.
      expect(await page.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined');
      expect(await page.evaluate(() => Object.keys((window as unknown as { lab: object }).lab).sort())).toEqual(['call', 'commands', 'on']);
      const info = await page.evaluate(() => (window as unknown as { lab: { call(c: string, a: unknown): Promise<{ ok: boolean; result: { backend: string } }> } }).lab.call('engine.info', {}));
      expect(info.ok).toBe(true);
      await page.screenshot({ path: path.resolve('test-results/electron-window.png') });
    } finally {
      await app.close();
      await fs.rm(models, { recursive: true, force: true });
    }
  });
});
