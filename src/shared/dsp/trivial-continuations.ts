// Four continuations that need no training, to read a model's metrics against: silence, the least-squares
// linear predictor run free, the prime's last pitch period looped, and its last STFT frame frozen (the
// spectral freeze). A model that does not beat these has not learned to continue the signal.
import { checkInteger, checkNumber, LabError } from '../errors';
import {
  compareWithSource,
  describeSignal,
  MAX_PITCH_HZ,
  MIN_PITCH_HZ,
  yinPitchTrack,
  type ContinuationMetrics,
  type ContinuationMetricsOptions,
} from './continuation-metrics';
import { fitLinearPredictor } from './linear-predictor';
import { createPhaseVocoderState, resynthesize } from './phase-vocoder';
import { frequencyDeviations, magnitudes, resolveStftOptions, stft, type StftOptions } from './stft';

/** AR order of the free-running predictor (the evaluation's reference uses the same, MAX_AR_ORDER). */
export const LINEAR_PREDICTOR_ORDER = 32;
/** The predictor is fitted on at most this many of the prime's last samples; the normal equations cost order² each. */
export const LINEAR_PREDICTOR_FIT_SAMPLES = 1 << 16;
/**
 * A free-running predictor with a pole outside the unit circle grows without bound; its outputs are
 * clamped to this multiple of the prime's peak so that the blow-up is measured rather than overflowing.
 */
export const LINEAR_PREDICTOR_LIMIT = 10;
/** The period is estimated on the prime's last this-many seconds (or the whole prime). */
export const PERIOD_ANALYSIS_SECONDS = 0.1;
/** Each loop join is crossfaded over this fraction of the period. */
export const LOOP_CROSSFADE_FRACTION = 0.25;
/** Shortest prime that can be looped (cubic interpolation needs neighbours on both sides). */
export const MIN_LOOP_PRIME = 8;
/**
 * The spectral freeze's frame is halved (its hop with it) until a frame and the one a hop before it fit
 * in the prime, but not below this many samples (62.5 Hz bins at 16 kHz); a prime too short for that
 * has nothing to freeze.
 */
export const MIN_FREEZE_FRAME_SIZE = 256;
/** The freeze resynthesises this many repeated frames per resynthesize() call, so that memory stays bounded. */
const FREEZE_BLOCK_FRAMES = 64;

/** n samples of silence: the continuation that gives up. */
export function silence(n: number): Float32Array {
  return new Float32Array(checkInteger('n', n, 0));
}

/**
 * Fits next = bias + Σ w·(last `order` samples) by least squares on the prime (its last
 * LINEAR_PREDICTOR_FIT_SAMPLES) and runs it free for n samples, each output fed back as input.
 * On a clean sine it keeps going; on noise it decays to the mean, which is what "predictable part
 * only" means. Outputs are clamped to ±LINEAR_PREDICTOR_LIMIT × the prime's peak (see there).
 */
export function linearPredictorFree(prime: Float32Array, n: number, order = LINEAR_PREDICTOR_ORDER): Float32Array {
  checkInteger('n', n, 0);
  checkInteger('order', order, 1);
  if (prime.length < 2 * order + 1) {
    throw new LabError('bad_signal', `Expected a prime of at least ${2 * order + 1} samples for an order-${order} predictor, but got ${prime.length}`);
  }
  const fit = prime.subarray(Math.max(0, prime.length - LINEAR_PREDICTOR_FIT_SAMPLES));
  const starts = new Int32Array(fit.length - order);
  for (let s = 0; s < starts.length; s++) starts[s] = s;
  const { weights, bias } = fitLinearPredictor(fit, starts, order, order);
  let peak = 0;
  for (let i = 0; i < prime.length; i++) peak = Math.max(peak, Math.abs(prime[i]));
  const limit = LINEAR_PREDICTOR_LIMIT * (peak || 1);
  const history = new Float64Array(order + n); // oldest first: the prime's tail, then the outputs
  for (let k = 0; k < order; k++) history[k] = prime[prime.length - order + k];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let y = bias;
    for (let k = 0; k < order; k++) y += weights[k] * history[i + k];
    y = Math.max(-limit, Math.min(limit, Number.isNaN(y) ? 0 : y));
    history[order + i] = y;
    out[i] = y;
  }
  return out;
}

/**
 * Period in samples (fractional) of the prime's end: the median YIN period over the frames of its last
 * PERIOD_ANALYSIS_SECONDS, or null when unvoiced. The lowest pitch looked for is raised when the prime
 * is too short to hold a YIN frame at MIN_PITCH_HZ.
 */
export function estimateEndPeriod(prime: Float32Array, sampleRate: number): number | null {
  checkNumber('sampleRate', sampleRate, Number.MIN_VALUE);
  const tail = prime.subarray(Math.max(0, prime.length - Math.round(PERIOD_ANALYSIS_SECONDS * sampleRate)));
  // A YIN frame needs 2·⌈sampleRate / minPitchHz⌉ + 2 samples.
  const minPitchHz = Math.max(MIN_PITCH_HZ, sampleRate / (Math.floor((tail.length - 2) / 2) - 1));
  if (!(minPitchHz < MAX_PITCH_HZ) || tail.length < 8) return null;
  const { voicedPeriods } = yinPitchTrack(tail, sampleRate, { minPitchHz });
  if (!voicedPeriods.length) return null;
  const s = [...voicedPeriods].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** Catmull-Rom cubic through x at fractional position p; needs 1 ≤ ⌊p⌋ ≤ length − 3. */
function cubicAt(x: Float32Array, p: number): number {
  const i = Math.floor(p);
  const t = p - i;
  const a = x[i - 1];
  const b = x[i];
  const c = x[i + 1];
  const d = x[i + 2];
  return b + 0.5 * t * (c - a + t * (2 * a - 5 * b + 4 * c - d + t * (3 * (b - c) + d - a)));
}

/**
 * n samples that repeat the prime's last period: the period is estimated with YIN on the prime's end
 * (when the end is unvoiced, the last 1 / MIN_PITCH_HZ seconds are looped instead), read at fractional
 * positions (cubic) so that the loop keeps the exact pitch rather than the nearest whole number of
 * samples, and each join crossfaded (equal gain) with the period before it so that a signal that is not
 * exactly periodic does not click. Sample i continues the prime in phase: it reads position
 * L + i − k·P for the k that lands in the last period.
 */
export function lastPeriodLooped(prime: Float32Array, n: number, sampleRate: number): Float32Array {
  checkInteger('n', n, 0);
  checkNumber('sampleRate', sampleRate, Number.MIN_VALUE);
  const len = prime.length;
  if (len < MIN_LOOP_PRIME) throw new LabError('bad_signal', `Expected a prime of at least ${MIN_LOOP_PRIME} samples to loop, but got ${len}`);
  // Positions stay in [2, len − 3] so that cubicAt has its neighbours: the loop body is (end − P, end].
  const end = len - 3;
  const period = Math.min(estimateEndPeriod(prime, sampleRate) ?? sampleRate / MIN_PITCH_HZ, end - 2);
  const fade = Math.max(0, Math.min(LOOP_CROSSFADE_FRACTION * period, end - 2 - period));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.ceil((len + i - end) / period);
    const p = len + i - k * period; // in (end − period, end]
    const q = p - (end - period); // phase in (0, period]
    let y = cubicAt(prime, p);
    if (fade > 0 && q > period - fade) {
      // Towards the end of a cycle, blend into what preceded the loop's start, so the wrap is seamless.
      const w = 0.5 - 0.5 * Math.cos((Math.PI * (q - (period - fade))) / fade);
      y = (1 - w) * y + w * cubicAt(prime, p - period);
    }
    out[i] = y;
  }
  return out;
}

/**
 * Samples from the start of the first frame whose window lies inside a signal (centres at t·hop, as
 * stft() frames) to the end of the frame after it: what the freeze analyses.
 */
function freezeSpan(frameSize: number, hop: number): number {
  return frameSize / 2 + (Math.ceil(frameSize / 2 / hop) + 1) * hop;
}

/**
 * n samples of the prime's last STFT frame frozen: its magnitudes and instantaneous-frequency
 * deviations repeated through the phase vocoder (identity phase locking), so that every partial keeps
 * its level and frequency for ever. Null when the prime is too short (see MIN_FREEZE_FRAME_SIZE), or
 * when the frozen frame is silent or not finite: there is nothing to freeze.
 *
 * The frozen frame is the one whose window ends at the prime's last sample (the prime's end is analysed
 * on a grid aligned to it, not to its start, so the newest frame is taken whatever the length), its
 * frequencies measured against the frame a hop before, whose window lies in the prime too. When the
 * prime is shorter than those two windows the frame size and hop are halved until they fit: frames cut
 * by the prime's start measure wrong frequencies, and a freeze of those beats (a two-tone prime of 800
 * samples frozen from its whole-prime 1024-sample frame kept 65 % of its level).
 *
 * Seamless join: the vocoder's phase accumulators are seeded with the phases of the frame before (as
 * if it had just analysed it), so its first output frame is the frozen frame exactly, with its own
 * phases, at its own position; later frames advance each bin by the phase step measured between the two
 * frames. Resynthesis starts at the frozen frame's centre and the half frame up to the prime's end is
 * dropped, so sample 0 is where the prime's next sample would be, in phase: a steady sine continues to
 * within rounding. At equal analysis and synthesis hops identity phase locking leaves every bin at its
 * accumulated phase: the freeze is the spectral family's resynthesis under a model that never changes.
 * A frozen frame of white noise comes out a quarter quieter (RMS ratio 0.68–0.77 over four seeds), its
 * bins' measured frequencies being random: a known weakness of the plain freeze, left as it is.
 */
export function spectralFreeze(prime: Float32Array, n: number, options: StftOptions = {}): Float32Array | null {
  checkInteger('n', n, 0);
  let { frameSize, hop } = resolveStftOptions(options);
  const len = prime.length;
  while (frameSize > MIN_FREEZE_FRAME_SIZE && freezeSpan(frameSize, hop) > len) {
    frameSize /= 2;
    hop = Math.max(1, Math.floor(hop / 2));
  }
  const span = freezeSpan(frameSize, hop);
  if (span > len) return null;
  const half = frameSize / 2;
  // In the analysed span, frame `frame` ends at the prime's end and frame − 1 starts at the span's start.
  const frame = Math.ceil(half / hop) + 1;
  const spec = stft(prime.subarray(len - span), { frameSize, hop });
  const bins = spec.bins;
  const row = frame * bins;
  const magnitude = magnitudes(spec).subarray(row, row + bins);
  let energy = 0;
  for (let k = 0; k < bins; k++) energy += magnitude[k] * magnitude[k];
  if (!(energy > 0) || !Number.isFinite(energy)) return null;
  const deviation = frequencyDeviations(spec).subarray(row, row + bins);
  const state = createPhaseVocoderState({ frameSize, analysisHop: hop });
  const before = row - bins;
  for (let k = 0; k < bins; k++) state.analysisPhase[k] = Math.atan2(spec.im[before + k], spec.re[before + k]);
  // Vocoder output sample 0 is the frozen frame's centre; the prime ends half a frame later.
  const wanted = half + n;
  const blockFrames = Math.min(FREEZE_BLOCK_FRAMES, Math.ceil((wanted + half) / hop));
  const blockMagnitude = new Float32Array(blockFrames * bins);
  const blockDeviation = new Float32Array(blockFrames * bins);
  for (let t = 0; t < blockFrames; t++) {
    blockMagnitude.set(magnitude, t * bins);
    blockDeviation.set(deviation, t * bins);
  }
  const out = new Float32Array(n);
  let produced = 0; // vocoder output samples so far
  while (produced < wanted) {
    // The first call's output is short by the half frame of padding resynthesize() drops.
    const frames = Math.min(blockFrames, Math.ceil((wanted - produced + (state.frames === 0 ? half : 0)) / hop));
    const y = resynthesize(state, blockMagnitude.subarray(0, frames * bins), blockDeviation.subarray(0, frames * bins), { phaseLocking: true });
    for (let i = 0; i < y.length; i++) {
      const j = produced + i - half;
      if (j >= 0 && j < n) out[j] = y[i];
    }
    produced += y.length;
  }
  return out;
}

export interface ContinuationJudgement {
  /** The generated continuation against the reference. */
  model: ContinuationMetrics;
  baselines: {
    silence: ContinuationMetrics;
    /** Null when the prime is too short to fit an order-1 predictor (3 samples). */
    linearPredictor: ContinuationMetrics | null;
    /** Null when the prime is shorter than MIN_LOOP_PRIME. */
    lastPeriodLooped: ContinuationMetrics | null;
    /** Null when spectralFreeze() has nothing to freeze: a prime too short (320 samples) or silent at its end. */
    spectralFreeze: ContinuationMetrics | null;
  };
  /** The predictor's order (reduced for a short prime), or null when none was fitted. */
  linearPredictorOrder: number | null;
}

/**
 * Metrics of the generated continuation beside those of the four trivial ones, each as long as it,
 * all measured against `reference` (the true continuation where known, otherwise the prime itself).
 */
export function judgeContinuation(
  generated: Float32Array,
  prime: Float32Array,
  reference: Float32Array,
  sampleRate: number,
  options?: Partial<ContinuationMetricsOptions>,
): ContinuationJudgement {
  checkNumber('sampleRate', sampleRate, Number.MIN_VALUE);
  if (reference.length === 0) throw new LabError('bad_signal', 'Cannot judge against an empty reference');
  const source = describeSignal(reference, sampleRate, options);
  const judge = (x: Float32Array) => compareWithSource(x, source, sampleRate, options);
  const n = generated.length;
  const order = Math.min(LINEAR_PREDICTOR_ORDER, Math.floor((prime.length - 1) / 2));
  const freeze = spectralFreeze(prime, n);
  return {
    model: judge(generated),
    baselines: {
      silence: judge(silence(n)),
      linearPredictor: order >= 1 ? judge(linearPredictorFree(prime, n, order)) : null,
      lastPeriodLooped: prime.length >= MIN_LOOP_PRIME ? judge(lastPeriodLooped(prime, n, sampleRate)) : null,
      spectralFreeze: freeze && judge(freeze),
    },
    linearPredictorOrder: order >= 1 ? order : null,
  };
}
