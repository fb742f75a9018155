// Test metrics beside the references a user needs to judge them: the noise floor, the persistence
// guess (next = current) and a least-squares linear AR predictor fitted on the train split.
import type * as tf from '@tensorflow/tfjs';
import type { RegressionMetrics } from '../../../../shared/contract';
import { fitLinearPredictor, linearPredictorMse, persistenceMse } from '../../../../shared/dsp/linear-predictor';
import type { CellType } from '../../../../shared/packed-state';
import type { WindowDataset } from '../../dataset';
import { LabError } from '../../../../shared/errors';
import { fusedPredictWindows, wasmCapable } from '../../fused-recurrent';
import { predictWindows, readWeights } from '../../recurrent-step';

/** Windows predicted between two yields to the event loop while measuring a model's error. */
export const EVAL_CHUNK_WINDOWS = 4096;

/** Recurrent steps run to measure models (tests check that evaluation cost does not grow with a recording). */
export const evaluationSteps = { count: 0 };

export interface ErrorStats {
  /** Mean squared error in network units. */
  mse: number;
  /** Half-width of the 95 % confidence interval of `mse` (normal approximation over the windows). */
  ci95: number;
  windows: number;
}

export interface MeasureOptions {
  /** Stops with a `cancelled` error at the next chunk. */
  signal?: AbortSignal;
  /** Windows done so far, after each chunk. */
  onProgress?: (done: number) => void;
}

/**
 * The model's squared error on the windows at `starts`, in network units. Runs in chunks that yield
 * to the event loop (other requests are served meanwhile) and honours cancellation between them.
 */
export async function modelErrors(model: tf.LayersModel, cell: CellType, dataset: WindowDataset, starts: Int32Array, o: MeasureOptions = {}): Promise<ErrorStats> {
  const w = await readWeights(model, cell);
  const fused = wasmCapable(w);
  let s = 0;
  let s2 = 0;
  for (let from = 0; from < starts.length; from += EVAL_CHUNK_WINDOWS) {
    if (o.signal?.aborted) throw new LabError('cancelled', 'Evaluation was cancelled');
    const part = starts.subarray(from, from + EVAL_CHUNK_WINDOWS);
    const pred = fused ? fusedPredictWindows(w, dataset.signal, part, dataset.window) : predictWindows(w, dataset.signal, part, dataset.window);
    evaluationSteps.count += part.length * dataset.window;
    for (let i = 0; i < part.length; i++) {
      const e = pred[i] - dataset.signal[part[i] + dataset.window];
      s += e * e;
      s2 += e * e * e * e;
    }
    o.onProgress?.(from + part.length);
    if (from + EVAL_CHUNK_WINDOWS < starts.length) await new Promise((r) => setImmediate(r));
  }
  const n = starts.length;
  const mse = s / n;
  const variance = Math.max(0, s2 / n - mse * mse);
  return { mse, ci95: n > 1 ? 1.96 * Math.sqrt(variance / (n - 1)) : NaN, windows: n };
}

/** Mean squared error of the model on the windows at `starts`, in network units (see modelErrors). */
export async function modelMse(model: tf.LayersModel, cell: CellType, dataset: WindowDataset, starts: Int32Array, signal?: AbortSignal): Promise<number> {
  return (await modelErrors(model, cell, dataset, starts, { signal })).mse;
}

/** Highest AR order fitted; the normal equations grow with its square. */
export const MAX_AR_ORDER = 32;
/** Train windows used to fit the AR reference (a seeded-shuffled prefix of the split). */
export const AR_FIT_WINDOWS = 50_000;

/**
 * The final metrics use at most this many windows of each split, so that their cost does not grow
 * with the recording (every window of a 2 M-sample signal took 58 s; an hour of audio has 11 M test
 * windows, and 20,000 of each split took 6.5 s on this 2-core machine). The 95 % interval reported
 * with the test error says what the sampling costs in precision. The sine preset's splits (10,000
 * windows) are measured whole, as before.
 */
export const EVAL_WINDOWS = 10_000;

/**
 * Up to `max` of `starts`, spread over the whole split: a shuffled split's prefix is already a
 * seeded random sample; a blocked (contiguous) one is taken at an even stride.
 */
export function evaluationWindows(starts: Int32Array, max = EVAL_WINDOWS): Int32Array {
  if (starts.length <= max) return starts;
  const out = new Int32Array(max);
  const stride = starts.length / max;
  for (let i = 0; i < max; i++) out[i] = starts[Math.floor(i * stride)];
  return out;
}

export function referenceMetrics(dataset: WindowDataset, lossScale: number): { persistence_mse: number; ar_mse: number; ar_order: number } {
  const { signal, window, splits } = dataset;
  const order = Math.min(window, MAX_AR_ORDER);
  const ar = fitLinearPredictor(signal, splits.train.subarray(0, AR_FIT_WINDOWS), window, order);
  const test = evaluationWindows(splits.test);
  return {
    persistence_mse: persistenceMse(signal, test, window) * lossScale,
    ar_mse: linearPredictorMse(ar, signal, test, window) * lossScale,
    ar_order: order,
  };
}

/** Windows the final evaluation predicts (dev and test), for ETAs. */
export function evaluationWindowCount(dataset: WindowDataset): number {
  return evaluationWindows(dataset.splits.test).length + evaluationWindows(dataset.splits.dev).length;
}

/**
 * Test and dev metrics beside the references, on at most EVAL_WINDOWS windows of each split (the
 * count and the test error's 95 % interval are recorded with them); cancellable through `signal`
 * (throws `cancelled`); `onProgress` hears windows done of the total.
 */
export async function evaluate(
  model: tf.LayersModel,
  cell: CellType,
  dataset: WindowDataset,
  lossScale: number,
  noiseFloor: number | null,
  o: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<RegressionMetrics> {
  const test = evaluationWindows(dataset.splits.test);
  const dev = evaluationWindows(dataset.splits.dev);
  const total = test.length + dev.length;
  const t = await modelErrors(model, cell, dataset, test, { signal: o.signal, onProgress: (d) => o.onProgress?.(d, total) });
  const d = await modelErrors(model, cell, dataset, dev, { signal: o.signal, onProgress: (k) => o.onProgress?.(test.length + k, total) });
  return {
    test_mse: t.mse * lossScale,
    dev_mse: d.mse * lossScale,
    noise_floor: noiseFloor,
    ...referenceMetrics(dataset, lossScale),
    eval_windows: test.length,
    test_mse_ci95: t.ci95 * lossScale,
  };
}
