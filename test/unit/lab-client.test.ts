import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { IpcLabClient, type PreloadLab } from '../../src/renderer/ipc-client';
import { WebSocketLabClient } from '../../src/renderer/ws-client';
import { LabCallError, type ConnectionState } from '../../src/renderer/lab-client';
import { startServer, type LabServer } from '../../src/main/host/serve';
import { MAX_FRAME_BYTES, MAX_SIGNAL_SAMPLES, signalTooLong } from '../../src/shared/limits';
import { decodeFrame, encodeFrame } from '../../src/shared/wire';
import { ensureWebBuilt } from './helpers';

function fakePreload(reply: Awaited<ReturnType<PreloadLab['call']>>) {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const lab: PreloadLab & { fire: (event: string, payload: unknown) => void } = {
    call: async () => reply,
    on: (event, l) => {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(l);
      return () => listeners.get(event)!.delete(l);
    },
    fire: (event, payload) => listeners.get(event)?.forEach((l) => l(payload)),
  };
  return lab;
}

describe('IPC transport (renderer side)', () => {
  it('returns validated results and turns error replies into LabCallError with the code', async () => {
    const ok = new IpcLabClient(fakePreload({ ok: true, result: { deleted: true } }));
    expect(await ok.call('models.delete', { name: 'x' })).toEqual({ deleted: true });
    const bad = new IpcLabClient(fakePreload({ ok: false, error: { code: 'busy', message: 'The engine is already training "a"' } }));
    await expect(bad.call('models.delete', { name: 'x' })).rejects.toMatchObject({ code: 'busy', message: /already training/ });
    const malformed = new IpcLabClient(fakePreload({ ok: true, result: { deleted: 'yes' } }));
    await expect(malformed.call('models.delete', { name: 'x' })).rejects.toThrow(/Malformed result for models.delete/);
  });

  it('delivers valid events, drops malformed ones, and unsubscribes', () => {
    const lab = fakePreload({ ok: true, result: {} });
    const client = new IpcLabClient(lab);
    const got: unknown[] = [];
    const off = client.on('engine.status', (p) => got.push(p.state));
    lab.fire('engine.status', { state: 'crashed', message: 'gone' });
    lab.fire('engine.status', { state: 'exploded', message: 'nope' });
    off();
    lab.fire('engine.status', { state: 'ready', message: 'back' });
    expect(got).toEqual(['crashed']);
  });
});

describe('WebSocket transport (renderer side) against the server', () => {
  let server: LabServer;
  let models: string;
  beforeAll(async () => {
    // The renderer's client uses the browser's WebSocket; ws speaks the same API in Node.
    (globalThis as unknown as { WebSocket: unknown }).WebSocket = class extends WebSocket {
      constructor(url: string) {
        super(url, { headers: { origin: new URL(url).origin.replace('ws:', 'http:') } });
      }
    };
    models = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-wsclient-'));
    server = await startServer({ staticDir: await ensureWebBuilt(), modelsDir: models, backend: 'wasm' });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await fs.rm(models, { recursive: true, force: true });
  });

  it('calls commands with Float32Array results intact and maps engine errors', async () => {
    const client = new WebSocketLabClient(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
    const info = await client.call('engine.info', {});
    expect(info.backend).toBe('wasm');
    const preview = await client.call('signal.preview', { source: { kind: 'preset', name: 'sine' } });
    expect(preview.length).toBe(50_001);
    expect(preview.peaks.max).toBeInstanceOf(Float32Array);
    expect(preview.peaks.max.length).toBe(50_001); // shorter than 65,536 buckets: one sample each
    expect(preview.noiseFloor).toBeCloseTo(0.0004, 10);
    const samples = new Float32Array([0.5, NaN]);
    await expect(client.call('signal.preview', { source: { kind: 'samples', name: 'mic', sampleRate: 8000, samples } })).rejects.toMatchObject({
      code: 'bad_signal',
      message: 'mic has a non-finite sample at 1',
    });
    await expect(client.call('models.get', { name: 'missing' })).rejects.toBeInstanceOf(LabCallError);
  });

  it('refuses a request larger than the server takes, with the sizes, and stays connected', async () => {
    const client = new WebSocketLabClient(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
    expect((await client.call('engine.info', {})).backend).toBe('wasm');
    const samples = new Float32Array((300 * 2 ** 20) / 4);
    await expect(client.call('signal.preview', { source: { kind: 'samples', name: 'huge.wav', sampleRate: 44100, samples } })).rejects.toMatchObject({
      code: 'bad_argument',
      message: 'The signal.preview request is 300.0 MB; the engine server takes at most 256.0 MB per message',
    });
    expect((await client.call('engine.info', {})).backend).toBe('wasm');
  });

  it('fits the longest signal it accepts into one message, and names a longer one', () => {
    const samples = new Float32Array(MAX_SIGNAL_SAMPLES);
    const name = 'n'.repeat(200);
    const frame = encodeFrame({ kind: 'request', id: 1, command: 'train.start', args: { name: 'm', source: { kind: 'samples', name, sampleRate: 44100, samples } } });
    expect(frame.byteLength).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(signalTooLong('take.wav', MAX_SIGNAL_SAMPLES)).toBeNull();
    expect(signalTooLong('take.wav', 70_000_000)).toBe(
      'take.wav has 70,000,000 samples; the lab takes at most 67,092,480 per signal (256 MB as float32). Cut it shorter first.',
    );
  });

  it("says why the server closed the connection, and reopens it for the event streams", async () => {
    // A stand-in server: the first connection is dropped as a stalled one would be; the second
    // sends an event, which the client must hear without any new call.
    const fake = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => fake.once('listening', r));
    let n = 0;
    fake.on('connection', (ws) => {
      if (n++ === 0) ws.once('message', () => ws.close(1008, 'Dropped: this client stopped reading (70 MB unsent for 10 s)'));
      else ws.send(encodeFrame({ kind: 'event', event: 'engine.status', payload: { state: 'ready', message: 'back' } }));
    });
    try {
      const client = new WebSocketLabClient(`ws://127.0.0.1:${(fake.address() as AddressInfo).port}/ws`);
      let off = () => {};
      const heard = new Promise((resolve) => (off = client.on('engine.status', resolve)));
      await expect(client.call('engine.info', {})).rejects.toMatchObject({
        code: 'engine_unreachable',
        message: 'The connection to the engine server closed: Dropped: this client stopped reading (70 MB unsent for 10 s)',
      });
      expect(await heard).toEqual({ state: 'ready', message: 'back' });
      off(); // no listeners: the client stops reopening the connection
    } finally {
      for (const c of fake.clients) c.terminate();
      await new Promise((r) => fake.close(r));
    }
  });

  it('notices within a second a server that stops answering without closing the socket, and reconnects', async () => {
    // A stand-in server that answers every request until told to go silent; the socket stays open.
    const fake = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => fake.once('listening', r));
    let silent = false;
    let connections = 0;
    const asked: number[] = [];
    fake.on('connection', (ws) => {
      connections++;
      ws.on('message', (data) => {
        const m = decodeFrame(new Uint8Array(data as Buffer).buffer) as { id: number; command: string };
        asked.push(Date.now());
        if (!silent) ws.send(encodeFrame({ kind: 'response', id: m.id, ok: true, result: {} }));
      });
    });
    try {
      const client = new WebSocketLabClient(`ws://127.0.0.1:${(fake.address() as AddressInfo).port}/ws`, { heartbeatIdleMs: 100, heartbeatTimeoutMs: 300, busyTimeoutMs: 600 });
      const states: { at: number; s: ConnectionState }[] = [];
      client.onConnection((s) => states.push({ at: Date.now(), s }));
      const off = client.on('engine.status', () => {}); // an open event stream: the client keeps the connection
      await expect.poll(() => states.length).toBe(1);
      expect(states[0].s).toEqual({ online: true });
      // Answered: idle pings go out and nothing is reported lost.
      await new Promise((r) => setTimeout(r, 700));
      expect(asked.length).toBeGreaterThanOrEqual(3);
      expect(states).toHaveLength(1);

      // Silent: a waiting call gets more time (the engine may be busy with it), then fails with the reason.
      silent = true;
      const since = Date.now();
      const waiting = client.call('models.list', {});
      await expect(waiting).rejects.toMatchObject({ code: 'engine_unreachable', message: expect.stringMatching(/^The engine server stopped answering \(nothing for [\d.]+ s\)$/) });
      expect(states[1].s).toMatchObject({ online: false, reason: expect.stringMatching(/stopped answering/) });
      const noticed = states[1].at - since;
      expect(noticed).toBeGreaterThanOrEqual(600);
      expect(noticed).toBeLessThan(2_000);

      // It reconnects by itself; once the server answers again, it stays connected.
      silent = false;
      await expect.poll(() => states.length, { timeout: 5_000 }).toBe(3);
      expect(states[2].s).toEqual({ online: true });
      expect(connections).toBe(2);

      // Idle and silent again, nothing waiting: lost after the heartbeat's own timeout.
      silent = true;
      await expect.poll(() => states.length, { timeout: 3_000 }).toBe(4);
      expect(states[3].s).toMatchObject({ online: false, reason: expect.stringMatching(/^The engine server stopped answering/) });
      expect(states[3].at - states[2].at).toBeLessThan(1_500);
      off();
    } finally {
      for (const c of fake.clients) c.terminate();
      await new Promise((r) => fake.close(r));
    }
  });

  it('fails calls with a readable error when the token is wrong', async () => {
    const client = new WebSocketLabClient(`ws://127.0.0.1:${server.port}/ws?token=wrong`);
    await expect(client.call('engine.info', {})).rejects.toMatchObject({ code: 'engine_unreachable' });
  });
});
