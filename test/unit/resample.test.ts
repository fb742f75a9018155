// Resampling for audio imports: a tone keeps its frequency and level, what the new rate cannot hold is
// filtered out rather than folded back as an alias.
import { describe, expect, it } from 'vitest';
import { resample } from '../../src/shared/dsp/resample';
import { dominantFrequency, rms } from '../../src/shared/dsp/spectrum';

function tone(hz: number, sampleRate: number, seconds = 0.5, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * sampleRate) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate));
}

/** The middle 80 %: the zero-phase filter's ends ring against the silence around the signal. */
const middle = (x: Float32Array) => x.subarray(Math.floor(x.length * 0.1), Math.floor(x.length * 0.9));

describe('resample', () => {
  it('44.1 kHz to 16 kHz keeps a 440 Hz sine\'s frequency (0.1 %) and amplitude (1 %)', () => {
    const y = resample(tone(440, 44_100), 44_100, 16_000);
    expect(y.length).toBe(8_000);
    expect(Math.abs((dominantFrequency(middle(y)) * 16_000) / 440 - 1)).toBeLessThan(0.001);
    expect(Math.abs((rms(middle(y)) * Math.SQRT2) / 0.5 - 1)).toBeLessThan(0.01);
  });

  it('removes a 12 kHz tone, which 16 kHz cannot hold, by at least 40 dB instead of aliasing it to 4 kHz', () => {
    const y = resample(tone(12_000, 44_100), 44_100, 16_000);
    expect(20 * Math.log10(rms(middle(y)) / (0.5 / Math.SQRT2))).toBeLessThan(-40);
  });

  it('upsamples 8 kHz to 16 kHz keeping a 440 Hz sine', () => {
    const y = resample(tone(440, 8_000), 8_000, 16_000);
    expect(y.length).toBe(8_000);
    expect(Math.abs((dominantFrequency(middle(y)) * 16_000) / 440 - 1)).toBeLessThan(0.001);
    expect(Math.abs((rms(middle(y)) * Math.SQRT2) / 0.5 - 1)).toBeLessThan(0.01);
  });

  it('leaves its input alone and copies at equal rates', () => {
    const x = tone(440, 44_100, 0.1);
    const before = x.slice();
    resample(x, 44_100, 16_000);
    expect(x.every((v, i) => v === before[i])).toBe(true); // wavefile's own resample filters its input in place
    const same = resample(x, 44_100, 44_100);
    expect(same).not.toBe(x);
    expect(same.every((v, i) => v === x[i])).toBe(true);
  });

  it('refuses a rate that is not a positive integer, naming it', () => {
    expect(() => resample(new Float32Array(10), 0, 16_000)).toThrow(/fromRate.*but got 0/);
    expect(() => resample(new Float32Array(10), 44_100, 15_999.5)).toThrow(/toRate.*but got 15999.5/);
  });
});
