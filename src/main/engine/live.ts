// Live mode (issue 12): a trained model runs on the microphone's batches as they arrive and answers each
// with a batch of the same length for the speakers. Two modes:
//   follow         the model is fed the live input and plays its one-step predictions (what it expects);
//   call-response  it listens while the input is loud and stays silent; once the input has been quiet for
//                  the hold time it continues the phrase from the state the phrase built, until the input
//                  is loud again, when it listens again (its state goes on from what it played).
// The engine side only: the transport and the UI call process() once per batch. Nothing here allocates
// per batch (the stepper's buffers are made when the session opens, the output buffer is reused) but for
// performance.now()'s two numbers; a spectral model's resynthesis (shared/dsp) allocates about 1-6 KB a frame.
import * as tf from '@tensorflow/tfjs';
import { LabError } from '../../shared/errors';
import { initBackend } from './backend';
import { familyOf } from './families';
import type { LiveStepper, SamplingOptions, Stepper, StepperStart } from './families/family';
import { loadModelFolder } from './store';

export type LiveMode = 'follow' | 'call-response';
/** What the model does now: listens (follow mode always does, and answers with predictions), or responds. */
export type LiveState = 'listening' | 'responding';

/** Samples per batch: an AudioWorklet's render quantum. */
export const DEFAULT_LIVE_BATCH = 128;
/**
 * The level (RMS of a batch, dB relative to a full-scale square) above which call-response mode hears
 * the input as playing: above a quiet room through a laptop microphone (about -60 to -50 dBFS), below
 * a voice or an instrument at a normal distance (-35 to -10 dBFS).
 */
export const DEFAULT_LIVE_THRESHOLD_DBFS = -45;
/**
 * Quiet time after which call-response mode answers: longer than the gaps between syllables and notes of
 * one phrase (typically 50-250 ms), short enough to feel like an answer.
 */
export const DEFAULT_LIVE_HOLD_SECONDS = 0.3;
/**
 * Silence a session's model is primed on before the first batch: as long as the largest spectral frame,
 * a quarter second at 16 kHz (the state then starts from a quiet room, and the input builds on it).
 */
export const LIVE_PRIME_SAMPLES = 4096;
/** The lowest level reported (the level of digital silence is -Infinity). */
const LEVEL_FLOOR_DBFS = -120;

export interface LiveOptions {
  mode: LiveMode;
  /** Samples in every batch process() takes and returns. Default DEFAULT_LIVE_BATCH. */
  batchSize?: number;
  /** Call-response: the batch level above which the input is playing, dBFS. Default DEFAULT_LIVE_THRESHOLD_DBFS. */
  thresholdDbfs?: number;
  /** Call-response: seconds of quiet input after which the model answers. Default DEFAULT_LIVE_HOLD_SECONDS. */
  holdSeconds?: number;
}

export interface LiveSessionOptions extends LiveOptions {
  /** The model folder. */
  dir: string;
  /** How a sampling family draws (temperature, seed, cut); see families/family.ts. */
  sampling?: SamplingOptions;
  /** Start from this packed state (a generation's) instead of LIVE_PRIME_SAMPLES of silence. */
  state?: Float32Array;
  backend?: string | null;
}

/** A session's counters, updated in place by every process() call. */
export interface LiveStats {
  batches: number;
  samplesIn: number;
  samplesOut: number;
  state: LiveState;
  /** Times call-response mode began to respond. */
  responses: number;
  /** The last batch's level, dBFS (floored at -120). */
  levelDbfs: number;
  /** Milliseconds the model took on the last batch, the most on any batch, and in all. */
  computeMs: number;
  maxComputeMs: number;
  totalComputeMs: number;
}

const isLive = (s: Stepper): s is LiveStepper => !!(s.observe && s.generateInto && s.save && s.restore);

export class LiveSession {
  readonly family: string;
  /** The model's sample rate: the input must arrive at it, and the output plays at it. */
  readonly sampleRate: number;
  readonly batchSize: number;
  readonly thresholdDbfs: number;
  readonly holdSeconds: number;
  readonly stats: LiveStats;
  private stepper: LiveStepper | null;
  private current: LiveMode;
  private readonly output: Float32Array;
  /** The one-stream arrays the stepper takes: `[input]` and `[output]`, made once. */
  private readonly inputs: Float32Array[];
  private readonly outputs: Float32Array[];
  private readonly thresholdPower: number;
  private readonly holdSamples: number;
  /** Call-response: quiet samples since the input was last loud; whether it was loud since the last answer. */
  private quiet = 0;
  private heard = false;

  /** A session on a stepper of one stream (see openLiveSession for one made from a model folder). */
  constructor(stepper: Stepper, o: LiveOptions & { family: string; sampleRate: number }) {
    this.family = o.family;
    if (!isLive(stepper)) throw new LabError('bad_argument', `A ${o.family} model cannot run live: its family has no live input`);
    if (stepper.streams !== 1) throw new LabError('bad_argument', `A live session runs one stream, but the stepper has ${stepper.streams}`);
    this.stepper = stepper;
    this.batchSize = o.batchSize ?? DEFAULT_LIVE_BATCH;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 1 << 16) {
      throw new LabError('bad_argument', `Expected batchSize to be an integer from 1 to 65536, but got ${this.batchSize}`);
    }
    this.thresholdDbfs = o.thresholdDbfs ?? DEFAULT_LIVE_THRESHOLD_DBFS;
    if (!(this.thresholdDbfs >= -120 && this.thresholdDbfs <= 0)) throw new LabError('bad_argument', `Expected thresholdDbfs from -120 to 0, but got ${this.thresholdDbfs}`);
    this.holdSeconds = o.holdSeconds ?? DEFAULT_LIVE_HOLD_SECONDS;
    if (!(this.holdSeconds >= 0 && this.holdSeconds <= 60)) throw new LabError('bad_argument', `Expected holdSeconds from 0 to 60, but got ${this.holdSeconds}`);
    if (!(o.sampleRate > 0)) throw new LabError('bad_argument', `Expected a positive sample rate, but got ${o.sampleRate}`);
    this.sampleRate = o.sampleRate;
    this.thresholdPower = 10 ** (this.thresholdDbfs / 10);
    this.holdSamples = Math.round(this.holdSeconds * this.sampleRate);
    this.current = checkMode(o.mode);
    this.output = new Float32Array(this.batchSize);
    this.inputs = [this.output]; // replaced by each batch
    this.outputs = [this.output];
    this.stats = { batches: 0, samplesIn: 0, samplesOut: 0, state: 'listening', responses: 0, levelDbfs: LEVEL_FLOOR_DBFS, computeMs: 0, maxComputeMs: 0, totalComputeMs: 0 };
  }

  get mode(): LiveMode {
    return this.current;
  }

  /** Switches mode between batches; the model's state carries on. */
  setMode(mode: LiveMode): void {
    this.current = checkMode(mode);
    this.stats.state = 'listening';
    this.quiet = 0;
    this.heard = false;
  }

  /**
   * One batch of input (signal units, `batchSize` samples at the model's rate) in, one batch out: the
   * predictions (follow), or silence while listening and the continuation while responding
   * (call-response). The returned array is the session's own, overwritten by the next call. Throws
   * `bad_argument` for a batch of the wrong length and `bad_signal` naming a sample that is not finite
   * (the state is then unchanged).
   */
  process(input: Float32Array): Float32Array {
    const stepper = this.stepper;
    if (!stepper) throw new LabError('bad_argument', 'This live session is closed');
    const n = this.batchSize;
    if (!(input instanceof Float32Array) || input.length !== n) {
      throw new LabError('bad_argument', `Expected a batch of ${n} samples as a Float32Array, but got ${input instanceof Float32Array ? `${input.length} samples` : typeof input}`);
    }
    let power = 0;
    for (let i = 0; i < n; i++) {
      const v = input[i];
      if (!Number.isFinite(v)) throw new LabError('bad_signal', `Live input sample ${i} of batch ${this.stats.batches} is ${v}, not a finite number`);
      power += v * v;
    }
    power /= n;
    const t0 = performance.now();
    this.inputs[0] = input;
    if (this.current === 'follow') stepper.observe(this.inputs, this.outputs);
    else this.callResponse(stepper, power > this.thresholdPower);
    const ms = performance.now() - t0;
    const s = this.stats;
    s.batches++;
    s.samplesIn += n;
    s.samplesOut += n;
    s.levelDbfs = power > 0 ? Math.max(LEVEL_FLOOR_DBFS, 10 * Math.log10(power)) : LEVEL_FLOOR_DBFS;
    s.computeMs = ms;
    s.maxComputeMs = Math.max(s.maxComputeMs, ms);
    s.totalComputeMs += ms;
    return this.output;
  }

  /**
   * A quiet stretch that follows loud input is observed (a pause inside a phrase belongs to it) but the state
   * at its start is saved: if the quiet lasts the hold time, the answer continues from there, from the end of
   * the phrase, rather than from a state that has heard the hold time's silence and would likely go on with it.
   */
  private callResponse(stepper: LiveStepper, loud: boolean): void {
    const s = this.stats;
    if (loud) {
      s.state = 'listening';
      this.quiet = 0;
      this.heard = true;
      this.listen(stepper);
      return;
    }
    if (s.state === 'responding') {
      stepper.generateInto(this.outputs);
      return;
    }
    if (this.heard && this.quiet === 0) stepper.save();
    this.quiet += this.batchSize;
    if (this.heard && this.quiet >= this.holdSamples) {
      stepper.restore();
      s.state = 'responding';
      s.responses++;
      this.heard = false;
      stepper.generateInto(this.outputs);
      return;
    }
    this.listen(stepper);
  }

  private listen(stepper: LiveStepper): void {
    stepper.observe(this.inputs);
    this.output.fill(0);
  }

  /** Ends the session: the stepper's buffers (lstm.wasm memory) go with it; process() then refuses. */
  dispose(): void {
    this.stepper = null;
  }
}

function checkMode(mode: LiveMode): LiveMode {
  if (mode !== 'follow' && mode !== 'call-response') throw new LabError('bad_argument', `Expected mode 'follow' or 'call-response', but got ${JSON.stringify(mode)}`);
  return mode;
}

/**
 * A live session on a model folder: the model's weights are copied into its family's stepper (primed on
 * silence, or restored from `state`) and its tensors released before this returns. Throws `bad_argument`
 * naming the family when its stepper has no live input.
 */
export async function openLiveSession(o: LiveSessionOptions): Promise<LiveSession> {
  checkMode(o.mode);
  await initBackend(o.backend);
  const folder = await loadModelFolder(o.dir);
  try {
    const { spec } = folder;
    const family = familyOf(spec.model);
    if (o.state && family.stateStreams(o.state) !== 1) throw new LabError('bad_argument', 'A live session continues a packed state of exactly one stream');
    const start: StepperStart = o.state ? { state: o.state } : { prime: [new Float32Array(LIVE_PRIME_SAMPLES)] };
    const stepper = await family.stepper(folder.model, spec.model, spec.normalisation, start, o.sampling);
    return new LiveSession(stepper, { ...o, family: family.name, sampleRate: spec.sampleRate });
  } finally {
    tf.dispose(folder.optimizerWeights?.map((w) => w.tensor) ?? []);
    folder.model.dispose();
  }
}
