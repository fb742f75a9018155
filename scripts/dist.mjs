// npm run dist: installers through electron-builder (AppImage and deb here; dmg on macOS; nsis on Windows).
import { spawnSync } from 'node:child_process';
import { electronBinary } from './electron-runtime.mjs';

const electron = electronBinary();
if (!electron.path) {
  console.error(`sequence-lab: error: cannot package the desktop app: ${electron.reason}. electron-builder needs the Electron runtime for this platform.`);
  process.exit(2);
}
const step = (args) => spawnSync('npx', args, { stdio: 'inherit' }).status ?? 1;
if (step(['electron-vite', 'build']) !== 0) process.exit(1);
process.exit(step(['electron-builder', ...process.argv.slice(2)]));
