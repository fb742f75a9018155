// Short-time Fourier analysis and resynthesis on Float32Array: Hann window, STFT, weighted overlap-add
// ISTFT, magnitudes, log-magnitudes and instantaneous frequency. Pure, so that the engine, the UI and
// an AudioWorklet share it; the spectral family's features and its phase vocoder are built on it.
//
// Framing: frame t is centred on sample t·hop (the signal is zero-padded by half a frame at each end),
// and there are frames up to the first centre at or after the last sample, so that every sample lies
// within half a hop of some centre: with hop ≤ frameSize / 2 the overlap-add divisor Σw² never falls
// below 0.25 (a Hann window a quarter frame off its centre is 0.5), at the ends as in the middle.
import FFT from 'fft.js';
import { LabError } from '../errors';


/** Samples per frame: 64 ms at 16 kHz, so that harmonics 16 Hz apart fall in different bins. */
export const DEFAULT_FRAME_SIZE = 1024;
/** Samples between frames: a quarter frame, where Hann² overlaps to a constant (1.5). */
export const DEFAULT_HOP = 256;
/**
 * The smallest magnitude logMagnitudes() keeps. A full-scale sine peaks at frameSize / 4 (256 at 1024);
 * 16-bit quantisation noise sits near 2e-4 per bin, so 1e-5 floors nothing a recording holds.
 */
export const LOG_MAGNITUDE_FLOOR = 1e-5;

export interface StftOptions {
  /** Samples per frame: a power of two, at least 4 (fft.js's sizes). Default DEFAULT_FRAME_SIZE. */
  frameSize?: number;
  /**
   * Samples between frame centres: 1 … frameSize / 2. Beyond half a frame some samples would lie
   * where every window is nearly zero and could not be recovered. Default DEFAULT_HOP.
   */
  hop?: number;
}

/** A complex spectrogram: frames × bins, row-major (frame t's bin k at t·bins + k). */
export interface Stft {
  frameSize: number;
  hop: number;
  /** Number of frames. */
  frames: number;
  /** Bins per frame: frameSize / 2 + 1, DC to Nyquist. */
  bins: number;
  /** Samples of the analysed signal (what istft() returns by default). */
  length: number;
  /** Real parts, [frames, bins]. */
  re: Float32Array;
  /** Imaginary parts, [frames, bins]. */
  im: Float32Array;
}

/** The frame size and hop, defaulted and checked; throws a LabError naming the bad value. */
export function resolveStftOptions(options: StftOptions = {}): { frameSize: number; hop: number } {
  const frameSize = options.frameSize ?? DEFAULT_FRAME_SIZE;
  const hop = options.hop ?? DEFAULT_HOP;
  checkFrameSize(frameSize);
  checkHop('hop', hop, frameSize);
  return { frameSize, hop };
}

/** Throws a LabError unless frameSize is a power of two of at least 4. */
export function checkFrameSize(frameSize: number): void {
  if (!Number.isInteger(frameSize) || frameSize < 4 || (frameSize & (frameSize - 1)) !== 0) {
    throw new LabError('bad_argument', `Expected frameSize to be a power of two of at least 4, but got ${frameSize}`);
  }
}

/** Throws a LabError, calling the hop `name`, unless it is an integer from 1 to frameSize / 2. */
export function checkHop(name: string, hop: number, frameSize: number): void {
  if (!Number.isInteger(hop) || hop < 1 || hop > frameSize / 2) {
    throw new LabError('bad_argument', `Expected ${name} to be an integer from 1 to frameSize / 2 (${frameSize / 2}), but got ${hop}`);
  }
}

/**
 * The periodic Hann window (w[n] = sin²(πn/N)): the one whose shifted copies sum to a constant, so
 * that overlap-add at a quarter or half frame needs no correction in the steady state.
 */
export function hannWindow(size: number): Float64Array {
  const w = new Float64Array(size);
  for (let n = 0; n < size; n++) w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / size);
  return w;
}

/** Frames stft() makes of `length` samples: centres 0, hop, … up to the first at or after the last sample. */
export function frameCount(length: number, hop: number): number {
  return length > 0 ? 1 + Math.ceil((length - 1) / hop) : 0;
}

/** Short-time Fourier transform with a Hann window; frame t is centred on sample t·hop. */
export function stft(x: Float32Array, options: StftOptions = {}): Stft {
  const { frameSize, hop } = resolveStftOptions(options);
  const bins = frameSize / 2 + 1;
  const frames = frameCount(x.length, hop);
  const re = new Float32Array(frames * bins);
  const im = new Float32Array(frames * bins);
  const window = sharedHannWindow(frameSize);
  const fft = new FFT(frameSize);
  const input = new Float64Array(frameSize);
  const out = fft.createComplexArray() as number[];
  const half = frameSize / 2;
  for (let t = 0; t < frames; t++) {
    const start = t * hop - half;
    for (let n = 0; n < frameSize; n++) {
      const i = start + n;
      input[n] = i >= 0 && i < x.length ? x[i] * window[n] : 0;
    }
    fft.realTransform(out, input as unknown as number[]);
    const row = t * bins;
    for (let k = 0; k < bins; k++) {
      re[row + k] = out[2 * k];
      im[row + k] = out[2 * k + 1];
    }
  }
  return { frameSize, hop, frames, bins, length: x.length, re, im };
}

type SynthesisFrame = (re: ArrayLike<number>, im: ArrayLike<number>, offset: number, out: Float64Array) => void;
// Made once per frame size: a generator resynthesises one frame per call, and FFT tables cost as much as a frame.
const synthesisFrames = new Map<number, SynthesisFrame>();
const windows = new Map<number, Float64Array>();

/** The Hann window of this size, shared: callers read it and never write it. */
export function sharedHannWindow(size: number): Float64Array {
  let w = windows.get(size);
  if (!w) windows.set(size, (w = hannWindow(size)));
  return w;
}

/**
 * The inverse FFT of one half spectrum (bins 0 … N/2, at `offset` in the arrays), times the Hann
 * window: one synthesis frame of weighted overlap-add. The function is shared per frame size and
 * reuses its buffers, so it is not reentrant (nothing here awaits between its calls).
 */
export function synthesisFrame(frameSize: number): SynthesisFrame {
  checkFrameSize(frameSize);
  const cached = synthesisFrames.get(frameSize);
  if (cached) return cached;
  const window = sharedHannWindow(frameSize);
  const half = frameSize / 2;
  // A real inverse FFT as one complex FFT of half the size (the even samples in the real parts, the odd in
  // the imaginary): half the work of a full-size complex transform of the Hermitian spectrum, which was
  // a quarter of the spectral family's time per generated frame. Z[k] = E[k] + i·O[k] with
  // E = (X[k] + X*[half-k]) / 2 and O = (X[k] - X*[half-k]) / 2 · e^{2πik/N}.
  const fft = new FFT(Math.max(2, half));
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let k = 0; k < half; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / frameSize);
    sin[k] = Math.sin((2 * Math.PI * k) / frameSize);
  }
  const spectrum = fft.createComplexArray() as number[];
  const time = fft.createComplexArray() as number[];
  const synth: SynthesisFrame = (re, im, offset, out) => {
    for (let k = 0; k < half; k++) {
      // DC and Nyquist are real (a real signal's spectrum is Hermitian): their imaginary parts are dropped.
      const ar = re[offset + k];
      const ai = k === 0 ? 0 : im[offset + k];
      const br = re[offset + half - k];
      const bi = k === 0 ? 0 : -im[offset + half - k]; // X*[half - k]; at k = 0 that is the Nyquist bin
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      const dr = 0.5 * (ar - br);
      const di = 0.5 * (ai - bi);
      const or = dr * cos[k] - di * sin[k];
      const oi = dr * sin[k] + di * cos[k];
      spectrum[2 * k] = er - oi;
      spectrum[2 * k + 1] = ei + or;
    }
    fft.inverseTransform(time, spectrum);
    for (let n = 0; n < half; n++) {
      out[2 * n] = time[2 * n] * window[2 * n];
      out[2 * n + 1] = time[2 * n + 1] * window[2 * n + 1];
    }
  };
  synthesisFrames.set(frameSize, synth);
  return synth;
}

/**
 * The weighted overlap-add divisor Σ w²(d + m·hop) over m = 0 … frames − 1 with d + m·hop < N: what the
 * newest `frames` frames contribute to the sample `d` samples after the newest frame's start. In the
 * steady state it is constant (1.5 at a quarter frame); at a half frame it swings between 0.5 and 1,
 * and dividing by it, sample by sample, is what makes that hop exact too.
 */
export function overlapWeight(window: Float64Array, hop: number, d: number, frames: number): number {
  let s = 0;
  for (let m = 0; m < frames && d + m * hop < window.length; m++) s += window[d + m * hop] * window[d + m * hop];
  return s;
}

/**
 * Inverse STFT by weighted overlap-add (Hann analysis and synthesis windows, divided by Σw²): the
 * least-squares signal for any spectrogram, and exact for one that stft() made. Returns `length`
 * samples (default: the analysed signal's length), at most up to the last frame's centre.
 */
export function istft(spec: Stft, length = spec.length): Float32Array {
  const { frameSize, hop, frames, bins } = spec;
  checkFrameSize(frameSize);
  checkHop('hop', hop, frameSize);
  const available = frames > 0 ? (frames - 1) * hop + 1 : 0;
  if (!Number.isInteger(length) || length < 0 || length > available) {
    throw new LabError('bad_argument', `Expected length to be an integer from 0 to ${available} for ${frames} frames at hop ${hop}, but got ${length}`);
  }
  const half = frameSize / 2;
  const sum = new Float64Array(length + frameSize);
  const frame = new Float64Array(frameSize);
  const synth = synthesisFrame(frameSize);
  const window = sharedHannWindow(frameSize);
  for (let t = 0; t < frames; t++) {
    synth(spec.re, spec.im, t * bins, frame);
    const start = t * hop; // in padded positions: sample i of the signal is at i + half
    for (let n = 0; n < frameSize && start + n < sum.length; n++) sum[start + n] += frame[n];
  }
  const y = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const p = i + half;
    const newest = Math.min(frames - 1, Math.floor(p / hop));
    y[i] = sum[p] / overlapWeight(window, hop, p - newest * hop, newest + 1);
  }
  return y;
}

/** |X|, [frames, bins]. */
export function magnitudes(spec: Stft): Float32Array {
  const m = new Float32Array(spec.re.length);
  for (let i = 0; i < m.length; i++) m[i] = Math.hypot(spec.re[i], spec.im[i]);
  return m;
}

/** ln(max(|X|, floor)): the log-magnitude features; expMagnitudes() undoes it (down to the floor). */
export function logMagnitudes(magnitude: Float32Array, floor = LOG_MAGNITUDE_FLOOR): Float32Array {
  if (!(floor > 0)) throw new LabError('bad_argument', `Expected floor to be a positive number, but got ${floor}`);
  const out = new Float32Array(magnitude.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.log(Math.max(magnitude[i], floor));
  return out;
}

/** exp of each log-magnitude. */
export function expMagnitudes(logMagnitude: Float32Array): Float32Array {
  const out = new Float32Array(logMagnitude.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(logMagnitude[i]);
  return out;
}

/** The principal value of a phase, in (−π, π]. */
export function principalArgument(phase: number): number {
  const wrapped = phase - 2 * Math.PI * Math.round(phase / (2 * Math.PI));
  return wrapped <= -Math.PI ? wrapped + 2 * Math.PI : wrapped;
}

/**
 * Instantaneous frequency of every bin, from the phase advance between consecutive frames, as the
 * deviation from the bin's centre in bins: bin k's frequency is (k + deviation) / frameSize cycles per
 * sample. The deviation is the principal value, so it lies within ±frameSize / (2·hop) bins (±2 at a
 * quarter-frame hop): a bin is read as the partial in its main lobe. It is kept apart from k because
 * in Float32 k + deviation would lose the precision that phase accumulation over thousands of frames
 * needs, and because it is a well-scaled feature for a model.
 *
 * Frame 0 is measured against zero phase, so that accumulating the advances from zero gives back every
 * analysis phase exactly (modulo 2π): magnitudes and deviations then describe the STFT completely.
 */
export function frequencyDeviations(spec: Stft): Float32Array {
  const { frameSize, hop, frames, bins } = spec;
  const out = new Float32Array(frames * bins);
  const previous = new Float64Array(bins);
  const toBins = frameSize / (2 * Math.PI * hop);
  for (let t = 0; t < frames; t++) {
    const row = t * bins;
    for (let k = 0; k < bins; k++) {
      const phase = Math.atan2(spec.im[row + k], spec.re[row + k]);
      out[row + k] = principalArgument(phase - previous[k] - binAdvance(k, hop, frameSize)) * toBins;
      previous[k] = phase;
    }
  }
  return out;
}

/** Phase advance of bin k's centre frequency over `hop` samples, reduced modulo 2π in integers (exact). */
export function binAdvance(k: number, hop: number, frameSize: number): number {
  return (2 * Math.PI * ((k * hop) % frameSize)) / frameSize;
}

/** Full instantaneous frequencies, [frames, bins], in cycles per sample: (k + deviation) / frameSize. */
export function instantaneousFrequencies(deviation: Float32Array, bins: number): Float32Array {
  const frameSize = 2 * (bins - 1);
  const out = new Float32Array(deviation.length);
  for (let i = 0; i < out.length; i++) out[i] = ((i % bins) + deviation[i]) / frameSize;
  return out;
}
