// The spectral family's windows: the signal cut into STFT frames once; a window of T steps reads the
// features of frames s .. s+T-1 and predicts frames s+1 .. s+T, every step. Splits are contiguous
// spans of frames (blocked): neighbouring frames share three quarters of their samples.
import * as tf from '@tensorflow/tfjs';
import type { SpectralSpec, TrainConfig } from '../../../../shared/contract';
import { spectralFeatures } from '../../../../shared/dsp/spectral-features';
import { totalmem } from 'node:os';
import { frameCount } from '../../../../shared/dsp/stft';
import { LabError } from '../../../../shared/errors';
import { TRAINING_MEMORY_FRACTION } from '../../budget';
import { tileStarts, WindowDataset, windowCount, type Splits } from '../../dataset';
import { SeededRandom } from '../../../../shared/signals/random';
import type { FamilyDataset } from '../family';

export class SpectralDataset implements FamilyDataset {
  readonly splits: Splits;
  readonly frames: number;
  readonly bins: number;
  /** `[frames, bins]` log-magnitude features (shared/dsp/spectral-features.ts). */
  readonly features: Float32Array;
  private readonly windows: WindowDataset;

  constructor(
    samples: Float32Array,
    readonly spec: SpectralSpec,
    train: Pick<TrainConfig, 'window' | 'trainFraction' | 'devFraction' | 'seed'>,
  ) {
    // The STFT keeps real and imaginary parts, then magnitudes and features: 16 bytes per bin and frame.
    const bytes = frameCount(samples.length, spec.hop) * (spec.frameSize / 2 + 1) * 16;
    const limit = totalmem() * TRAINING_MEMORY_FRACTION;
    if (bytes > limit) {
      throw new LabError(
        'bad_argument',
        `Cutting ${samples.length.toLocaleString('en-US')} samples into frames of ${spec.frameSize} every ${spec.hop} needs about ${(bytes / 1024 ** 3).toFixed(1)} GB, over the limit of ${(limit / 1024 ** 3).toFixed(1)} GB (a quarter of this machine's memory): raise the hop or shorten the signal`,
      );
    }
    const f = spectralFeatures(samples, spec.frameSize, spec.hop);
    this.frames = f.frames;
    this.bins = f.bins;
    this.features = f.features;
    // Each of three blocked splits needs at least one window of `window` frames and its next frame.
    const need = Math.ceil((train.window + 2) / Math.min(train.trainFraction, train.devFraction, 1 - train.trainFraction - train.devFraction));
    if (windowCount(this.frames, train.window) < 1 || this.frames < need) {
      const samplesNeeded = (need - 1) * spec.hop;
      throw new LabError(
        'bad_signal',
        `The signal gives ${this.frames} frames of ${spec.frameSize} samples every ${spec.hop}; windows of ${train.window} frames in three splits need about ${need} (${samplesNeeded.toLocaleString('en-US')} samples): use a longer signal, or lower the window or the hop`,
      );
    }
    // A WindowDataset over one value per frame gives the blocked splits and the seeded epoch order:
    // its window at s reads s .. s+T-1 and its target s+T is this family's last target frame.
    this.windows = new WindowDataset(new Float32Array(this.frames), train.window, { ...train, split: 'blocked' });
    this.splits = this.windows.splits;
  }

  get window(): number {
    return this.windows.window;
  }

  epochOrder(epoch: number, seed: number, max: number): Int32Array {
    return this.windows.epochOrder(epoch, seed, max);
  }

  /** x `[n, T, bins]` the frames of each window (with the spec's input noise unless `noisy` is false), y `[n, T, bins]` the frames one step later. */
  batch(order: Int32Array, from: number, size: number, noisy = true): { x: tf.Tensor3D; y: tf.Tensor3D } {
    const n = Math.min(size, order.length - from);
    const T = this.window;
    const F = this.bins;
    const x = new Float32Array(n * T * F);
    const y = new Float32Array(n * T * F);
    for (let b = 0; b < n; b++) {
      const s = order[from + b];
      x.set(this.features.subarray(s * F, (s + T) * F), b * T * F);
      y.set(this.features.subarray((s + 1) * F, (s + T + 1) * F), b * T * F);
    }
    if (this.spec.inputNoise > 0 && noisy) {
      // Seeded by the batch's first window and position, so that a run repeats exactly.
      const rng = new SeededRandom(order[from] * 7919 + from);
      for (let i = 0; i < x.length; i++) x[i] += this.spec.inputNoise * rng.normal();
    }
    return { x: tf.tensor3d(x, [n, T, F]), y: tf.tensor3d(y, [n, T, F]) };
  }

  /**
   * Starts of windows that tile `starts`' span so that, after the burn-in of each, every prediction
   * is counted once: a stride of T - burn, at most `max` windows spread evenly.
   */
  tiles(starts: Int32Array, burn: number, max: number): Int32Array {
    return tileStarts(starts, this.window, burn, max);
  }
}
