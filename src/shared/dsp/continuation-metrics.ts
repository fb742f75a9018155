// Judging a generated continuation against its source with no learned model: loudness over time
// (collapse or blow-up), long-term log-spectral distance, YIN pitch and voicing, spectral flatness
// and centroid. The spectral figures follow ../shared/reference/audio_compare.py (Welch, 1024-sample
// symmetric Hann segments at half overlap, floor 60 dB under the source's peak) so that the two agree.
import FFT from 'fft.js';
import { checkInteger, checkNumber, LabError } from '../errors';
import { rms } from './spectrum';

/** Length of the loudness blocks: the collapse criterion looks at every half second. */
export const RMS_BLOCK_SECONDS = 0.5;
/** A block quieter than this fraction of the source's RMS is a collapse. */
export const COLLAPSE_LOW = 0.5;
/** A block louder than this multiple of the source's RMS is a blow-up (also reported as collapsed). */
export const COLLAPSE_HIGH = 2;
/** Welch segment length in samples, as audio_compare.py (so its bins are sampleRate / 1024 apart). */
export const WELCH_SEGMENT = 1024;
/** Log spectra are floored this far under the source's peak, so empty bins between harmonics don't dominate. */
export const LSD_FLOOR_DB = 60;
/** Added to every Welch bin, as audio_compare.py, so that log and flatness stay finite. */
export const PSD_EPSILON = 1e-12;
/** Lowest pitch YIN looks for. */
export const MIN_PITCH_HZ = 50;
/** Highest pitch YIN looks for. */
export const MAX_PITCH_HZ = 1000;
/** YIN's absolute threshold on the cumulative-mean-normalised difference (the paper suggests 0.1–0.15). */
export const YIN_THRESHOLD = 0.15;
/** Hop between YIN frames. */
export const PITCH_HOP_SECONDS = 0.01;
/** At most this many YIN frames per signal, spread evenly, so that a long source costs a bounded time. */
export const MAX_PITCH_FRAMES = 1000;

export interface ContinuationMetricsOptions {
  /** Loudness block length in seconds (RMS_BLOCK_SECONDS). */
  blockSeconds: number;
  /** A block under this ratio to the source's RMS counts as collapse (COLLAPSE_LOW). */
  collapseLow: number;
  /** A block over this ratio counts as blow-up (COLLAPSE_HIGH). */
  collapseHigh: number;
  /** Welch segment length in samples, a power of two (WELCH_SEGMENT). */
  welchSegment: number;
  /** dB under the source's spectral peak where log spectra are floored (LSD_FLOOR_DB). */
  floorDb: number;
  /** Pitch search range in Hz (MIN_PITCH_HZ, MAX_PITCH_HZ). */
  minPitchHz: number;
  maxPitchHz: number;
  /** YIN absolute threshold (YIN_THRESHOLD). */
  yinThreshold: number;
  /** Hop between YIN frames in seconds (PITCH_HOP_SECONDS). */
  pitchHopSeconds: number;
}

export const defaultContinuationMetricsOptions: ContinuationMetricsOptions = {
  blockSeconds: RMS_BLOCK_SECONDS,
  collapseLow: COLLAPSE_LOW,
  collapseHigh: COLLAPSE_HIGH,
  welchSegment: WELCH_SEGMENT,
  floorDb: LSD_FLOOR_DB,
  minPitchHz: MIN_PITCH_HZ,
  maxPitchHz: MAX_PITCH_HZ,
  yinThreshold: YIN_THRESHOLD,
  pitchHopSeconds: PITCH_HOP_SECONDS,
};

/**
 * How a continuation compares with its source. A figure that cannot be measured is null: spectral
 * ones when a signal is shorter than one Welch segment (+1 sample) or silent, pitch when no frame is
 * voiced, voicing when a signal is shorter than one YIN frame (2 × sampleRate / minPitchHz samples).
 */
export interface ContinuationMetrics {
  /** RMS of the continuation over RMS of the source. */
  rmsRatio: number;
  /** RMS of each block (blockSeconds; the remainder joins the last block) over the source's RMS. */
  rmsOverTime: number[];
  /** Some block is outside [collapseLow, collapseHigh] × the source's RMS, or not finite. */
  collapsed: boolean;
  /** Long-term log-spectral distance in dB (RMS over bins of the floored Welch dB spectra). */
  lsdDb: number | null;
  /** YIN pitch in Hz: the median over voiced frames. */
  pitchHz: number | null;
  sourcePitchHz: number | null;
  /** 100 × (pitchHz / sourcePitchHz − 1): signed, positive when the continuation is sharp. */
  pitchErrorPercent: number | null;
  /** Fraction of YIN frames that are voiced (a dip under the threshold in the pitch range). */
  voicedFraction: number | null;
  sourceVoicedFraction: number | null;
  /** Spectral flatness of the Welch spectrum: geometric over arithmetic mean, 0 (tone) to 1 (white). */
  flatness: number | null;
  sourceFlatness: number | null;
  /** Spectral centroid of the Welch spectrum in Hz. */
  centroidHz: number | null;
  sourceCentroidHz: number | null;
}

/** What is measured of one signal on its own; a source's is computed once and reused for every candidate. */
export interface SignalDescription {
  length: number;
  rms: number;
  /** Welch power spectrum (welchSegment / 2 + 1 bins, PSD_EPSILON added), or null when too short. */
  psd: Float64Array | null;
  flatness: number | null;
  centroidHz: number | null;
  pitchHz: number | null;
  voicedFraction: number | null;
}

function resolveOptions(options: Partial<ContinuationMetricsOptions> | undefined): ContinuationMetricsOptions {
  const o = { ...defaultContinuationMetricsOptions, ...options };
  checkNumber('blockSeconds', o.blockSeconds, Number.MIN_VALUE);
  checkNumber('collapseLow', o.collapseLow, 0);
  checkNumber('collapseHigh', o.collapseHigh, o.collapseLow);
  checkInteger('welchSegment', o.welchSegment, 4);
  if ((o.welchSegment & (o.welchSegment - 1)) !== 0) throw new LabError('bad_argument', `Expected welchSegment to be a power of two, but got ${o.welchSegment}`);
  checkNumber('floorDb', o.floorDb, 0);
  checkNumber('minPitchHz', o.minPitchHz, Number.MIN_VALUE);
  checkNumber('maxPitchHz', o.maxPitchHz, o.minPitchHz);
  checkNumber('yinThreshold', o.yinThreshold, Number.MIN_VALUE, 1);
  checkNumber('pitchHopSeconds', o.pitchHopSeconds, Number.MIN_VALUE);
  return o;
}

function checkSampleRate(sampleRate: number): void {
  checkNumber('sampleRate', sampleRate, Number.MIN_VALUE);
}

/**
 * Welch power spectrum as audio_compare.py computes it: symmetric Hann segments (numpy's hanning)
 * at half overlap, starting at 0, hop, ... while start < length − segment, mean |rfft|² plus
 * PSD_EPSILON. Null when no segment fits (the script's None).
 */
export function welchPsd(x: ArrayLike<number>, segment = WELCH_SEGMENT): Float64Array | null {
  const hop = segment >> 1;
  const bins = segment / 2 + 1;
  if (x.length - segment <= 0) return null;
  const fft = new FFT(segment);
  const window = new Float64Array(segment);
  for (let i = 0; i < segment; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (segment - 1));
  const frame = new Array<number>(segment);
  const out = fft.createComplexArray() as number[];
  const psd = new Float64Array(bins);
  let count = 0;
  for (let start = 0; start < x.length - segment; start += hop) {
    for (let i = 0; i < segment; i++) frame[i] = x[start + i] * window[i];
    fft.realTransform(out, frame);
    for (let k = 0; k < bins; k++) psd[k] += out[2 * k] * out[2 * k] + out[2 * k + 1] * out[2 * k + 1];
    count++;
  }
  for (let k = 0; k < bins; k++) psd[k] = psd[k] / count + PSD_EPSILON;
  return psd;
}

/** Geometric over arithmetic mean of a power spectrum, over every bin (DC and Nyquist included, as the script). */
export function spectralFlatness(psd: Float64Array): number {
  let logSum = 0;
  let sum = 0;
  for (let k = 0; k < psd.length; k++) {
    logSum += Math.log(psd[k]);
    sum += psd[k];
  }
  return Math.exp(logSum / psd.length) / (sum / psd.length);
}

/** Power-weighted mean frequency of a Welch spectrum of `segment` samples. */
export function spectralCentroid(psd: Float64Array, sampleRate: number, segment = WELCH_SEGMENT): number {
  let weighted = 0;
  let sum = 0;
  for (let k = 0; k < psd.length; k++) {
    weighted += psd[k] * ((k * sampleRate) / segment);
    sum += psd[k];
  }
  return weighted / sum;
}

/** RMS over bins of the difference of two dB spectra, each floored `floorDb` under the reference's peak. */
export function logSpectralDistance(reference: Float64Array, other: Float64Array, floorDb = LSD_FLOOR_DB): number {
  if (reference.length !== other.length) throw new LabError('bad_argument', `Expected spectra of equal length, but got ${reference.length} and ${other.length}`);
  let peak = 0;
  for (let k = 0; k < reference.length; k++) peak = Math.max(peak, reference[k]);
  const floor = 10 * Math.log10(peak) - floorDb;
  let s = 0;
  for (let k = 0; k < reference.length; k++) {
    const d = Math.max(10 * Math.log10(reference[k]), floor) - Math.max(10 * Math.log10(other[k]), floor);
    s += d * d;
  }
  return Math.sqrt(s / reference.length);
}

export interface PitchTrack {
  /** Period in samples (parabolically interpolated) of each voiced frame, in frame order. */
  voicedPeriods: number[];
  /** Frames analysed; 0 when the signal is shorter than one frame. */
  frames: number;
}

/**
 * YIN (de Cheveigné & Kawahara 2002) on frames of W = ⌈sampleRate / minHz⌉ samples every `hop`:
 * difference function d(τ) = Σ_{j<W} (x_j − x_{j+τ})², cumulative mean normalisation
 * d'(τ) = d(τ)·τ / Σ_{k≤τ} d(k), the first τ in the range with d' under the threshold followed down to
 * its local minimum, and a parabola through d around it (the paper's step 5; d' would bias it). A frame
 * with no such dip is unvoiced, and so is a silent one. d is expanded as e(0) + e(τ) − 2·r(τ), the
 * cross term by FFT, so that a frame costs O(W log W) rather than W² (780 k multiply-adds at 44.1 kHz).
 */
export function yinPitchTrack(
  x: ArrayLike<number>,
  sampleRate: number,
  options: Partial<Pick<ContinuationMetricsOptions, 'minPitchHz' | 'maxPitchHz' | 'yinThreshold' | 'pitchHopSeconds'>> = {},
): PitchTrack {
  checkSampleRate(sampleRate);
  const { minPitchHz, maxPitchHz, yinThreshold, pitchHopSeconds } = resolveOptions(options);
  const tauMin = Math.max(2, Math.floor(sampleRate / maxPitchHz));
  const tauMax = Math.max(tauMin + 1, Math.ceil(sampleRate / minPitchHz));
  const w = tauMax;
  const frameLength = w + tauMax + 2; // lags up to tauMax + 1, for the parabola's right neighbour
  if (x.length < frameLength) return { voicedPeriods: [], frames: 0 };
  const span = x.length - frameLength;
  const frames = Math.min(MAX_PITCH_FRAMES, Math.floor(span / Math.max(1, Math.round(pitchHopSeconds * sampleRate))) + 1);
  const hop = frames > 1 ? span / (frames - 1) : 0;
  let size = 2;
  while (size < frameLength) size <<= 1; // no wrap-around: j + τ < frameLength ≤ size
  const fft = new FFT(size);
  const head = new Array<number>(size).fill(0);
  const whole = new Array<number>(size).fill(0);
  const headSpectrum = fft.createComplexArray() as number[];
  const wholeSpectrum = fft.createComplexArray() as number[];
  const product = fft.createComplexArray() as number[];
  const correlation = fft.createComplexArray() as number[];
  const energy = new Float64Array(frameLength + 1); // energy[i] = Σ_{j<i} x_j² within the frame
  const d = new Float64Array(tauMax + 2);
  const voicedPeriods: number[] = [];
  for (let f = 0; f < frames; f++) {
    const t = Math.round(f * hop);
    for (let i = 0; i < frameLength; i++) {
      const v = x[t + i];
      whole[i] = v;
      head[i] = i < w ? v : 0;
      energy[i + 1] = energy[i] + v * v;
    }
    if (!(energy[w] > 0)) continue; // silence (or non-finite samples): nothing to hear a pitch in
    fft.realTransform(headSpectrum, head);
    fft.completeSpectrum(headSpectrum);
    fft.realTransform(wholeSpectrum, whole);
    fft.completeSpectrum(wholeSpectrum);
    for (let k = 0; k < size; k++) {
      // conj(H)·W: the cross-correlation r(τ) = Σ_j head_j · whole_{j+τ}
      const hr = headSpectrum[2 * k];
      const hi = headSpectrum[2 * k + 1];
      const wr = wholeSpectrum[2 * k];
      const wi = wholeSpectrum[2 * k + 1];
      product[2 * k] = hr * wr + hi * wi;
      product[2 * k + 1] = hr * wi - hi * wr;
    }
    fft.inverseTransform(correlation, product);
    let cum = 0;
    let prevNorm = 1;
    let found = -1;
    for (let tau = 1; tau <= tauMax + 1; tau++) {
      // Rounding can leave a tiny negative where the true d is 0.
      d[tau] = Math.max(0, energy[w] + (energy[tau + w] - energy[tau]) - 2 * correlation[2 * tau]);
      cum += d[tau];
      const norm = cum > 0 ? (d[tau] * tau) / cum : 1;
      if (found < 0) {
        if (tau >= tauMin && tau <= tauMax && norm < yinThreshold) found = tau;
      } else if (norm >= prevNorm) {
        found = tau - 1; // the dip's local minimum; d[tau] is its right neighbour
        break;
      } else if (tau === tauMax + 1) {
        found = -1; // still falling at the edge of the range: no minimum inside it
      } else {
        found = tau;
      }
      prevNorm = norm;
    }
    if (found < 0) continue;
    const a = d[found - 1];
    const b = d[found];
    const c = d[found + 1];
    const curvature = a - 2 * b + c;
    const shift = curvature > 0 ? Math.max(-1, Math.min(1, (0.5 * (a - c)) / curvature)) : 0;
    voicedPeriods.push(found + shift);
  }
  return { voicedPeriods, frames };
}

function median(values: number[]): number {
  const s = [...values].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** Median YIN pitch (Hz) over voiced frames, and the fraction of frames voiced. */
export function yinPitch(
  x: ArrayLike<number>,
  sampleRate: number,
  options?: Partial<ContinuationMetricsOptions>,
): { pitchHz: number | null; voicedFraction: number | null } {
  const track = yinPitchTrack(x, sampleRate, options);
  if (track.frames === 0) return { pitchHz: null, voicedFraction: null };
  return {
    pitchHz: track.voicedPeriods.length ? median(track.voicedPeriods.map((p) => sampleRate / p)) : null,
    voicedFraction: track.voicedPeriods.length / track.frames,
  };
}

/** Everything measured of one signal alone (see SignalDescription). */
export function describeSignal(x: ArrayLike<number>, sampleRate: number, options?: Partial<ContinuationMetricsOptions>): SignalDescription {
  checkSampleRate(sampleRate);
  const o = resolveOptions(options);
  const psd = welchPsd(x, o.welchSegment);
  // A silent signal's spectrum is PSD_EPSILON everywhere: "white" to the formulas, so say nothing.
  const audible = psd !== null && psd.some((v) => v > PSD_EPSILON);
  const { pitchHz, voicedFraction } = yinPitch(x, sampleRate, o);
  return {
    length: x.length,
    rms: rms(x),
    psd,
    flatness: audible ? spectralFlatness(psd) : null,
    centroidHz: audible ? spectralCentroid(psd, sampleRate, o.welchSegment) : null,
    pitchHz,
    voicedFraction,
  };
}

/** RMS of each block of `block` samples over `reference`; the remainder joins the last block. */
function blockRmsRatios(x: ArrayLike<number>, block: number, reference: number): number[] {
  const count = Math.max(1, Math.floor(x.length / block));
  const out: number[] = [];
  for (let b = 0; b < count; b++) {
    const end = b === count - 1 ? x.length : (b + 1) * block;
    let s = 0;
    for (let i = b * block; i < end; i++) s += x[i] * x[i];
    out.push(Math.sqrt(s / (end - b * block)) / reference);
  }
  return out;
}

/** Compares a continuation with a source already described (judgeContinuation reuses one source). */
export function compareWithSource(
  continuation: ArrayLike<number>,
  source: SignalDescription,
  sampleRate: number,
  options?: Partial<ContinuationMetricsOptions>,
): ContinuationMetrics {
  checkSampleRate(sampleRate);
  const o = resolveOptions(options);
  if (continuation.length === 0) throw new LabError('bad_signal', 'Cannot judge an empty continuation');
  if (!(source.rms > 0)) throw new LabError('bad_signal', `Cannot judge against a silent or non-finite source (RMS ${source.rms})`);
  const c = describeSignal(continuation, sampleRate, o);
  const block = Math.max(1, Math.round(o.blockSeconds * sampleRate));
  const rmsOverTime = blockRmsRatios(continuation, block, source.rms);
  // Written so that NaN (a continuation that blew up to non-finite values) counts as collapse.
  const collapsed = rmsOverTime.some((r) => !(r >= o.collapseLow && r <= o.collapseHigh));
  return {
    rmsRatio: c.rms / source.rms,
    rmsOverTime,
    collapsed,
    lsdDb: source.psd && c.psd ? logSpectralDistance(source.psd, c.psd, o.floorDb) : null,
    pitchHz: c.pitchHz,
    sourcePitchHz: source.pitchHz,
    pitchErrorPercent: c.pitchHz !== null && source.pitchHz !== null ? 100 * (c.pitchHz / source.pitchHz - 1) : null,
    voicedFraction: c.voicedFraction,
    sourceVoicedFraction: source.voicedFraction,
    flatness: c.flatness,
    sourceFlatness: source.flatness,
    centroidHz: c.centroidHz,
    sourceCentroidHz: source.centroidHz,
  };
}

/**
 * How `continuation` compares with `source` (the true continuation where one is known, otherwise
 * the prime): loudness, spectrum, pitch and voicing. Throws bad_signal for an empty continuation or a
 * silent source, which cannot be judged; non-finite samples in the continuation count as collapse.
 */
export function continuationMetrics(
  continuation: ArrayLike<number>,
  source: ArrayLike<number>,
  sampleRate: number,
  options?: Partial<ContinuationMetricsOptions>,
): ContinuationMetrics {
  if (source.length === 0) throw new LabError('bad_signal', 'Cannot judge against an empty source');
  return compareWithSource(continuation, describeSignal(source, sampleRate, options), sampleRate, options);
}
