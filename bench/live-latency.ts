// Live mode's round trip in browser mode, and each family's real-time factor at 16 kHz.
// A browser-mode server (serve: the host and an engine process) on a temporary models folder, a
// WebSocket client on the loopback (binary frames, as the UI sends them), and
// batches of 128 samples sent at the pace a 16 kHz microphone makes them: each batch's time from
// being sent to its answer arriving, per model and mode. Then each model's real-time factor: 5 s
// generated in the engine minus 1 s (loading and priming cancel out), after a warm-up. Untrained models (the weights do not change the work).
// Usage: npm run build:web && node --import tsx bench/live-latency.ts [--seconds 10] [--json]
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startServer } from '../src/main/host/serve';
import { decodeFrame, encodeFrame } from '../src/shared/wire';
import { parseCommandResult, type CommandArgs, type CommandName, type CommandResult } from '../src/shared/protocol';
import { initBackend } from '../src/main/engine/backend';
import { familyOf, parseModelSpec } from '../src/main/engine/families';
import { generateFromFolder } from '../src/main/engine/engine';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, nowIso, saveModelFolder } from '../src/main/engine/store';
import { trainConfigSchema, type ModelSpecInput } from '../src/shared/contract';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, json: { type: 'boolean', default: false } } });
const SECONDS = Number(values.seconds);
const RATE = 16_000;
const BATCH = 128;


const MODELS: { name: string; spec: ModelSpecInput }[] = [
  { name: 'categorical-gru-2x128', spec: { family: 'categorical', type: 'gru', units: [128, 128] } },
  { name: 'categorical-gru-128', spec: { family: 'categorical', type: 'gru', units: [128] } },
  { name: 'spectral-gru-128', spec: { family: 'spectral', type: 'gru', units: [128] } },
  { name: 'regression-lstm-3x16', spec: { family: 'regression', type: 'lstm', units: [16, 16, 16] } },
];

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-live-bench-'));
const modelsDir = path.join(root, 'models');
await initBackend('wasm');
for (const m of MODELS) {
  const spec = parseModelSpec(m.spec);
  const model = familyOf(spec).build(spec, 1);
  await saveModelFolder(path.join(modelsDir, m.name), {
    model,
    spec: {
      format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, status: 'complete', model: spec, train: trainConfigSchema.parse({}),
      source: { kind: 'preset', name: 'sine' }, normalisation: { offset: 0, scale: 0.3 }, sampleRate: RATE, epochsDone: 1, outcome: 'completed',
      noiseFloor: null, metrics: null, backend: 'wasm', createdAt: nowIso(), updatedAt: nowIso(),
    },
    optimizerWeights: null,
    log: [],
  });
  model.dispose();
}

const server = await startServer({ staticDir: path.resolve('out/renderer'), modelsDir, recordingsDir: path.join(root, 'recordings'), backend: 'wasm' });
/** A bare protocol client on `ws`: binary frames as the UI sends them, answers matched by id. */
const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, { headers: { origin: `http://127.0.0.1:${server.port}` } });
await new Promise<void>((resolve, reject) => {
  socket.once('open', () => resolve());
  socket.once('error', reject);
});
const waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
socket.on('message', (data: Buffer) => {
  const m = decodeFrame(data) as { kind: string; id: number; ok: boolean; result?: unknown; error?: { message: string } };
  if (m.kind !== 'response') return;
  const w = waiting.get(m.id);
  waiting.delete(m.id);
  if (m.ok) w?.resolve(m.result);
  else w?.reject(new Error(m.error?.message));
});
let ids = 0;
const client = {
  call<C extends CommandName>(command: C, args: CommandArgs<C>): Promise<CommandResult<C>> {
    const id = ++ids;
    socket.send(encodeFrame({ kind: 'request', id, command, args }));
    return new Promise<unknown>((resolve, reject) => waiting.set(id, { resolve, reject })).then((r) => parseCommandResult(command, r));
  },
};
const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))];
const rows: Record<string, unknown>[] = [];

/** Sends `seconds` of a voice-like input at real-time pace; returns each batch's round trip in ms. */
async function roundTrips(name: string, mode: 'follow' | 'call-response'): Promise<Record<string, unknown>> {
  const { liveId } = await client.call('live.start', { name, mode, sampleRate: RATE, batchSize: BATCH });
  const n = Math.round((SECONDS * RATE) / BATCH);
  const times: number[] = [];
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  const batch = new Float32Array(BATCH);
  for (let b = 0; b < n; b++) {
    // 0.6 s of a 220 Hz tone, then 0.6 s of silence: call and response both listens and answers.
    for (let i = 0; i < BATCH; i++) {
      const t = (b * BATCH + i) / RATE;
      batch[i] = t % 1.2 < 0.6 ? 0.3 * Math.sin(2 * Math.PI * 220 * t) : 0;
    }
    const wait = t0 + ((b * BATCH) / RATE) * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sent = performance.now();
    pending.push(client.call('live.push', { liveId, seq: b, samples: batch }).then(() => void times.push(performance.now() - sent)));
  }
  await Promise.all(pending);
  const stats = await client.call('live.stop', { liveId });
  const s = [...times].sort((a, b) => a - b);
  return {
    model: name,
    mode,
    batches: times.length,
    median_ms: +pct(s, 0.5).toFixed(2),
    p95_ms: +pct(s, 0.95).toFixed(2),
    max_ms: +s[s.length - 1].toFixed(2),
    engine_compute_mean_ms: +stats.meanComputeMs.toFixed(3),
    responses: stats.responses,
  };
}

try {
  for (const m of MODELS) {
    for (const mode of ['follow', 'call-response'] as const) {
      const r = await roundTrips(m.name, mode);
      rows.push(r);
      if (!values.json) process.stdout.write(`${m.name.padEnd(24)} ${mode.padEnd(14)} round trip median ${r.median_ms} ms, 95 % ${r.p95_ms} ms, max ${r.max_ms} ms over ${r.batches} batches (engine ${r.engine_compute_mean_ms} ms/batch)\n`);
    }
  }
  // Real-time factor: seconds generated per second of wall time, one stream, in this process (one core).
  for (const m of MODELS) {
    const dir = path.join(modelsDir, m.name);
    // 5 s minus 1 s: loading the folder and priming cost both the same, and cancel out.
    const timed = async (seconds: number) => {
      const t = performance.now();
      await generateFromFolder({ dir, length: seconds * RATE, offset: 0, prime: 2048, backend: 'wasm' });
      return (performance.now() - t) / 1000;
    };
    await timed(1); // warm-up
    const s = (await timed(5)) - (await timed(1));
    const row = { model: m.name, rtf: +(4 / s).toFixed(1), us_per_sample: +((s / (4 * RATE)) * 1e6).toFixed(2) };
    rows.push(row);
    if (!values.json) process.stdout.write(`${m.name.padEnd(24)} generation ${row.rtf}x real time at 16 kHz (${row.us_per_sample} µs/sample)\n`);
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ seconds: SECONDS, batch: BATCH, rate: RATE, rows })}\n`);
} finally {
  socket.close();
  await server.close();
  await fs.rm(root, { recursive: true, force: true });
}
