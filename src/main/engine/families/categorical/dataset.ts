// The categorical family's windows: the signal pre-emphasised and μ-law encoded once; a window of T
// steps reads levels s .. s+T-1 (as scaled inputs) and predicts levels s+1 .. s+T, every step.
// Splits are always contiguous spans (blocked): neighbouring audio windows share nearly every
// sample, so a shuffled split would test on training audio.
import * as tf from '@tensorflow/tfjs';
import type { CategoricalSpec, TrainConfig } from '../../../../shared/contract';
import { muLawEncodeAll, preEmphasis } from '../../../../shared/dsp/mulaw';
import { tileStarts, WindowDataset, type Splits } from '../../dataset';
import { SeededRandom } from '../../../../shared/signals/random';
import type { FamilyDataset } from '../family';

/** The network's input for a level: scaled to [-1, 1]. */
export function levelInput(levels: number): { scale: number; offset: number } {
  return { scale: 2 / (levels - 1), offset: -1 };
}

export class CategoricalDataset implements FamilyDataset {
  readonly splits: Splits;
  /** μ-law level of every (pre-emphasised) sample. */
  readonly levels: Uint8Array | Uint16Array;
  /** The network input of every sample: its level, scaled. */
  readonly inputs: Float32Array;
  /** The pre-emphasised signal (network units) the levels encode. */
  readonly emphasised: Float32Array;
  private readonly windows: WindowDataset;

  constructor(
    samples: Float32Array,
    readonly spec: CategoricalSpec,
    train: Pick<TrainConfig, 'window' | 'trainFraction' | 'devFraction' | 'seed'>,
  ) {
    this.emphasised = preEmphasis(samples, spec.preEmphasis);
    this.levels = muLawEncodeAll(this.emphasised, spec.levels);
    const { scale, offset } = levelInput(spec.levels);
    this.inputs = new Float32Array(this.levels.length);
    for (let i = 0; i < this.levels.length; i++) this.inputs[i] = this.levels[i] * scale + offset;
    // A WindowDataset over the inputs gives the blocked splits and the seeded epoch order: its window
    // at s reads s .. s+T-1 and its target index s+T is the last of this family's targets.
    this.windows = new WindowDataset(this.inputs, train.window, { ...train, split: 'blocked' });
    this.splits = this.windows.splits;
  }

  get window(): number {
    return this.windows.window;
  }

  epochOrder(epoch: number, seed: number, max: number): Int32Array {
    return this.windows.epochOrder(epoch, seed, max);
  }

  /**
   * The inputs of the `T` steps of the window at `s`, `[T, context]` row-major into `out` at `at`: step t
   * reads the scaled levels of samples s+t-context+1 .. s+t (before the signal's start: its first).
   */
  fillInputs(s: number, out: Float32Array, at: number, stride = this.spec.context, T = this.window): void {
    const k = this.spec.context;
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < k; j++) out[at + t * stride + j] = this.inputs[Math.max(0, s + t - k + 1 + j)];
    }
  }

  /** x `[n, T, context]` scaled levels, y `[n, T]` int32 next levels. */
  batch(order: Int32Array, from: number, size: number): { x: tf.Tensor3D; y: tf.Tensor2D } {
    const n = Math.min(size, order.length - from);
    const T = this.window;
    const k = this.spec.context;
    const x = new Float32Array(n * T * k);
    const y = new Int32Array(n * T);
    for (let b = 0; b < n; b++) {
      const s = order[from + b];
      this.fillInputs(s, x, b * T * k);
      y.set(this.levels.subarray(s + 1, s + T + 1), b * T);
    }
    if (this.spec.inputNoise > 0) {
      // Seeded by the batch's first window and position, so that a run repeats exactly.
      const rng = new SeededRandom(order[from] * 7919 + from);
      const sd = this.spec.inputNoise * levelInput(this.spec.levels).scale;
      for (let i = 0; i < x.length; i++) x[i] += sd * rng.normal();
    }
    return { x: tf.tensor3d(x, [n, T, k]), y: tf.tensor2d(y, [n, T], 'int32') };
  }

  /**
   * Starts of windows that tile `starts`' span so that, after the burn-in of each, every prediction
   * is counted once: a stride of T - burn, at most `max` windows spread evenly.
   */
  tiles(starts: Int32Array, burn: number, max: number): Int32Array {
    return tileStarts(starts, this.window, burn, max);
  }
}
