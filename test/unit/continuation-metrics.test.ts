// Continuation metrics and trivial continuations on signals whose answers are known: sines, white noise,
// silence, a halved copy, a decaying tone.
import { describe, expect, it } from 'vitest';
import {
  continuationMetrics,
  spectralCentroid,
  spectralFlatness,
  welchPsd,
  yinPitch,
} from '../../src/shared/dsp/continuation-metrics';
import { judgeContinuation, lastPeriodLooped, linearPredictorFree, silence, spectralFreeze } from '../../src/shared/dsp/trivial-continuations';
import { SeededRandom } from '../../src/shared/signals/random';

const SR = 16_000;

function tone(hz: number, seconds: number, amplitude = 0.5, phase = 0, sampleRate = SR): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * sampleRate) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate + phase));
}

function noise(seconds: number, seed: number, amplitude = 0.3): Float32Array {
  const r = new SeededRandom(seed);
  return Float32Array.from({ length: Math.round(seconds * SR) }, () => amplitude * r.normal());
}

/** The same signal shifted by `samples` (the continuation of the prime that ends there). */
function toneFrom(hz: number, start: number, length: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * (start + i)) / SR));
}

describe('YIN pitch and voicing', () => {
  it.each([110, 220, 440])('finds a %i Hz sine within 0.5 %, every frame voiced', (hz) => {
    const { pitchHz, voicedFraction } = yinPitch(tone(hz, 0.5), SR);
    expect(Math.abs(pitchHz! / hz - 1)).toBeLessThan(0.005);
    expect(voicedFraction).toBe(1);
  });

  it('finds the same pitch at 44.1 kHz (the presets\' rate)', () => {
    expect(yinPitch(tone(441, 0.3, 1, 0, 44_100), 44_100).pitchHz).toBeCloseTo(441, 0);
  });

  it('calls white noise and silence unvoiced', () => {
    const n = yinPitch(noise(1, 1), SR);
    expect(n.voicedFraction).toBeLessThan(0.05);
    expect(n.pitchHz).toBeNull();
    expect(yinPitch(new Float32Array(SR), SR)).toEqual({ pitchHz: null, voicedFraction: 0 });
  });

  it('has nothing to say about a signal shorter than one frame', () => {
    expect(yinPitch(tone(220, 0.01), SR)).toEqual({ pitchHz: null, voicedFraction: null });
  });
});

describe('spectral flatness, centroid and log-spectral distance', () => {
  it('flatness is near 1 for white noise and near 0 for a sine', () => {
    expect(spectralFlatness(welchPsd(noise(2, 2))!)).toBeGreaterThan(0.9);
    expect(spectralFlatness(welchPsd(tone(220, 1))!)).toBeLessThan(0.01);
  });

  it.each([220, 1000, 3000])('the centroid of a %i Hz sine is its frequency', (hz) => {
    expect(spectralCentroid(welchPsd(tone(hz, 1))!, SR) / hz).toBeCloseTo(1, 2);
  });

  it('a signal is 0 dB from itself and from itself shifted in phase', () => {
    const x = tone(220, 1);
    expect(continuationMetrics(x, x, SR).lsdDb).toBe(0);
    expect(continuationMetrics(tone(220, 1, 0.5, 1), x, SR).lsdDb).toBeLessThan(0.01);
  });

  it('silence is far from a tone, and further from noise, whose every bin it misses', () => {
    // A tone's spectrum is under the floor (60 dB under its peak) in most bins, where silence agrees with it.
    const vsTone = continuationMetrics(silence(SR), tone(220, 1), SR).lsdDb!;
    expect(vsTone).toBeGreaterThan(4);
    expect(vsTone).toBeGreaterThan(100 * continuationMetrics(tone(220, 1, 0.5, 1), tone(220, 1), SR).lsdDb!);
    expect(continuationMetrics(silence(SR), noise(1, 3), SR).lsdDb).toBeGreaterThan(50);
  });

  it('a signal shorter than one Welch segment has no spectral figures', () => {
    const m = continuationMetrics(tone(220, 0.05), tone(220, 1), SR);
    expect([m.lsdDb, m.flatness, m.centroidHz]).toEqual([null, null, null]);
    expect(m.rmsRatio).toBeCloseTo(1, 2);
  });
});

describe('loudness over time', () => {
  it('a halved copy has an RMS ratio of 0.5 in every half second', () => {
    const x = tone(220, 2);
    const m = continuationMetrics(x.map((v) => v / 2), x, SR);
    expect(m.rmsRatio).toBeCloseTo(0.5, 6);
    expect(m.rmsOverTime).toHaveLength(4);
    for (const r of m.rmsOverTime) expect(r).toBeCloseTo(0.5, 6);
  });

  it('a tone that decays is flagged collapsed, one that keeps its level is not', () => {
    const source = tone(220, 1);
    const decaying = tone(220, 3).map((v, i) => v * Math.exp(-i / SR));
    const m = continuationMetrics(decaying, source, SR);
    expect(m.collapsed).toBe(true);
    expect(m.rmsOverTime[0]).toBeGreaterThan(0.5); // it starts fine and fades: only later blocks fail
    expect(m.rmsOverTime[5]).toBeLessThan(0.5);
    expect(continuationMetrics(tone(220, 3, 0.6), source, SR).collapsed).toBe(false);
  });

  it('a blow-up and non-finite samples count as collapse too', () => {
    const source = tone(220, 1);
    expect(continuationMetrics(tone(220, 1, 1.5), source, SR).collapsed).toBe(true);
    const broken = tone(220, 1);
    broken[100] = NaN;
    expect(continuationMetrics(broken, source, SR).collapsed).toBe(true);
  });

  it('the remainder of a length that is not whole blocks joins the last block', () => {
    expect(continuationMetrics(tone(220, 1.3), tone(220, 1), SR).rmsOverTime).toHaveLength(2);
    expect(continuationMetrics(tone(220, 0.2), tone(220, 1), SR).rmsOverTime).toHaveLength(1);
  });

  it('refuses what cannot be judged, naming the value', () => {
    const x = tone(220, 1);
    expect(() => continuationMetrics(new Float32Array(0), x, SR)).toThrow(/empty continuation/);
    expect(() => continuationMetrics(x, silence(SR), SR)).toThrow(/silent/);
    expect(() => continuationMetrics(x, x, 0)).toThrow(/sampleRate.*but got 0/);
    expect(() => continuationMetrics(x, x, SR, { welchSegment: 1000 })).toThrow(/welchSegment.*power of two.*1000/);
  });
});

describe('trivial continuations', () => {
  it.each([110, 220, 440, 333.3])('the last period of a %s Hz sine looped keeps its pitch, level and phase', (hz) => {
    const prime = tone(hz, 0.25);
    const loop = lastPeriodLooped(prime, SR, SR);
    const truth = toneFrom(hz, prime.length, SR);
    const m = continuationMetrics(loop, truth, SR);
    expect(Math.abs(m.pitchErrorPercent!)).toBeLessThan(0.5);
    expect(m.rmsRatio).toBeCloseTo(1, 2);
    expect(m.collapsed).toBe(false);
    // It continues the prime in phase: the first 10 ms follow the true continuation.
    for (let i = 0; i < 160; i++) expect(Math.abs(loop[i] - truth[i])).toBeLessThan(0.01);
  });

  it('a loop of a signal that is not quite periodic does not click at its joins', () => {
    // A glide from 200 to 230 Hz: no period repeats exactly, so unfaded joins would jump.
    const n = SR / 4;
    const prime = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(2 * Math.PI * (200 * (i / SR) + (30 / 2) * (i / SR) ** 2 / (n / SR))));
    const loop = lastPeriodLooped(prime, SR / 2, SR);
    const maxStep = (x: Float32Array) => x.reduce((m, v, i) => (i ? Math.max(m, Math.abs(v - x[i - 1])) : m), 0);
    expect(maxStep(loop)).toBeLessThan(1.2 * maxStep(prime));
  });

  it('the linear predictor run free continues a sine and lets noise die away', () => {
    const sine = linearPredictorFree(tone(220, 0.25), SR, 32);
    const m = continuationMetrics(sine, toneFrom(220, SR / 4, SR), SR);
    expect(Math.abs(m.pitchErrorPercent!)).toBeLessThan(0.5);
    expect(m.collapsed).toBe(false);
    expect(continuationMetrics(linearPredictorFree(noise(0.5, 4), SR, 32), noise(1, 5), SR).collapsed).toBe(true);
    expect(() => linearPredictorFree(tone(220, 0.001), 10, 32)).toThrow(/at least 65 samples.*got 16/);
  });

  it.each([220, 333.3, 1000])('the freeze of a %s Hz sine keeps its frequency and level for 2 s, continuing it in phase', (hz) => {
    const prime = tone(hz, 0.25);
    const freeze = spectralFreeze(prime, 2 * SR)!;
    expect(freeze).toHaveLength(2 * SR);
    const truth = toneFrom(hz, prime.length, 2 * SR);
    const m = continuationMetrics(freeze, truth, SR);
    expect(Math.abs(m.pitchErrorPercent!)).toBeLessThan(0.5);
    expect(Math.abs(m.rmsRatio - 1)).toBeLessThan(0.05);
    for (const r of m.rmsOverTime) expect(Math.abs(r - 1)).toBeLessThan(0.05);
    // Seamless: the first 10 ms follow the true continuation, so the join does not click.
    for (let i = 0; i < 160; i++) expect(Math.abs(freeze[i] - truth[i])).toBeLessThan(0.01);
  });

  it('the freeze of white noise stays broadband; of a sine, one line', () => {
    const noisy = continuationMetrics(spectralFreeze(noise(0.5, 6), 2 * SR)!, noise(2, 7), SR);
    const sine = continuationMetrics(spectralFreeze(tone(220, 0.25), 2 * SR)!, tone(220, 2), SR);
    expect(noisy.flatness!).toBeGreaterThan(0.3);
    expect(noisy.flatness!).toBeGreaterThan(30 * sine.flatness!);
    expect(noisy.collapsed).toBe(false);
  });

  it('a prime shorter than a frame and a hop is frozen from a smaller frame that fits, still in tune and level', () => {
    const prime = tone(440, 0.05); // 800 samples: the 1024-sample frame halves to 512
    const truth = toneFrom(440, prime.length, SR);
    const freeze = spectralFreeze(prime, SR)!;
    const m = continuationMetrics(freeze, truth, SR);
    expect(Math.abs(m.pitchErrorPercent!)).toBeLessThan(0.5);
    expect(Math.abs(m.rmsRatio - 1)).toBeLessThan(0.05);
    for (let i = 0; i < 160; i++) expect(Math.abs(freeze[i] - truth[i])).toBeLessThan(0.01);
  });

  it('there is nothing to freeze in a prime too short for the smallest frame, or silent at its end', () => {
    expect(spectralFreeze(tone(220, 319 / SR), SR)).toBeNull(); // the smallest frame and hop need 256 + 64 samples
    expect(spectralFreeze(tone(220, 320 / SR), 10)).toHaveLength(10);
    expect(spectralFreeze(new Float32Array(0), SR)).toBeNull();
    expect(spectralFreeze(new Float32Array(SR), SR)).toBeNull();
    expect(spectralFreeze(Float32Array.from({ length: SR }, (_, i) => (i < SR / 2 ? Math.sin(i) : 0)), SR)).toBeNull();
    expect(spectralFreeze(Float32Array.from(tone(220, 0.25), (v, i) => (i === 3900 ? NaN : v)), SR)).toBeNull();
    expect(() => spectralFreeze(tone(220, 0.25), SR, { hop: 1000 })).toThrow(/hop.*but got 1000/);
  });

  it('judges a model beside silence, the predictor, the loop and the freeze, all of its length', () => {
    const prime = tone(220, 0.25);
    const truth = toneFrom(220, prime.length, SR);
    const j = judgeContinuation(truth.map((v) => v * 0.3), prime, truth, SR);
    expect(j.model.rmsRatio).toBeCloseTo(0.3, 4);
    expect(j.model.collapsed).toBe(true);
    expect(j.baselines.silence.rmsRatio).toBe(0);
    expect(j.baselines.silence.collapsed).toBe(true);
    expect(j.baselines.silence.pitchHz).toBeNull();
    expect(j.baselines.linearPredictor!.collapsed).toBe(false);
    expect(j.baselines.lastPeriodLooped!.lsdDb).toBeLessThan(0.5);
    expect(j.linearPredictorOrder).toBe(32);
    expect(j.baselines.lastPeriodLooped!.rmsOverTime).toHaveLength(2);
    expect(j.baselines.spectralFreeze!.lsdDb).toBeLessThan(0.5);
    expect(j.baselines.spectralFreeze!.collapsed).toBe(false);
    expect(j.baselines.spectralFreeze!.rmsOverTime).toHaveLength(2);
  });

  it('a prime too short for a baseline leaves it null; an empty prime leaves all null', () => {
    const truth = tone(220, 0.5);
    const short = judgeContinuation(truth, tone(220, 0.0004), truth, SR); // 6 samples
    expect(short.linearPredictorOrder).toBe(2);
    expect(short.baselines.linearPredictor).not.toBeNull();
    expect(short.baselines.lastPeriodLooped).toBeNull();
    expect(short.baselines.spectralFreeze).toBeNull();
    const none = judgeContinuation(truth, new Float32Array(0), truth, SR);
    expect([none.baselines.linearPredictor, none.baselines.lastPeriodLooped, none.baselines.spectralFreeze, none.linearPredictorOrder]).toEqual([null, null, null, null]);
  });

  it('is deterministic', () => {
    const run = () => judgeContinuation(noise(0.6, 8), noise(0.3, 9), noise(0.6, 10), SR);
    expect(run()).toEqual(run());
  });
});
