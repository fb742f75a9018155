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

/** Where the chunks of a RIFF/WAVE file say they are; only what the size checks below need. */
function riffLayout(bytes: Uint8Array): { riffEnd: number; dataStart: number; dataSize: number } | null {
  if (bytes.length < 12) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riffEnd = 8 + view.getUint32(4, true);
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
    const size = view.getUint32(at + 4, true);
    if (id === 'data') return { riffEnd, dataStart: at + 8, dataSize: size };
    at += 8 + size + (size & 1); // chunks are padded to an even size
  }
  return { riffEnd, dataStart: -1, dataSize: 0 };
}

/**
 * Decodes a WAV file; throws `bad_file` naming what is wrong (not a WAV, truncated, sizes that do
 * not add up, unsupported format, no samples, non-finite).
 */
export function decodeWav(bytes: Uint8Array, name = 'WAV file'): DecodedAudio {
  let wav: WaveFile;
  try {
    wav = new WaveFile(bytes);
  } catch (e) {
    throw new LabError('bad_file', `${name} is not a readable WAV file: ${(e as Error).message}`);
  }
  // Read the format before any conversion: fromMuLaw()/fromALaw() rebuild the fmt chunk.
  const { audioFormat, numChannels: channels, sampleRate, blockAlign } = wav.fmt as { audioFormat: number; numChannels: number; sampleRate: number; blockAlign: number };
  if (!Number.isInteger(channels) || channels < 1) throw new LabError('bad_file', `${name} declares ${channels} channels`);
  if (!(sampleRate > 0)) throw new LabError('bad_file', `${name} declares a sample rate of ${sampleRate}`);
  // wavefile reads whatever bytes are there; a file whose sizes lie is cut short or damaged.
  const layout = riffLayout(bytes);
  if (!layout || layout.dataStart < 0) throw new LabError('bad_file', `${name} has no data chunk`);
  if (layout.dataStart + layout.dataSize > bytes.length) {
    throw new LabError('bad_file', `${name} is truncated: its data chunk declares ${layout.dataSize} bytes, but only ${bytes.length - layout.dataStart} follow`);
  }
  if (layout.riffEnd > bytes.length) {
    throw new LabError('bad_file', `${name} is truncated: its RIFF header declares ${layout.riffEnd} bytes, but the file holds ${bytes.length}`);
  }
  if (layout.dataStart + layout.dataSize > layout.riffEnd) {
    throw new LabError('bad_file', `${name} is damaged: its data chunk ends at byte ${layout.dataStart + layout.dataSize}, past the RIFF size (${layout.riffEnd})`);
  }
  if (blockAlign > 0 && layout.dataSize % blockAlign !== 0) {
    throw new LabError('bad_file', `${name} is damaged: its data chunk (${layout.dataSize} bytes) is not a whole number of ${blockAlign}-byte frames`);
  }
  let bitDepth = wav.bitDepth;
  // Companded formats are decoded to 16-bit PCM first.
  try {
    if (audioFormat === 7) {
      wav.fromMuLaw();
      bitDepth = '16';
    } else if (audioFormat === 6) {
      wav.fromALaw();
      bitDepth = '16';
    }
  } catch (e) {
    throw new LabError('bad_file', `${name} has a corrupt companded data chunk: ${(e as Error).message}`);
  }
  const scale = PCM_SCALE[bitDepth];
  if (!scale) throw new LabError('bad_file', `${name} uses an unsupported WAV format (audio format ${audioFormat}, bit depth ${bitDepth})`);
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
  return { samples, sampleRate, channels, bitDepth };
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
