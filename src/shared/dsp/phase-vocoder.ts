// Phase-vocoder resynthesis: a signal from per-frame magnitudes and instantaneous frequencies (no
// phases), by phase accumulation with identity phase locking (Laroche & Dolson 1999) and weighted
// overlap-add; and a time stretch built on it. The spectral family generates frames one at a time, so
// the resynthesis state (phase accumulators, overlap-add tail) is a value the caller carries from call
// to call and packs into the model's packed state: frames resynthesised in two calls give exactly
// the samples of one call.
import { LabError } from '../errors';
import {
  binAdvance,
  checkFrameSize,
  checkHop,
  DEFAULT_FRAME_SIZE,
  DEFAULT_HOP,
  frequencyDeviations,
  magnitudes,
  overlapWeight,
  principalArgument,
  sharedHannWindow,
  stft,
  synthesisFrame,
} from './stft';

/** Lock the bins around each spectral peak to the peak's phase rotation (keeps partials coherent). */
export const DEFAULT_PHASE_LOCKING = true;
/** Version of packPhaseVocoderState()'s layout; unpacking any other is refused. */
export const PHASE_VOCODER_STATE_VERSION = 2;
/** Header of a packed state: version, frameSize, analysisHop, synthesisHop, frames. */
const PACKED_HEADER = 5;

export interface PhaseVocoderOptions {
  /** Samples per frame, a power of two of at least 4. Default DEFAULT_FRAME_SIZE. */
  frameSize?: number;
  /** Hop the instantaneous frequencies were measured at, 1 … frameSize / 2. Default DEFAULT_HOP. */
  analysisHop?: number;
  /** Hop the frames are laid out at on output, 1 … frameSize / 2; ≠ analysisHop stretches time. Default: analysisHop. */
  synthesisHop?: number;
}

export interface ResynthesisOptions {
  /** Identity phase locking around peaks; without it every bin advances alone. Default DEFAULT_PHASE_LOCKING. */
  phaseLocking?: boolean;
  /**
   * The frame's peaks as spectralPeaks() finds them (bins in `at[0 .. count)`), when the caller has them
   * already: a generator that took its frequencies from the same peaks. Only for a call of one frame.
   */
  peaks?: { at: Int32Array; count: number };
  /**
   * The frames were drawn (by a model), not analysed. A peak in a bin that was a peak in the frame before
   * is a partial that goes on: its region keeps the phases relative to the peak that it had (measured, for
   * a prime's partials), as identity locking does. A new peak's region has no phases to keep: each of its
   * bins takes the phase a stationary sinusoid at the peak's frequency would give it under the Hann window
   * (π apart per bin, π more past each side lobe's zero). Without this, a drawn frame's new regions had
   * arbitrary relative phases, which spread a frame's energy to the window's edges, where overlap-add
   * weighs it least: resynthesised from a recording's own magnitudes with the peaks' frequencies (what a
   * generator has), the output kept 0.27-0.65 of the recording's RMS, and 0.90-1.00 with this
   * (bench/resynthesis.ts, "peaks' frequencies").
   */
  drawn?: boolean;
}

/**
 * Everything resynthesis carries from one frame to the next. It lives in Float32Arrays so that
 * packing is lossless: a state that went through pack/unpack continues bit for bit as one that did not.
 */
export interface PhaseVocoderState {
  readonly frameSize: number;
  readonly analysisHop: number;
  readonly synthesisHop: number;
  /**
   * Frames resynthesised so far, counted up to ceil(frameSize / synthesisHop): past that the start no
   * longer matters (every output sample has its full set of overlapping frames), so it never overflows.
   */
  frames: number;
  /** Per bin, the analysis phase rebuilt by accumulating its advances at analysisHop, [bins], radians in (−π, π]. */
  analysisPhase: Float32Array;
  /** Per bin, the phase of the newest output frame, [bins], radians in (−3π, 3π) (wrapped where it is read). */
  synthesisPhase: Float32Array;
  /** Overlap-add sums of the samples the newest frame covers after its first synthesisHop, [frameSize − synthesisHop]. */
  tail: Float32Array;
  /** Per bin, 1 where the newest frame had a peak (with phase locking), else 0, [bins]: drawn frames' partials go on from these. */
  peaks: Float32Array;
}

/** A fresh state: zero phases (see frequencyDeviations() for why that reproduces analysis phases) and silence. */
export function createPhaseVocoderState(options: PhaseVocoderOptions = {}): PhaseVocoderState {
  const frameSize = options.frameSize ?? DEFAULT_FRAME_SIZE;
  checkFrameSize(frameSize);
  const analysisHop = options.analysisHop ?? DEFAULT_HOP;
  checkHop('analysisHop', analysisHop, frameSize);
  const synthesisHop = options.synthesisHop ?? analysisHop;
  checkHop('synthesisHop', synthesisHop, frameSize);
  const bins = frameSize / 2 + 1;
  return {
    frameSize,
    analysisHop,
    synthesisHop,
    frames: 0,
    analysisPhase: new Float32Array(bins),
    synthesisPhase: new Float32Array(bins),
    tail: new Float32Array(frameSize - synthesisHop),
    peaks: new Float32Array(bins),
  };
}

/** Frames after which the frame count stops mattering. */
function framesToSteadyState(frameSize: number, synthesisHop: number): number {
  return Math.ceil(frameSize / synthesisHop);
}

/** Values packPhaseVocoderState() writes for a frame size and synthesis hop. */
export function packedPhaseVocoderLength(frameSize: number, synthesisHop: number): number {
  return PACKED_HEADER + 3 * (frameSize / 2 + 1) + frameSize - synthesisHop;
}

/** The state as one Float32Array: [version, frameSize, analysisHop, synthesisHop, frames, analysisPhase, synthesisPhase, peaks, tail]. */
export function packPhaseVocoderState(state: PhaseVocoderState): Float32Array {
  const { frameSize, analysisHop, synthesisHop, frames, analysisPhase, synthesisPhase, peaks, tail } = state;
  const bins = analysisPhase.length;
  const out = new Float32Array(packedPhaseVocoderLength(frameSize, synthesisHop));
  out.set([PHASE_VOCODER_STATE_VERSION, frameSize, analysisHop, synthesisHop, frames]);
  out.set(analysisPhase, PACKED_HEADER);
  out.set(synthesisPhase, PACKED_HEADER + bins);
  out.set(peaks, PACKED_HEADER + 2 * bins);
  out.set(tail, PACKED_HEADER + 3 * bins);
  return out;
}

/** A state from packPhaseVocoderState()'s output (copied, not aliased); throws a LabError naming what is wrong. */
export function unpackPhaseVocoderState(packed: Float32Array): PhaseVocoderState {
  if (packed.length < PACKED_HEADER) {
    throw new LabError('bad_argument', `Expected a packed phase-vocoder state of at least ${PACKED_HEADER} values, but got ${packed.length}`);
  }
  const [version, frameSize, analysisHop, synthesisHop, frames] = packed;
  if (version !== PHASE_VOCODER_STATE_VERSION) {
    throw new LabError('bad_argument', `Expected phase-vocoder state version ${PHASE_VOCODER_STATE_VERSION}, but got ${version} (a state from another version of Sequence Lab: generate again from a prime)`);
  }
  const state = createPhaseVocoderState({ frameSize, analysisHop, synthesisHop });
  const steady = framesToSteadyState(frameSize, synthesisHop);
  if (!Number.isInteger(frames) || frames < 0 || frames > steady) {
    throw new LabError('bad_argument', `Expected the packed frame count to be an integer from 0 to ${steady}, but got ${frames}`);
  }
  const bins = state.analysisPhase.length;
  const expected = packedPhaseVocoderLength(frameSize, synthesisHop);
  if (packed.length !== expected) {
    throw new LabError('bad_argument', `Expected a packed phase-vocoder state of ${expected} values for frameSize ${frameSize} and synthesisHop ${synthesisHop}, but got ${packed.length}`);
  }
  for (let i = PACKED_HEADER; i < packed.length; i++) {
    if (!Number.isFinite(packed[i])) throw new LabError('bad_argument', `Expected a finite packed phase-vocoder state, but value ${i} is ${packed[i]}`);
  }
  for (let i = PACKED_HEADER + 2 * bins; i < PACKED_HEADER + 3 * bins; i++) {
    if (packed[i] !== 0 && packed[i] !== 1) throw new LabError('bad_argument', `Expected the packed peak flags to be 0 or 1, but value ${i} is ${packed[i]}`);
  }
  state.frames = frames;
  state.analysisPhase.set(packed.subarray(PACKED_HEADER, PACKED_HEADER + bins));
  state.synthesisPhase.set(packed.subarray(PACKED_HEADER + bins, PACKED_HEADER + 2 * bins));
  state.peaks.set(packed.subarray(PACKED_HEADER + 2 * bins, PACKED_HEADER + 3 * bins));
  state.tail.set(packed.subarray(PACKED_HEADER + 3 * bins));
  return state;
}

/** Samples resynthesize() returns for `frames` more frames from `state` (the first half frame of all output is padding, dropped). */
export function resynthesisLength(state: PhaseVocoderState, frames: number): number {
  const done = state.frames * state.synthesisHop;
  const skip = state.frameSize / 2;
  return Math.max(0, done + frames * state.synthesisHop - skip) - Math.max(0, done - skip);
}

/**
 * Peaks of one magnitude frame: bins louder than their two neighbours on each side (Laroche & Dolson's
 * rule, so that a window's side lobes are not taken for partials). Writes bin indices to `out` and
 * returns how many.
 */
export function spectralPeaks(magnitude: ArrayLike<number>, offset: number, bins: number, out: Int32Array): number {
  let count = 0;
  for (let k = 0; k < bins; k++) {
    const m = magnitude[offset + k];
    if (!(m > 0)) continue;
    // Strictly above the lower neighbours and at least the upper ones, so that a flat top yields one peak.
    if (k >= 1 && !(m > magnitude[offset + k - 1])) continue;
    if (k >= 2 && !(m > magnitude[offset + k - 2])) continue;
    if (k + 1 < bins && !(m >= magnitude[offset + k + 1])) continue;
    if (k + 2 < bins && !(m >= magnitude[offset + k + 2])) continue;
    out[count++] = k;
  }
  return count;
}

const TWO_OVER_PI = 2 / Math.PI;
/** π/2 in two parts (Cody-Waite): q·HALF_PI_HI is exact for the small q here, so r keeps its precision. */
const HALF_PI_HI = 1.5707963267341256;
const HALF_PI_LO = 6.077100506506192e-11;

/** What resynthesize() keeps per frame size, made on first use: nothing in its per-frame path allocates. */
interface Resynthesis {
  window: Float64Array;
  synth: ReturnType<typeof synthesisFrame>;
  /** Buffers for one frame (not reentrant: nothing in resynthesize() awaits). */
  re: Float64Array;
  im: Float64Array;
  frame: Float64Array;
  peaks: Int32Array;
  /** Per hop, binAdvance() of every bin, and 1 / overlapWeight() of each of the hop's samples in the steady state. */
  advance: Map<number, Float64Array>;
  steadyWeight: Map<number, Float64Array>;
}

// Keyed by numbers (a string key built per call was garbage per frame).
const resyntheses = new Map<number, Resynthesis>();
function resynthesisFor(frameSize: number): Resynthesis {
  let s = resyntheses.get(frameSize);
  if (!s) {
    const bins = frameSize / 2 + 1;
    s = {
      window: sharedHannWindow(frameSize),
      synth: synthesisFrame(frameSize),
      re: new Float64Array(bins),
      im: new Float64Array(bins),
      frame: new Float64Array(frameSize),
      peaks: new Int32Array(bins),
      advance: new Map(),
      steadyWeight: new Map(),
    };
    resyntheses.set(frameSize, s);
  }
  return s;
}

// Loops, not map() with a closure, in these two: a closure over a parameter makes V8 allocate the function's
// context on every call, cache hit or not.
/** binAdvance() of every bin at this hop, computed once per (frameSize, hop). */
function advanceTable(s: Resynthesis, frameSize: number, hop: number): Float64Array {
  let t = s.advance.get(hop);
  if (!t) {
    t = new Float64Array(frameSize / 2 + 1);
    for (let k = 0; k < t.length; k++) t[k] = binAdvance(k, hop, frameSize);
    s.advance.set(hop, t);
  }
  return t;
}

/** 1 / overlapWeight() of each of a hop's samples once `steady` frames overlap, computed once per (frameSize, hop). */
function inverseSteadyWeights(s: Resynthesis, hop: number, steady: number): Float64Array {
  let t = s.steadyWeight.get(hop);
  if (!t) {
    t = new Float64Array(hop);
    for (let n = 0; n < hop; n++) t[n] = 1 / overlapWeight(s.window, hop, n, steady);
    s.steadyWeight.set(hop, t);
  }
  return t;
}

/** resynthesize()'s default options. */
const DEFAULT_RESYNTHESIS: ResynthesisOptions = {};

/**
 * Resynthesises frames from magnitudes and frequency deviations (frequencyDeviations()'s, measured at
 * the state's analysisHop), both [frames, bins], advancing `state` in place. Returns the samples that
 * these frames complete: synthesisHop per frame, less the half frame of padding at the very start.
 *
 * Each bin's analysis phase is rebuilt by accumulating its advance at analysisHop. Each peak's output
 * phase advances by its own instantaneous frequency over synthesisHop, and every bin in the peak's
 * region of influence (down to the troughs on either side) keeps its analysis phase offset from the
 * peak: the identity phase locking that keeps a partial's bins coherent when time is stretched. At
 * analysisHop = synthesisHop this reproduces the analysis phases, so analysis followed by resynthesis
 * returns the signal. `out` (optional) receives the samples: resynthesisLength() of them.
 */
export function resynthesize(
  state: PhaseVocoderState,
  magnitude: Float32Array,
  deviation: Float32Array,
  options: ResynthesisOptions = DEFAULT_RESYNTHESIS,
  out: Float32Array = new Float32Array(resynthesisLength(state, magnitude.length / (state.frameSize / 2 + 1))),
): Float32Array {
  const { frameSize, analysisHop, synthesisHop } = state;
  const bins = frameSize / 2 + 1;
  const locking = options.phaseLocking ?? DEFAULT_PHASE_LOCKING;
  const drawn = options.drawn ?? false;
  if (magnitude.length !== deviation.length || magnitude.length % bins !== 0) {
    throw new LabError('bad_argument', `Expected magnitudes and deviations of equal length, a multiple of ${bins} bins, but got ${magnitude.length} and ${deviation.length}`);
  }
  const frames = magnitude.length / bins;
  if (out.length !== resynthesisLength(state, frames)) {
    throw new LabError('bad_argument', `Expected an output of ${resynthesisLength(state, frames)} samples for ${frames} frames, but got ${out.length}`);
  }
  const steady = framesToSteadyState(frameSize, synthesisHop);
  // Scratch and tables shared per frame size: a generator resynthesises one frame per call (live: per
  // batch), and allocating these each time made the garbage collector a quarter of the spectral family's
  // generation time. No closure either: one made per frame and the numbers it returned were garbage too.
  const shared = resynthesisFor(frameSize);
  const { window, synth, re, im, frame, peaks } = shared;
  const advanceA = advanceTable(shared, frameSize, analysisHop);
  const advanceS = advanceTable(shared, frameSize, synthesisHop);
  const steadyWeight = inverseSteadyWeights(shared, synthesisHop, steady);
  const toAnalysis = (2 * Math.PI * analysisHop) / frameSize;
  const toSynthesis = (2 * Math.PI * synthesisHop) / frameSize;
  const { analysisPhase: pa, synthesisPhase: ps, tail, peaks: lastPeaks } = state;
  const skip = frameSize / 2;
  let written = 0;
  for (let t = 0; t < frames; t++) {
    const row = t * bins;
    for (let k = 0; k < bins; k++) {
      pa[k] = principalArgument(pa[k] + advanceA[k] + toAnalysis * deviation[row + k]);
    }
    const known = options.peaks && frames === 1 ? options.peaks : null;
    const at = known ? known.at : peaks;
    const count = !locking ? 0 : known ? known.count : spectralPeaks(magnitude, row, bins, peaks);
    if (state.frames === 0 && !(drawn && count > 0)) {
      ps.set(pa); // start from the analysis phases: the first frame is as it was analysed
    } else if (count === 0) {
      for (let k = 0; k < bins; k++) ps[k] = principalArgument(ps[k] + advanceS[k] + toSynthesis * deviation[row + k]);
    } else {
      let lo = 0;
      for (let i = 0; i < count; i++) {
        const p = at[i];
        let hi = bins - 1;
        if (i + 1 < count) {
          hi = p; // the region ends at the lowest bin before the next peak
          for (let k = p + 1; k < at[i + 1]; k++) if (magnitude[row + k] < magnitude[row + hi]) hi = k;
        }
        // Within (−3π, 3π): cos and sin need no principal value, and the next frame's advance takes one.
        // ps[p] is read before the region is overwritten.
        const advanced = principalArgument(ps[p] + advanceS[p] + toSynthesis * deviation[row + p]);
        if (drawn && lastPeaks[p] === 0) {
          // A new partial (taking a moved one's phase from the bin it left, or counting a peak a bin away as
          // going on, measured worse: bench/resynthesis.ts's drawn rows). Its region takes a stationary
          // sinusoid's phases at its frequency f (bins), whose Hann kernel is positive within 2 bins of f and
          // changes sign at each integer distance beyond. The analysis phases take the same offsets, so that
          // the frames after, going on from this peak, keep them.
          // Each bin's flips counted from the peak's own (a deviation of 2 bins or more puts the peak itself
          // past a zero), so that the peak keeps its phase. Inline, not a closure: this runs every frame.
          const f = p + deviation[row + p];
          const dp = Math.abs(p - f);
          const own = p + (dp >= 2 ? Math.floor(dp) - 1 : 0);
          const base = pa[p];
          for (let k = lo; k <= hi; k++) {
            const d = Math.abs(k - f);
            const offset = ((k + (d >= 2 ? Math.floor(d) - 1 : 0) - own) & 1) === 0 ? 0 : Math.PI;
            ps[k] = advanced + offset;
            pa[k] = principalArgument(base + offset);
          }
        } else {
          const rotation = advanced - pa[p];
          for (let k = lo; k <= hi; k++) ps[k] = rotation + pa[k];
        }
        lo = hi + 1;
      }
    }
    lastPeaks.fill(0);
    for (let i = 0; i < count; i++) lastPeaks[at[i]] = 1;
    for (let k = 0; k < bins; k++) {
      // m·e^{i·ps[k]}: cos and sin by quadrant and polynomial (within 1e-13 of Math.cos and Math.sin for
      // |phase| < 4π): the two library calls per bin were a quarter of a generated frame's time.
      const m = magnitude[row + k];
      const x = ps[k];
      const q = Math.round(x * TWO_OVER_PI);
      const r = x - q * HALF_PI_HI - q * HALF_PI_LO; // |r| ≤ π/4
      const r2 = r * r;
      const sr = r + r * r2 * (-1 / 6 + r2 * (1 / 120 + r2 * (-1 / 5040 + r2 * (1 / 362880 + r2 * (-1 / 39916800 + r2 * (1 / 6227020800))))));
      const cr = 1 + r2 * (-1 / 2 + r2 * (1 / 24 + r2 * (-1 / 720 + r2 * (1 / 40320 + r2 * (-1 / 3628800 + r2 * (1 / 479001600 + r2 * (-1 / 87178291200)))))));
      switch (q & 3) {
        case 0:
          re[k] = m * cr;
          im[k] = m * sr;
          break;
        case 1:
          re[k] = -m * sr;
          im[k] = m * cr;
          break;
        case 2:
          re[k] = -m * cr;
          im[k] = -m * sr;
          break;
        default:
          re[k] = m * sr;
          im[k] = -m * cr;
      }
    }
    synth(re, im, 0, frame);
    const contributing = Math.min(state.frames + 1, steady);
    const start = state.frames * synthesisHop; // position of this frame in the padded output, while it matters
    if (contributing === steady && start >= skip) {
      // The steady state, every frame after the first few: one multiply per sample.
      for (let n = 0; n < synthesisHop; n++) out[written++] = ((n < tail.length ? tail[n] : 0) + frame[n]) * steadyWeight[n];
    } else {
      for (let n = 0; n < synthesisHop; n++) {
        const sum = (n < tail.length ? tail[n] : 0) + frame[n];
        if (start + n >= skip) out[written++] = sum / overlapWeight(window, synthesisHop, n, contributing);
      }
    }
    const kept = tail.length - synthesisHop;
    for (let n = 0; n < kept; n++) tail[n] = tail[n + synthesisHop] + frame[n + synthesisHop];
    for (let n = Math.max(0, kept); n < tail.length; n++) tail[n] = frame[n + synthesisHop];
    state.frames = contributing;
  }
  return out;
}

/**
 * The samples after the last frame's completed ones, up to and including its centre, as if the
 * signal ended there (dividing by the weights of the frames that exist). Leaves `state` unchanged.
 */
export function flushPhaseVocoder(state: PhaseVocoderState): Float32Array {
  const { frameSize, synthesisHop, frames, tail } = state;
  if (frames === 0) return new Float32Array(0);
  const window = sharedHannWindow(frameSize);
  const newestStart = (frames - 1) * synthesisHop; // meaningful only while frames is below the steady-state count
  const out: number[] = [];
  for (let d = synthesisHop; d <= frameSize / 2; d++) {
    if (newestStart + d >= frameSize / 2) out.push(tail[d - synthesisHop] / overlapWeight(window, synthesisHop, d, frames));
  }
  return Float32Array.from(out);
}

/**
 * A whole signal from magnitudes and deviations (one fresh state, resynthesize() then
 * flushPhaseVocoder()), cut to `length` samples; by default as many as the frames cover.
 */
export function resynthesizeSignal(magnitude: Float32Array, deviation: Float32Array, options: PhaseVocoderOptions & ResynthesisOptions & { length?: number } = {}): Float32Array {
  const state = createPhaseVocoderState(options);
  const body = resynthesize(state, magnitude, deviation, options);
  const end = flushPhaseVocoder(state);
  const all = new Float32Array(body.length + end.length);
  all.set(body);
  all.set(end, body.length);
  const length = options.length ?? all.length;
  if (!Number.isInteger(length) || length < 0 || length > all.length) {
    throw new LabError('bad_argument', `Expected length to be an integer from 0 to ${all.length}, but got ${length}`);
  }
  return all.subarray(0, length);
}

export interface TimeStretchOptions extends ResynthesisOptions {
  /** Samples per frame. Default DEFAULT_FRAME_SIZE. */
  frameSize?: number;
  /** Output hop; the analysis hop is this divided by the factor, rounded. Default DEFAULT_HOP (a quarter frame, where Hann² overlaps evenly). */
  synthesisHop?: number;
}

export interface TimeStretch {
  samples: Float32Array;
  /** The factor applied: synthesisHop / analysisHop, which rounding the analysis hop makes slightly off the one asked for. */
  factor: number;
  analysisHop: number;
  synthesisHop: number;
}

/**
 * Changes a signal's duration by `factor` (2 = twice as long) without changing its pitch: analysis at
 * synthesisHop / factor, resynthesis at synthesisHop. The output has round((length − 1) · factor) + 1
 * samples, so that the last input sample maps to the last output sample.
 */
export function timeStretch(x: Float32Array, factor: number, options: TimeStretchOptions = {}): TimeStretch {
  const frameSize = options.frameSize ?? DEFAULT_FRAME_SIZE;
  checkFrameSize(frameSize);
  const synthesisHop = options.synthesisHop ?? DEFAULT_HOP;
  checkHop('synthesisHop', synthesisHop, frameSize);
  if (!(factor > 0) || !Number.isFinite(factor)) throw new LabError('bad_argument', `Expected factor to be a positive number, but got ${factor}`);
  const analysisHop = Math.round(synthesisHop / factor);
  if (analysisHop < 1 || analysisHop > frameSize / 2) {
    throw new LabError('bad_argument', `Expected factor to be from ${(2 * synthesisHop) / frameSize} to ${2 * synthesisHop} at synthesisHop ${synthesisHop} and frameSize ${frameSize}, but got ${factor}`);
  }
  const actual = synthesisHop / analysisHop;
  if (x.length === 0) return { samples: new Float32Array(0), factor: actual, analysisHop, synthesisHop };
  const spec = stft(x, { frameSize, hop: analysisHop });
  const samples = resynthesizeSignal(magnitudes(spec), frequencyDeviations(spec), {
    frameSize,
    analysisHop,
    synthesisHop,
    phaseLocking: options.phaseLocking,
    length: Math.round((x.length - 1) * actual) + 1, // the frames reach at least this far: their last centre is at or after the last sample
  });
  return { samples, factor: actual, analysisHop, synthesisHop };
}
