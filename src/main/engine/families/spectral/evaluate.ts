// Held-out likelihood of a spectral model's next-frame predictions (a mixture per frame), in nats per bin, beside two
// references it must beat: persistence (the next frame is the last one, give or take each bin's
// spread) and each bin's own distribution with no context; and the log-spectral distance of the
// predicted mean frame (the mixture's mean log-magnitude) from the true one, beside persistence's.
import * as tf from '@tensorflow/tfjs';
import type { SpectralMetrics, SpectralSpec } from '../../../../shared/contract';
import { LabError } from '../../../../shared/errors';
import type { EvaluationContext } from '../family';
import type { SpectralDataset } from './dataset';
import { HALF_LOG_TWO_PI, logSigmaOf, SIGMA_MIN, spectralOutputs } from './objective';

/** Most windows of the test split the final evaluation predicts. */
export const EVAL_TILES = 256;
const CHUNK = 32;
/** dB per feature unit: a feature is ln(magnitude) / 4, and 20·log10(e) dB per neper. */
const DB_PER_FEATURE = 4 * (20 / Math.LN10);

/** Per bin, the mean and standard deviation of the train frames, and of their frame-to-frame change. */
function trainStatistics(ds: SpectralDataset): { mean: Float64Array; sd: Float64Array; stepSd: Float64Array } {
  const F = ds.bins;
  const train = ds.splits.train;
  const from = train[0];
  const to = train[train.length - 1] + ds.window + 1; // the last train window's last target frame, exclusive
  const mean = new Float64Array(F);
  const sq = new Float64Array(F);
  const step = new Float64Array(F);
  const f = ds.features;
  for (let t = from; t < to; t++) {
    for (let k = 0; k < F; k++) {
      const v = f[t * F + k];
      mean[k] += v;
      sq[k] += v * v;
      if (t > from) step[k] += (v - f[(t - 1) * F + k]) ** 2;
    }
  }
  const n = to - from;
  const sd = new Float64Array(F);
  const stepSd = new Float64Array(F);
  for (let k = 0; k < F; k++) {
    mean[k] /= n;
    sd[k] = Math.max(SIGMA_MIN, Math.sqrt(Math.max(0, sq[k] / n - mean[k] * mean[k])));
    stepSd[k] = Math.max(SIGMA_MIN, Math.sqrt(step[k] / Math.max(1, n - 1)));
  }
  return { mean, sd, stepSd };
}

const nll = (y: number, mean: number, sd: number) => nllLog(y, mean, Math.log(sd));
/** The same from the log standard deviation (the head's own output, so no exp and log again). */
const nllLog = (y: number, mean: number, logSd: number) => 0.5 * ((y - mean) * Math.exp(-logSd)) ** 2 + logSd + HALF_LOG_TWO_PI;

interface Measured {
  nll: number;
  ci95: number;
  persistence: number;
  meanFrame: number;
  lsd: number;
  persistenceLsd: number;
  frames: number;
}

/** The model and the references over the windows at `starts`, each window's first `burn` steps not counted. */
async function measure(
  model: tf.LayersModel,
  spec: SpectralSpec,
  ds: SpectralDataset,
  starts: Int32Array,
  burn: number,
  fused: boolean,
  stats: ReturnType<typeof trainStatistics>,
  o: { signal?: AbortSignal; onProgress?: (done: number) => void },
): Promise<Measured> {
  const F = ds.bins;
  const T = ds.window;
  const perWindow: number[] = [];
  let total = 0;
  let persistence = 0;
  let meanFrame = 0;
  let lsd = 0;
  let persistenceLsd = 0;
  let frames = 0;
  for (let from = 0; from < starts.length; from += CHUNK) {
    if (o.signal?.aborted) throw new LabError('cancelled', 'Evaluation was cancelled');
    const { x, y } = ds.batch(starts, from, CHUNK, false);
    const out = tf.tidy(() => spectralOutputs(model, spec, x, fused, false));
    const [o2, xs, ys] = await Promise.all([out.data(), x.data(), y.data()]);
    tf.dispose([x, y, out]);
    const B = x.shape[0];
    const K = spec.mixtures;
    const V = K * (2 * F + 1);
    const frameNll = new Float64Array(K);
    const pi = new Float64Array(K);
    for (let b = 0; b < B; b++) {
      let windowNll = 0;
      for (let t = burn; t < T; t++) {
        const row = (b * T + t) * F;
        const orow = (b * T + t) * V;
        // The mixture: each component's NLL of the whole frame, its weight, then -log Σ π_k e^{-nll_k}.
        let lmax = -Infinity;
        for (let k = 0; k < K; k++) lmax = Math.max(lmax, o2[orow + 2 * K * F + k]);
        let lsum = 0;
        for (let k = 0; k < K; k++) lsum += (pi[k] = Math.exp(o2[orow + 2 * K * F + k] - lmax));
        for (let k = 0; k < K; k++) {
          pi[k] /= lsum;
          let sum = 0;
          for (let j = 0; j < F; j++) sum += nllLog(ys[row + j], o2[orow + k * F + j], logSigmaOf(o2[orow + K * F + k * F + j]));
          frameNll[k] = sum;
        }
        let amax = -Infinity;
        for (let k = 0; k < K; k++) amax = Math.max(amax, Math.log(pi[k]) - frameNll[k]);
        let asum = 0;
        for (let k = 0; k < K; k++) asum += Math.exp(Math.log(pi[k]) - frameNll[k] - amax);
        windowNll += -(amax + Math.log(asum));
        let d2 = 0;
        let p2 = 0;
        for (let j = 0; j < F; j++) {
          const target = ys[row + j];
          let mean = 0; // the mixture's mean log-magnitude
          for (let k = 0; k < K; k++) mean += pi[k] * o2[orow + k * F + j];
          persistence += nll(target, xs[row + j], stats.stepSd[j]);
          meanFrame += nll(target, stats.mean[j], stats.sd[j]);
          d2 += (target - mean) ** 2;
          p2 += (target - xs[row + j]) ** 2;
        }
        lsd += DB_PER_FEATURE * Math.sqrt(d2 / F);
        persistenceLsd += DB_PER_FEATURE * Math.sqrt(p2 / F);
        frames++;
      }
      total += windowNll;
      perWindow.push(windowNll / ((T - burn) * F));
    }
    o.onProgress?.(from + B);
    await new Promise((r) => setImmediate(r));
  }
  const values = frames * F;
  const mean = total / values;
  let v = 0;
  for (const p of perWindow) v += (p - mean) ** 2;
  const n = perWindow.length;
  return {
    nll: mean,
    ci95: n > 1 ? 1.96 * Math.sqrt(v / (n - 1) / n) : 0,
    persistence: persistence / values,
    meanFrame: meanFrame / values,
    lsd: lsd / frames,
    persistenceLsd: persistenceLsd / frames,
    frames,
  };
}

export async function evaluateSpectral(
  model: tf.LayersModel,
  spec: SpectralSpec,
  ds: SpectralDataset,
  burn: number,
  fused: boolean,
  ctx: Pick<EvaluationContext, 'signal' | 'onProgress'>,
): Promise<SpectralMetrics> {
  const stats = trainStatistics(ds);
  const testTiles = ds.tiles(ds.splits.test, burn, EVAL_TILES);
  const devTiles = ds.tiles(ds.splits.dev, burn, EVAL_TILES / 4);
  const total = testTiles.length + devTiles.length;
  const t = await measure(model, spec, ds, testTiles, burn, fused, stats, { signal: ctx.signal, onProgress: (d) => ctx.onProgress?.(d, total) });
  const d = await measure(model, spec, ds, devTiles, burn, fused, stats, { signal: ctx.signal, onProgress: (x) => ctx.onProgress?.(testTiles.length + x, total) });
  return {
    family: 'spectral',
    test_nll: t.nll,
    dev_nll: d.nll,
    test_nll_ci95: t.ci95,
    persistence_nll: t.persistence,
    mean_frame_nll: t.meanFrame,
    test_lsd_db: t.lsd,
    persistence_lsd_db: t.persistenceLsd,
    eval_frames: t.frames,
  };
}

/** Windows the final evaluation runs (for the trainer's ETA). */
export function spectralEvaluationWindows(ds: SpectralDataset, burn: number): number {
  return ds.tiles(ds.splits.test, burn, EVAL_TILES).length + ds.tiles(ds.splits.dev, burn, EVAL_TILES / 4).length;
}
