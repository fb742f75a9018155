// The normalisation of the audio families (categorical, spectral): the mean removed and the peak
// scaled to a given level, for recordings and presets alike.
import type { Normalisation } from '../../../shared/contract';
import { LabError } from '../../../shared/errors';

/** The map that takes `x` to zero mean and a peak of `peak`; throws `bad_signal` for a constant signal. */
export function peakNormalisation(x: Float32Array, peak: number): Normalisation {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= x.length;
  let top = 0;
  for (let i = 0; i < x.length; i++) top = Math.max(top, Math.abs(x[i] - mean));
  if (!(top > 1e-9)) throw new LabError('bad_signal', 'The signal is constant (silence?): there is nothing to learn');
  return { offset: mean, scale: top / peak };
}
