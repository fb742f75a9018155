// WAV in and out through the wavefile codec: any common PCM or float WAV in, mixed to mono; 32-bit float out.
import * as wavefile from 'wavefile';
import { LabError } from '../errors';

// Node loads wavefile's CommonJS build (exports under `default`); bundlers load its ES module.
const cjsDefault = 'default'; // a computed key, so that bundlers do not warn about a missing export
const WaveFile: typeof wavefile.WaveFile = wavefile.WaveFile ?? (wavefile as unknown as Record<string, typeof wavefile>)[cjsDefault].WaveFile;
type WaveFile = wavefile.WaveFile;

export interface DecodedAudio {
  /** Mono samples, nominally in [-1, 1]. */
  samples: Float32Array;
  sampleRate: number;
  channels: number;
  /** wavefile's name for the source format: '8', '16', '24', '32', '32f', '64'. */
  bitDepth: string;
}

const PCM_SCALE: Record<string, (v: number) => number> = {
  '8': (v) => (v - 128) / 128, // 8-bit WAV is unsigned
  '16': (v) => v / 32768,
  '24': (v) => v / 8388608,
  '32': (v) => v / 2147483648,
  '32f': (v) => v,
  '64': (v) => v,
};

/** Decodes a WAV file; throws `bad_file` naming what is wrong (not a WAV, unsupported format, no samples, non-finite). */
export function decodeWav(bytes: Uint8Array, name = 'WAV file'): DecodedAudio {
  let wav: WaveFile;
  try {
    wav = new WaveFile(bytes);
  } catch (e) {
    throw new LabError('bad_file', `${name} is not a readable WAV file: ${(e as Error).message}`);
  }
  const fmt = wav.fmt as { audioFormat: number; numChannels: number; sampleRate: number };
  let bitDepth = wav.bitDepth;
  // Companded formats are decoded to 16-bit PCM first.
  if (fmt.audioFormat === 7) {
    wav.fromMuLaw();
    bitDepth = '16';
  } else if (fmt.audioFormat === 6) {
    wav.fromALaw();
    bitDepth = '16';
  }
  const scale = PCM_SCALE[bitDepth];
  if (!scale) throw new LabError('bad_file', `${name} uses an unsupported WAV format (audio format ${fmt.audioFormat}, bit depth ${bitDepth})`);
  const channels = fmt.numChannels;
  if (!Number.isInteger(channels) || channels < 1) throw new LabError('bad_file', `${name} declares ${channels} channels`);
  if (!(fmt.sampleRate > 0)) throw new LabError('bad_file', `${name} declares a sample rate of ${fmt.sampleRate}`);
  let interleaved: Float64Array;
  try {
    interleaved = wav.getSamples(true, Float64Array);
  } catch (e) {
    throw new LabError('bad_file', `${name} has a corrupt data chunk: ${(e as Error).message}`);
  }
  const frames = Math.floor(interleaved.length / channels);
  if (frames === 0) throw new LabError('bad_file', `${name} holds no samples`);
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += scale(interleaved[i * channels + c]);
    const v = s / channels;
    if (!Number.isFinite(v)) throw new LabError('bad_file', `${name} has a non-finite sample at frame ${i}`);
    samples[i] = v;
  }
  return { samples, sampleRate: fmt.sampleRate, channels, bitDepth };
}

/** Encodes mono samples as a 32-bit float WAV, so that the samples read back exactly. */
export function encodeWav(samples: Float32Array, sampleRate: number): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new LabError('bad_argument', `Expected sampleRate to be a positive integer, but got ${sampleRate}`);
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) throw new LabError('bad_signal', `Cannot write a WAV: sample ${i} is ${samples[i]}`);
  }
  const wav = new WaveFile();
  wav.fromScratch(1, sampleRate, '32f', samples);
  return wav.toBuffer();
}
