// STFT analysis and resynthesis, instantaneous frequency, and the frame-by-frame spectral distances.
import { describe, expect, it } from 'vitest';
import {
  expMagnitudes,
  frameCount,
  frequencyDeviations,
  hannWindow,
  instantaneousFrequencies,
  istft,
  logMagnitudes,
  LOG_MAGNITUDE_FLOOR,
  magnitudes,
  principalArgument,
  stft,
} from '../../src/shared/dsp/stft';
import { magnitudeDistance, spectralDistance } from '../../src/shared/dsp/spectral-distance';

/** Deterministic white noise in [-1, 1) (Park–Miller). */
function noise(length: number, seed = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length }, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1);
}

function sine(length: number, frequency: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length }, (_, i) => amplitude * Math.sin(2 * Math.PI * frequency * i + 0.3));
}

function maxError(a: Float32Array, b: Float32Array): number {
  expect(b.length).toBe(a.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

describe('STFT and inverse STFT', () => {
  it.each([
    [1024, 256],
    [1024, 512],
    [512, 128],
    [256, 100],
    [64, 7],
  ])('give the signal back to 1e-5 at frame %i, hop %i', (frameSize, hop) => {
    const x = noise(5003);
    const spec = stft(x, { frameSize, hop });
    expect(spec.bins).toBe(frameSize / 2 + 1);
    expect(spec.frames).toBe(frameCount(x.length, hop));
    expect(spec.re.length).toBe(spec.frames * spec.bins);
    expect(maxError(x, istft(spec))).toBeLessThan(1e-5);
  });

  it('round-trip signals shorter than a frame, down to one sample', () => {
    for (const length of [1, 2, 255, 1023]) {
      const x = noise(length, length);
      expect(maxError(x, istft(stft(x)))).toBeLessThan(1e-5);
    }
    expect(stft(new Float32Array(0)).frames).toBe(0);
    expect(istft(stft(new Float32Array(0))).length).toBe(0);
  });

  it('centre frame t on sample t·hop, with frames up to the last sample', () => {
    expect(frameCount(1, 256)).toBe(1);
    expect(frameCount(257, 256)).toBe(2);
    expect(frameCount(258, 256)).toBe(3);
    // An impulse at sample 512 lands whole in frame 2 (centred there): flat magnitude at the window's peak.
    const x = new Float32Array(2048);
    x[512] = 1;
    const m = magnitudes(stft(x));
    for (const k of [0, 100, 513 - 1]) expect(m[2 * 513 + k]).toBeCloseTo(1, 6);
  });

  it('give a sine of amplitude A a peak of A·N/4 at its bin', () => {
    const x = sine(8192, 64 / 1024, 0.8); // exactly bin 64
    const spec = stft(x);
    const m = magnitudes(spec);
    expect(m[10 * spec.bins + 64]).toBeCloseTo((0.8 * 1024) / 4, 2);
  });

  it('use the periodic Hann window, whose squares overlap to 1.5 at a quarter frame', () => {
    const w = hannWindow(1024);
    expect(w[0]).toBe(0);
    expect(w[512]).toBeCloseTo(1, 12);
    for (const n of [0, 17, 255]) expect(w[n] ** 2 + w[n + 256] ** 2 + w[n + 512] ** 2 + w[n + 768] ** 2).toBeCloseTo(1.5, 12);
  });

  it('refuse sizes that are not powers of two and hops beyond half a frame, naming the value', () => {
    const x = noise(100);
    expect(() => stft(x, { frameSize: 1000 })).toThrow(/frameSize .* but got 1000/);
    expect(() => stft(x, { hop: 0 })).toThrow(/hop .* but got 0/);
    expect(() => stft(x, { frameSize: 1024, hop: 513 })).toThrow(/hop .* but got 513/);
    expect(() => istft(stft(x), 10_000)).toThrow(/length .* but got 10000/);
  });
});

describe('instantaneous frequency', () => {
  it('of a sine is its frequency in every bin of its main lobe', () => {
    const f = 0.0371; // between bins (37.99 at 1024)
    const spec = stft(sine(16_000, f));
    const frequency = instantaneousFrequencies(frequencyDeviations(spec), spec.bins);
    for (const t of [5, 20, 50]) {
      for (const k of [37, 38, 39]) expect(Math.abs(frequency[t * spec.bins + k] - f) / f).toBeLessThan(1e-4);
    }
    // In Hertz at 16 kHz: 593.6 Hz.
    expect(frequency[20 * spec.bins + 38] * 16_000).toBeCloseTo(593.6, 1);
  });

  it('is a deviation within ±frameSize / (2·hop) bins, and frame 0 is measured from zero phase', () => {
    const spec = stft(noise(4000), { frameSize: 512, hop: 128 });
    const deviation = frequencyDeviations(spec);
    for (const d of deviation) expect(Math.abs(d)).toBeLessThanOrEqual(2 + 1e-6);
    // Accumulating advances from zero phase gives the analysis phase back: check a few bins of frame 0.
    for (const k of [1, 10, 100]) {
      const phase = principalArgument((2 * Math.PI * (k + deviation[k]) * 128) / 512);
      expect(Math.abs(principalArgument(phase - Math.atan2(spec.im[k], spec.re[k])))).toBeLessThan(1e-5);
    }
  });

  it('uses principal values in (−π, π]', () => {
    expect(principalArgument(Math.PI)).toBeCloseTo(Math.PI, 12);
    expect(principalArgument(-Math.PI)).toBeCloseTo(Math.PI, 12);
    expect(principalArgument(7)).toBeCloseTo(7 - 2 * Math.PI, 12);
    expect(principalArgument(-100)).toBeCloseTo(-100 + 32 * Math.PI, 10);
  });
});

describe('log-magnitudes', () => {
  it('undo with exp down to the floor, which they refuse to be non-positive', () => {
    const m = Float32Array.from([0, 1e-9, 1e-3, 1, 300]);
    const back = expMagnitudes(logMagnitudes(m));
    expect(back[0]).toBeCloseTo(LOG_MAGNITUDE_FLOOR, 10);
    expect(back[1]).toBeCloseTo(LOG_MAGNITUDE_FLOOR, 10);
    for (const i of [2, 3, 4]) expect(Math.abs(back[i] - m[i]) / m[i]).toBeLessThan(1e-6);
    expect(() => logMagnitudes(m, 0)).toThrow(/floor .* but got 0/);
  });
});

describe('spectral distance', () => {
  it('of a signal with itself is 0 dB LSD and 0 spectral convergence', () => {
    const x = noise(8000);
    expect(spectralDistance(x, x)).toEqual({ lsd: 0, spectralConvergence: 0, frames: frameCount(8000, 256) });
    const silence = new Float32Array(2000);
    expect(spectralDistance(silence, silence).lsd).toBe(0);
    expect(spectralDistance(silence, silence).spectralConvergence).toBe(0);
  });

  it('of half the signal is 6.02 dB LSD and 0.5 spectral convergence', () => {
    const x = noise(8000);
    const half = x.map((v) => v / 2);
    const d = spectralDistance(x, half);
    expect(d.lsd).toBeCloseTo(20 * Math.log10(2), 2);
    expect(d.spectralConvergence).toBeCloseTo(0.5, 5);
  });

  it('floors both spectra 60 dB under the reference peak, so silence costs at most 60 dB', () => {
    const reference = Float32Array.from([1, 1]);
    expect(magnitudeDistance(reference, Float32Array.from([0, 0]), 2).lsd).toBeCloseTo(60, 9);
    expect(magnitudeDistance(reference, Float32Array.from([0, 0]), 2).spectralConvergence).toBe(1);
    expect(magnitudeDistance(reference, Float32Array.from([0, 0]), 2, 20).lsd).toBeCloseTo(20, 9);
  });

  it('refuse signals of different lengths, naming them', () => {
    expect(() => spectralDistance(noise(100), noise(99))).toThrow(/100 and 99/);
    expect(() => magnitudeDistance(new Float32Array(4), new Float32Array(4), 2, -1)).toThrow(/floorDb .* but got -1/);
  });
});
