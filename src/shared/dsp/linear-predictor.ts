// Least-squares linear autoregressive predictor: the reference an LSTM has to beat.
import { Matrix, solve } from 'ml-matrix';
import { LabError } from '../errors';

export interface LinearPredictor {
  /** Coefficients for the last `order` samples, oldest first. */
  weights: Float64Array;
  bias: number;
  order: number;
}

/**
 * Fits next = bias + Σ w[k]·x[start + window - order + k] by least squares over the windows at `starts`
 * (each window is x[start .. start+window-1], its target x[start+window]). Solved through the normal
 * equations in float64 with a tiny ridge term so that a perfectly periodic signal stays solvable.
 */
export function fitLinearPredictor(x: Float32Array, starts: ArrayLike<number>, window: number, order: number): LinearPredictor {
  if (order < 1 || order > window) throw new LabError('bad_argument', `Expected AR order in [1, ${window}], but got ${order}`);
  if (starts.length === 0) throw new LabError('bad_signal', 'Cannot fit a linear predictor on an empty split');
  const d = order + 1;
  const xtx = new Float64Array(d * d);
  const xty = new Float64Array(d);
  const row = new Float64Array(d);
  for (let n = 0; n < starts.length; n++) {
    const s = starts[n] + window - order;
    for (let k = 0; k < order; k++) row[k] = x[s + k];
    row[order] = 1;
    const y = x[starts[n] + window];
    for (let i = 0; i < d; i++) {
      const ri = row[i];
      xty[i] += ri * y;
      for (let j = i; j < d; j++) xtx[i * d + j] += ri * row[j];
    }
  }
  const a = new Matrix(d, d);
  let trace = 0;
  for (let i = 0; i < d; i++) trace += xtx[i * d + i];
  const ridge = (1e-9 * trace) / d;
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = xtx[i * d + j] + (i === j ? ridge : 0);
      a.set(i, j, v);
      a.set(j, i, v);
    }
  }
  const sol = solve(a, Matrix.columnVector(Array.from(xty)));
  const weights = new Float64Array(order);
  for (let k = 0; k < order; k++) weights[k] = sol.get(k, 0);
  return { weights, bias: sol.get(order, 0), order };
}

/** Mean squared error of a linear predictor over the windows at `starts`. */
export function linearPredictorMse(p: LinearPredictor, x: Float32Array, starts: ArrayLike<number>, window: number): number {
  let sum = 0;
  for (let n = 0; n < starts.length; n++) {
    const s = starts[n] + window - p.order;
    let y = p.bias;
    for (let k = 0; k < p.order; k++) y += p.weights[k] * x[s + k];
    const e = y - x[starts[n] + window];
    sum += e * e;
  }
  return sum / starts.length;
}

/** Mean squared error of the persistence guess (next = current) over the windows at `starts`. */
export function persistenceMse(x: Float32Array, starts: ArrayLike<number>, window: number): number {
  let sum = 0;
  for (let n = 0; n < starts.length; n++) {
    const e = x[starts[n] + window - 1] - x[starts[n] + window];
    sum += e * e;
  }
  return sum / starts.length;
}
