// The categorical family's training objective: softmax cross-entropy of the next μ-law level at
// every step after the burn-in, through the fused kernels (one op per batch) or tfjs-layers.
import * as tf from '@tensorflow/tfjs';
import type { CategoricalSpec } from '../../../../shared/contract';
import { fusedCategoricalLoss } from '../../fused-recurrent';
import type { TrainingObjective } from '../family';
import type { CategoricalDataset } from './dataset';
import { datasetNll } from './evaluate';
import { readCategoricalWeights } from './model';

/** Windows of the dev split measured after each epoch (tiles of the window; see CategoricalDataset.tiles). */
const DEV_TILES = 256;

/** Mean cross-entropy in nats per prediction of logits `[B, T, V]` from step `burn` on, against levels `[B, T]`. */
export function layersCategoricalLoss(logits: tf.Tensor3D, y: tf.Tensor2D, burn: number): tf.Scalar {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const l = logits.slice([0, burn, 0], [B, T - burn, V]).reshape([-1, V]);
    const t = tf.oneHot(y.slice([0, burn], [B, T - burn]).reshape([-1]) as tf.Tensor1D, V);
    return tf.losses.softmaxCrossEntropy(t, l) as tf.Scalar;
  });
}

export function categoricalObjective(model: tf.LayersModel, spec: CategoricalSpec, dataset: CategoricalDataset, impl: 'fused' | 'layers'): TrainingObjective {
  const burn = Math.min(spec.burnIn, dataset.window - 1);
  const weights = model.trainableWeights.map((w) => w.read());
  return {
    loss: (x, y) =>
      impl === 'fused'
        ? fusedCategoricalLoss(x, y.dataSync() as Int32Array, burn, weights, spec.type)
        : layersCategoricalLoss(model.apply(x, { training: true }) as tf.Tensor3D, y as tf.Tensor2D, burn),
    measure: async (starts, signal) => {
      const r = await datasetNll(readCategoricalWeights(model, spec), dataset, dataset.tiles(starts, burn, DEV_TILES), burn, { signal });
      return r.nats;
    },
  };
}
