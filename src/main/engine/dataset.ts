// Windows over a signal, addressed by their start index: a window is x[s .. s+window-1], its
// target x[s+window]. Nothing is materialised beyond the start indices; batch tensors are built
// per step and disposed by the caller.
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../shared/contract';
import { LabError } from '../../shared/errors';
import { SeededRandom } from '../../shared/signals/random';

export interface Splits {
  train: Int32Array;
  dev: Int32Array;
  test: Int32Array;
}

/** Every window start with a target inside the signal: 0 .. length-window-1. */
export function windowCount(length: number, window: number): number {
  return Math.max(0, length - window);
}

/**
 * 'shuffled': all starts shuffled with the seed, then cut train/dev/test (the notebook's split;
 *   neighbouring windows overlap across sets).
 * 'blocked': the signal cut into three contiguous spans; a window and its target lie wholly inside
 *   one span, so no sample is shared between sets.
 */
export function splitWindows(length: number, window: number, cfg: Pick<TrainConfig, 'split' | 'trainFraction' | 'devFraction' | 'seed'>): Splits {
  if (cfg.trainFraction + cfg.devFraction >= 1) {
    throw new LabError('bad_argument', `Expected trainFraction + devFraction < 1, but got ${cfg.trainFraction} + ${cfg.devFraction}`);
  }
  const n = windowCount(length, window);
  if (cfg.split === 'shuffled') {
    const starts = new Int32Array(n);
    for (let i = 0; i < n; i++) starts[i] = i;
    new SeededRandom(cfg.seed).shuffle(starts);
    const a = Math.round(n * cfg.trainFraction);
    const b = a + Math.round(n * cfg.devFraction);
    // Views of one array: an hour of 16 kHz audio has 57 M windows, 230 MB of starts held once.
    const s = { train: starts.subarray(0, a), dev: starts.subarray(a, b), test: starts.subarray(b) };
    checkNonEmpty(s, length, window);
    return s;
  }
  // Blocked: spans of samples [0, A), [A, B), [B, length).
  const A = Math.round(length * cfg.trainFraction);
  const B = A + Math.round(length * cfg.devFraction);
  const span = (from: number, to: number) => {
    const count = Math.max(0, to - from - window);
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = from + i;
    return out;
  };
  const s = { train: span(0, A), dev: span(A, B), test: span(B, length) };
  checkNonEmpty(s, length, window);
  return s;
}

function checkNonEmpty(s: Splits, length: number, window: number): void {
  for (const [name, starts] of Object.entries(s)) {
    if (starts.length === 0) {
      throw new LabError('bad_signal', `The ${name} split is empty: ${length} samples are too few for windows of ${window}`);
    }
  }
}

/**
 * Starts of windows that tile `starts`' span so that, after a burn-in of `burn` steps in each, every
 * prediction is counted once: a stride of window - burn, at most `max` windows spread evenly.
 */
export function tileStarts(starts: Int32Array, window: number, burn: number, max: number): Int32Array {
  if (starts.length === 0) return new Int32Array(0);
  const stride = Math.max(1, window - burn);
  const first = starts[0];
  const last = starts[starts.length - 1];
  const all = Math.floor((last - first) / stride) + 1;
  const n = Math.min(all, max);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = first + Math.floor((i * all) / n) * stride;
  return out;
}

/** Fills `x` ([count, window]) and `y` ([count]) with the windows at starts[from .. from+count). */
export function fillWindows(signal: Float32Array, starts: Int32Array, from: number, count: number, window: number, x: Float32Array, y: Float32Array): void {
  for (let b = 0; b < count; b++) {
    const s = starts[from + b];
    x.set(signal.subarray(s, s + window), b * window);
    y[b] = signal[s + window];
  }
}

export interface Batch {
  /** `[batch, window, 1]` */
  x: tf.Tensor3D;
  /** `[batch, 1]` */
  y: tf.Tensor2D;
}

/** A signal with its windows and splits; builds batch tensors on demand. */
export class WindowDataset {
  readonly splits: Splits;
  constructor(
    readonly signal: Float32Array,
    readonly window: number,
    cfg: Pick<TrainConfig, 'split' | 'trainFraction' | 'devFraction' | 'seed'>,
  ) {
    this.splits = splitWindows(signal.length, window, cfg);
  }

  /** The batch tensors for starts[from .. from+count); the caller disposes them. */
  batch(starts: Int32Array, from: number, count: number): Batch {
    const n = Math.min(count, starts.length - from);
    const x = new Float32Array(n * this.window);
    const y = new Float32Array(n);
    fillWindows(this.signal, starts, from, n, this.window, x, y);
    return { x: tf.tensor3d(x, [n, this.window, 1]), y: tf.tensor2d(y, [n, 1]) };
  }

  /**
   * A seeded shuffled copy of the training starts for one epoch, cut to `max` when max > 0. A cut
   * much smaller than the split is drawn without copying the split (Floyd's sampling), so that an
   * epoch of a long recording costs memory in proportion to the windows it trains on.
   */
  epochOrder(epoch: number, seed: number, max = 0): Int32Array {
    const train = this.splits.train;
    const rng = new SeededRandom(seed * 7919 + epoch);
    if (max > 0 && max * 4 < train.length) {
      const picked = new Set<number>();
      for (let j = train.length - max; j < train.length; j++) {
        const t = rng.int(j + 1);
        picked.add(picked.has(t) ? j : t);
      }
      const order = new Int32Array(max);
      let i = 0;
      for (const k of picked) order[i++] = train[k];
      return rng.shuffle(order); // Floyd's set is not in random order
    }
    const order = rng.shuffle(train.slice());
    return max > 0 && max < order.length ? order.subarray(0, max) : order;
  }
}
