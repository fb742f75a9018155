import { describe, expect, it } from 'vitest';
import { WaveFile } from 'wavefile';
import { generateSignal, getPreset, noiseFloor, PRESETS } from '../../src/shared/signals/generators';
import { decodeWav, encodeWav } from '../../src/shared/signals/wav';
import { dominantFrequency, rms } from '../../src/shared/dsp/spectrum';
import { fitLinearPredictor, linearPredictorMse, persistenceMse } from '../../src/shared/dsp/linear-predictor';
import { LabError } from '../../src/shared/errors';

describe('signal generators', () => {
  it('the sine preset is the notebook signal: 50,001 samples, 0.01 cycles/sample, noise sd 0.02, seeded', () => {
    const spec = getPreset('sine').signal;
    const a = generateSignal(spec);
    expect(a.length).toBe(50_001);
    expect(generateSignal(spec)).toEqual(a);
    let s2 = 0;
    for (let i = 0; i < a.length; i++) s2 += (a[i] - Math.sin(2 * Math.PI * 0.01 * i)) ** 2;
    expect(Math.sqrt(s2 / a.length)).toBeCloseTo(0.02, 3);
    expect(noiseFloor(spec)).toBeCloseTo(0.0004, 10);
    expect(dominantFrequency(a)).toBeCloseTo(0.01, 5);
    expect(rms(a)).toBeCloseTo(Math.SQRT1_2, 2);
  });

  it('a different seed gives different noise; a longer length keeps the same prefix', () => {
    const spec = getPreset('sine').signal;
    const a = generateSignal({ ...spec, length: 1000 });
    expect(generateSignal({ ...spec, length: 1000, seed: 2 })).not.toEqual(a);
    expect(generateSignal({ ...spec, length: 2000 }).subarray(0, 1000)).toEqual(a);
  });

  it('every preset generates finite samples with the stated dominant frequency where there is one', () => {
    for (const p of Object.values(PRESETS)) {
      const x = generateSignal({ ...p.signal, length: 4000 });
      expect(x.every(Number.isFinite)).toBe(true);
    }
    expect(dominantFrequency(generateSignal({ ...PRESETS.square.signal, length: 4000 }))).toBeCloseTo(0.01, 4);
    expect(dominantFrequency(generateSignal({ ...PRESETS.sawtooth.signal, length: 4000 }))).toBeCloseTo(0.01, 4);
  });

  it('rejects a bad spec naming the field', () => {
    expect(() => generateSignal({ kind: 'sine', length: -3, frequency: 0.01 })).toThrow(/length/);
    expect(() => getPreset('nope')).toThrow(/Unknown preset "nope"/);
  });
});

describe('WAV input and output', () => {
  it('round-trips float samples exactly', () => {
    const x = generateSignal({ kind: 'sine', length: 777, frequency: 0.03, noise: 0.1 });
    const back = decodeWav(encodeWav(x, 16000));
    expect(back.sampleRate).toBe(16000);
    expect(back.samples).toEqual(x);
  });

  it('mixes 16-bit stereo PCM to mono and scales to [-1, 1]', () => {
    const wav = new WaveFile();
    // Interleaved L/R: (16384, 0), (-32768, -32768)
    wav.fromScratch(2, 8000, '16', [new Int16Array([16384, -32768]), new Int16Array([0, -32768])]);
    const d = decodeWav(wav.toBuffer());
    expect(d.channels).toBe(2);
    expect(Array.from(d.samples)).toEqual([0.25, -1]);
  });

  it('reads 8-bit unsigned and 24-bit PCM', () => {
    const w8 = new WaveFile();
    w8.fromScratch(1, 8000, '8', [128, 255, 0]);
    expect(Array.from(decodeWav(w8.toBuffer()).samples)).toEqual([0, 127 / 128, -1]);
    const w24 = new WaveFile();
    w24.fromScratch(1, 8000, '24', [4194304, -8388608]);
    expect(Array.from(decodeWav(w24.toBuffer()).samples)).toEqual([0.5, -1]);
  });

  it('names the problem with a corrupt or empty file', () => {
    expect(() => decodeWav(new Uint8Array([1, 2, 3, 4]), 'noise.wav')).toThrow(/noise.wav is not a readable WAV file/);
    const good = encodeWav(new Float32Array([0.1, 0.2]), 8000);
    expect(() => decodeWav(good.slice(0, 20), 'cut.wav')).toThrow(LabError);
    const empty = new WaveFile();
    empty.fromScratch(1, 8000, '16', []);
    expect(() => decodeWav(empty.toBuffer(), 'empty.wav')).toThrow(/holds no samples/);
  });

  it('refuses to write non-finite samples', () => {
    expect(() => encodeWav(new Float32Array([0, NaN]), 8000)).toThrow(/sample 1 is NaN/);
  });
});

describe('reference predictors', () => {
  it('the least-squares AR predictor recovers a known AR(2) process', () => {
    // x[t] = 1.6 x[t-1] - 0.8 x[t-2] + e
    const n = 20_000;
    const x = new Float32Array(n);
    const e = generateSignal({ kind: 'sine', length: n, frequency: 0, amplitude: 0, noise: 0.1, seed: 3 });
    for (let t = 2; t < n; t++) x[t] = 1.6 * x[t - 1] - 0.8 * x[t - 2] + e[t];
    const starts = Int32Array.from({ length: n - 11 }, (_, i) => i);
    const p = fitLinearPredictor(x, starts, 10, 2);
    expect(p.weights[1]).toBeCloseTo(1.6, 1);
    expect(p.weights[0]).toBeCloseTo(-0.8, 1);
    expect(linearPredictorMse(p, x, starts, 10)).toBeCloseTo(0.01, 3);
    expect(persistenceMse(x, starts, 10)).toBeGreaterThan(0.02);
  });
});
