// Frame-by-frame spectral distances between a signal and an estimate of it, for judging resynthesis:
// log-spectral distance (LSD, dB) and spectral convergence. Both compare STFT magnitudes frame by
// frame, so they need time-aligned signals of equal length; a continuation that only has to sound
// alike is judged on long-term spectra instead (continuation metrics, elsewhere).
import { LabError } from '../errors';
import { magnitudes, stft, type StftOptions } from './stft';

/** dB. */
export type Decibels = number;

/** How far under the reference's loudest bin spectra are floored, so that near-silent bins do not dominate LSD. */
export const LSD_FLOOR_DB: Decibels = 60;

export interface SpectralDistanceOptions extends StftOptions {
  /** dB under the reference's loudest bin (over the whole spectrogram) at which both spectra are floored. Default LSD_FLOOR_DB. */
  floorDb?: Decibels;
}

export interface SpectralDistance {
  /** Log-spectral distance: per frame the RMS over bins of the dB difference, averaged over frames. 0 for identical spectra. */
  lsd: Decibels;
  /** ‖|X| − |Y|‖_F / ‖|X|‖_F over the whole spectrogram: 0 for identical magnitudes, 1 for an estimate of silence. */
  spectralConvergence: number;
  /** Frames compared. */
  frames: number;
}

/**
 * LSD and spectral convergence of `estimate` against `reference`, two signals of the same length,
 * through the STFT (Hann, frameSize/hop as given; defaults 1024/256).
 */
export function spectralDistance(reference: Float32Array, estimate: Float32Array, options: SpectralDistanceOptions = {}): SpectralDistance {
  if (reference.length !== estimate.length) {
    throw new LabError('bad_argument', `Expected signals of equal length, but got ${reference.length} and ${estimate.length} samples`);
  }
  const x = stft(reference, options);
  const y = stft(estimate, options);
  return magnitudeDistance(magnitudes(x), magnitudes(y), x.bins, options.floorDb);
}

/** LSD and spectral convergence of two magnitude spectrograms, [frames, bins] each. */
export function magnitudeDistance(reference: Float32Array, estimate: Float32Array, bins: number, floorDb: Decibels = LSD_FLOOR_DB): SpectralDistance {
  if (!Number.isInteger(bins) || bins < 1) throw new LabError('bad_argument', `Expected bins to be a positive integer, but got ${bins}`);
  if (reference.length !== estimate.length || reference.length % bins !== 0) {
    throw new LabError('bad_argument', `Expected spectrograms of equal length, a multiple of ${bins} bins, but got ${reference.length} and ${estimate.length}`);
  }
  if (!(floorDb >= 0) || !Number.isFinite(floorDb)) throw new LabError('bad_argument', `Expected floorDb to be a non-negative number, but got ${floorDb}`);
  const frames = reference.length / bins;
  let peak = 0;
  for (let i = 0; i < reference.length; i++) peak = Math.max(peak, reference[i]);
  // A silent reference has no scale to floor against; the smallest normal double keeps logs finite.
  const floor = peak > 0 ? peak * 10 ** (-floorDb / 20) : Number.MIN_VALUE;
  let lsdSum = 0;
  let errorEnergy = 0;
  let referenceEnergy = 0;
  for (let t = 0; t < frames; t++) {
    let squares = 0;
    for (let k = 0; k < bins; k++) {
      const a = reference[t * bins + k];
      const b = estimate[t * bins + k];
      const difference = 20 * Math.log10(Math.max(a, floor) / Math.max(b, floor));
      squares += difference * difference;
      errorEnergy += (a - b) * (a - b);
      referenceEnergy += a * a;
    }
    lsdSum += Math.sqrt(squares / bins);
  }
  const spectralConvergence = referenceEnergy > 0 ? Math.sqrt(errorEnergy / referenceEnergy) : errorEnergy > 0 ? Infinity : 0;
  return { lsd: frames ? lsdSum / frames : 0, spectralConvergence, frames };
}
