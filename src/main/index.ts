// Electron entry: the window, its security, and the IPC binding to the engine process. This process
// never computes: the engine (the bundle out/main/engine.js, built beside this one) runs in an
// Electron utilityProcess and is restarted if it dies.
import { app, BrowserWindow, ipcMain, session, utilityProcess, type UtilityProcess } from 'electron';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toErrorData } from '../shared/errors';
import { CALL_CHANNEL, EVENT_CHANNEL, isCommandName } from '../shared/protocol-names';
import { EngineSupervisor, type SpawnEngine } from './host/engine-supervisor';

const here = path.dirname(fileURLToPath(import.meta.url));
const RENDERER = path.join(here, '../renderer/index.html');
const RENDERER_PATHNAME = pathToFileURL(RENDERER).pathname;
const PRELOAD = path.join(here, '../preload/index.cjs');
const ENGINE = path.join(here, 'engine.js');

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'";

const spawnUtility: SpawnEngine = (env) => {
  const child: UtilityProcess = utilityProcess.fork(ENGINE, [], { env: { ...process.env, ...env }, serviceName: 'Sequence Lab engine', stdio: 'inherit' });
  let alive = true;
  child.on('exit', () => (alive = false));
  return {
    send: (m) => child.postMessage(m),
    onMessage: (l) => child.on('message', l),
    onExit: (l) => child.on('exit', (code) => l(code, null)),
    kill: () => void child.kill(),
    get alive() {
      return alive;
    },
  };
};

/** True for the app's own page (any query or fragment), false for anything else or nothing. */
function isAppUrl(url: string | undefined | null): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === 'file:' && u.host === '' && u.pathname === RENDERER_PATHNAME;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  await app.whenReady();
  session.defaultSession.webRequest.onHeadersReceived((details, cb) => cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP], 'Cross-Origin-Opener-Policy': ['same-origin'], 'Cross-Origin-Embedder-Policy': ['require-corp'] } }));
  // Microphone only, and only for the app's own page.
  session.defaultSession.setPermissionRequestHandler((wc, permission, cb, details) => {
    const types = (details as { mediaTypes?: string[] }).mediaTypes ?? [];
    const audioOnly = permission === 'media' && types.length > 0 && types.every((t) => t === 'audio');
    cb(Boolean(audioOnly && isAppUrl(wc.getURL())));
  });
  session.defaultSession.setPermissionCheckHandler((wc, permission) => permission === 'media' && isAppUrl(wc?.getURL()));
  app.on('web-contents-created', (_e, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (e, url) => {
      if (!isAppUrl(url)) e.preventDefault();
    });
  });

  const supervisor = new EngineSupervisor({
    spawn: spawnUtility,
    modelsDir: process.env.SEQUENCE_LAB_MODELS ?? path.join(homedir(), '.sequence-lab', 'models'),
    // By default the models folder's sibling recordings/ (the engine decides).
    ...(process.env.SEQUENCE_LAB_RECORDINGS ? { recordingsDir: process.env.SEQUENCE_LAB_RECORDINGS } : {}),
  });
  void supervisor.start().catch(() => {});

  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 1024,
    minHeight: 700,
    title: 'Sequence Lab',
    webPreferences: { preload: PRELOAD, contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true },
  });
  supervisor.on((e) => {
    if (!win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, e.event, e.payload);
  });
  ipcMain.handle(CALL_CHANNEL, async (event, command: unknown, args: unknown) => {
    if (!isAppUrl(event.senderFrame?.url)) return { ok: false, error: { code: 'unauthorized', message: 'Calls are accepted from the app window only' } };
    if (!isCommandName(command)) return { ok: false, error: { code: 'bad_message', message: `Unknown command "${String(command)}"` } };
    try {
      return { ok: true, result: await supervisor.forward(command, args) };
    } catch (e) {
      const code = (e as { code?: string }).code;
      return { ok: false, error: code ? { code, message: (e as Error).message } : toErrorData(e) };
    }
  });
  app.on('window-all-closed', () => {
    void supervisor.stop().then(() => app.quit());
  });
  await win.loadFile(RENDERER);
}

main().catch((e: unknown) => {
  // A user never sees a stack trace; the message names what failed.
  process.stderr.write(`sequence-lab: error: the desktop app could not start: ${(e as Error)?.message ?? String(e)}\n`);
  app.exit(1);
});
