// The spectral family's generator: one frame per step. The recurrent stack steps in lstm.wasm on the
// last frame's features; the head picks one of its mixture's components and gives each bin a Gaussian
// over its next log-magnitude, drawn with a temperature and a seeded RNG per stream; each partial's frequency comes from the drawn spectrum's
// peaks, and a phase vocoder (identity phase locking, overlap-add) turns the frame into a hop of
// samples. The packed state carries all of it (recurrent state, RNG, next input, phase accumulators,
// the last frame's peaks, overlap-add tail, samples made but not yet delivered), so a continuation from it equals one
// unbroken run exactly.
//
// Priming: the prime's frames that lie wholly inside it are fed to the net, and resynthesised from their
// own magnitudes and measured frequencies to set the phase vocoder's phases and tail; the first
// generated samples that fall before the prime's end are dropped, so sample 0 follows the prime's last.
//
// Live input (observe): samples go into a ring holding the last frame's worth; each time they complete a
// frame (on a prime's grid of frames), the net steps on the frame before (as a prime feeds it), the new
// frame's features become the next input and the frame is resynthesised from its own magnitudes and
// measured frequencies, so that generating after observe() continues as generating after a prime of
// everything observed does, draw for draw. Its one-step predictions are frame-rate: at each completed
// frame the net's draw for that frame is resynthesised by a second phase vocoder and played out over the
// next hop, so a prediction sounds about a frame (frameSize samples) after the input it predicts. After
// generating, generated samples not yet delivered give their place in time to the input, and the first
// frame the input completes re-anchors the vocoder's phases on its measured ones (the frames before were
// drawn, not measured); so does a stepper restored from a packed state, which does not carry the ring.
//
// Packed layout (float32): [0] SPECTRAL_STATE_MAGIC [1] version [2] streams [3] bins [4] frameSize
// [5] hop [6] samples still to drop [7] samples pending [8] the loudest feature a draw may reach; then per stream rngHigh, rngLow (16-bit
// halves), `hop` pending samples, the next step's `bins` inputs and the phase vocoder's packed state;
// then the recurrent state in shared/packed-state.ts's format.
import { DEFAULT_SPECTRAL_TEMPERATURE, type Normalisation } from '../../../../shared/contract';
import FFT from 'fft.js';
import { createPhaseVocoderState, packedPhaseVocoderLength, packPhaseVocoderState, resynthesize, unpackPhaseVocoderState, type PhaseVocoderState } from '../../../../shared/dsp/phase-vocoder';
import { FEATURE_CEILING, FEATURE_FLOOR, LOG_OFFSET, LOG_SCALE, magnitudeFeature, peakDeviations } from '../../../../shared/dsp/spectral-features';
import { binAdvance, frequencyDeviations, magnitudes, principalArgument, sharedHannWindow, stft } from '../../../../shared/dsp/stft';
import { LabError } from '../../../../shared/errors';
import { packState, unpackState, zeroState, type RecurrentState } from '../../../../shared/packed-state';
import { LstmKernel, type LoadedStack } from '../../fused-recurrent';
import { checkLiveInput, checkLiveOutput, type LiveStepper, type SamplingOptions, type StepperStart } from '../family';
import { streamSeed } from '../stream-seed';
import type { SpectralWeights } from './model';
import { SIGMA_MIN } from './objective';

export const SPECTRAL_STATE_MAGIC = 0x5153; // 'QS'
const VERSION = 2;
const HEADER = 9;
/**
 * How far above the prime's loudest bin a drawn bin may go, in feature units (0.25 = 1 neper, 8.7 dB):
 * a net fed its own draws, badly trained or far from its training data, cannot run away upwards.
 */
export const CEILING_MARGIN = 0.25;
/** Default seed of the sampler: the same model, prime and settings give the same continuation. */
export const DEFAULT_SPECTRAL_SEED = 1;
/** Default temperature (shared/families/model-spec.ts, where the UI reads it too). */
export { DEFAULT_SPECTRAL_TEMPERATURE };

const perStream = (bins: number, frameSize: number, hop: number) => 2 + hop + bins + packedPhaseVocoderLength(frameSize, hop);

/** The streams of a spectral packed state, after checking its header. */
export function spectralStateStreams(p: Float32Array): number {
  if (!(p instanceof Float32Array) || p.length < HEADER) throw new LabError('bad_argument', "Packed state is too short to be a spectral model's");
  if (p[0] !== SPECTRAL_STATE_MAGIC) throw new LabError('bad_argument', "Packed state is not a spectral model's (bad magic number)");
  if (p[1] !== VERSION) throw new LabError('bad_argument', `Spectral packed state version ${p[1]} is not supported (expected ${VERSION}): it was made by another version of Sequence Lab; generate again from a prime`);
  const [, , streams, bins, frameSize, hop, skip, pending, ceiling] = p;
  const ok =
    Number.isInteger(streams) && streams >= 1 && Number.isInteger(frameSize) && frameSize >= 4 && bins === frameSize / 2 + 1 &&
    Number.isInteger(hop) && hop >= 1 && hop <= frameSize / 2 && Number.isInteger(skip) && skip >= 0 && skip < 2 * frameSize &&
    Number.isInteger(pending) && pending >= 0 && pending <= hop && ceiling >= FEATURE_FLOOR && ceiling <= FEATURE_CEILING && HEADER + streams * perStream(bins, frameSize, hop) <= p.length;
  if (!ok) throw new LabError('bad_argument', `Spectral packed state header is corrupt (streams ${streams}, frame ${frameSize}, hop ${hop})`);
  return streams;
}

/** Where the head's weights lie in the stepper's lstm.wasm memory (see loadHead). */
interface SpectralHead {
  Wmu: number;
  bmu: number;
  Ws: number;
  bs: number;
  Wl: number;
  bl: number;
  Fp: number;
  Ek: number;
  Eb: number;
}

export interface SpectralShape {
  frameSize: number;
  hop: number;
}

/** What observe() keeps between calls, beside what pack() carries; made with the stepper. */
interface LiveAnalysis {
  /** Per stream, the last frameSize samples (network units), a ring whose oldest sample is at `at`. */
  recent: Float32Array[];
  at: number;
  /** Per stream, each bin's phase in the newest analysed frame (frequencyDeviations()'s `previous`). */
  phase: Float64Array[];
  /** The next analysed frame re-anchors the phase vocoder on its measured phases. */
  resync: boolean;
  /** The loudest feature fed so far (the ceiling is CEILING_MARGIN above it). */
  loudest: number;
  fft: FFT;
  fftIn: Float64Array;
  fftOut: number[];
  /** One analysed frame's magnitudes and frequency deviations. */
  magnitude: Float32Array;
  deviation: Float32Array;
  /** The resynthesis of an observed frame: not heard, but resynthesize() writes it. */
  discard: Float32Array;
  /** lstm.wasm: the embedded input of one step [streams, embedding]; a predicted frame's draws and magnitudes [streams, bins]. */
  embedded: number;
  drawn: number;
  drawnMagnitude: number;
}

/** Predictions waiting to be heard: per stream a FIFO of resynthesised predicted frames. */
interface LivePredictions {
  pv: PhaseVocoderState[];
  fifo: Float32Array[];
  read: number;
  count: number;
  /** One predicted frame's resynthesis, and its peaks for resynthesize(). */
  hop: Float32Array;
  options: { peaks: { at: Int32Array; count: number }; drawn: true };
}

/** Per-stream rows of the stepper's arrays in lstm.wasm's memory. */
interface StepperViews {
  buffer: ArrayBufferLike;
  /** Each stream's next input [bins]. */
  xRow: Float32Array[];
  /** Each stream's generated frame's magnitudes [bins]. */
  magnitude: Float32Array[];
  /** Each stream's embedded input [embedding], fed by observe(). */
  embedded: Float32Array[];
  /** Each stream's predicted frame [bins] and its magnitudes. */
  drawn: Float32Array[];
  drawnMagnitude: Float32Array[];
}

/** resynthesize()'s options for an analysed frame: it finds the peaks itself, as a prime's resynthesis does. */
const MEASURED: Readonly<Record<string, never>> = {};

/** What save() copies. */
interface SavedState {
  arrays: Float32Array[];
  wasm: Float32Array[];
  rng: Uint32Array;
  phase: Float64Array[];
  scalars: number[];
}

export class SpectralStepper implements LiveStepper {
  readonly streams: number;
  private readonly k = new LstmKernel();
  private readonly stack: LoadedStack;
  private readonly bins: number;
  private readonly frameSize: number;
  private readonly hop: number;
  private readonly x: number;
  private readonly z: number;
  private readonly top: { h: number; units: number };
  private readonly head: SpectralHead;
  private readonly rngAt: number;
  private readonly magnitudes: number;
  private readonly scratch: number;
  private readonly pv: PhaseVocoderState[];
  /** [streams][hop]: samples resynthesised, not yet delivered (the last `pending` of each row). */
  private readonly pendingSamples: Float32Array[];
  private pending = 0;
  private skip = 0;
  private ceiling = FEATURE_CEILING;
  private packed = false;
  private readonly scale: number;
  private readonly temperature: number;
  // Per-frame scratch, reused.
  private readonly deviation: Float32Array;
  private readonly peaks: Int32Array;
  private readonly live: LiveAnalysis;
  private predictions: LivePredictions | null = null;
  private saved: SavedState | null = null;
  /** resynthesize()'s options for a drawn frame: its peaks, found by peakDeviations(). */
  private readonly drawnPeaks: { peaks: { at: Int32Array; count: number }; drawn: true };
  private views: StepperViews | null = null;

  constructor(
    private readonly w: SpectralWeights,
    shape: SpectralShape,
    private readonly normalisation: Normalisation,
    start: StepperStart,
    sampling: SamplingOptions = {},
  ) {
    const temperature = sampling.temperature ?? DEFAULT_SPECTRAL_TEMPERATURE;
    if (!(temperature >= 0 && temperature <= 100)) throw new LabError('bad_argument', `Expected temperature in [0, 100], but got ${temperature}`);
    this.temperature = temperature;
    const F = w.bins;
    const { frameSize: N, hop } = shape;
    this.bins = F;
    this.frameSize = N;
    this.hop = hop;
    this.scale = normalisation.scale;
    this.deviation = new Float32Array(F);
    this.peaks = new Int32Array(F);
    this.drawnPeaks = { peaks: { at: this.peaks, count: 0 }, drawn: true };
    const PER = perStream(F, N, hop);
    let recurrent: RecurrentState;
    let extras: Float32Array | null = null;
    if ('state' in start) {
      this.streams = spectralStateStreams(start.state);
      const p = start.state;
      if (p[3] !== F || p[4] !== N || p[5] !== hop) {
        throw new LabError('bad_argument', `Packed state is for frames of ${p[4]} every ${p[5]}; this model's are ${N} every ${hop}`);
      }
      extras = p.subarray(HEADER, HEADER + this.streams * PER);
      for (let i = 0; i < extras.length; i++) if (!Number.isFinite(extras[i])) throw new LabError('bad_argument', `Packed state holds a non-finite value at index ${HEADER + i}`);
      recurrent = unpackState(p.subarray(HEADER + this.streams * PER));
      if (recurrent.cell !== w.cell || recurrent.batch !== this.streams || recurrent.units.join() !== w.units.join()) {
        throw new LabError('bad_argument', `Packed state is for ${recurrent.cell} ${recurrent.units.join('x')} with ${recurrent.batch} streams; this model is ${w.cell} ${w.units.join('x')}`);
      }
      this.skip = p[6];
      this.pending = p[7];
      this.ceiling = p[8];
    } else {
      this.streams = start.prime.length;
      if (this.streams < 1) throw new LabError('bad_argument', 'Expected at least one priming stream');
      recurrent = zeroState(w.cell, this.streams, w.units);
    }
    const B = this.streams;
    const k = this.k;
    this.stack = k.loadStack(w.layers, recurrent);
    const last = this.stack.stateAt.length - 1;
    this.top = { h: this.stack.stateAt[last].h, units: w.units[last] };
    this.x = k.alloc(B * F);
    this.z = k.alloc(4 * Math.max(...w.units));
    this.head = this.loadHead();
    this.rngAt = k.alloc(B);
    this.magnitudes = k.alloc(B * F);
    this.scratch = k.alloc(2 * this.head.Fp + w.embedding + w.mixtures);
    this.pendingSamples = Array.from({ length: B }, () => new Float32Array(hop));
    const fft = new FFT(N);
    this.live = {
      recent: Array.from({ length: B }, () => new Float32Array(N)),
      at: 0,
      phase: Array.from({ length: B }, () => new Float64Array(F)),
      resync: true,
      loudest: this.ceiling - CEILING_MARGIN,
      fft,
      fftIn: new Float64Array(N),
      fftOut: fft.createComplexArray() as number[],
      magnitude: new Float32Array(F),
      deviation: new Float32Array(F),
      discard: new Float32Array(hop),
      embedded: k.alloc(B * w.embedding),
      drawn: k.alloc(B * F),
      drawnMagnitude: k.alloc(B * F),
    };
    if (extras) {
      const x = k.f32(this.x, B * F);
      this.pv = [];
      for (let b = 0; b < B; b++) {
        const e = extras.subarray(b * PER, (b + 1) * PER);
        const half = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffff;
        if (!half(e[0]) || !half(e[1])) throw new LabError('bad_argument', `Packed state's RNG state of stream ${b} is corrupt (${e[0]}, ${e[1]})`);
        this.rng[b] = ((e[0] << 16) | e[1]) >>> 0;
        this.pendingSamples[b].set(e.subarray(2, 2 + hop));
        x.set(e.subarray(2 + hop, 2 + hop + F), b * F);
        const pv = unpackPhaseVocoderState(e.subarray(2 + hop + F));
        if (pv.frameSize !== N || pv.analysisHop !== hop || pv.synthesisHop !== hop) throw new LabError('bad_argument', 'Packed state\'s phase vocoder does not match the model\'s frames');
        // Priming leaves at least two frames, so every later frame gives a whole hop.
        if (pv.frames * hop < N / 2) throw new LabError('bad_argument', `Packed state's phase vocoder has resynthesised ${pv.frames} frames; a primed one has at least ${Math.ceil(N / 2 / hop)}`);
        this.pv.push(pv);
      }
      return;
    }
    this.pv = this.prime((start as { prime: Float32Array[] }).prime, sampling.seed ?? DEFAULT_SPECTRAL_SEED);
  }

  /** Each stream's RNG state (a view of lstm.wasm's memory: valid until its next allocation). */
  private get rng(): Uint32Array {
    return new Uint32Array(this.k.x.memory.buffer, this.rngAt, this.streams);
  }

  /**
   * Copies the head into memory as spec_frame reads it: per component its means and raw log-deviations
   * apart, [U, Fp] each (Fp = bins rounded up to 4), and the mixture logits' [U, K] and [K].
   */
  private loadHead(): SpectralHead {
    const { bins: F, k, w } = this;
    const U = this.top.units;
    const K = w.mixtures;
    const V = K * (2 * F + 1);
    const Fp = (F + 3) & ~3;
    const Wmu = new Float32Array(K * U * Fp);
    const Ws = new Float32Array(K * U * Fp);
    const Wl = new Float32Array(U * K);
    for (let u = 0; u < U; u++) {
      const row = w.headKernel.subarray(u * V, (u + 1) * V);
      for (let c = 0; c < K; c++) {
        Wmu.set(row.subarray(c * F, (c + 1) * F), (c * U + u) * Fp);
        Ws.set(row.subarray(K * F + c * F, K * F + (c + 1) * F), (c * U + u) * Fp);
      }
      Wl.set(row.subarray(2 * K * F), u * K);
    }
    const bmu = new Float32Array(K * Fp);
    const bs = new Float32Array(K * Fp);
    for (let c = 0; c < K; c++) {
      bmu.set(w.headBias.subarray(c * F, (c + 1) * F), c * Fp);
      bs.set(w.headBias.subarray(K * F + c * F, K * F + (c + 1) * F), c * Fp);
    }
    return {
      Wmu: k.put(Wmu), bmu: k.put(bmu), Ws: k.put(Ws), bs: k.put(bs), Wl: k.put(Wl), bl: k.put(w.headBias.subarray(2 * K * F)),
      Fp, Ek: k.put(w.embedKernel), Eb: k.put(w.embedBias),
    };
  }

  /** Feeds the prime's whole frames, sets each stream's phase vocoder from them; returns the vocoders. */
  private prime(prime: Float32Array[], seed: number): PhaseVocoderState[] {
    const { bins: F, frameSize: N, hop, streams: B, k } = this;
    const n = prime[0].length;
    if (n < N) throw new LabError('bad_argument', `A spectral model with frames of ${N} samples needs a prime of at least ${N} samples, but got ${n}`);
    const P = Math.floor((n - N / 2) / hop) + 1; // frames 0 .. P-1 lie wholly inside the prime
    const inputs = new Float32Array(P * B * F); // time-major [P, B, F]
    const { offset, scale } = this.normalisation;
    const pvs = prime.map((p, b) => {
      if (p.length !== n) throw new LabError('bad_argument', 'Priming streams must have equal lengths');
      const v = new Float32Array(n);
      for (let t = 0; t < n; t++) {
        v[t] = (p[t] - offset) / scale;
        if (!Number.isFinite(v[t])) throw new LabError('bad_signal', `Priming sample ${t} of stream ${b} is not a finite number`);
      }
      const spec = stft(v, { frameSize: N, hop });
      const m = magnitudes(spec).subarray(0, P * F);
      for (let t = 0; t < P; t++) for (let j = 0; j < F; j++) inputs[(t * B + b) * F + j] = magnitudeFeature(m[t * F + j], N);
      // What observe() continues from: the prime's last N samples (the next frame, P, starts after n - N)
      // and the phases of its last frame.
      this.live.recent[b].set(v.subarray(n - N));
      for (let j = 0; j < F; j++) this.live.phase[b][j] = Math.atan2(spec.im[(P - 1) * F + j], spec.re[(P - 1) * F + j]);
      const pv = createPhaseVocoderState({ frameSize: N, analysisHop: hop });
      resynthesize(pv, m, frequencyDeviations(spec).subarray(0, P * F));
      this.rng[b] = streamSeed(seed, b);
      return pv;
    });
    if (P > 1) {
      // The frames before the last through the embedding (here: P frames once), then the stack.
      const E = this.w.embedding;
      const { embedKernel: Ek, embedBias: Eb } = this.w;
      const embedded = new Float32Array((P - 1) * B * E);
      for (let r = 0; r < (P - 1) * B; r++) {
        const e = embedded.subarray(r * E, (r + 1) * E);
        e.set(Eb);
        for (let j = 0; j < F; j++) {
          const v = inputs[r * F + j];
          for (let c = 0; c < E; c++) e[c] += v * Ek[j * E + c];
        }
      }
      const mark = k.alloc(0);
      const xs = k.put(embedded);
      k.x.stack_feed(this.w.layers.length, this.stack.desc, this.w.cell === 'gru' ? 1 : 0, B, E, xs, P - 1, this.z);
      k.rewind(mark);
    }
    k.f32(this.x, B * F).set(inputs.subarray((P - 1) * B * F));
    let loudest = FEATURE_FLOOR;
    for (const v of inputs) loudest = Math.max(loudest, v);
    this.ceiling = Math.fround(Math.min(FEATURE_CEILING, loudest + CEILING_MARGIN));
    this.live.loudest = loudest;
    this.live.resync = false;
    // Frames 0 .. P-1 have given out samples [0, P·hop - N/2); the continuation starts at n.
    this.skip = n + N / 2 - P * hop;
    return pvs;
  }

  /** One frame for every stream: the net steps, each bin is drawn (lstm.wasm), the frame is resynthesised into `pendingSamples`. */
  private step(): void {
    const { bins: F, frameSize: N, streams: B, k, w, head } = this;
    const gru = w.cell === 'gru' ? 1 : 0;
    if (!this.packed) {
      // Once, after priming (stack_feed packs too): the weights into strips read front to back, 25-40 % faster.
      k.x.spec_pack(w.layers.length, this.stack.desc, gru, F, head.Fp, w.embedding, w.mixtures, head.Ek, head.Wmu, head.Ws);
      this.packed = true;
    }
    k.x.spec_frame(
      w.layers.length, this.stack.desc, gru, B, F, head.Fp, w.embedding, w.mixtures, this.x, this.z, head.Ek, head.Eb, head.Wmu, head.bmu, head.Ws, head.bs, head.Wl, head.bl,
      this.temperature, Math.log(SIGMA_MIN), FEATURE_FLOOR, this.ceiling, LOG_SCALE, LOG_OFFSET, N / 4,
      this.rngAt, this.magnitudes, this.scratch,
    );
    const v = this.view();
    const o = this.drawnPeaks;
    for (let b = 0; b < B; b++) {
      o.peaks.count = peakDeviations(v.magnitude[b], F, this.deviation, this.peaks, v.xRow[b]);
      resynthesize(this.pv[b], v.magnitude[b], this.deviation, o, this.pendingSamples[b]);
    }
    this.pending = this.hop;
  }

  generate(length: number): Float32Array[] {
    const out = Array.from({ length: this.streams }, () => new Float32Array(length));
    this.run(out, length);
    return out;
  }

  generateInto(out: Float32Array[]): void {
    this.run(out, checkLiveOutput(out, this.streams));
  }

  private run(out: Float32Array[], length: number): void {
    const B = this.streams;
    const { offset } = this.normalisation;
    const { hop, frameSize: N, live } = this;
    let made = 0;
    while (made < length) {
      if (this.pending === 0) {
        this.step();
        live.resync = true; // the frames ahead are drawn: input that follows re-anchors the phases
        const drop = Math.min(this.skip, this.pending);
        this.skip -= drop;
        this.pending -= drop;
        continue;
      }
      const take = Math.min(this.pending, length - made);
      for (let b = 0; b < B; b++) {
        const src = this.pendingSamples[b];
        const o = out[b];
        const recent = live.recent[b];
        for (let i = 0, r = live.at; i < take; i++) {
          const v = src[hop - this.pending + i];
          o[made + i] = v * this.scale + offset;
          recent[r] = v; // the timeline observe() analyses goes on with what was heard
          r = r + 1 === N ? 0 : r + 1;
        }
      }
      live.at = (live.at + take) % N;
      this.pending -= take;
      made += take;
    }
  }

  observe(input: Float32Array[], predictions?: Float32Array[]): void {
    const n = checkLiveInput(input, this.streams, predictions);
    const B = this.streams;
    const { offset } = this.normalisation;
    const { frameSize: N, live } = this;
    const p = predictions ? this.predictionBuffers() : null;
    if (this.predictions && !p) this.predictions.count = 0; // predictions not asked for are dropped, not heard late
    for (let t = 0; t < n; t++) {
      for (let b = 0; b < B; b++) live.recent[b][live.at] = (input[b][t] - offset) / this.scale;
      live.at = live.at + 1 === N ? 0 : live.at + 1;
      // The sample takes the place of a generated one not yet delivered, else it is one more the next frame
      // made would have to drop: skip - pending counts the samples since the next frame's first, and it
      // reaches N when the samples complete a frame.
      if (this.pending > 0) this.pending--;
      else if (++this.skip >= N) this.observeFrame(p);
      if (p && predictions) {
        const has = p.count > 0;
        for (let b = 0; b < B; b++) predictions[b][t] = has ? p.fifo[b][p.read] * this.scale + offset : 0;
        if (has) {
          p.read = p.read + 1 === p.fifo[0].length ? 0 : p.read + 1;
          p.count--;
        }
      }
    }
  }

  /**
   * The input completed a frame: the net steps on the frame before (a prime's feed: its embedding in
   * float64 sums rounded per term, then stack_feed), predictions draw this frame from it, and the new frame
   * is analysed into the next input and resynthesised from its measured phases.
   */
  private observeFrame(p: LivePredictions | null): void {
    const { bins: F, hop, streams: B, k, w, live } = this;
    const E = w.embedding;
    const { embedKernel: Ek, embedBias: Eb } = w;
    const gru = w.cell === 'gru' ? 1 : 0;
    const v = this.view();
    for (let b = 0; b < B; b++) {
      const row = v.embedded[b];
      const x = v.xRow[b];
      row.set(Eb);
      for (let j = 0; j < F; j++) {
        const xj = x[j];
        for (let c = 0; c < E; c++) row[c] += xj * Ek[j * E + c];
      }
    }
    k.x.stack_feed(w.layers.length, this.stack.desc, gru, B, E, live.embedded, 1, this.z);
    if (B >= 16) this.packed = false; // stack_feed packed its strips over spec_pack's
    if (p) this.predict(p);
    for (let b = 0; b < B; b++) {
      this.analyse(b, v.xRow[b]);
      resynthesize(this.pv[b], live.magnitude, live.deviation, MEASURED, live.discard);
    }
    live.resync = false;
    this.ceiling = Math.fround(Math.min(FEATURE_CEILING, live.loudest + CEILING_MARGIN));
    this.skip -= hop;
  }

  /**
   * Stream b's newest frame (the ring's N samples) as stft() analyses it: its features into the next
   * input, its magnitudes, and its frequency deviations against the frame before; on a resync frame, no
   * deviation, and the vocoder's phases set so that this frame is resynthesised with its measured phases.
   */
  private analyse(b: number, next: Float32Array): void {
    const { bins: F, frameSize: N, hop, live } = this;
    const { fftIn, fftOut, magnitude, deviation } = live;
    const recent = live.recent[b];
    const phase = live.phase[b];
    const window = sharedHannWindow(N);
    for (let n = 0, i = live.at; n < N; n++, i = i + 1 === N ? 0 : i + 1) fftIn[n] = recent[i] * window[n];
    live.fft.realTransform(fftOut, fftIn as unknown as number[]);
    const toBins = N / (2 * Math.PI * hop);
    const pv = this.pv[b];
    for (let j = 0; j < F; j++) {
      // Rounded to float32 where stft() and magnitudes() store them, so that the numbers are a prime's. (Not
      // Math.hypot, which allocates on every call: re² and im² of float32 values are exact in float64, and the
      // square root then rounds to the same float32 but in the rarest ties.)
      const re = Math.fround(fftOut[2 * j]);
      const im = Math.fround(fftOut[2 * j + 1]);
      magnitude[j] = Math.sqrt(re * re + im * im);
      const feature = Math.fround(magnitudeFeature(magnitude[j], N));
      next[j] = feature;
      if (feature > live.loudest) live.loudest = feature;
      const ph = Math.atan2(im, re);
      if (live.resync) {
        deviation[j] = 0;
        pv.analysisPhase[j] = pv.synthesisPhase[j] = ph - binAdvance(j, hop, N);
      } else {
        deviation[j] = principalArgument(ph - phase[j] - binAdvance(j, hop, N)) * toBins;
      }
      phase[j] = ph;
    }
  }

  /** The net's draw of the frame just completed, resynthesised into the predictions' FIFO. */
  private predict(p: LivePredictions): void {
    const { bins: F, streams: B, k, w, head, live } = this;
    const gru = w.cell === 'gru' ? 1 : 0;
    if (!this.packed) {
      k.x.spec_pack(w.layers.length, this.stack.desc, gru, F, head.Fp, w.embedding, w.mixtures, head.Ek, head.Wmu, head.Ws);
      this.packed = true;
    }
    k.x.spec_draw(
      w.layers.length, this.stack.desc, gru, B, F, head.Fp, w.embedding, w.mixtures, head.Wmu, head.bmu, head.Ws, head.bs, head.Wl, head.bl,
      this.temperature, Math.log(SIGMA_MIN), FEATURE_FLOOR, this.ceiling, LOG_SCALE, LOG_OFFSET, this.frameSize / 4,
      this.rngAt, live.drawn, live.drawnMagnitude, this.scratch,
    );
    const v = this.view();
    const cap = p.fifo[0].length;
    for (let b = 0; b < B; b++) {
      const magnitude = v.drawnMagnitude[b];
      p.options.peaks.count = peakDeviations(magnitude, F, this.deviation, p.options.peaks.at, v.drawn[b]);
      resynthesize(p.pv[b], magnitude, this.deviation, p.options, p.hop);
      for (let i = 0, at = (p.read + p.count) % cap; i < p.hop.length; i++, at = at + 1 === cap ? 0 : at + 1) p.fifo[b][at] = p.hop[i];
    }
    const over = Math.max(0, p.count + p.hop.length - cap); // never in step; then the oldest go
    p.read = (p.read + over) % cap;
    p.count += p.hop.length - over;
  }

  // The per-frame methods and these two make no closures: a closure over a method's variables makes V8
  // allocate the method's context on every call, even where the closure is made only once; so what the
  // closures make is made in methods of its own.

  /** The predictions' vocoders and FIFO, made on the first observe() that asks for predictions. */
  private predictionBuffers(): LivePredictions {
    return this.predictions ?? (this.predictions = this.makePredictions());
  }

  private makePredictions(): LivePredictions {
    const { frameSize: N, hop, bins: F, streams: B } = this;
    const pv = Array.from({ length: B }, () => {
      const s = createPhaseVocoderState({ frameSize: N, analysisHop: hop });
      s.frames = Math.ceil(N / hop); // as in the steady state: each frame gives a whole hop
      return s;
    });
    return { pv, fifo: Array.from({ length: B }, () => new Float32Array(2 * hop)), read: 0, count: 0, hop: new Float32Array(hop), options: { peaks: { at: new Int32Array(F), count: 0 }, drawn: true } };
  }

  /** The rows of lstm.wasm's memory the frame loops read, made once (again only if the memory grew). */
  private view(): StepperViews {
    const buffer = this.k.x.memory.buffer;
    return this.views?.buffer === buffer ? this.views : (this.views = this.makeViews(buffer));
  }

  private makeViews(buffer: ArrayBufferLike): StepperViews {
    const { bins: F, streams: B, live } = this;
    const E = this.w.embedding;
    const rows = (at: number, n: number) => Array.from({ length: B }, (_, b) => new Float32Array(buffer, at + 4 * b * n, n));
    return {
      buffer,
      xRow: rows(this.x, F),
      magnitude: rows(this.magnitudes, F),
      embedded: rows(live.embedded, E),
      drawn: rows(live.drawn, F),
      drawnMagnitude: rows(live.drawnMagnitude, F),
    };
  }

  save(): void {
    const s = (this.saved ??= this.emptySaved());
    this.copyState(s, true);
  }

  restore(): void {
    if (!this.saved) throw new LabError('bad_argument', 'Nothing to restore: save() was never called');
    this.copyState(this.saved, false);
  }

  private emptySaved(): SavedState {
    const wasm = this.wasmState();
    return {
      arrays: this.stateArrays().map((a) => new Float32Array(a.length)),
      wasm: wasm.map((a) => new Float32Array(a.length)),
      rng: new Uint32Array(this.streams),
      phase: this.live.phase.map((a) => new Float64Array(a.length)),
      scalars: [],
    };
  }

  /** The JavaScript arrays of the state: the vocoders', the pending samples, the ring. */
  private stateArrays(): Float32Array[] {
    return [...this.pv.flatMap((pv) => [pv.analysisPhase, pv.synthesisPhase, pv.peaks, pv.tail]), ...this.pendingSamples, ...this.live.recent];
  }

  /** Views of the state in lstm.wasm: every layer's h (and c), the next input. */
  private wasmState(): Float32Array[] {
    const views = this.stack.stateAt.flatMap((s) => (s.c ? [this.k.f32(s.h, s.n), this.k.f32(s.c, s.n)] : [this.k.f32(s.h, s.n)]));
    return [...views, this.k.f32(this.x, this.streams * this.bins)];
  }

  private copyState(s: SavedState, save: boolean): void {
    const pairs: [Float32Array | Float64Array | Uint32Array, Float32Array | Float64Array | Uint32Array][] = [
      ...this.stateArrays().map((a, i): [Float32Array, Float32Array] => [a, s.arrays[i]]),
      ...this.wasmState().map((a, i): [Float32Array, Float32Array] => [a, s.wasm[i]]),
      ...this.live.phase.map((a, i): [Float64Array, Float64Array] => [a, s.phase[i]]),
      [this.rng, s.rng],
    ];
    for (const [mine, kept] of pairs) (save ? kept : mine).set(save ? (mine as never) : (kept as never));
    const { live } = this;
    if (save) s.scalars = [this.pending, this.skip, this.ceiling, live.at, live.loudest, live.resync ? 1 : 0, ...this.pv.map((pv) => pv.frames)];
    else {
      [this.pending, this.skip, this.ceiling, live.at, live.loudest] = s.scalars;
      live.resync = s.scalars[5] === 1;
      this.pv.forEach((pv, b) => (pv.frames = s.scalars[6 + b]));
    }
  }

  pack(): Float32Array {
    const { bins: F, frameSize: N, hop, streams: B } = this;
    const recurrent = packState(this.k.readStack(this.stack, zeroState(this.w.cell, B, this.w.units)));
    const PER = perStream(F, N, hop);
    const p = new Float32Array(HEADER + B * PER + recurrent.length);
    p.set([SPECTRAL_STATE_MAGIC, VERSION, B, F, N, hop, this.skip, this.pending, this.ceiling]);
    const x = this.k.f32(this.x, B * F);
    for (let b = 0; b < B; b++) {
      const at = HEADER + b * PER;
      p[at] = this.rng[b] >>> 16;
      p[at + 1] = this.rng[b] & 0xffff;
      p.set(this.pendingSamples[b], at + 2);
      p.set(x.subarray(b * F, (b + 1) * F), at + 2 + hop);
      p.set(packPhaseVocoderState(this.pv[b]), at + 2 + hop + F);
    }
    p.set(recurrent, HEADER + B * PER);
    return p;
  }
}
