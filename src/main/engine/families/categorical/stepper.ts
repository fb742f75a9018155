// The categorical family's generator: the recurrent stack and the softmax head run in lstm.wasm
// (cat_generate), drawing each μ-law level with a temperature and a seeded RNG per stream. Its packed
// state carries, beside the recurrent (c, h), each stream's RNG state, its next input and the
// de-emphasis filter's last output, so a continuation from it equals one unbroken run exactly.
//
// Live input (observe) runs the same steps with each true sample's level as the next input (cat_follow), so
// that observing samples after a prime leaves the state a prime of them all would: a generation after
// either is the same, draw for draw.
//
// Packed layout (float32): [0] CATEGORICAL_STATE_MAGIC [1] version [2] streams [3] context, then per
// stream rngHigh, rngLow (16-bit halves, exact in float32), the de-emphasis state and the next step's
// `context` inputs; then the recurrent state in shared/packed-state.ts's format.
import type { Normalisation } from '../../../../shared/contract';
import { muLawEncode, muLawTable } from '../../../../shared/dsp/mulaw';
import { LabError } from '../../../../shared/errors';
import { packState, unpackState, zeroState, type RecurrentState } from '../../../../shared/packed-state';
import { LstmKernel, type LoadedStack } from '../../fused-recurrent';
import { checkLiveInput, checkLiveOutput, type LiveStepper, type SamplingOptions, type StepperStart } from '../family';
import { streamSeed } from '../stream-seed';
import { levelInput } from './dataset';
import type { CategoricalWeights } from './model';

export const CATEGORICAL_STATE_MAGIC = 0x5143; // 'QC'
const VERSION = 1;
const HEADER = 4;
const perStream = (context: number) => 3 + context;
/** Default seed of the sampler: the same model, prime and settings give the same continuation. */
export const DEFAULT_SAMPLING_SEED = 1;
/**
 * Levels less likely than this fraction of the most likely one are not drawn by default: sampling the
 * far tails of 256 levels fills a voice's spectral valleys with noise (bench/audio-quality.ts).
 */
export const DEFAULT_SAMPLING_CUT = 0.002;
/** Steps per call into lstm.wasm (bounds the level buffer). */
const SLICE = 16_384;

/** The streams of a categorical packed state, after checking its header. */
export function categoricalStateStreams(p: Float32Array): number {
  if (!(p instanceof Float32Array) || p.length < HEADER) throw new LabError('bad_argument', 'Packed state is too short to be a categorical model\'s');
  if (p[0] !== CATEGORICAL_STATE_MAGIC) throw new LabError('bad_argument', 'Packed state is not a categorical model\'s (bad magic number)');
  if (p[1] !== VERSION) throw new LabError('bad_argument', `Categorical packed state version ${p[1]} is not supported (expected ${VERSION})`);
  const streams = p[2];
  const context = p[3];
  if (!Number.isInteger(streams) || streams < 1 || !Number.isInteger(context) || context < 1 || HEADER + streams * perStream(context) > p.length) {
    throw new LabError('bad_argument', `Categorical packed state header is corrupt (streams ${streams}, context ${context})`);
  }
  return streams;
}

export class CategoricalStepper implements LiveStepper {
  readonly streams: number;
  private readonly k = new LstmKernel();
  private readonly stack: LoadedStack;
  private readonly W: number;
  private readonly bias: number;
  private readonly rng: number;
  private readonly x: number;
  private readonly z: number;
  private readonly l: number;
  private readonly out: number;
  private readonly mark: number;
  /** [SLICE, streams]: the true samples' next inputs observe() hands cat_follow. */
  private readonly truth: number;
  /**
   * Each stream's last sample (network units): the de-emphasis filter's state when generating, the
   * pre-emphasis's previous sample when observing. Kept unrounded (a prime's pre-emphasis reads it so);
   * generation and pack() round it to float32.
   */
  private readonly deEmphasis: Float64Array;
  private readonly io: { scale: number; offset: number };
  /** Views of lstm.wasm's memory, made again only if it grows (nothing allocates after construction). */
  private views: { buffer: ArrayBufferLike; levels: Int32Array; truth: Float32Array; rng: Uint32Array; x: Float32Array } | null = null;
  private saved: { state: Float32Array[]; x: Float32Array; rng: Uint32Array; deEmphasis: Float64Array } | null = null;
  private readonly decode: Float32Array;
  private readonly invTemp: number;
  private readonly cut: number;

  constructor(
    private readonly w: CategoricalWeights,
    private readonly context: number,
    private readonly preEmphasis: number,
    private readonly normalisation: Normalisation,
    start: StepperStart,
    sampling: SamplingOptions = {},
  ) {
    const temperature = sampling.temperature ?? 1;
    if (!(temperature >= 0 && temperature <= 100)) throw new LabError('bad_argument', `Expected temperature in [0, 100], but got ${temperature}`);
    this.invTemp = temperature === 0 ? 0 : 1 / temperature;
    const cut = sampling.cut ?? DEFAULT_SAMPLING_CUT;
    if (!(cut >= 0 && cut < 1)) throw new LabError('bad_argument', `Expected cut in [0, 1), but got ${cut}`);
    this.cut = cut;
    const V = w.levels;
    const I = context;
    const PER_STREAM = perStream(I);
    const io = levelInput(V);
    this.io = io;
    let recurrent: RecurrentState;
    let extras: Float32Array;
    if ('state' in start) {
      this.streams = categoricalStateStreams(start.state);
      if (start.state[3] !== I) throw new LabError('bad_argument', `Packed state reads ${start.state[3]} previous samples per step; this model reads ${I}`);
      extras = start.state.subarray(HEADER, HEADER + this.streams * PER_STREAM);
      recurrent = unpackState(start.state.subarray(HEADER + this.streams * PER_STREAM));
      if (recurrent.cell !== w.cell || recurrent.batch !== this.streams || recurrent.units.join() !== w.units.join()) {
        throw new LabError('bad_argument', `Packed state is for ${recurrent.cell} ${recurrent.units.join('x')} with ${recurrent.batch} streams; this model is ${w.cell} ${w.units.join('x')}`);
      }
      for (let i = 0; i < extras.length; i++) if (!Number.isFinite(extras[i])) throw new LabError('bad_argument', `Packed state holds a non-finite value at index ${HEADER + i}`);
    } else {
      this.streams = start.prime.length;
      if (this.streams < 1) throw new LabError('bad_argument', 'Expected at least one priming stream');
      recurrent = zeroState(w.cell, this.streams, w.units);
      extras = new Float32Array(this.streams * PER_STREAM);
    }
    const k = this.k;
    const B = this.streams;
    this.stack = k.loadStack(w.layers, recurrent);
    this.W = k.put(w.headKernel);
    this.bias = k.put(w.headBias);
    this.rng = k.alloc(B);
    this.x = k.alloc(B * I);
    this.z = k.alloc(4 * Math.max(...w.units));
    this.l = k.alloc(V);
    this.out = k.alloc(SLICE * B);
    this.truth = k.alloc(SLICE * B);
    this.mark = k.alloc(0);
    this.deEmphasis = new Float64Array(B);
    this.decode = muLawTable(V);
    const rng = new Uint32Array(k.x.memory.buffer, this.rng, B);
    const x = k.f32(this.x, B * I);
    if ('state' in start) {
      for (let b = 0; b < B; b++) {
        rng[b] = ((extras[b * PER_STREAM] << 16) | extras[b * PER_STREAM + 1]) >>> 0;
        this.deEmphasis[b] = extras[b * PER_STREAM + 2];
        x.set(extras.subarray(b * PER_STREAM + 3, (b + 1) * PER_STREAM), b * I);
      }
      return;
    }
    // Priming: every sample but the last is fed; the last is the next input.
    const seed = sampling.seed ?? DEFAULT_SAMPLING_SEED;
    const n = start.prime[0].length;
    if (n < 1) throw new LabError('bad_argument', 'Expected at least one priming sample');
    const { offset, scale } = this.normalisation;
    const inputs = new Float32Array(n * B); // [n, B]: each priming sample's input
    start.prime.forEach((p, b) => {
      if (p.length !== n) throw new LabError('bad_argument', 'Priming streams must have equal lengths');
      let prev = 0;
      for (let t = 0; t < n; t++) {
        const v = (p[t] - offset) / scale;
        if (!Number.isFinite(v)) throw new LabError('bad_signal', `Priming sample ${t} of stream ${b} is not a finite number`);
        inputs[t * B + b] = muLawEncode(v - preEmphasis * prev, V) * io.scale + io.offset;
        prev = v;
      }
      this.deEmphasis[b] = prev;
      rng[b] = streamSeed(seed, b);
    });
    // Step t reads the inputs of samples t-I+1 .. t (before the prime: its first), as in training.
    const rowsOf = (from: number, steps: number) => {
      const xs = new Float32Array(steps * B * I);
      for (let t = 0; t < steps; t++)
        for (let b = 0; b < B; b++) for (let j = 0; j < I; j++) xs[(t * B + b) * I + j] = inputs[Math.max(0, from + t - I + 1 + j) * B + b];
      return xs;
    };
    const mark = k.alloc(0);
    for (let from = 0; from < n - 1; from += SLICE) {
      k.rewind(mark);
      const steps = Math.min(SLICE, n - 1 - from);
      const xs = k.put(rowsOf(from, steps));
      k.x.stack_feed(w.layers.length, this.stack.desc, w.cell === 'gru' ? 1 : 0, B, I, xs, steps, this.z);
    }
    k.rewind(mark);
    k.f32(this.x, B * I).set(rowsOf(n - 1, 1));
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
    const io = this.io;
    const { offset, scale } = this.normalisation;
    const a = this.preEmphasis;
    for (let from = 0; from < length; from += SLICE) {
      const steps = Math.min(SLICE, length - from);
      this.k.x.cat_generate(
        this.w.layers.length, this.stack.desc, this.w.cell === 'gru' ? 1 : 0, B, this.context, this.W, this.bias, this.w.levels, this.invTemp, this.cut,
        io.scale, io.offset, steps, this.rng, this.x, this.out, this.z, this.l,
      );
      const levels = this.view().levels;
      for (let b = 0; b < B; b++) {
        let y = Math.fround(this.deEmphasis[b]);
        const o = out[b];
        for (let s = 0; s < steps; s++) {
          y = Math.fround(this.decode[levels[s * B + b]] + a * y);
          o[from + s] = y * scale + offset;
        }
        this.deEmphasis[b] = y;
      }
    }
  }

  observe(input: Float32Array[], predictions?: Float32Array[]): void {
    const n = checkLiveInput(input, this.streams, predictions);
    const B = this.streams;
    const V = this.w.levels;
    const io = this.io;
    const { offset, scale } = this.normalisation;
    const a = this.preEmphasis;
    for (let from = 0; from < n; from += SLICE) {
      const steps = Math.min(SLICE, n - from);
      const { truth, levels } = this.view();
      // Each sample's input as the prime computes it (pre-emphasised against the sample before, μ-law, scaled).
      for (let b = 0; b < B; b++) {
        const x = input[b];
        let prev = this.deEmphasis[b];
        for (let s = 0; s < steps; s++) {
          const v = (x[from + s] - offset) / scale;
          truth[s * B + b] = muLawEncode(v - a * prev, V) * io.scale + io.offset;
          prev = v;
        }
      }
      this.k.x.cat_follow(
        this.w.layers.length, this.stack.desc, this.w.cell === 'gru' ? 1 : 0, B, this.context, this.W, this.bias, V, this.invTemp, this.cut,
        this.truth, steps, this.rng, this.x, predictions ? this.out : 0, this.z, this.l,
      );
      for (let b = 0; b < B; b++) {
        const x = input[b];
        const p = predictions?.[b];
        let prev = this.deEmphasis[b];
        for (let s = 0; s < steps; s++) {
          // The drawn level de-emphasised against the true sample before it.
          if (p) p[from + s] = (this.decode[levels[s * B + b]] + a * prev) * scale + offset;
          prev = (x[from + s] - offset) / scale;
        }
        this.deEmphasis[b] = prev;
      }
    }
  }

  save(): void {
    const layers = this.stack.stateAt;
    const saved = (this.saved ??= {
      state: layers.flatMap((s) => (s.c ? [new Float32Array(s.n), new Float32Array(s.n)] : [new Float32Array(s.n)])),
      x: new Float32Array(this.streams * this.context),
      rng: new Uint32Array(this.streams),
      deEmphasis: new Float64Array(this.streams),
    });
    let i = 0;
    for (const s of layers) {
      saved.state[i++].set(this.k.f32(s.h, s.n));
      if (s.c) saved.state[i++].set(this.k.f32(s.c, s.n));
    }
    const v = this.view();
    saved.x.set(v.x);
    saved.rng.set(v.rng);
    saved.deEmphasis.set(this.deEmphasis);
  }

  restore(): void {
    const saved = this.saved;
    if (!saved) throw new LabError('bad_argument', 'Nothing to restore: save() was never called');
    let i = 0;
    for (const s of this.stack.stateAt) {
      this.k.f32(s.h, s.n).set(saved.state[i++]);
      if (s.c) this.k.f32(s.c, s.n).set(saved.state[i++]);
    }
    const v = this.view();
    v.x.set(saved.x);
    v.rng.set(saved.rng);
    this.deEmphasis.set(saved.deEmphasis);
  }

  /** The views of lstm.wasm's memory the loops read, made once (again only if the memory grew). */
  private view(): NonNullable<CategoricalStepper['views']> {
    const buffer = this.k.x.memory.buffer;
    if (this.views?.buffer !== buffer) {
      const B = this.streams;
      this.views = {
        buffer,
        levels: new Int32Array(buffer, this.out, SLICE * B),
        truth: new Float32Array(buffer, this.truth, SLICE * B),
        rng: new Uint32Array(buffer, this.rng, B),
        x: new Float32Array(buffer, this.x, B * this.context),
      };
    }
    return this.views;
  }

  pack(): Float32Array {
    const B = this.streams;
    const packed = packState(this.k.readStack(this.stack, zeroState(this.w.cell, B, this.w.units)));
    const I = this.context;
    const PER_STREAM = perStream(I);
    const p = new Float32Array(HEADER + B * PER_STREAM + packed.length);
    p[0] = CATEGORICAL_STATE_MAGIC;
    p[1] = VERSION;
    p[2] = B;
    p[3] = I;
    const rng = new Uint32Array(this.k.x.memory.buffer, this.rng, B);
    const x = this.k.f32(this.x, B * I);
    for (let b = 0; b < B; b++) {
      p[HEADER + b * PER_STREAM] = rng[b] >>> 16;
      p[HEADER + b * PER_STREAM + 1] = rng[b] & 0xffff;
      p[HEADER + b * PER_STREAM + 2] = this.deEmphasis[b];
      p.set(x.subarray(b * I, (b + 1) * I), HEADER + b * PER_STREAM + 3);
    }
    p.set(packed, HEADER + B * PER_STREAM);
    return p;
  }
}
