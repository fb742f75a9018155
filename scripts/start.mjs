// npm start: the desktop app where Electron can run, else browser mode (`sequence-lab serve`).
import { spawn, spawnSync } from 'node:child_process';
import { electronBinary } from './electron-runtime.mjs';

const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', shell: false }).status ?? 1;
const npx = (args) => run('npx', args);

const electron = electronBinary();
if (electron.path && (process.platform !== 'linux' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) {
  if (npx(['electron-vite', 'build']) !== 0) process.exit(1);
  const child = spawn(electron.path, ['.'], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const why = electron.path ? 'no display to open a window on' : electron.reason;
  console.log(`Desktop app unavailable (${why}); starting browser mode instead.`);
  if (npx(['vite', 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'error']) !== 0) process.exit(1);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
}
