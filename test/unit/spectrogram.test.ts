import { describe, expect, it } from 'vitest';
import { spectrogramImage } from '../../src/shared/dsp/spectrogram';
import { strongestBandHz } from '../../src/renderer/components/Spectrogram';

describe('spectrogram picture', () => {
  it('puts a tone in its band, for a second or an hour alike (at most 400 columns)', () => {
    const rate = 16_000;
    const tone = (n: number) => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / rate));
    const short = spectrogramImage(tone(rate), rate);
    expect(short.rows).toBe(128);
    expect(short.maxHz).toBe(8000);
    expect(short.seconds).toBe(1);
    // 128 bands of 62.5 Hz: 1 kHz lies in band 16.
    expect(Math.abs(strongestBandHz(short)! - 1000)).toBeLessThan(62.5);
    const long = spectrogramImage(tone(3600 * 200), 200 * 20); // many samples, few columns
    expect(long.columns).toBe(400);
    expect(long.values.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('draws silence dark, not as its own loudest cell', () => {
    const s = spectrogramImage(new Float32Array(16_000), 16_000);
    expect(s.columns).toBeGreaterThan(0);
    expect(Math.max(...s.values)).toBe(0);
    expect(spectrogramImage(new Float32Array(0), 16_000).columns).toBe(0);
  });
});
