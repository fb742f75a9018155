// The spectral family's loss: the Gaussian negative log-likelihood of every bin of the next frame's
// log-magnitude features, per bin and step after the burn-in. The recurrent stack runs through the
// fused kernels (one op per batch, every step's h out) or tfjs-layers; the head and the likelihood are
// a handful of tfjs ops over all steps at once.
import * as tf from '@tensorflow/tfjs';
import type { SpectralSpec } from '../../../../shared/contract';
import { LabError } from '../../../../shared/errors';
import { fusedRecurrentSequence } from '../../fused-recurrent';
import type { TrainingObjective } from '../family';
import type { SpectralDataset } from './dataset';

/**
 * Smallest standard deviation a bin's Gaussian may have, in feature units (0.08 nats of magnitude,
 * 0.7 dB): a floored silent bin is exactly predictable, and its likelihood would otherwise grow
 * without bound as its deviation shrank.
 */
export const SIGMA_MIN = 0.02;
const LOG_SIGMA_MIN = Math.log(SIGMA_MIN);
export const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);
/** Windows of the dev split measured after each epoch. */
const DEV_TILES = 64;
/** Windows run at once when measuring. */
const CHUNK = 32;

/** A head output's log standard deviation: LOG_SIGMA_MIN + softplus(raw - LOG_SIGMA_MIN), smooth and above the minimum. */
export function logSigma(raw: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.softplus(raw.sub(LOG_SIGMA_MIN)).add(LOG_SIGMA_MIN));
}

/** The same for one value (the generator's). */
export function logSigmaOf(raw: number): number {
  const z = raw - LOG_SIGMA_MIN;
  return LOG_SIGMA_MIN + (z > 30 ? z : Math.log1p(Math.exp(z)));
}

/** The network's output `[B, T, 2·bins]` for x `[B, T, bins]`: through the fused stack and a tfjs head, or tfjs-layers. */
export function spectralOutputs(model: tf.LayersModel, spec: SpectralSpec, x: tf.Tensor3D, fused: boolean, training = true): tf.Tensor3D {
  if (!fused) return model.apply(x, { training }) as tf.Tensor3D;
  return tf.tidy(() => {
    // Weights in the model's order: the embedding's kernel and bias, each layer's (kernel, recurrent, bias), the head's.
    const ws = model.trainableWeights.map((w) => w.read());
    const L = spec.units.length;
    const [B, T, F] = x.shape;
    const e = dense(x.reshape([B * T, F]), ws[0] as tf.Tensor2D, ws[1] as tf.Tensor1D).reshape([B, T, -1]) as tf.Tensor3D;
    const h = fusedRecurrentSequence(e, ws.slice(2, 2 + 3 * L), spec.type);
    const U = h.shape[2];
    const out = dense(h.reshape([B * T, U]), ws[2 + 3 * L] as tf.Tensor2D, ws[3 + 3 * L] as tf.Tensor1D);
    return out.reshape([B, T, -1]) as tf.Tensor3D;
  });
}

/**
 * x·W + b with a gradient that transposes explicitly: the wasm backend's matMul with a transposed
 * operand ran 15-20x slower than without (122 ms against 6 ms for [512, 128] x [128, 1026]), which
 * made the head's backward pass 3/4 of a training step.
 */
const dense = tf.customGrad((...args: unknown[]) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x, w).add(b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, ws.transpose()), tf.matMul(xs.transpose(), dy as tf.Tensor2D), dy.sum(0)];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** Per bin and step from `burn` on, the Gaussian NLL in nats of y `[B, T, bins]` under out `[B, T, 2·bins]`: `[B, T - burn, bins]`. */
export function gaussianNll(out: tf.Tensor3D, y: tf.Tensor3D, burn: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, F] = y.shape;
    const mean = out.slice([0, burn, 0], [B, T - burn, F]);
    const ls = logSigma(out.slice([0, burn, F], [B, T - burn, F]));
    const z = y.slice([0, burn, 0], [B, T - burn, F]).sub(mean).mul(tf.exp(ls.neg()));
    return z.square().mul(0.5).add(ls).add(HALF_LOG_TWO_PI) as tf.Tensor3D;
  });
}

/**
 * The mean of gaussianNll(out, y, burn), as one op whose value and gradient w.r.t. `out` come from one
 * pass over the arrays: the dozen tfjs ops above (and their gradients) cost 40 ms of a 160 ms training
 * step on the wasm backend, this pass about 4 ms. Gradient: d/dmean = -z/σ, d/draw = (1 - z²)·sigmoid(raw
 * - ln SIGMA_MIN), per value over the count.
 */
export function meanGaussianNll(out: tf.Tensor3D, y: tf.Tensor3D, burn: number): tf.Scalar {
  const op = tf.customGrad((...args: unknown[]) => {
    const [o, t] = args as [tf.Tensor3D, tf.Tensor3D];
    const [B, T, F] = t.shape;
    const os = o.dataSync() as Float32Array;
    const ys = t.dataSync() as Float32Array;
    const grad = new Float32Array(os.length);
    const count = B * (T - burn) * F;
    let total = 0;
    for (let b = 0; b < B; b++) {
      for (let s = burn; s < T; s++) {
        const row = (b * T + s) * F;
        const orow = 2 * row;
        for (let k = 0; k < F; k++) {
          const raw = os[orow + F + k] - LOG_SIGMA_MIN;
          const ls = LOG_SIGMA_MIN + (raw > 30 ? raw : Math.log1p(Math.exp(raw)));
          const inv = Math.exp(-ls);
          const z = (ys[row + k] - os[orow + k]) * inv;
          total += 0.5 * z * z + ls;
          grad[orow + k] = (-z * inv) / count;
          grad[orow + F + k] = ((1 - z * z) / (1 + Math.exp(-raw))) / count;
        }
      }
    }
    return {
      value: tf.scalar(total / count + HALF_LOG_TWO_PI),
      gradFunc: (dy: tf.Tensor) => {
        const g = (dy.dataSync() as Float32Array)[0];
        if (g !== 1) for (let i = 0; i < grad.length; i++) grad[i] *= g;
        return [tf.tensor3d(grad, o.shape), tf.zerosLike(t)];
      },
    };
  });
  return op(out, y) as tf.Scalar;
}

export function spectralObjective(model: tf.LayersModel, spec: SpectralSpec, dataset: SpectralDataset, impl: 'fused' | 'layers'): TrainingObjective {
  const burn = Math.min(spec.burnIn, dataset.window - 1);
  const fused = impl === 'fused';
  return {
    loss: (x, y) => tf.tidy(() => meanGaussianNll(spectralOutputs(model, spec, x, fused), y as tf.Tensor3D, burn)),
    measure: async (starts, signal) => {
      const tiles = dataset.tiles(starts, burn, DEV_TILES);
      let sum = 0;
      let count = 0;
      for (let from = 0; from < tiles.length; from += CHUNK) {
        if (signal?.aborted) throw new LabError('cancelled', 'Training was cancelled');
        const { x, y } = dataset.batch(tiles, from, CHUNK, false);
        const nll = tf.tidy(() => gaussianNll(spectralOutputs(model, spec, x, fused), y, burn));
        const total = nll.sum();
        sum += (await total.data())[0];
        count += nll.size;
        tf.dispose([x, y, nll, total]);
        await new Promise((r) => setImmediate(r));
      }
      return sum / count;
    },
  };
}
