// Is the Electron runtime here? package.json's allowScripts keeps npm install from running
// Electron's download script (an npm install must work where the runtime cannot be fetched), so
// the runtime is downloaded here, on first start; where it cannot be, we say so in one line and the
// caller falls back.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);

/** The Electron binary's path, or null with the reason. */
export function electronBinary({ download = true } = {}) {
  let dir;
  try {
    dir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { path: null, reason: 'the electron package is not installed' };
  }
  const resolve = () => {
    const pathFile = path.join(dir, 'path.txt');
    if (!existsSync(pathFile)) return null;
    const bin = path.join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(bin) ? bin : null;
  };
  let bin = resolve();
  if (!bin && process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) return { path: null, reason: 'the Electron runtime is not downloaded (ELECTRON_SKIP_BINARY_DOWNLOAD is set)' };
  if (!bin && download && !process.env.SEQUENCE_LAB_NO_ELECTRON) {
    const r = spawnSync(process.execPath, [path.join(dir, 'install.js')], { encoding: 'utf8', timeout: 120_000 });
    bin = resolve();
    if (!bin) {
      const why = `${r.stderr ?? ''}${r.stdout ?? ''}`.split('\n').find((l) => /error|ENOTFOUND|EAI_AGAIN|ECONN|timed out/i.test(l)) ?? `exit code ${r.status}`;
      return { path: null, reason: `the Electron runtime could not be downloaded (${why.trim().slice(0, 160)})` };
    }
  }
  return bin ? { path: bin, reason: null } : { path: null, reason: 'the Electron runtime is not downloaded' };
}
