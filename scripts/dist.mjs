// npm run dist: installers through electron-builder (AppImage and deb on Linux; dmg on macOS; nsis on
// Windows), from the electron-vite bundles. It packages the Electron runtime that npm start uses
// (node_modules/electron/dist), so where that cannot be downloaded it stops with one line saying so.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { electronBinary } from './electron-runtime.mjs';

const electron = electronBinary();
if (!electron.path) {
  console.error(`sequence-lab: error: cannot package the desktop app: ${electron.reason}. electron-builder needs the Electron runtime for this platform.`);
  process.exit(2);
}
const step = (args) => spawnSync('npx', args, { stdio: 'inherit' }).status ?? 1;
if (step(['electron-vite', 'build']) !== 0) process.exit(1);
// The runtime's folder: dist/ on Linux and Windows, above Electron.app on macOS.
const dist = electron.path.slice(0, electron.path.indexOf(`${path.sep}dist${path.sep}`) + 5);
process.exit(step(['electron-builder', `--config.electronDist=${dist}`, '--publish', 'never', ...process.argv.slice(2)]));
