// The spectral family's loss: the negative log-likelihood of the next frame's log-magnitude features
// under a mixture of per-bin Gaussians, per bin and step after the burn-in. The recurrent stack runs through the
// fused kernels (one op per batch, every step's h out) or tfjs-layers; the head is a tfjs dense layer over the
// steps after the burn-in, the likelihood and its gradient one op in lstm.wasm (mix_nll).
import * as tf from '@tensorflow/tfjs';
import type { SpectralSpec } from '../../../../shared/contract';
import { LabError } from '../../../../shared/errors';
import { fusedRecurrentSequence, LstmKernel } from '../../fused-recurrent';
import type { TrainingObjective } from '../family';
import type { SpectralDataset } from './dataset';
import { headUnits } from './model';

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

/**
 * The network's output `[B, T - from, headUnits]` for x `[B, T, bins]` at steps `from` on (a loss skips its
 * burn-in: the head is 85 % of a training step's work at four components, and a burn-in of 4 of 32 frames
 * an eighth of it): through the fused stack and a tfjs head, or tfjs-layers (which runs every step).
 */
export function spectralOutputs(model: tf.LayersModel, spec: SpectralSpec, x: tf.Tensor3D, fused: boolean, training = true, from = 0): tf.Tensor3D {
  if (!fused) {
    return tf.tidy(() => {
      const out = model.apply(x, { training }) as tf.Tensor3D;
      return from > 0 ? out.slice([0, from, 0]) : out;
    });
  }
  return tf.tidy(() => {
    // Weights in the model's order: the embedding's kernel and bias, each layer's (kernel, recurrent, bias), the head's.
    const ws = model.trainableWeights.map((w) => w.read());
    const L = spec.units.length;
    const [B, T, F] = x.shape;
    const e = dense(x.reshape([B * T, F]), ws[0] as tf.Tensor2D, ws[1] as tf.Tensor1D).reshape([B, T, -1]) as tf.Tensor3D;
    let h = fusedRecurrentSequence(e, ws.slice(2, 2 + 3 * L), spec.type);
    if (from > 0) h = h.slice([0, from, 0]);
    const S = T - from;
    const U = h.shape[2];
    const out = dense(h.reshape([B * S, U]), ws[2 + 3 * L] as tf.Tensor2D, ws[3 + 3 * L] as tf.Tensor1D);
    return out.reshape([B, S, -1]) as tf.Tensor3D;
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

/**
 * The mixture's NLL in nats per bin, averaged over every frame from step `burn` on, with tfjs ops (the
 * reference lstm.wasm's op is tested against): y `[B, T, F]` under out
 * `[B, T, K·(2F+1)]` (model.ts's headUnits layout). A frame's NLL is -log Σ_k π_k Π_j N(y_j; μ_kj, σ_kj).
 */
export function mixtureNll(out: tf.Tensor3D, y: tf.Tensor3D, burn: number, K: number): tf.Scalar {
  return tf.tidy(() => {
    const [B, T, F] = y.shape;
    const S = T - burn;
    const o = out.slice([0, burn, 0], [B, S, K * (2 * F + 1)]);
    const means = o.slice([0, 0, 0], [B, S, K * F]).reshape([B, S, K, F]);
    const ls = logSigma(o.slice([0, 0, K * F], [B, S, K * F]).reshape([B, S, K, F]));
    const logits = o.slice([0, 0, 2 * K * F], [B, S, K]);
    const z = y.slice([0, burn, 0], [B, S, F]).expandDims(2).sub(means).mul(tf.exp(ls.neg()));
    const nll = z.square().mul(0.5).add(ls).sum(-1).add(F * HALF_LOG_TWO_PI); // [B, S, K]
    const frame = tf.logSumExp(tf.logSoftmax(logits).sub(nll), -1).neg();
    return frame.mean().div(F) as tf.Scalar;
  });
}

/** The lstm.wasm instance mix_nll runs in (made on first use; its memory is reused call after call). */
let nllKernel: { k: LstmKernel; base: number } | null = null;

/**
 * lstm.wasm's mix_nll over every frame from step `burn` on: the summed NLL in nats and, with `withGrad`,
 * d(mean NLL per bin)/d(out) (zero over the burn-in). Two passes over each frame's arrays: the tfjs ops
 * (and their gradients) cost 40 ms of a 160 ms training step on the wasm backend, the same passes in
 * JavaScript 114 ms of 307 at four components, mix_nll about a twentieth of that.
 */
function runMixNll(o: tf.Tensor3D, t: tf.Tensor3D, burn: number, K: number, withGrad: boolean): { total: number; grad: Float32Array | null } {
  const [B, T, F] = t.shape;
  const V = headUnits(F, K);
  if (o.shape[2] !== V) throw new LabError('bad_argument', `The head gives ${o.shape[2]} values per step; ${K} components of ${F} bins need ${V}`);
  if (!nllKernel) {
    const k = new LstmKernel();
    nllKernel = { k, base: k.alloc(0) };
  }
  const { k, base } = nllKernel;
  k.rewind(base);
  const O = k.put(o.dataSync() as Float32Array);
  const Y = k.put(t.dataSync() as Float32Array);
  // Zeroed: the burn-in's frames have no gradient. Without withGrad, one window's rows, written over window by window.
  const G = k.alloc((withGrad ? B * T : T - burn) * V);
  const tmp = k.alloc(K);
  const scale = 1 / (B * (T - burn) * F);
  let total = 0;
  for (let b = 0; b < B; b++) {
    const row = b * T + burn;
    total += k.x.mix_nll(T - burn, F, K, O + 4 * row * V, Y + 4 * row * F, LOG_SIGMA_MIN, scale, withGrad ? G + 4 * row * V : G, tmp);
  }
  return { total, grad: withGrad ? k.f32(G, B * T * V).slice() : null };
}

/**
 * mixtureNll as one op whose value and gradient w.r.t. `out` come from lstm.wasm (runMixNll). With r_k the
 * frame's responsibilities: d/dμ = r_k·(-z/σ), d/draw = r_k·(1 - z²)·sigmoid(raw - ln SIGMA_MIN),
 * d/dlogit_k = π_k - r_k, each over frames·F.
 */
export function meanMixtureNll(out: tf.Tensor3D, y: tf.Tensor3D, burn: number, K: number): tf.Scalar {
  const op = tf.customGrad((...args: unknown[]) => {
    const [o, t] = args as [tf.Tensor3D, tf.Tensor3D];
    const [B, T, F] = t.shape;
    const { total, grad } = runMixNll(o, t, burn, K, true);
    return {
      value: tf.scalar(total / (B * (T - burn) * F)),
      gradFunc: (dy: tf.Tensor) => {
        const g = (dy.dataSync() as Float32Array)[0];
        if (g !== 1) for (let i = 0; i < grad!.length; i++) grad![i] *= g;
        return [tf.tensor3d(grad!, o.shape), tf.zerosLike(t)];
      },
    };
  });
  return op(out, y) as tf.Scalar;
}

export function spectralObjective(model: tf.LayersModel, spec: SpectralSpec, dataset: SpectralDataset, impl: 'fused' | 'layers'): TrainingObjective {
  const burn = Math.min(spec.burnIn, dataset.window - 1);
  const fused = impl === 'fused';
  const bins = dataset.bins;
  return {
    loss: (x, y) => tf.tidy(() => meanMixtureNll(spectralOutputs(model, spec, x, fused, true, burn), (y as tf.Tensor3D).slice([0, burn, 0]), 0, spec.mixtures)),
    measure: async (starts, signal) => {
      const tiles = dataset.tiles(starts, burn, DEV_TILES);
      let sum = 0;
      let count = 0;
      for (let from = 0; from < tiles.length; from += CHUNK) {
        if (signal?.aborted) throw new LabError('cancelled', 'Training was cancelled');
        const { x, y } = dataset.batch(tiles, from, CHUNK, false);
        // Through lstm.wasm's mix_nll (a fraction of mixtureNll's tfjs ops), value only.
        const out = tf.tidy(() => spectralOutputs(model, spec, x, fused, false, burn));
        const target = y.slice([0, burn, 0]);
        sum += runMixNll(out, target, 0, spec.mixtures, false).total / bins;
        target.dispose();
        count += x.shape[0] * (dataset.window - burn);
        tf.dispose([x, y, out]);
        await new Promise((r) => setImmediate(r));
      }
      return sum / count;
    },
  };
}
