// Phase-vocoder resynthesis: transparent at 1x, pitch and level kept when time is stretched, and a
// state that carries across calls (and through pack/unpack) without changing a sample.
import { describe, expect, it } from 'vitest';
import {
  createPhaseVocoderState,
  flushPhaseVocoder,
  packPhaseVocoderState,
  PHASE_VOCODER_STATE_VERSION,
  resynthesisLength,
  resynthesize,
  resynthesizeSignal,
  spectralPeaks,
  timeStretch,
  unpackPhaseVocoderState,
} from '../../src/shared/dsp/phase-vocoder';
import { spectralDistance } from '../../src/shared/dsp/spectral-distance';
import { dominantFrequency, rms } from '../../src/shared/dsp/spectrum';
import { peakDeviations } from '../../src/shared/dsp/spectral-features';
import { frequencyDeviations, istft, magnitudes, stft } from '../../src/shared/dsp/stft';

function noise(length: number, seed = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length }, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1);
}

function sine(length: number, frequency: number, amplitude: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => amplitude * Math.sin(2 * Math.PI * frequency * i));
}

/** Index of the first sample where a and b differ (bit for bit), or -1 when they are identical. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function maxError(a: Float32Array, b: Float32Array): number {
  expect(b.length).toBe(a.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

/** A signal with partials and noise: what locking has to get right. */
function mixture(length: number): Float32Array {
  const a = sine(length, 0.0213, 0.4);
  const b = sine(length, 0.0831, 0.2);
  const n = noise(length, 7);
  return a.map((v, i) => v + b[i] + 0.05 * n[i]);
}

describe('phase-vocoder resynthesis', () => {
  it.each([
    [1024, 256],
    [1024, 512],
    [512, 128],
  ])('of analysed frames gives the signal back at 1x (frame %i, hop %i)', (frameSize, hop) => {
    for (const x of [noise(6001), mixture(6001)]) {
      const spec = stft(x, { frameSize, hop });
      for (const phaseLocking of [true, false]) {
        const y = resynthesizeSignal(magnitudes(spec), frequencyDeviations(spec), { frameSize, analysisHop: hop, phaseLocking, length: x.length });
        expect(maxError(x, y)).toBeLessThan(1e-5);
        expect(maxError(istft(spec), y)).toBeLessThan(1e-5);
      }
    }
  });

  it.each([1, 2, 0.5])('keeps a sine\'s frequency and amplitude when time is stretched %sx, and scales its length', (factor) => {
    const f = 440 / 16_000;
    const x = sine(16_000, f, 0.5);
    const stretched = timeStretch(x, factor);
    expect(stretched.factor).toBe(factor);
    expect(stretched.samples.length).toBe(Math.round((x.length - 1) * factor) + 1);
    const middle = stretched.samples.subarray(1024, stretched.samples.length - 1024);
    expect(Math.abs(dominantFrequency(middle) - f) / f).toBeLessThan(0.005);
    expect(Math.abs(rms(middle) * Math.SQRT2 - 0.5) / 0.5).toBeLessThan(0.02);
  });

  it('stretched 2x and back 0.5x keeps three partials within 1 dB, where unlocked bins drift apart', () => {
    const partials = [sine(12_000, 0.0213, 0.4), sine(12_000, 0.0831, 0.2), sine(12_000, 0.1577, 0.1)];
    const x = partials[0].map((v, i) => v + partials[1][i] + partials[2][i]);
    const there = (phaseLocking: boolean) => timeStretch(timeStretch(x, 2, { phaseLocking }).samples, 0.5, { phaseLocking }).samples;
    const locked = spectralDistance(x, there(true));
    const unlocked = spectralDistance(x, there(false));
    expect(locked.lsd).toBeLessThan(1);
    expect(locked.spectralConvergence).toBeLessThan(0.1);
    expect(locked.spectralConvergence).toBeLessThan(unlocked.spectralConvergence / 2);
  });

  it('refuses stretches its hops cannot make, naming the factor', () => {
    expect(() => timeStretch(noise(100), 0.4)).toThrow(/factor .* but got 0.4/);
    expect(() => timeStretch(noise(100), 0)).toThrow(/factor .* but got 0/);
    expect(() => timeStretch(noise(100), 600)).toThrow(/factor .* but got 600/);
    expect(timeStretch(new Float32Array(0), 2).samples.length).toBe(0);
  });
});

/** Each frame's frequencies from its peaks, as a generator has them (no measured phase). */
function fromPeaks(m: Float32Array, bins: number): Float32Array {
  const d = new Float32Array(m.length);
  const peaks = new Int32Array(bins);
  for (let t = 0; t < m.length / bins; t++) peakDeviations(m.subarray(t * bins, (t + 1) * bins), bins, d.subarray(t * bins, (t + 1) * bins), peaks);
  return d;
}

describe('phase-vocoder resynthesis of drawn frames', () => {
  const n = 16000;
  const level = (x: Float32Array, y: Float32Array) => rms(y.subarray(1024, n - 1024)) / rms(x.subarray(1024, n - 1024));
  it.each([
    ['a steady sine', Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(2 * Math.PI * 0.0213 * i)), 0.99, 0.5],
    // Its peak moves to another bin every frame or two: a new partial's phases each time.
    ['a rising chirp', Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(2 * Math.PI * (0.01 * i + (0.1 * i * i) / (2 * n)))), 0.7, 0.2],
  ])('from magnitudes and the peaks\' frequencies keeps the level of %s (as if measured, it does not)', (_name, x, drawnAtLeast, measuredBelow) => {
    const spec = stft(x);
    const m = magnitudes(spec);
    const d = fromPeaks(m, spec.bins);
    const drawn = resynthesizeSignal(m, d, { length: n, drawn: true });
    expect(level(x, drawn)).toBeGreaterThan(drawnAtLeast);
    expect(level(x, drawn)).toBeLessThan(1.02);
    expect(level(x, resynthesizeSignal(m, d, { length: n }))).toBeLessThan(measuredBelow);
    // The spectrum at the middle second's frame sits where the source's does.
    const middle = (y: Float32Array) => dominantFrequency(y.subarray(n / 2 - 2048, n / 2 + 2048));
    expect(Math.abs(middle(drawn) / middle(x) - 1)).toBeLessThan(0.02);
  });

  it.each([100.3, 100.7, 200.45])("give a new partial's bins the phases a steady sinusoid at %f bins has, relative to its peak", (bin) => {
    const N = 1024;
    const x = Float32Array.from({ length: 4 * N }, (_, i) => 0.5 * Math.cos((2 * Math.PI * bin * i) / N + 0.3));
    const spec = stft(x, { frameSize: N });
    const t = 6; // a frame wholly inside the signal
    const m = magnitudes(spec).subarray(t * spec.bins, (t + 1) * spec.bins);
    const d = fromPeaks(m, spec.bins);
    const state = createPhaseVocoderState({ frameSize: N });
    resynthesize(state, m, d, { drawn: true }); // one frame of a fresh state: every peak is new
    const p = Math.round(bin);
    const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));
    const measured = (k: number) => Math.atan2(spec.im[t * spec.bins + k], spec.re[t * spec.bins + k]);
    for (let k = p - 12; k <= p + 12; k++) {
      if (k === p) continue;
      expect(Math.abs(wrap(state.synthesisPhase[k] - state.synthesisPhase[p] - (measured(k) - measured(p))))).toBeLessThan(0.05);
    }
  });
});

describe('phase-vocoder state', () => {
  it.each([
    ['1x, locked', 256, 256, true, false],
    ['1x, unlocked', 256, 256, false, false],
    ['stretched 2x', 128, 256, true, false],
    ['stretched 0.5x', 512, 256, true, false],
    ['drawn frames', 256, 256, true, true],
  ] as const)('resynthesising in two calls, packed between them, equals one call exactly (%s)', (_name, analysisHop, synthesisHop, phaseLocking, drawn: boolean) => {
    const spec = stft(mixture(4000), { hop: analysisHop });
    const m = magnitudes(spec);
    const bins = spec.bins;
    const d = drawn ? fromPeaks(m, bins) : frequencyDeviations(spec);
    const whole = createPhaseVocoderState({ analysisHop, synthesisHop });
    const all = resynthesize(whole, m, d, { phaseLocking, drawn });
    expect(all.length).toBe(resynthesisLength(createPhaseVocoderState({ analysisHop, synthesisHop }), spec.frames));
    for (const split of [0, 1, 3, 5, spec.frames - 1, spec.frames]) {
      const first = createPhaseVocoderState({ analysisHop, synthesisHop });
      const a = resynthesize(first, m.subarray(0, split * bins), d.subarray(0, split * bins), { phaseLocking, drawn });
      const carried = unpackPhaseVocoderState(packPhaseVocoderState(first));
      const b = resynthesize(carried, m.subarray(split * bins), d.subarray(split * bins), { phaseLocking, drawn });
      const joined = new Float32Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      expect(firstDifference(joined, all)).toBe(-1);
      expect(firstDifference(packPhaseVocoderState(carried), packPhaseVocoderState(whole))).toBe(-1);
      expect(firstDifference(flushPhaseVocoder(carried), flushPhaseVocoder(whole))).toBe(-1);
    }
  });

  it('one frame per call, as a generator makes them, equals one call', () => {
    const spec = stft(mixture(4000));
    const m = magnitudes(spec);
    const d = frequencyDeviations(spec);
    const all = resynthesize(createPhaseVocoderState(), m, d);
    let state = createPhaseVocoderState();
    const parts: number[] = [];
    for (let t = 0; t < spec.frames; t++) {
      parts.push(...resynthesize(state, m.subarray(t * spec.bins, (t + 1) * spec.bins), d.subarray(t * spec.bins, (t + 1) * spec.bins)));
      state = unpackPhaseVocoderState(packPhaseVocoderState(state));
    }
    expect(firstDifference(Float32Array.from(parts), all)).toBe(-1);
  });

  it('packs to version, sizes, frame count, phases, peaks and tail, and refuses a damaged pack, naming what is wrong', () => {
    const state = createPhaseVocoderState({ frameSize: 512, analysisHop: 64, synthesisHop: 128 });
    const packed = packPhaseVocoderState(state);
    expect(packed.length).toBe(5 + 3 * 257 + (512 - 128));
    expect(Array.from(packed.subarray(0, 5))).toEqual([PHASE_VOCODER_STATE_VERSION, 512, 64, 128, 0]);
    expect(() => unpackPhaseVocoderState(packed.subarray(0, 3))).toThrow(/at least 5 values, but got 3/);
    expect(() => unpackPhaseVocoderState(Float32Array.from([9, ...packed.subarray(1)]))).toThrow(/version 2, but got 9/);
    expect(() => unpackPhaseVocoderState(packed.subarray(0, packed.length - 1))).toThrow(/1160 values .* but got 1159/);
    const bad = packed.slice();
    bad[100] = NaN;
    expect(() => unpackPhaseVocoderState(bad)).toThrow(/value 100 is NaN/);
    const badPeak = packed.slice();
    badPeak[5 + 2 * 257 + 3] = 0.5;
    expect(() => unpackPhaseVocoderState(badPeak)).toThrow(/peak flags to be 0 or 1, but value 522 is 0.5/);
    const badFrames = packed.slice();
    badFrames[4] = 2.5;
    expect(() => unpackPhaseVocoderState(badFrames)).toThrow(/frame count .* but got 2.5/);
    const badSize = packed.slice();
    badSize[1] = 500;
    expect(() => unpackPhaseVocoderState(badSize)).toThrow(/frameSize .* but got 500/);
  });

  it('refuses magnitudes and deviations that are not whole frames of the same size', () => {
    const state = createPhaseVocoderState();
    expect(() => resynthesize(state, new Float32Array(513), new Float32Array(512))).toThrow(/513 and 512/);
    expect(() => resynthesize(state, new Float32Array(100), new Float32Array(100))).toThrow(/multiple of 513 bins/);
    expect(() => createPhaseVocoderState({ synthesisHop: 1000 })).toThrow(/synthesisHop .* but got 1000/);
  });
});

describe('spectral peaks', () => {
  it('are bins above two neighbours on each side', () => {
    const m = Float32Array.from([0, 1, 5, 1, 0.5, 2, 3, 3, 1, 0, 0, 0]);
    const peaks = new Int32Array(m.length);
    const count = spectralPeaks(m, 0, m.length, peaks);
    expect(Array.from(peaks.subarray(0, count))).toEqual([2, 6]);
  });
});
