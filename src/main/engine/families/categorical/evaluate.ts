// Held-out negative log-likelihood of a categorical model in bits per sample, beside the references
// it must beat: uniform over the levels, the train split's level histogram (unigram), and a linear
// predictor with a Laplace residual put through the same μ-law levels (LPC's classic coder model).
import type { CategoricalMetrics } from '../../../../shared/contract';
import { muLawEdges, muLawTable } from '../../../../shared/dsp/mulaw';
import { fitLinearPredictor } from '../../../../shared/dsp/linear-predictor';
import { LabError } from '../../../../shared/errors';
import { LstmKernel } from '../../fused-recurrent';
import type { EvaluationContext } from '../family';
import type { CategoricalDataset } from './dataset';
import type { CategoricalWeights } from './model';

/** Most windows (tiles) of the test split the final evaluation predicts. */
export const EVAL_TILES = 1024;
/** Windows run through lstm.wasm at once (memory: T·B·4U floats of gates). */
const CHUNK = 32;
/** Order of the linear-prediction reference (LPCNet's 16). */
export const LPC_ORDER = 16;
/** Most predictions the references are fitted and measured on. */
const REFERENCE_POINTS = 400_000;

const LN2 = Math.log(2);

export interface NllResult {
  /** Mean over the counted predictions, nats. */
  nats: number;
  /** 95 % half-width of the mean, nats (over windows). */
  ci95: number;
  predictions: number;
}

/**
 * Teacher-forced NLL of the windows at `starts` (each from a zero state, the first `burn` steps not
 * counted), on lstm.wasm in chunks that yield to the event loop; throws `cancelled` when `signal` aborts.
 */
export async function datasetNll(
  w: CategoricalWeights,
  ds: CategoricalDataset,
  starts: Int32Array,
  burn: number,
  o: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<NllResult> {
  const T = ds.window;
  const k = new LstmKernel();
  const layers = w.layers.map((l) => ({ K: l.kernel, R: l.recurrent, b: l.bias, U: l.units }));
  let total = 0;
  const perWindow: number[] = [];
  for (let from = 0; from < starts.length; from += CHUNK) {
    if (o.signal?.aborted) throw new LabError('cancelled', 'Evaluation was cancelled');
    const B = Math.min(CHUNK, starts.length - from);
    const I = ds.spec.context;
    const x = new Float32Array(T * B * I);
    const tgt = new Int32Array(T * B);
    for (let b = 0; b < B; b++) {
      const s = starts[from + b];
      ds.fillInputs(s, x, b * I, B * I); // time-major [T, B, I]
      for (let t = 0; t < T; t++) tgt[t * B + b] = ds.levels[s + t + 1];
    }
    k.forward(T, B, layers, x, w.cell, I);
    total += k.headLoss(tgt, burn, w.headKernel, w.headBias);
    const rows = k.rowLosses(tgt);
    const sums = new Float64Array(B);
    for (let m = 0; m < rows.length; m++) sums[m % B] += rows[m];
    for (let b = 0; b < B; b++) perWindow.push(sums[b] / (T - burn));
    o.onProgress?.(from + B, starts.length);
    await new Promise((r) => setImmediate(r));
  }
  const n = perWindow.length;
  const predictions = n * (T - burn);
  const mean = predictions ? total / predictions : NaN;
  let v = 0;
  for (const p of perWindow) v += (p - mean) ** 2;
  // One window gives no spread: 0 rather than NaN, which a stored spec could not hold.
  return { nats: mean, ci95: n > 1 ? 1.96 * Math.sqrt(v / (n - 1) / n) : 0, predictions };
}

/** Evenly spread positions of [from, to), at most `max`. */
function spread(from: number, to: number, max: number): Int32Array {
  const n = Math.max(0, Math.min(max, to - from));
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = from + Math.floor((i * (to - from)) / n);
  return out;
}

/** Bits per level of the train split's level histogram (add-one smoothed), measured on `targets`' levels. */
export function unigramBits(levels: ArrayLike<number>, trainFrom: number, trainTo: number, targets: Int32Array, V: number): number {
  const hist = new Float64Array(V).fill(1);
  for (let i = trainFrom; i < trainTo; i++) hist[levels[i]]++;
  const total = hist.reduce((a, b) => a + b, 0);
  let bits = 0;
  for (const i of targets) bits -= Math.log2(hist[levels[i]] / total);
  return bits / targets.length;
}

/**
 * Bits per level of a linear predictor of order `order` over the decoded previous levels with a
 * Laplace residual (scale fitted on train), each level's probability the residual's mass inside the
 * level's μ-law decision interval.
 */
export function lpcLaplaceBits(levels: ArrayLike<number>, V: number, trainFrom: number, trainTo: number, targets: Int32Array, order: number): number {
  const table = muLawTable(V);
  const decoded = new Float32Array(levels.length);
  for (let i = 0; i < levels.length; i++) decoded[i] = table[levels[i]];
  // fitLinearPredictor's window at s predicts index s + window from the `order` samples before it.
  const fitStarts = spread(trainFrom, trainTo - order, REFERENCE_POINTS);
  const p = fitLinearPredictor(decoded, fitStarts, order, order);
  const predict = (i: number) => {
    let y = p.bias;
    for (let k = 0; k < order; k++) y += p.weights[k] * decoded[i - order + k];
    return y;
  };
  let abs = 0;
  for (const s of fitStarts) abs += Math.abs(decoded[s + order] - predict(s + order));
  const b = Math.max(1e-6, abs / fitStarts.length);
  const cdf = (z: number) => (z < 0 ? 0.5 * Math.exp(z / b) : 1 - 0.5 * Math.exp(-z / b));
  const edges = muLawEdges(V);
  let bits = 0;
  let n = 0;
  for (const i of targets) {
    if (i < order) continue;
    const mu = predict(i);
    const q = levels[i];
    const lo = q === 0 ? 0 : cdf(edges[q] - mu);
    const hi = q === V - 1 ? 1 : cdf(edges[q + 1] - mu);
    bits -= Math.log2(Math.max(1e-12, hi - lo));
    n++;
  }
  return bits / n;
}

export async function evaluateCategorical(w: CategoricalWeights, ds: CategoricalDataset, burn: number, ctx: Pick<EvaluationContext, 'signal' | 'onProgress'>): Promise<CategoricalMetrics> {
  const { train, dev, test } = ds.splits;
  const testTiles = ds.tiles(test, burn, EVAL_TILES);
  const devTiles = ds.tiles(dev, burn, EVAL_TILES / 4);
  const total = testTiles.length + devTiles.length;
  const t = await datasetNll(w, ds, testTiles, burn, { signal: ctx.signal, onProgress: (d) => ctx.onProgress?.(d, total) });
  const d = await datasetNll(w, ds, devTiles, burn, { signal: ctx.signal, onProgress: (x) => ctx.onProgress?.(testTiles.length + x, total) });
  // The references are measured on the targets of the same test span (every level after the first).
  const targets = spread(test[0] + 1, test[test.length - 1] + ds.window + 1, REFERENCE_POINTS);
  const V = ds.spec.levels;
  const trainTo = train[train.length - 1] + ds.window + 1;
  return {
    family: 'categorical',
    test_bits: t.nats / LN2,
    dev_bits: d.nats / LN2,
    test_bits_ci95: t.ci95 / LN2,
    uniform_bits: Math.log2(V),
    unigram_bits: unigramBits(ds.levels, train[0], trainTo, targets, V),
    lpc_bits: lpcLaplaceBits(ds.levels, V, train[0], trainTo, targets, LPC_ORDER),
    lpc_order: LPC_ORDER,
    eval_predictions: t.predictions,
  };
}

/** Windows the final evaluation runs (for the trainer's ETA). */
export function categoricalEvaluationWindows(ds: CategoricalDataset, burn: number): number {
  return ds.tiles(ds.splits.test, burn, EVAL_TILES).length + ds.tiles(ds.splits.dev, burn, EVAL_TILES / 4).length;
}
