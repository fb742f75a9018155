// Audio imports: a WAV, FLAC, MP3 or Ogg Vorbis file's bytes to mono float32 at the model's rate, or a
// `bad_file` error naming the file and the reason (empty, not audio, corrupt, truncated, too long).
//
// The format comes from the magic bytes, never the name. WAV goes through the lab's own reader
// (src/shared/signals/wav.ts); the others through the wasm builds of libFLAC, mpg123 and libvorbis
// from wasm-audio-decoders (MIT, maintained, no native build, the wasm inlined so that nothing is
// fetched at run time). Those decoders happily return half a file when the file was cut short, so
// the container's own count is checked here: FLAC's STREAMINFO total, the Ogg end-of-stream page,
// whole MPEG frames and the Xing/Info frame count.
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { OggVorbisDecoder } from '@wasm-audio-decoders/ogg-vorbis';
import { MPEGDecoder } from 'mpg123-decoder';
import { LabError, checkInteger, checkNumber } from '../../shared/errors';
import { MAX_SAMPLE_RATE, resample } from '../../shared/dsp/resample';
import { decodeWav } from '../../shared/signals/wav';

export type AudioFormat = 'wav' | 'flac' | 'mp3' | 'ogg';

/** Longest import accepted unless the caller says otherwise: half an hour, ~80 M samples at 44.1 kHz. */
export const DEFAULT_MAX_SECONDS = 30 * 60;
/** Largest file accepted: a 30-minute 48 kHz stereo float WAV is 690 MB. */
export const MAX_AUDIO_FILE_BYTES = 1024 * 1024 * 1024;
/** Bytes handed to a compressed decoder at a time, so that only one chunk's channels are held before mixing. */
const DECODE_CHUNK_BYTES = 1 << 20;

export interface DecodeAudioOptions {
  /** Resample to this rate (Hz); by default the file's own rate is kept. */
  targetRate?: number;
  /** Refuse anything longer (seconds); DEFAULT_MAX_SECONDS by default. */
  maxSeconds?: number;
}

export interface DecodedAudioFile {
  /** Mono (channels averaged), at `sampleRate`. */
  samples: Float32Array;
  /** Rate of `samples`: the target rate when one was given. */
  sampleRate: number;
  /** The file's own rate. */
  sourceRate: number;
  /** The file's channel count, before mixing. */
  channels: number;
  format: AudioFormat;
  /** Length of `samples` in seconds. */
  seconds: number;
}

function bad(name: string, reason: string): LabError {
  return new LabError('bad_file', `${name} ${reason}`);
}

const ascii = (b: Uint8Array, at: number, n: number) => (at + n <= b.length ? String.fromCharCode(...b.subarray(at, at + n)) : '');

/** Length of an ID3v2 tag at `at` (header, body and footer), or 0 where there is none. */
function id3Length(b: Uint8Array, at: number): number {
  if (ascii(b, at, 3) !== 'ID3' || at + 10 > b.length) return 0;
  const size = ((b[at + 6] & 0x7f) << 21) | ((b[at + 7] & 0x7f) << 14) | ((b[at + 8] & 0x7f) << 7) | (b[at + 9] & 0x7f); // "syncsafe"
  return 10 + size + (b[at + 5] & 0x10 ? 10 : 0);
}

/** The format the bytes begin with, or null. An ID3 tag is skipped first: it may precede MP3 or (rarely) FLAC. */
export function sniffAudioFormat(b: Uint8Array): AudioFormat | null {
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WAVE') return 'wav';
  if (ascii(b, 0, 4) === 'OggS') return 'ogg';
  const at = id3Length(b, 0);
  if (ascii(b, at, 4) === 'fLaC') return 'flac';
  if (at > 0) return 'mp3';
  return mpegFrame(b, 0) ? 'mp3' : null;
}

// ---- MPEG audio frames -----------------------------------------------------------------------

// Bitrates in kbit/s by [MPEG-1 ? 0 : 1][layer 1..3][index]; MPEG-2 and 2.5 share a row.
const BITRATES = [
  [[], [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448], [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384], [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]],
  [[], [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256], [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160], [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]],
];
const MPEG_RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

interface MpegFrame {
  length: number;
  samples: number;
  sampleRate: number;
  channels: number;
  mpeg1: boolean;
}

/** The frame whose header is at `at`, or null where the bytes there are not one (free-format frames included: their length is unknown). */
function mpegFrame(b: Uint8Array, at: number): MpegFrame | null {
  if (at + 4 > b.length || b[at] !== 0xff || (b[at + 1] & 0xe0) !== 0xe0) return null;
  const version = (b[at + 1] >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const layer = 4 - ((b[at + 1] >> 1) & 3); // bits 11, 10, 01 are layers 1, 2, 3
  const bitrateIndex = b[at + 2] >> 4;
  const rateIndex = (b[at + 2] >> 2) & 3;
  if (version === 1 || layer === 4 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return null;
  const mpeg1 = version === 3;
  const bitrate = BITRATES[mpeg1 ? 0 : 1][layer][bitrateIndex] * 1000;
  const sampleRate = MPEG_RATES[version][rateIndex];
  const padding = (b[at + 2] >> 1) & 1;
  const channels = b[at + 3] >> 6 === 3 ? 1 : 2;
  if (layer === 1) return { length: (Math.floor((12 * bitrate) / sampleRate) + padding) * 4, samples: 384, sampleRate, channels, mpeg1 };
  const samples = layer === 3 && !mpeg1 ? 576 : 1152;
  return { length: Math.floor((samples / 8) * bitrate / sampleRate) + padding, samples, sampleRate, channels, mpeg1 };
}

/**
 * Walks an MP3's frames from the first header to the last whole frame. `truncated` says why the file
 * looks cut short (a last frame that runs past the end, or fewer frames than its Xing/Info header
 * counts); null where it looks whole. Frames after unrecognised bytes (trailing tags, junk) are left to
 * mpg123, which resynchronises.
 */
function walkMpeg(b: Uint8Array): { frames: number; samples: number; sampleRate: number; channels: number; truncated: string | null } | null {
  let at = id3Length(b, 0);
  if (at > b.length) return null;
  while (at < b.length && !mpegFrame(b, at)) at++; // tag padding before the first frame
  const first = mpegFrame(b, at);
  if (!first) return null;
  // A Xing or Info header in the first frame (after the side information) counts the audio frames.
  const xingAt = at + 4 + (first.mpeg1 ? (first.channels === 1 ? 17 : 32) : first.channels === 1 ? 9 : 17);
  const tag = ascii(b, xingAt, 4);
  let declared: number | null = null;
  if ((tag === 'Xing' || tag === 'Info') && xingAt + 12 <= b.length && b[xingAt + 7] & 1) {
    declared = new DataView(b.buffer, b.byteOffset + xingAt + 8, 4).getUint32(0);
    at += first.length; // that frame is silent metadata, not audio
  }
  let frames = 0;
  let samples = 0;
  for (let f = mpegFrame(b, at); f; f = mpegFrame(b, at)) {
    if (at + f.length > b.length) {
      return { frames, samples, sampleRate: first.sampleRate, channels: first.channels, truncated: `its last MPEG frame (at byte ${at}) needs ${f.length} bytes but only ${b.length - at} remain` };
    }
    frames++;
    samples += f.samples;
    at += f.length;
  }
  // Short of the count: cut at a frame boundary (the walk reached the end, or a trailing ID3v1 tag), or damaged.
  const cut = at >= b.length || ascii(b, at, 3) === 'TAG';
  const truncated = declared !== null && frames < declared ? `its Xing/Info header counts ${declared} frames but only ${frames} ${cut ? 'follow' : `are whole before unreadable bytes at ${at}`}` : null;
  return { frames, samples, sampleRate: first.sampleRate, channels: first.channels, truncated };
}

// ---- Ogg pages ------------------------------------------------------------------------------

/**
 * Walks an Ogg file's pages. Returns the Vorbis identification header's channels and rate and the
 * last granule position (samples), or throws naming the damage: a page that does not start where the
 * previous one ended, a page cut short, no end-of-stream page.
 */
function walkOgg(b: Uint8Array, name: string): { channels: number; sampleRate: number; lastGranule: number } {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 0;
  let lastFlags = 0;
  let lastGranule = 0;
  let info: { channels: number; sampleRate: number } | null = null;
  while (at < b.length) {
    if (ascii(b, at, 4) !== 'OggS') throw bad(name, `is corrupt: no Ogg page where one should start (byte ${at})`);
    if (at + 27 > b.length) throw bad(name, `is truncated: its last Ogg page header (at byte ${at}) is cut short`);
    const segments = b[at + 26];
    if (at + 27 + segments > b.length) throw bad(name, `is truncated: its last Ogg page (at byte ${at}) is cut short`);
    let body = 0;
    for (let i = 0; i < segments; i++) body += b[at + 27 + i];
    const bodyAt = at + 27 + segments;
    if (bodyAt + body > b.length) throw bad(name, `is truncated: its last Ogg page (at byte ${at}) declares ${body} bytes but only ${b.length - bodyAt} remain`);
    if (!info) {
      if (ascii(b, bodyAt, 7) !== '\x01vorbis' || body < 16) throw bad(name, 'holds an Ogg stream that is not Vorbis (only Ogg Vorbis is supported)');
      info = { channels: b[bodyAt + 11], sampleRate: view.getUint32(bodyAt + 12, true) };
    }
    lastFlags = b[at + 5];
    const granule = Number(view.getBigInt64(at + 6, true));
    if (granule >= 0) lastGranule = granule; // -1: no packet ends on this page
    at = bodyAt + body;
  }
  if (!info) throw bad(name, 'is corrupt: it holds no Ogg page');
  if (!(lastFlags & 4)) throw bad(name, 'is truncated: its last Ogg page is not marked end-of-stream');
  return { ...info, lastGranule };
}

// ---- FLAC STREAMINFO -------------------------------------------------------------------------

/** FLAC's STREAMINFO block (right after the "fLaC" marker): rate, channels and total samples (0: unknown). */
function flacStreamInfo(b: Uint8Array, name: string): { sampleRate: number; channels: number; totalSamples: number } {
  const at = id3Length(b, 0) + 4;
  if ((b[at] & 0x7f) !== 0 || at + 4 + 34 > b.length) throw bad(name, 'is corrupt: its FLAC STREAMINFO block is missing or cut short');
  const s = at + 4;
  const sampleRate = (b[s + 10] << 12) | (b[s + 11] << 4) | (b[s + 12] >> 4);
  const channels = ((b[s + 12] >> 1) & 7) + 1;
  const totalSamples = (b[s + 13] & 0x0f) * 2 ** 32 + new DataView(b.buffer, b.byteOffset + s + 14, 4).getUint32(0);
  return { sampleRate, channels, totalSamples };
}

// ---- decoding --------------------------------------------------------------------------------

interface WasmDecodeResult {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string }[];
}

interface WasmDecoder {
  ready: Promise<void>;
  decode(data: Uint8Array): WasmDecodeResult | Promise<WasmDecodeResult>;
  flush?(): Promise<WasmDecodeResult>;
  free(): void;
}

/** Runs a wasm decoder over the file a chunk at a time, averaging each chunk's channels straight away. */
async function decodeMixed(decoder: WasmDecoder, bytes: Uint8Array, name: string): Promise<{ samples: Float32Array; sampleRate: number }> {
  const parts: Float32Array[] = [];
  let total = 0;
  let sampleRate = 0;
  const take = (r: WasmDecodeResult) => {
    if (r.errors.length) throw bad(name, `is corrupt: the decoder reports "${r.errors[0].message}"`);
    if (r.samplesDecoded === 0) return;
    sampleRate = r.sampleRate;
    const mono = new Float32Array(r.samplesDecoded);
    const gain = 1 / r.channelData.length;
    for (const channel of r.channelData) for (let i = 0; i < mono.length; i++) mono[i] += channel[i] * gain;
    for (let i = 0; i < mono.length; i++) {
      if (!Number.isFinite(mono[i])) throw bad(name, `has a non-finite sample at frame ${total + i}`);
    }
    parts.push(mono);
    total += mono.length;
  };
  try {
    await decoder.ready;
    for (let at = 0; at < bytes.length; at += DECODE_CHUNK_BYTES) take(await decoder.decode(bytes.subarray(at, at + DECODE_CHUNK_BYTES)));
    if (decoder.flush) take(await decoder.flush());
  } catch (e) {
    if (e instanceof LabError) throw e;
    throw bad(name, `is corrupt: the decoder failed (${(e as Error).message})`);
  } finally {
    decoder.free();
  }
  const samples = new Float32Array(total);
  for (let i = 0, at = 0; i < parts.length; at += parts[i].length, i++) samples.set(parts[i], at);
  return { samples, sampleRate };
}

/** m:ss.s, rounded down so that a file just over the limit does not read as equal to it. */
function formatSeconds(s: number): string {
  const tenths = Math.floor(s * 10);
  return `${Math.floor(tenths / 600)}:${((tenths % 600) / 10).toFixed(1).padStart(4, '0')}`;
}

function checkLength(name: string, seconds: number, maxSeconds: number): void {
  if (seconds > maxSeconds) throw bad(name, `is too long: ${formatSeconds(seconds)} (m:ss.s); the lab imports at most ${formatSeconds(maxSeconds)}`);
}

/**
 * Decodes a WAV, FLAC, MP3 or Ogg Vorbis file to mono float32, resampled to `targetRate` when given.
 * `name` is only for messages. Throws `bad_file` naming the file and the reason.
 */
export async function decodeAudioFile(bytes: Uint8Array, name: string, options: DecodeAudioOptions = {}): Promise<DecodedAudioFile> {
  const maxSeconds = checkNumber('maxSeconds', options.maxSeconds ?? DEFAULT_MAX_SECONDS, Number.MIN_VALUE);
  if (options.targetRate !== undefined) checkInteger('targetRate', options.targetRate, 1, MAX_SAMPLE_RATE);
  if (bytes.length === 0) throw bad(name, 'is empty');
  if (bytes.length > MAX_AUDIO_FILE_BYTES) throw bad(name, `is too large: ${bytes.length} bytes; the lab imports files of at most ${MAX_AUDIO_FILE_BYTES} bytes`);
  const format = sniffAudioFormat(bytes);
  if (!format) throw bad(name, 'is not audio the lab can read: it does not start like a WAV, FLAC, MP3 or Ogg Vorbis file');

  let samples: Float32Array;
  let sourceRate: number;
  let channels: number;
  if (format === 'wav') {
    const wav = decodeWav(bytes, name); // throws bad_file with its own reasons
    ({ samples, sampleRate: sourceRate, channels } = wav);
    checkLength(name, samples.length / sourceRate, maxSeconds);
  } else if (format === 'flac') {
    const info = flacStreamInfo(bytes, name);
    if (info.sampleRate > 0 && info.totalSamples > 0) checkLength(name, info.totalSamples / info.sampleRate, maxSeconds); // before decoding it all
    ({ samples, sampleRate: sourceRate } = await decodeMixed(new FLACDecoder() as WasmDecoder, bytes, name));
    channels = info.channels;
    if (info.totalSamples > 0 && samples.length !== info.totalSamples) {
      throw bad(name, `is ${samples.length < info.totalSamples ? 'truncated or corrupt' : 'corrupt'}: its header declares ${info.totalSamples} samples but ${samples.length} decode`);
    }
  } else if (format === 'ogg') {
    const info = walkOgg(bytes, name);
    if (info.sampleRate > 0) checkLength(name, info.lastGranule / info.sampleRate, maxSeconds);
    ({ samples, sampleRate: sourceRate } = await decodeMixed(new OggVorbisDecoder() as WasmDecoder, bytes, name));
    channels = info.channels;
  } else {
    const walk = walkMpeg(bytes);
    if (!walk) throw bad(name, 'is corrupt: it holds no MPEG audio frame');
    if (walk.truncated) throw bad(name, `is truncated or corrupt: ${walk.truncated}`);
    checkLength(name, walk.samples / walk.sampleRate, maxSeconds);
    ({ samples, sampleRate: sourceRate } = await decodeMixed(new MPEGDecoder() as WasmDecoder, bytes, name));
    channels = walk.channels; // mpg123 always hands back two channels, a mono file's twice
  }
  if (samples.length === 0 || !(sourceRate > 0)) throw bad(name, 'is corrupt: it decodes to no samples');
  checkLength(name, samples.length / sourceRate, maxSeconds);

  const sampleRate = options.targetRate ?? sourceRate;
  if (sampleRate !== sourceRate) samples = resample(samples, sourceRate, sampleRate);
  return { samples, sampleRate, sourceRate, channels, format, seconds: samples.length / sampleRate };
}
