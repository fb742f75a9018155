// A fused LSTM/GRU step over Float32Arrays: generation costs no tfjs op dispatch per sample.
// Written by hand because tfjs runs a recurrent step as a dozen tiny ops (~15 ms per sample when the
// notebook's way re-runs a whole window); this loop costs a few microseconds per sample (bench/).
// Equations and weight layouts follow tfjs-layers (and Keras):
//   LSTM: z = x·K + h·R + b, gates [i, f, g, o]; c' = σ(f)·c + σ(i)·tanh(g); h' = σ(o)·tanh(c')
//   GRU (reset before the recurrent product): z, r = σ(x·K + h·R + b)[z, r];
//        ĥ = tanh(x·K_h + b_h + (r·h)·R_h); h' = z·h + (1 - z)·ĥ
import type * as tf from '@tensorflow/tfjs';
import { type CellType, type RecurrentState, zeroState } from '../../shared/packed-state';
import { LabError } from '../../shared/errors';

export interface LayerWeights {
  inputSize: number;
  units: number;
  /** `[inputSize, gates*units]` row-major */
  kernel: Float32Array;
  /** `[units, gates*units]` row-major */
  recurrent: Float32Array;
  /** `[gates*units]` */
  bias: Float32Array;
}

export interface RecurrentWeights {
  cell: CellType;
  units: number[];
  layers: LayerWeights[];
  /** `[units[last]]` */
  headKernel: Float32Array;
  headBias: number;
}

/** Copies the trained weights out of a model built by buildModel. */
export async function readWeights(model: tf.LayersModel, cell: CellType): Promise<RecurrentWeights> {
  const gates = cell === 'lstm' ? 4 : 3;
  const layers: LayerWeights[] = [];
  const recurrentLayers = model.layers.slice(0, -1);
  for (const layer of recurrentLayers) {
    const [k, r, b] = layer.getWeights();
    if (!k || !r || !b) throw new LabError('bad_file', `Layer ${layer.name} has no kernel, recurrent kernel and bias`);
    const units = r.shape[0];
    if (k.shape[1] !== gates * units) throw new LabError('bad_file', `Layer ${layer.name} does not look like a ${cell.toUpperCase()} layer (kernel ${k.shape.join('x')})`);
    layers.push({
      inputSize: k.shape[0],
      units,
      kernel: (await k.data()) as Float32Array,
      recurrent: (await r.data()) as Float32Array,
      bias: (await b.data()) as Float32Array,
    });
  }
  const [hk, hb] = model.layers[model.layers.length - 1].getWeights();
  return {
    cell,
    units: layers.map((l) => l.units),
    layers,
    headKernel: (await hk.data()) as Float32Array,
    headBias: (await hb.data())[0],
  };
}

/** Steps a batch of streams one sample at a time, carrying (c, h) per layer in `state`. */
export class RecurrentStepper {
  readonly state: RecurrentState;
  private readonly z: Float64Array;
  private readonly rh: Float64Array;

  constructor(
    readonly weights: RecurrentWeights,
    state: RecurrentState | number,
  ) {
    this.state = typeof state === 'number' ? zeroState(weights.cell, state, weights.units) : state;
    if (this.state.cell !== weights.cell || this.state.units.join(',') !== weights.units.join(',')) {
      throw new LabError(
        'bad_argument',
        `State is for a ${this.state.cell} ${this.state.units.join('x')} network, but the model is ${weights.cell} ${weights.units.join('x')}`,
      );
    }
    const maxUnits = Math.max(...weights.units);
    this.z = new Float64Array(4 * maxUnits);
    this.rh = new Float64Array(maxUnits);
  }

  get batch(): number {
    return this.state.batch;
  }

  /** Feeds one input sample per stream (`x[b]`) through every layer. */
  step(x: Float32Array): void {
    const { weights, state } = this;
    let input = x;
    for (let l = 0; l < weights.layers.length; l++) {
      if (weights.cell === 'lstm') lstmLayer(weights.layers[l], state.batch, input, state.c[l], state.h[l], this.z);
      else gruLayer(weights.layers[l], state.batch, input, state.h[l], this.z, this.rh);
      input = state.h[l];
    }
  }

  /** Writes the head's output for each stream's top-layer h into `out[b]`. */
  output(out: Float32Array): Float32Array {
    const { weights, state } = this;
    const top = state.h[state.h.length - 1];
    const u = weights.units[weights.units.length - 1];
    const hk = weights.headKernel;
    for (let b = 0; b < state.batch; b++) {
      let s = weights.headBias;
      for (let j = 0; j < u; j++) s += top[b * u + j] * hk[j];
      out[b] = s;
    }
    return out;
  }
}

// The loops below keep every array in a local so that V8 compiles tight, monomorphic code, and
// accumulate four outputs at a time: one accumulator is bound by add latency (~1.4 ns/MAC here),
// four independent ones run about twice as fast (measured in bench/).

/** z[j] += Σ_k v[vo+k] · W[(row0+k)·G + col0 + j] for j < cols, k < n. */
function accumulate(z: Float64Array, v: Float32Array | Float64Array, vo: number, n: number, W: Float32Array, row0: number, G: number, col0: number, cols: number): void {
  let j = 0;
  for (; j + 3 < cols; j += 4) {
    let s0 = z[j];
    let s1 = z[j + 1];
    let s2 = z[j + 2];
    let s3 = z[j + 3];
    for (let k = 0, o = row0 * G + col0 + j; k < n; k++, o += G) {
      const a = v[vo + k];
      s0 += a * W[o];
      s1 += a * W[o + 1];
      s2 += a * W[o + 2];
      s3 += a * W[o + 3];
    }
    z[j] = s0;
    z[j + 1] = s1;
    z[j + 2] = s2;
    z[j + 3] = s3;
  }
  for (; j < cols; j++) {
    let s = z[j];
    for (let k = 0, o = row0 * G + col0 + j; k < n; k++, o += G) s += v[vo + k] * W[o];
    z[j] = s;
  }
}

function lstmLayer(w: LayerWeights, batch: number, x: Float32Array, c: Float32Array, h: Float32Array, z: Float64Array): void {
  const U = w.units;
  const G = 4 * U;
  const I = w.inputSize;
  const bias = w.bias;
  for (let b = 0; b < batch; b++) {
    const ho = b * U;
    for (let j = 0; j < G; j++) z[j] = bias[j];
    accumulate(z, x, b * I, I, w.kernel, 0, G, 0, G);
    accumulate(z, h, ho, U, w.recurrent, 0, G, 0, G);
    for (let j = 0; j < U; j++) {
      const i = 1 / (1 + Math.exp(-z[j]));
      const f = 1 / (1 + Math.exp(-z[U + j]));
      const g = Math.tanh(z[2 * U + j]);
      const o = 1 / (1 + Math.exp(-z[3 * U + j]));
      const cj = f * c[ho + j] + i * g;
      c[ho + j] = cj;
      h[ho + j] = o * Math.tanh(cj);
    }
  }
}

function gruLayer(w: LayerWeights, batch: number, x: Float32Array, h: Float32Array, z: Float64Array, rh: Float64Array): void {
  const U = w.units;
  const G = 3 * U;
  const I = w.inputSize;
  const bias = w.bias;
  for (let b = 0; b < batch; b++) {
    const ho = b * U;
    for (let j = 0; j < G; j++) z[j] = bias[j];
    accumulate(z, x, b * I, I, w.kernel, 0, G, 0, G);
    // Recurrent part of the z and r gates, then the candidate's with the reset applied to h.
    accumulate(z, h, ho, U, w.recurrent, 0, G, 0, 2 * U);
    for (let j = 0; j < U; j++) rh[j] = h[ho + j] / (1 + Math.exp(-z[U + j]));
    accumulate(z.subarray(2 * U), rh, 0, U, w.recurrent, 0, G, 2 * U, U);
    for (let j = 0; j < U; j++) {
      const zz = 1 / (1 + Math.exp(-z[j]));
      const hh = Math.tanh(z[2 * U + j]);
      h[ho + j] = zz * h[ho + j] + (1 - zz) * hh;
    }
  }
}

/**
 * Teacher-forced predictions for the windows at `starts` (each from a zero state): what the tfjs
 * model's predict() returns, computed with the fused step. `[starts.length]`.
 */
export function predictWindows(weights: RecurrentWeights, signal: Float32Array, starts: ArrayLike<number>, window: number, batch = 256): Float32Array {
  const out = new Float32Array(starts.length);
  const x = new Float32Array(batch);
  for (let from = 0; from < starts.length; from += batch) {
    const n = Math.min(batch, starts.length - from);
    const stepper = new RecurrentStepper(weights, n);
    for (let t = 0; t < window; t++) {
      for (let b = 0; b < n; b++) x[b] = signal[starts[from + b] + t];
      stepper.step(x);
    }
    const y = stepper.output(new Float32Array(n));
    out.set(y, from);
  }
  return out;
}
