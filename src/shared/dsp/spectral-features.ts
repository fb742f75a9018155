// The spectral family's features and their way back to sound: per STFT frame, each bin's
// log-magnitude scaled to about [-1.5, 1.5]; and, for a frame of magnitudes a model drew, each bin's
// frequency taken from the spectrum's peaks (where the phase vocoder needs an instantaneous
// frequency that no phase measured). Pure, so that the engine, the UI and a worklet share it.
import { spectralPeaks } from './phase-vocoder';
import { magnitudes, stft } from './stft';

/**
 * Magnitudes are divided by frameSize / 4 (a unit sine's Hann peak), so one feature scale fits every
 * frame size, and floored 100 dB under that: far below the 60 dB floor the continuation metrics use.
 */
export const MAGNITUDE_FLOOR = 1e-5;
/** feature = (ln(m / (N/4)) + LOG_OFFSET) / LOG_SCALE: the floor maps to -1.38, a half-scale sine's peak to 1.33. */
export const LOG_OFFSET = 6;
export const LOG_SCALE = 4;
/** The feature of a floored (silent) bin. */
export const FEATURE_FLOOR = (Math.log(MAGNITUDE_FLOOR) + LOG_OFFSET) / LOG_SCALE;
/**
 * Largest feature a generator keeps: a bin as loud as a full-scale sine's (twice the loudest a
 * recording scaled to a peak of 0.5 can hold), so a net fed its own draws cannot run away upwards.
 */
export const FEATURE_CEILING = LOG_OFFSET / LOG_SCALE;

/** The log-magnitude feature of one magnitude. */
export function magnitudeFeature(m: number, frameSize: number): number {
  return (Math.log(Math.max(MAGNITUDE_FLOOR, m / (frameSize / 4))) + LOG_OFFSET) / LOG_SCALE;
}

/** The magnitude of one feature (the inverse of magnitudeFeature above the floor). */
export function featureMagnitude(v: number, frameSize: number): number {
  return Math.exp(v * LOG_SCALE - LOG_OFFSET) * (frameSize / 4);
}

export interface SpectralFeatures {
  frames: number;
  bins: number;
  /** `[frames, bins]`, row-major. */
  features: Float32Array;
}

/** The features of every STFT frame of `x` (stft()'s framing: frame t centred on sample t·hop). */
export function spectralFeatures(x: Float32Array, frameSize: number, hop: number): SpectralFeatures {
  const spec = stft(x, { frameSize, hop });
  const m = magnitudes(spec);
  const features = new Float32Array(m.length);
  for (let i = 0; i < m.length; i++) features[i] = magnitudeFeature(m[i], frameSize);
  return { frames: spec.frames, bins: spec.bins, features };
}

/**
 * Frequency deviations (in bins, as frequencyDeviations() measures them) for one frame of magnitudes
 * that no analysis measured: each peak's frequency by parabolic interpolation of the log-magnitudes
 * around it (within 0.06 bin for a Hann window), given to every bin of the peak's region (down to the
 * troughs on either side) as the phase vocoder's locking expects: a partial's bins all turn at its
 * frequency. `logMagnitude` (optional): the log-magnitudes or the features, if the caller has them. `peaks` receives the peaks' bins (room for `bins`); returns how many (for resynthesize()).
 */
export function peakDeviations(magnitude: Float32Array, bins: number, out: Float32Array, peaks: Int32Array, logMagnitude?: ArrayLike<number>): number {
  const count = spectralPeaks(magnitude, 0, bins, peaks);
  if (count === 0) {
    out.fill(0, 0, bins);
    return 0;
  }
  let lo = 0;
  for (let i = 0; i < count; i++) {
    const p = peaks[i];
    let offset = 0;
    if (p > 0 && p < bins - 1) {
      // Any increasing affine map of ln |X| gives the same offset (the features: the generator has them, not
      // the logs). Read here, not through a closure: a closure's returned numbers were boxed, three heap
      // numbers per peak, and the generator runs this once per frame (live: per batch), so nothing here allocates.
      let a: number;
      let b: number;
      let c: number;
      if (logMagnitude) {
        a = logMagnitude[p - 1];
        b = logMagnitude[p];
        c = logMagnitude[p + 1];
      } else {
        a = Math.log(Math.max(1e-30, magnitude[p - 1]));
        b = Math.log(Math.max(1e-30, magnitude[p]));
        c = Math.log(Math.max(1e-30, magnitude[p + 1]));
      }
      const d = a - 2 * b + c;
      if (d < 0) offset = Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / d));
    }
    let hi = bins - 1;
    if (i + 1 < count) {
      hi = p;
      for (let k = p + 1; k < peaks[i + 1]; k++) if (magnitude[k] < magnitude[hi]) hi = k;
    }
    for (let k = lo; k <= hi; k++) out[k] = p + offset - k;
    lo = hi + 1;
  }
  return count;
}
