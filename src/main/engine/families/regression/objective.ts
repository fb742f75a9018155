// The regression family's training objective: next-sample MSE, through the fused kernels or
// tfjs-layers, and the same MSE measured teacher-forced on dev windows.
import * as tf from '@tensorflow/tfjs';
import type { CellType } from '../../../../shared/packed-state';
import type { WindowDataset } from '../../dataset';
import { fusedRecurrentPredict } from '../../fused-recurrent';
import type { TrainingObjective } from '../family';
import { modelMse } from './evaluate';

/**
 * MSE between the model's next-sample prediction `[batch, 1]` and the target `[batch, 1]`, for
 * inputs `[batch, window, 1]`. 'fused': the whole LSTM stack in one op (lstm.wasm); 'layers':
 * tfjs-layers' own LSTM (with dropout while training).
 */
export function regressionObjective(model: tf.LayersModel, cell: CellType, dataset: WindowDataset, impl: 'fused' | 'layers'): TrainingObjective {
  const forward = (x: tf.Tensor3D): tf.Tensor => (impl === 'fused' ? fusedRecurrentPredict(model, x) : (model.apply(x, { training: true }) as tf.Tensor));
  return {
    loss: (x, y) => tf.losses.meanSquaredError(y, forward(x)) as tf.Scalar,
    measure: (starts, signal) => modelMse(model, cell, dataset, starts, signal),
  };
}
