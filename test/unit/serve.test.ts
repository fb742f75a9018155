import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { startServer, type LabServer } from '../../src/main/host/serve';
import { decodeFrame, encodeFrame } from '../../src/shared/wire';
import { loadModelFolder } from '../../src/main/engine/store';
import { ensureWebBuilt, useBackend } from './helpers';

let server: LabServer;
let models: string;
let base: string;

interface Frame {
  kind: string;
  id?: number;
  ok?: boolean;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
  event?: string;
  payload?: Record<string, unknown>;
}

function connect(opts: { token?: string | null; origin?: string } = {}): Promise<{ ws: WebSocket; frames: Frame[]; next: (pred: (f: Frame) => boolean, ms?: number) => Promise<Frame> }> {
  const token = opts.token === undefined ? server.token : opts.token;
  const url = `ws://127.0.0.1:${server.port}/ws${token === null ? '' : `?token=${token}`}`;
  const origin = opts.origin ?? `http://127.0.0.1:${server.port}`;
  const ws = new WebSocket(url, { headers: origin ? { origin } : {} });
  const frames: Frame[] = [];
  const waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  ws.on('message', (data) => {
    const f = decodeFrame(data as Buffer) as Frame;
    frames.push(f);
    for (const w of [...waiters]) {
      if (!w.pred(f)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(f);
    }
  });
  const next = (pred: (f: Frame) => boolean, ms = 30_000) =>
    new Promise<Frame>((resolve, reject) => {
      const seen = frames.find(pred);
      if (seen) return resolve(seen);
      const t = setTimeout(() => reject(new Error('timed out waiting for a frame')), ms);
      waiters.push({
        pred,
        resolve: (f) => {
          clearTimeout(t);
          resolve(f);
        },
      });
    });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames, next }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

let nextId = 1;
function request(ws: WebSocket, command: string, args: unknown): number {
  const id = nextId++;
  ws.send(encodeFrame({ kind: 'request', id, command, args }));
  return id;
}

describe('browser-mode server', () => {
  beforeAll(async () => {
    await useBackend();
    const staticDir = await ensureWebBuilt();
    models = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-serve-'));
    server = await startServer({ staticDir, modelsDir: models, backend: 'wasm', port: 0 });
    base = `http://127.0.0.1:${server.port}`;
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await fs.rm(models, { recursive: true, force: true });
  });

  it('prints a tokened URL on 127.0.0.1, serves the page only with the token, and its scripts to anyone', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect(await (await fetch(`${base}/`)).text()).toMatch(/open the URL with \?token=/);
    expect((await fetch(`${base}/?token=nope`)).status).toBe(403);
    const ok = await fetch(server.url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(ok.headers.get('set-cookie')).toBeNull();
    const html = await ok.text();
    expect(html).toMatch(/<div id="root">/);
    // The built UI is no secret (it is the source's build); the engine is behind the WebSocket.
    const asset = html.match(/src="\.\/(assets\/[^"]+\.js)"/)![1];
    expect((await fetch(`${base}/${asset}`)).status).toBe(200);
  });

  it('refuses WebSocket upgrades without the token, or from another origin or none', async () => {
    await expect(connect({ token: null })).rejects.toMatchObject({ status: 401 });
    await expect(connect({ token: 'wrong' })).rejects.toMatchObject({ status: 403 });
    await expect(connect({ origin: 'http://evil.example' })).rejects.toMatchObject({ status: 403 });
    await expect(connect({ origin: '' })).rejects.toMatchObject({ status: 403 });
  });

  it('answers a malformed message with an error and keeps serving other clients', async () => {
    const a = await connect();
    const b = await connect();
    a.ws.send(Buffer.from([1, 2, 3]));
    const e1 = await a.next((f) => f.kind === 'response' && f.id === -1);
    expect(e1.error!.code).toBe('bad_message');
    const id = request(a.ws, 'train.start', { name: '../../etc', source: { kind: 'preset', name: 'sine' } });
    const e2 = await a.next((f) => f.id === id);
    expect(e2.ok).toBe(false);
    expect(e2.error!.message).toMatch(/Invalid arguments for train.start: name/);
    const id3 = request(a.ws, 'no.such.command', {});
    expect((await a.next((f) => f.id === id3)).error!.message).toMatch(/Unknown command "no.such.command"/);
    const idB = request(b.ws, 'engine.info', {});
    const info = await b.next((f) => f.id === idB);
    expect(info.ok).toBe(true);
    expect(info.result!.backend).toBe('wasm');
    a.ws.close();
    b.ws.close();
  });

  it('trains on samples sent by the UI (a decoded WAV or a recording) and lists the model', async () => {
    const c = await connect();
    const samples = Float32Array.from({ length: 1200 }, (_, i) => 0.5 * Math.sin(i * 0.3));
    const id = request(c.ws, 'train.start', {
      name: 'from-mic',
      source: { kind: 'samples', name: 'take 1', sampleRate: 16000, samples },
      model: { units: [4] },
      config: { window: 10, batchSize: 16, epochs: 1, maxTrainWindows: 64 },
    });
    const started = await c.next((f) => f.id === id);
    expect(started.ok).toBe(true);
    const done = await c.next((f) => f.event === 'train.done' && f.payload!.runId === started.result!.runId);
    expect(done.payload!.outcome).toBe('completed');
    const idList = request(c.ws, 'models.get', { name: 'from-mic' });
    const got = await c.next((f) => f.id === idList);
    expect(got.result!.summary).toMatchObject({ name: 'from-mic', sampleRate: 16000, epochsDone: 1 });
    expect((got.result!.batchLosses as Float32Array).length).toBe(4);
    c.ws.close();
  });

  it('restarts an engine killed mid-training, says so, and keeps the last checkpoint', async () => {
    const c = await connect();
    const id = request(c.ws, 'train.start', {
      name: 'crashy',
      source: { kind: 'preset', name: 'sine', signal: { kind: 'sine', length: 3000, frequency: 0.01, noise: 0.02 } },
      model: { units: [8] },
      config: { window: 20, batchSize: 32, epochs: 50, maxTrainWindows: 640 },
    });
    expect((await c.next((f) => f.id === id)).ok).toBe(true);
    // A batch of epoch 2 means the epoch-1 checkpoint is on disk.
    await c.next((f) => f.event === 'train.progress' && (f.payload!.progress as { epoch: number }).epoch === 2);
    server.supervisor.kill();
    const crashed = await c.next((f) => f.event === 'engine.status' && f.payload!.state === 'crashed');
    expect(crashed.payload!.message).toMatch(/restarting/);
    await c.next((f) => f.event === 'engine.status' && f.payload!.state === 'restarted');
    const folder = await loadModelFolder(path.join(models, 'crashy'));
    expect(folder.spec.status).toBe('checkpoint');
    expect(folder.spec.epochsDone).toBeGreaterThanOrEqual(1);
    folder.model.dispose();
    const idList = request(c.ws, 'models.list', {});
    const list = await c.next((f) => f.id === idList);
    expect((list.result!.models as { name: string }[]).map((m) => m.name)).toContain('crashy');
    c.ws.close();
  });
});
