// The built Electron main process (out/main/index.js) on plain Node, with a fake 'electron' module
// (test/fixtures/fake-electron): its window options, CSP, permissions and navigation rules, and a
// real command from the page through the sandboxed preload, ipcMain and the engine bundle in a
// utility process, and back; events the other way; a killed engine restarted.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_CHANNEL } from '../../src/shared/protocol-names';
import { encodeWav } from '../../src/shared/signals/wav';
import { ensureDesktopBuilt, FAKE_ELECTRON, OUT } from '../fixtures/fake-electron/desktop-build';

type Reply = { ok: boolean; result?: Record<string, unknown>; error?: { code: string; message: string } };
interface PageEvent {
  event: string;
  payload: Record<string, unknown>;
}

let main: ChildProcess;
let models: string;
let nextId = 0;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
const pageEvents: PageEvent[] = [];
const eventWaiters = new Set<() => void>();
let mainStderr = '';
let mainExit: Promise<number | null>;

/** One op on the fake Electron inside the main process (see fake-electron/electron.mjs). */
function ctl<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    main.send({ id, op, ...args });
  });
}

/** Resolves with the first page event (from now on or already seen after `from`) that matches. */
function pageEvent(match: (e: PageEvent) => boolean, from = 0): Promise<PageEvent> {
  return new Promise((resolve) => {
    const check = () => {
      const hit = pageEvents.slice(from).find(match);
      if (!hit) return false;
      eventWaiters.delete(check as () => void);
      resolve(hit);
      return true;
    };
    if (!check()) eventWaiters.add(check as () => void);
  });
}

const appUrl = () => pathToFileURL(OUT.renderer).href;

beforeAll(async () => {
  await ensureDesktopBuilt();
  models = mkdtempSync(path.join(tmpdir(), 'seqlab-electron-main-'));
  main = fork(OUT.main, [], {
    execArgv: ['--import', FAKE_ELECTRON.register],
    serialization: 'advanced',
    // Two training threads, so the fused kernel's worker thread starts from out/main/native.
    env: { ...process.env, SEQUENCE_LAB_MODELS: models, SEQUENCE_LAB_RECORDINGS: path.join(models, '..', `${path.basename(models)}-recordings`), SEQUENCE_LAB_THREADS: '2', SEQUENCE_LAB_BACKEND: 'wasm' },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  main.stderr!.on('data', (d: Buffer) => {
    mainStderr += d.toString();
    process.stderr.write(d);
  });
  mainExit = new Promise((r) => main.on('exit', (code) => r(code)));
  main.on('message', (m: { kind: string; id?: number; ok?: boolean; result?: unknown; error?: string } & PageEvent) => {
    if (m.kind === 'reply') {
      const p = pending.get(m.id!)!;
      pending.delete(m.id!);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    } else if (m.kind === 'page-event') {
      pageEvents.push({ event: m.event, payload: m.payload });
      for (const w of [...eventWaiters]) w();
    }
  });
  main.on('exit', (code) => {
    for (const [, p] of pending) p.reject(new Error(`the main process exited (code ${code}): ${mainStderr.slice(-500)}`));
  });
  await ctl('ready');
  await ctl('subscribe', { event: 'engine.status' });
  await ctl('subscribe', { event: 'train.progress' });
  await ctl('subscribe', { event: 'train.done' });
});

afterAll(async () => {
  if (main && main.exitCode === null) main.kill('SIGKILL');
  if (models) rmSync(models, { recursive: true, force: true });
  if (models) rmSync(`${models}-recordings`, { recursive: true, force: true });
});

describe('the Electron main process (built, on a fake Electron)', () => {
  it('opens one isolated, sandboxed window without Node, with the built preload', async () => {
    const o = await ctl<{ webPreferences: Record<string, unknown> }>('windowOptions');
    expect(o.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(o.webPreferences.preload).toBe(OUT.preload);
    expect(existsSync(o.webPreferences.preload as string)).toBe(true);
  });

  it('adds a strict Content-Security-Policy to every response, keeping the other headers', async () => {
    const h = await ctl<Record<string, string[]>>('headers', { url: appUrl(), responseHeaders: { 'X-Kept': ['yes'] } });
    expect(h['X-Kept']).toEqual(['yes']);
    const csp = h['Content-Security-Policy'].join(';');
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/object-src 'none'/);
    expect(csp).not.toMatch(/unsafe-eval/);
  });

  it.each([
    ['the microphone', 'the app page', 'media', ['audio'], true],
    ['the microphone', 'the app page#models', 'media', ['audio'], true],
    ['the camera', 'the app page', 'media', ['video'], false],
    ['microphone and camera', 'the app page', 'media', ['audio', 'video'], false],
    ['the microphone', 'https://example.com/', 'media', ['audio'], false],
    ['the microphone', 'file:///etc/passwd', 'media', ['audio'], false],
    ['media of no stated kind', 'the app page', 'media', [], false],
    ['geolocation', 'the app page', 'geolocation', [], false],
  ])('permission request: %s for %s', async (_what, page, permission, mediaTypes, granted) => {
    const url = page.replace('the app page', appUrl());
    expect(await ctl('permissionRequest', { url, permission, mediaTypes })).toBe(granted);
  });

  it('permission checks allow media to the app page only', async () => {
    expect(await ctl('permissionCheck', { url: appUrl(), permission: 'media' })).toBe(true);
    expect(await ctl('permissionCheck', { url: 'https://example.com/', permission: 'media' })).toBe(false);
    expect(await ctl('permissionCheck', { url: appUrl(), permission: 'notifications' })).toBe(false);
  });

  it('stays on the app page: navigation elsewhere and window.open are denied', async () => {
    expect(await ctl('navigate', { url: `${appUrl()}?tab=models` })).toEqual({ prevented: false });
    expect(await ctl('navigate', { url: 'https://example.com/' })).toEqual({ prevented: true });
    expect(await ctl('navigate', { url: 'file:///etc/passwd' })).toEqual({ prevented: true });
    expect(await ctl('windowOpen', { url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(await ctl('windowOpen', { url: appUrl() })).toEqual({ action: 'deny' });
  });

  it('refuses IPC from a frame that is not the app page, and unknown commands', async () => {
    for (const frameUrl of ['https://example.com/', 'file:///tmp/other.html', null]) {
      const r = await ctl<Reply>('invokeAs', { frameUrl, channel: CALL_CHANNEL, args: ['engine.info', {}] });
      expect(r).toEqual({ ok: false, error: { code: 'unauthorized', message: 'Calls are accepted from the app window only' } });
    }
    const r = await ctl<Reply>('invokeAs', { frameUrl: appUrl(), channel: CALL_CHANNEL, args: ['engine.shutdown', {}] });
    expect(r.error?.code).toBe('bad_message');
  });

  it('forks the engine bundle in a utility process, with no TypeScript loader', async () => {
    const [u] = await ctl<{ modulePath: string; execArgv: string[] }[]>('utilities');
    expect(u.modulePath).toBe(OUT.engine);
    expect(u.execArgv.join(' ')).not.toMatch(/tsx/);
  });

  it('answers a command from the page: renderer -> preload -> main -> engine process -> back', async () => {
    const r = await ctl<Reply>('call', { command: 'engine.info', args: {} });
    expect(r.ok).toBe(true);
    expect(r.result).toMatchObject({ protocol: 1, backend: 'wasm', modelsDir: models });
    const bad = await ctl<Reply>('call', { command: 'models.get', args: { name: '../etc' } });
    expect(bad.error?.code).toBe('bad_message');
    expect(bad.error?.message).toMatch(/models.get: name/);
  });

  it('trains through the fused kernel (worker thread from out/main/native) and streams events to the page', async () => {
    const from = pageEvents.length;
    const samples = Float32Array.from({ length: 1200 }, (_, i) => 0.5 * Math.sin(i * 0.3));
    const started = await ctl<Reply>('call', {
      command: 'train.start',
      args: {
        name: 'desktop-1',
        runId: 'page-run-1',
        source: { kind: 'samples', name: 'take 1', sampleRate: 16000, samples },
        model: { units: [4] },
        config: { window: 10, batchSize: 16, epochs: 1, maxTrainWindows: 64 },
      },
    });
    expect(started).toMatchObject({ ok: true, result: { runId: 'page-run-1' } });
    const batch = await pageEvent((e) => e.event === 'train.progress' && e.payload.runId === 'page-run-1', from);
    expect(batch.payload.name).toBe('desktop-1');
    const done = await pageEvent((e) => e.event === 'train.done' && e.payload.runId === 'page-run-1', from);
    expect(done.payload).toMatchObject({ outcome: 'completed', error: null });
    const got = await ctl<Reply>('call', { command: 'models.get', args: { name: 'desktop-1' } });
    expect(got.result!.batchLosses).toBeInstanceOf(Float32Array);
  });

  it('carries an imported file\'s bytes and live batches through IPC, and the recordings stay beside the models', async () => {
    const tone = Float32Array.from({ length: 16000 }, (_, i) => 0.4 * Math.sin((2 * Math.PI * 220 * i) / 16000));
    const imported = await ctl<Reply>('call', { command: 'recordings.import', args: { fileName: 'tone.wav', bytes: encodeWav(tone, 16000) } });
    expect(imported).toMatchObject({ ok: true, result: { recording: { name: 'tone', samples: 16000, sampleRate: 16000 } } });
    const list = await ctl<Reply>('call', { command: 'recordings.list', args: {} });
    expect(list.result!.dir).toBe(`${models}-recordings`);
    // desktop-1 trained at 16 kHz above: the page's batches go through it and come back.
    const started = await ctl<Reply>('call', { command: 'live.start', args: { name: 'desktop-1', mode: 'follow', sampleRate: 16000 } });
    expect(started).toMatchObject({ ok: true, result: { batchSize: 128, family: 'regression' } });
    const liveId = started.result!.liveId as string;
    for (let seq = 0; seq < 3; seq++) {
      const r = await ctl<Reply>('call', { command: 'live.push', args: { liveId, seq, samples: tone.slice(seq * 128, (seq + 1) * 128) } });
      expect(r.ok).toBe(true);
      expect(r.result!.samples).toBeInstanceOf(Float32Array);
      expect((r.result!.samples as Float32Array).length).toBe(128);
    }
    expect(await ctl<Reply>('call', { command: 'live.stop', args: { liveId } })).toMatchObject({ ok: true, result: { batches: 3 } });
  });

  it('reports a killed engine to the page as crashed, then restarted, and answers again', async () => {
    const from = pageEvents.length;
    expect(await ctl('killEngine')).toBe(true);
    const crashed = await pageEvent((e) => e.event === 'engine.status' && e.payload.state === 'crashed', from);
    expect(crashed.payload.message).toMatch(/restarting/);
    await pageEvent((e) => e.event === 'engine.status' && e.payload.state === 'restarted', from);
    const r = await ctl<Reply>('call', { command: 'models.list', args: {} });
    expect((r.result!.models as { name: string }[]).map((m) => m.name)).toEqual(['desktop-1']);
    expect(await ctl<unknown[]>('utilities')).toHaveLength(2);
  });

  it('stops the engine and quits when the last window closes', async () => {
    await ctl('closeAllWindows');
    expect(await mainExit).toBe(0);
  });
});
