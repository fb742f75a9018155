// Test metrics beside the references a user needs to judge them: the noise floor, the persistence
// guess (next = current) and a least-squares linear AR predictor fitted on the train split.
import type * as tf from '@tensorflow/tfjs';
import type { Metrics } from '../../shared/contract';
import { fitLinearPredictor, linearPredictorMse, persistenceMse } from '../../shared/dsp/linear-predictor';
import type { CellType } from '../../shared/packed-state';
import type { WindowDataset } from './dataset';
import { modelMse } from './trainer';

/** Highest AR order fitted; the normal equations grow with its square. */
export const MAX_AR_ORDER = 32;
/** Train windows used to fit the AR reference (a seeded-shuffled prefix of the split). */
export const AR_FIT_WINDOWS = 50_000;

export function referenceMetrics(dataset: WindowDataset, lossScale: number): { persistence_mse: number; ar_mse: number; ar_order: number } {
  const { signal, window, splits } = dataset;
  const order = Math.min(window, MAX_AR_ORDER);
  const ar = fitLinearPredictor(signal, splits.train.subarray(0, AR_FIT_WINDOWS), window, order);
  return {
    persistence_mse: persistenceMse(signal, splits.test, window) * lossScale,
    ar_mse: linearPredictorMse(ar, signal, splits.test, window) * lossScale,
    ar_order: order,
  };
}

export async function evaluate(model: tf.LayersModel, cell: CellType, dataset: WindowDataset, lossScale: number, noiseFloor: number | null): Promise<Metrics> {
  return {
    test_mse: (await modelMse(model, cell, dataset, dataset.splits.test)) * lossScale,
    dev_mse: (await modelMse(model, cell, dataset, dataset.splits.dev)) * lossScale,
    noise_floor: noiseFloor,
    ...referenceMetrics(dataset, lossScale),
  };
}
