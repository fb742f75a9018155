// Audio imports: each format's tone decodes at its pitch, mixed to mono, also resampled to 16 kHz; the
// format comes from the bytes, not the name; damaged files are refused with the file's name and why.
// The fixtures are committed (see test/fixtures/audio/README.md), so no encoder is needed here.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeAudioFile, sniffAudioFormat, type AudioFormat, type DecodedAudioFile } from '../../src/main/engine/decode-audio';
import { yinPitch } from '../../src/shared/dsp/continuation-metrics';
import { LabError } from '../../src/shared/errors';

const FIXTURES: { file: string; format: AudioFormat; channels: number; rate: number; peak: number }[] = [
  { file: 'tone-440.wav', format: 'wav', channels: 1, rate: 22_050, peak: 0.5 },
  { file: 'tone-440-stereo.flac', format: 'flac', channels: 2, rate: 44_100, peak: 0.25 }, // left only: the mix halves it
  { file: 'tone-440-stereo.mp3', format: 'mp3', channels: 2, rate: 44_100, peak: 0.25 },
  { file: 'tone-440-stereo.ogg', format: 'ogg', channels: 2, rate: 44_100, peak: 0.25 },
];

const bytesOf = (file: string) => new Uint8Array(readFileSync(new URL(`../fixtures/audio/${file}`, import.meta.url)));

/** Seeded bytes (an LCG): the same "random" file every run. */
function noise(n: number, seed = 12345): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

async function refusal(bytes: Uint8Array, name: string, options = {}): Promise<LabError> {
  try {
    await decodeAudioFile(bytes, name, options);
  } catch (e) {
    expect(e).toBeInstanceOf(LabError);
    expect((e as LabError).code).toBe('bad_file');
    expect((e as LabError).message.startsWith(`${name} `)).toBe(true);
    return e as LabError;
  }
  throw new Error(`${name} was accepted`);
}

const peak = (x: Float32Array) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('decodeAudioFile', () => {
  const native = new Map<string, DecodedAudioFile>();
  const at16k = new Map<string, DecodedAudioFile>();
  beforeAll(async () => {
    // mpg123's wasm build prints each decode error to stderr as well as returning it.
    vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const f of FIXTURES) {
      native.set(f.file, await decodeAudioFile(bytesOf(f.file), f.file));
      at16k.set(f.file, await decodeAudioFile(bytesOf(f.file), f.file, { targetRate: 16_000 }));
    }
  });
  afterAll(() => vi.restoreAllMocks());

  for (const f of FIXTURES) {
    describe(f.format, () => {
      it(`decodes the tone at 440 Hz (1 %), mixed to mono from ${f.channels} channel(s)`, () => {
        const d = native.get(f.file)!;
        expect(d).toMatchObject({ format: f.format, channels: f.channels, sampleRate: f.rate, sourceRate: f.rate });
        expect(d.seconds).toBeCloseTo(d.samples.length / f.rate, 9);
        expect(Math.abs(yinPitch(d.samples, d.sampleRate).pitchHz! / 440 - 1)).toBeLessThan(0.01);
        expect(Math.abs(peak(d.samples) / f.peak - 1)).toBeLessThan(0.1); // lossy codecs overshoot a little
      });

      it('keeps the pitch when resampled to 16 kHz', () => {
        const d = at16k.get(f.file)!;
        expect(d.sampleRate).toBe(16_000);
        expect(d.sourceRate).toBe(f.rate);
        expect(Math.abs(d.samples.length - Math.round((native.get(f.file)!.samples.length * 16_000) / f.rate))).toBeLessThanOrEqual(1);
        expect(Math.abs(yinPitch(d.samples, 16_000).pitchHz! / 440 - 1)).toBeLessThan(0.01);
      });

      it('refuses an empty file, a truncated one and random bytes behind a valid magic, naming the file', async () => {
        const bytes = bytesOf(f.file);
        const name = `broken.${f.format}`;
        expect((await refusal(new Uint8Array(0), name)).message).toMatch(/is empty/);
        expect((await refusal(bytes.subarray(0, Math.floor(bytes.length * 0.6)), name)).message).toMatch(/truncated/);
        const magic = f.format === 'wav' ? 12 : 4; // 'RIFF' size 'WAVE', or the four-byte mark
        const junk = noise(4000);
        junk.set(bytes.subarray(0, magic));
        expect(sniffAudioFormat(junk)).toBe(f.format);
        await refusal(junk, name);
      });

      if (f.format !== 'wav') {
        // A WAV's samples are any bytes at all; the compressed formats have structure to break.
        it('refuses a file whose headers are intact but whose audio is random bytes', async () => {
          const bytes = bytesOf(f.file).slice();
          bytes.set(noise(bytes.length - 600, 7).subarray(0), 600);
          await refusal(bytes, `scrambled.${f.format}`);
        });
      }
    });
  }

  it('goes by the bytes, not the name: FLAC called .mp3 decodes as FLAC, text called .wav is not audio', async () => {
    expect((await decodeAudioFile(bytesOf('tone-440-stereo.flac'), 'song.mp3')).format).toBe('flac');
    expect((await refusal(new TextEncoder().encode('just some notes, not a recording'), 'notes.wav')).message).toMatch(/not audio/);
  });

  it('finds an MP3 by its frame sync when it has no ID3 tag', async () => {
    const bytes = bytesOf('tone-440-stereo.mp3');
    const tagLength = 10 + ((bytes[6] << 21) | (bytes[7] << 14) | (bytes[8] << 7) | bytes[9]);
    const bare = bytes.subarray(tagLength);
    expect(bare[0]).toBe(0xff);
    const d = await decodeAudioFile(bare, 'bare.mp3');
    expect(d.format).toBe('mp3');
    expect(d.samples.length).toBe(native.get('tone-440-stereo.mp3')!.samples.length);
  });

  it('refuses a file longer than maxSeconds, naming both lengths', async () => {
    for (const f of FIXTURES) {
      expect((await refusal(bytesOf(f.file), f.file, { maxSeconds: 0.25 })).message).toMatch(/too long: 0:0(0\.5|1\.0) .*at most 0:00\.2/);
    }
  });

  it('refuses bad options naming the value', async () => {
    await expect(decodeAudioFile(bytesOf('tone-440.wav'), 'a.wav', { targetRate: 0 })).rejects.toThrow(/targetRate.*got 0/);
    await expect(decodeAudioFile(bytesOf('tone-440.wav'), 'a.wav', { maxSeconds: -1 })).rejects.toThrow(/maxSeconds.*got -1/);
  });
});
