// Speed measurements: training sequences/s per backend, and generation cost per sample, both the
// notebook's way (tfjs re-runs a whole window for each sample) and the fused stateful step.
import * as tf from '@tensorflow/tfjs';
import { generateSignal, getPreset } from '../../shared/signals/generators';
import { BACKEND_NAMES, initBackend } from './backend';
import { WindowDataset } from './dataset';
import { generate } from './families/regression/generate';
import { buildModel } from './families/regression/model';
import { readWeights, RecurrentStepper } from './recurrent-step';
import { fusedRecurrentPredict, trainingThreads } from './fused-recurrent';
import { modelErrors } from './families/regression/evaluate';
import { computePeaks } from '../../shared/dsp/peaks';

export interface BenchConfig {
  name: string;
  type: 'lstm' | 'gru';
  units: number[];
  window: number;
  batch: number;
}

export const BENCH_CONFIGS: Record<string, BenchConfig> = {
  sine: { name: 'sine', type: 'lstm', units: [16, 16, 16], window: 50, batch: 128 },
  '2x128': { name: '2x128', type: 'lstm', units: [128, 128], window: 256, batch: 64 },
  'gru-sine': { name: 'gru-sine', type: 'gru', units: [16, 16, 16], window: 50, batch: 128 },
};

export type BenchRow = Record<string, string | number | null>;

export interface BenchOptions {
  configs?: string[];
  backends?: string[];
  /** Minimum seconds spent timing each measurement. */
  seconds?: number;
  onRow?: (row: BenchRow) => void;
}

async function timeLoop(minSeconds: number, minIters: number, body: () => Promise<void> | void): Promise<{ iters: number; seconds: number }> {
  const t0 = performance.now();
  let iters = 0;
  while (iters < minIters || (performance.now() - t0) / 1000 < minSeconds) {
    await body();
    iters++;
  }
  return { iters, seconds: (performance.now() - t0) / 1000 };
}

async function benchTrain(cfg: BenchConfig, backend: string, impl: 'fused' | 'layers', seconds: number): Promise<BenchRow> {
  const signal = generateSignal({ ...getPreset('sine').signal, length: 20_000 });
  const ds = new WindowDataset(signal, cfg.window, { split: 'shuffled', trainFraction: 0.6, devFraction: 0.2, seed: 1 });
  const model = buildModel({ type: cfg.type, units: cfg.units }, 1);
  const opt = tf.train.adam(0.002);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let b = 0;
  const step = async () => {
    const { x, y } = ds.batch(ds.splits.train, (b++ * cfg.batch) % (ds.splits.train.length - cfg.batch), cfg.batch);
    const forward = () => (impl === 'fused' ? fusedRecurrentPredict(model, x) : (model.apply(x, { training: true }) as tf.Tensor));
    const loss = opt.minimize(() => tf.losses.meanSquaredError(y, forward()) as tf.Scalar, true, vars)!;
    await loss.data();
    tf.dispose([x, y, loss]);
  };
  await step(); // warm-up: kernels compiled, variables created
  const t = await timeLoop(seconds, 2, step);
  opt.dispose();
  model.dispose();
  return { task: 'train', preset: cfg.name, backend, impl: impl === 'fused' ? 'fused-wasm' : 'tfjs-layers', threads: impl === 'fused' ? trainingThreads() : 1, seq_per_s: round((t.iters * cfg.batch) / t.seconds) };
}

async function benchWindowGenerate(cfg: BenchConfig, backend: string, seconds: number): Promise<BenchRow> {
  const model = buildModel({ type: cfg.type, units: cfg.units }, 1);
  const win = tf.zeros([1, cfg.window, 1]);
  const step = async () => {
    const y = model.predict(win) as tf.Tensor;
    await y.data();
    y.dispose();
  };
  await step();
  const t = await timeLoop(seconds, 3, step);
  win.dispose();
  model.dispose();
  return { task: 'generate', preset: cfg.name, backend, impl: 'tfjs-window', us_per_sample: round((t.seconds * 1e6) / t.iters) };
}

/** One stream, free-running: lstm.wasm through generate(), and the TypeScript step for comparison. */
async function benchFusedGenerate(cfg: BenchConfig, seconds: number): Promise<BenchRow[]> {
  const model = buildModel({ type: cfg.type, units: cfg.units }, 1);
  const weights = await readWeights(model, cfg.type);
  model.dispose();
  const n = 2000;
  const us = (t: { seconds: number; iters: number }) => round((t.seconds * 1e6) / (t.iters * n), 3);
  const rows: BenchRow[] = [];
  if (cfg.type === 'lstm') {
    // generate() runs LSTM stacks on lstm.wasm (GRU on the TypeScript step, timed below).
    const normalisation = { offset: 0, scale: 1 };
    let state = generate({ weights, normalisation, streams: 1, length: 100 }).state;
    const wasm = await timeLoop(seconds, 3, () => {
      state = generate({ weights, normalisation, state, length: n }).state;
    });
    rows.push({ task: 'generate', preset: cfg.name, backend: 'none', impl: 'fused-wasm', threads: 1, us_per_sample: us(wasm) });
  }
  const stepper = new RecurrentStepper(weights, 1);
  const y = new Float32Array(1);
  const js = await timeLoop(seconds, 3, () => {
    for (let i = 0; i < n; i++) {
      stepper.output(y);
      stepper.step(y);
    }
  });
  rows.push({ task: 'generate', preset: cfg.name, backend: 'none', impl: 'fused-js', threads: 1, us_per_sample: us(js) });
  return rows;
}

/** Final-evaluation speed: windows of the test split predicted per second (fused kernels where they apply). */
async function benchEvaluate(cfg: BenchConfig, seconds: number): Promise<BenchRow> {
  const signal = generateSignal({ ...getPreset('sine').signal, length: 60_000 });
  const ds = new WindowDataset(signal, cfg.window, { split: 'shuffled', trainFraction: 0.6, devFraction: 0.2, seed: 1 });
  const model = buildModel({ type: cfg.type, units: cfg.units }, 1);
  const starts = ds.splits.test;
  const t = await timeLoop(seconds, 1, async () => {
    await modelErrors(model, cfg.type, ds, starts);
  });
  model.dispose();
  return { task: 'evaluate', preset: cfg.name, backend: 'none', impl: 'fused-wasm', threads: 1, windows_per_s: round((t.iters * starts.length) / t.seconds) };
}

/** Waveform peaks as the engine computes them for the UI: seconds per hour of 16 kHz audio. */
async function benchPeaks(seconds: number): Promise<BenchRow> {
  const hour = new Float32Array(16_000 * 3600);
  for (let i = 0; i < hour.length; i++) hour[i] = Math.sin(i * 0.0863) * 0.5;
  const t = await timeLoop(seconds, 2, () => {
    computePeaks(hour);
  });
  return { task: 'peaks', preset: 'hour-16k', backend: 'none', impl: 'js', s_per_hour: round(t.seconds / t.iters, 3) };
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Runs every measurement on every backend that starts; rows are also passed to onRow as they come. */
export async function runBench(o: BenchOptions = {}): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const push = (r: BenchRow) => {
    rows.push(r);
    o.onRow?.(r);
  };
  const seconds = o.seconds ?? 2;
  const configs = (o.configs ?? ['sine']).map((c) => {
    const cfg = BENCH_CONFIGS[c];
    if (!cfg) throw new Error(`Unknown bench config "${c}"; expected one of ${Object.keys(BENCH_CONFIGS).join(', ')}`);
    return cfg;
  });
  await initBackend(); // the fused kernels need no backend, but building their random model does
  for (const cfg of configs) for (const row of await benchFusedGenerate(cfg, seconds)) push(row);
  for (const cfg of configs) push(await benchEvaluate(cfg, seconds));
  push(await benchPeaks(seconds));
  for (const name of o.backends ?? BACKEND_NAMES) {
    try {
      await initBackend(name);
    } catch (e) {
      push({ task: 'skip', backend: name, reason: (e as Error).message });
      continue;
    }
    const info = await initBackend(name);
    for (const cfg of configs) {
      if (info.tfBackend === 'cpu' || info.tfBackend === 'wasm') push(await benchTrain(cfg, name, 'fused', seconds));
      push(await benchTrain(cfg, name, 'layers', seconds));
      push(await benchWindowGenerate(cfg, name, seconds));
    }
  }
  return rows;
}
