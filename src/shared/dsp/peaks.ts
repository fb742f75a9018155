// Min/max peaks of a signal per bucket: what a waveform draws. A long recording is shown from these
// (65,536 buckets at most) instead of every sample, so that opening an hour of audio sends the UI
// 512 KB, not 230 MB, and the page never walks the whole array.

/** Buckets a preview holds at most: about 30 screens wide at 1920 px before zooming shows steps. */
export const MAX_PEAK_BUCKETS = 65_536;

export interface Peaks {
  /** Per bucket, the largest sample (at least 0, so that the waveform starts at the axis). */
  max: Float32Array;
  /** Per bucket, the smallest sample (at most 0). */
  min: Float32Array;
}

/** Peaks of `x` in `buckets` equal spans (one sample per bucket when the signal is shorter). */
export function computePeaks(x: Float32Array, buckets = MAX_PEAK_BUCKETS): Peaks {
  const n = Math.max(0, Math.min(buckets, x.length));
  const max = new Float32Array(n);
  const min = new Float32Array(n);
  for (let b = 0; b < n; b++) {
    const from = Math.floor((b * x.length) / n);
    const to = Math.floor(((b + 1) * x.length) / n);
    let hi = 0;
    let lo = 0;
    for (let i = from; i < to; i++) {
      const v = x[i];
      if (v > hi) hi = v;
      else if (v < lo) lo = v;
    }
    max[b] = hi;
    min[b] = lo;
  }
  return { max, min };
}
