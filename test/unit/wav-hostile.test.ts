// WAV decoding against companded formats, files whose sizes lie, and mutated real files: every input
// either decodes to finite samples or is refused with a LabError naming the file; nothing else escapes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WaveFile } from 'wavefile';
import { decodeWav, encodeWav } from '../../src/shared/signals/wav';
import { LabError } from '../../src/shared/errors';

function tone(n: number, amp = 20000): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * i) / 40)));
}

function pcm16(samples: number[], channels = 1): Uint8Array {
  const w = new WaveFile();
  w.fromScratch(channels, 8000, '16', samples);
  return w.toBuffer();
}

describe('companded WAVs (README lists them as supported)', () => {
  it('decodes µ-law and A-law files to the tone they hold', () => {
    const x = tone(400);
    for (const codec of ['mu', 'a'] as const) {
      const w = new WaveFile();
      w.fromScratch(1, 8000, '16', x);
      if (codec === 'mu') w.toMuLaw();
      else w.toALaw();
      const d = decodeWav(w.toBuffer(), `${codec}law.wav`);
      expect(d.sampleRate).toBe(8000);
      expect(d.channels).toBe(1);
      expect(d.samples.length).toBe(400);
      // Companding keeps about 12 bits near full scale: within 2 % of full scale everywhere.
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(d.samples[i] - x[i] / 32768));
      expect(worst).toBeLessThan(0.02);
    }
  });
});

describe('the direct PCM reader (long recordings)', () => {
  it('decodes every PCM and float depth, mono and stereo, as wavefile does', () => {
    const depths: [string, number][] = [['8', 100], ['16', 20000], ['24', 4_000_000], ['32', 1_000_000_000], ['32f', 0.7], ['64', 0.7]];
    for (const [depth, amp] of depths) {
      for (const channels of [1, 2]) {
        const n = 50 * channels;
        const values = Array.from({ length: n }, (_, i) => {
          const v = amp * Math.sin(i / 3);
          return depth === '8' ? Math.round(v + 128) : depth.endsWith('f') || depth === '64' ? v : Math.round(v);
        });
        const w = new WaveFile();
        w.fromScratch(channels, 22050, depth, values);
        const expected = new WaveFile(w.toBuffer()).getSamples(true, Float64Array);
        const d = decodeWav(w.toBuffer(), `${depth}.wav`);
        expect(d.channels).toBe(channels);
        expect(d.sampleRate).toBe(22050);
        const scale = { '8': 128, '16': 32768, '24': 8388608, '32': 2147483648, '32f': 1, '64': 1 }[depth]!;
        for (let i = 0; i < d.samples.length; i++) {
          let sum = 0;
          for (let c = 0; c < channels; c++) sum += (depth === '8' ? expected[i * channels + c] - 128 : expected[i * channels + c]) / scale;
          expect(d.samples[i]).toBeCloseTo(sum / channels, 6);
        }
      }
    }
  });
});

describe('WAVs whose sizes lie', () => {
  const good = pcm16(tone(100));
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

  it('refuses a file cut short, naming it and the missing bytes', () => {
    expect(() => decodeWav(good.slice(0, good.length - 51), 'cut.wav')).toThrow(/cut.wav is truncated: its data chunk declares 200 bytes, but only 149 follow/);
  });

  it('refuses a RIFF size larger than the file', () => {
    const b = good.slice();
    view(b).setUint32(4, 99_999, true);
    expect(() => decodeWav(b, 'riff.wav')).toThrow(/riff.wav is truncated/);
  });

  it('refuses a data size larger than what follows it', () => {
    const b = good.slice();
    view(b).setUint32(40, 99_999, true);
    view(b).setUint32(4, 99_999 + 36, true);
    expect(() => decodeWav(b, 'data.wav')).toThrow(/data.wav is truncated: its data chunk declares 99999 bytes, but only 200 follow/);
  });

  it('refuses a data chunk that is not a whole number of frames', () => {
    const b = pcm16(tone(100), 2);
    const odd = new Uint8Array(b.length + 2);
    odd.set(b);
    view(odd).setUint32(4, view(b).getUint32(4, true) + 2, true);
    view(odd).setUint32(40, view(b).getUint32(40, true) + 2, true);
    expect(() => decodeWav(odd, 'odd.wav')).toThrow(/odd.wav is damaged: its data chunk \(202 bytes\) is not a whole number of 4-byte frames/);
  });

  it('accepts bytes after the RIFF end (tags appended by some tools)', () => {
    const b = new Uint8Array(good.length + 16);
    b.set(good);
    expect(decodeWav(b, 'tagged.wav').samples.length).toBe(100);
  });
});

describe('fuzzing the decoder with mutated real files', () => {
  const seeds: Uint8Array[] = [
    pcm16(tone(64)),
    pcm16(tone(64), 2),
    encodeWav(Float32Array.from(tone(64), (v) => v / 32768), 16000),
    (() => {
      const w = new WaveFile();
      w.fromScratch(1, 8000, '16', tone(64));
      w.toMuLaw();
      return w.toBuffer();
    })(),
    (() => {
      const w = new WaveFile();
      w.fromScratch(1, 8000, '24', tone(64, 4_000_000));
      return w.toBuffer();
    })(),
  ];

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.nat() }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  );

  type Mutation = { kind: string; at: number; value?: number; bytes?: Uint8Array };

  function mutate(src: Uint8Array, ms: Mutation[]): Uint8Array {
    let b = src.slice();
    for (const m of ms) {
      const at = b.length ? m.at % b.length : 0;
      if (m.kind === 'byte') b[at] = m.value!;
      else if (m.kind === 'u32' && at + 4 <= b.length) new DataView(b.buffer).setUint32(at, m.value! >>> 0, true);
      else if (m.kind === 'cut') b = b.slice(0, at);
      else if (m.kind === 'insert') b = Uint8Array.from([...b.subarray(0, at), ...m.bytes!, ...b.subarray(at)]);
    }
    return b;
  }

  it('every mutation decodes to finite samples or is refused by name', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, ms) => {
        const bytes = mutate(seeds[which], ms);
        try {
          const d = decodeWav(bytes, 'fuzz.wav');
          expect(d.samples.length).toBeGreaterThan(0);
          expect(d.sampleRate).toBeGreaterThan(0);
          for (const v of d.samples) expect(Number.isFinite(v)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(LabError);
          expect((e as Error).message).toMatch(/^fuzz\.wav /);
        }
      }),
      { numRuns: 600, seed: 7 },
    );
  });
});
