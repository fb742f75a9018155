// Waveform peaks: what the UI draws of a long signal instead of its samples.
import { describe, expect, it } from 'vitest';
import { computePeaks, MAX_PEAK_BUCKETS } from '../../src/shared/dsp/peaks';

describe('waveform peaks', () => {
  it('hold each bucket\'s largest and smallest sample, clamped to the axis', () => {
    const x = Float32Array.from([0.5, -0.25, 0.75, 0.1, 0.2, 0.3, -0.9, -0.1]);
    const p = computePeaks(x, 4);
    expect(Array.from(p.max)).toEqual([0.5, 0.75, 0.30000001192092896, 0]);
    expect(Array.from(p.min)).toEqual([-0.25, 0, 0, -0.8999999761581421]);
  });

  it('an hour at 16 kHz becomes at most 65,536 buckets that keep its loudest moment', () => {
    const x = new Float32Array(57_600_000);
    x[41_234_567] = 0.9;
    x[123] = -0.7;
    const p = computePeaks(x);
    expect(p.max.length).toBe(MAX_PEAK_BUCKETS);
    expect(Math.max(...p.max)).toBeCloseTo(0.9, 6);
    expect(Math.min(...p.min)).toBeCloseTo(-0.7, 6);
    expect(p.max.indexOf(Math.max(...p.max))).toBe(Math.floor((41_234_567 * MAX_PEAK_BUCKETS) / x.length));
  });

  it('a signal shorter than the bucket count keeps one sample per bucket', () => {
    expect(computePeaks(new Float32Array(10)).max.length).toBe(10);
  });
});
