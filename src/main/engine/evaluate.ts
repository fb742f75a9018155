// Test metrics beside the references a user needs to judge them: the noise floor, the persistence
// guess (next = current) and a least-squares linear AR predictor fitted on the train split.
import type * as tf from '@tensorflow/tfjs';
import type { Metrics } from '../../shared/contract';
import { fitLinearPredictor, linearPredictorMse, persistenceMse } from '../../shared/dsp/linear-predictor';
import type { CellType } from '../../shared/packed-state';
import type { WindowDataset } from './dataset';
import { modelErrors } from './trainer';

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
): Promise<Metrics> {
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
