// The interface every model family implements. The trainer, the evaluation, the generator, the
// store, the protocol, the UI and the CLI know only this: a family is one folder beside this file
// (regression/, and next categorical/ and spectral/) registered in index.ts.
//
// Units. A family's network steps over *steps*: a step is `samplesPerStep` samples of the signal
// (1 for sample-level families; a hop of many samples for a frame-rate spectral family) and carries
// `featuresPerStep` input values (1 for regression; a μ-law one-hot or embedding index; an STFT
// frame's features). The training window (`TrainConfig.window`) counts steps.
import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { Metrics, ModelSpec, Normalisation, TrainConfig } from '../../../shared/contract';
import { LabError } from '../../../shared/errors';
import type { Splits } from '../dataset';

/** How a family cuts a signal into network steps. */
export interface Framing {
  /** Signal samples one network step consumes and one generated step produces (1, or a hop). */
  samplesPerStep: number;
  /** Input features per step: the last axis of the network's input `[batch, window, featuresPerStep]`. */
  featuresPerStep: number;
}

/**
 * Training windows over one signal, addressed by their start. The trainer only splits, orders and
 * batches; what a window holds and what its target is are the family's.
 */
export interface FamilyDataset {
  /** Network steps in one window. */
  readonly window: number;
  /** Window starts of each split (seeded; see dataset.ts's splitWindows). */
  readonly splits: Splits;
  /** The training starts of one epoch, seeded by `(epoch, seed)`; at most `max` of them (0 = all). */
  epochOrder(epoch: number, seed: number, max: number): Int32Array;
  /**
   * The batch of windows `order[from .. from+size)`: inputs `x` `[batch, window, featuresPerStep]` and
   * the family's targets `y` (regression: `[batch, 1]`). The caller disposes both.
   */
  batch(order: Int32Array, from: number, size: number): { x: tf.Tensor3D; y: tf.Tensor };
}

/** What the trainer optimises and reports, for one built model. */
export interface TrainingObjective {
  /**
   * The loss of one batch as a scalar, inside the optimizer's gradient tape: `x` `[batch, window,
   * featuresPerStep]`, `y` as the dataset's batch() returns it. In network units (the trainer
   * multiplies by `lossScale` to report it).
   */
  loss(x: tf.Tensor3D, y: tf.Tensor): tf.Scalar;
  /**
   * The same loss, teacher-forced, averaged over the windows at `starts` without training (the dev
   * loss of each epoch). Yields to the event loop between chunks; throws `cancelled` when `signal` aborts.
   */
  measure(starts: Int32Array, signal?: AbortSignal): Promise<number>;
}

/** Options of a family's final evaluation. */
export interface EvaluationContext {
  /** The affine map the samples went through before the network saw them. */
  normalisation: Normalisation;
  /** Variance of the noise added to a synthetic signal; null when unknown. */
  noiseFloor: number | null;
  /** Stops with a `cancelled` error between chunks. */
  signal?: AbortSignal;
  /** Windows done of the total, after each chunk. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * A stateful generator for one model: primed on samples or restored from a packed state, then run
 * free. One call of `generate` after another continues exactly, and so does a new stepper made from
 * `pack()`'s state: the packed state carries everything (recurrent state, a sampler's RNG state, a
 * resynthesis's overlap), so a continuation is reproducible from it alone.
 */
export interface Stepper {
  /** Streams generated side by side. */
  readonly streams: number;
  /**
   * The next `length` samples of each stream, in signal units, `[streams][length]`. A frame-rate
   * family generates whole hops and keeps what it made beyond `length` in its state. Streaming in
   * chunks is generator.ts's: one call per chunk, each continuing exactly.
   */
  generate(length: number): Float32Array[];
  /** The packed state after the last sample generated; pass it to `stepper()` to continue. */
  pack(): Float32Array;
  /**
   * Live input (live.ts): feeds true samples `[streams][n]`, in signal units, into the state as a prime
   * does, so that generate() then continues after them (after observe(x), the next generated sample
   * follows x's last). With `predictions` (`[streams][n]`, written), each sample's one-step prediction in
   * signal units, made before the sample was seen: a sampling family draws it with its temperature and RNG
   * (the RNG advances; without `predictions` it does not), regression gives its predicted mean; a
   * frame-rate family predicts whole frames and resynthesises them, so its predictions come later (see its
   * stepper). Throws `bad_signal` naming the first sample that is not finite, before anything changes.
   * Allocates nothing in the steady state. Optional: a family without it cannot run a live session.
   */
  observe?(input: Float32Array[], predictions?: Float32Array[]): void;
  /** generate(out[0].length) into `out` (`[streams][n]`, written) without allocating: the live output. */
  generateInto?(out: Float32Array[]): void;
  /**
   * Remembers the whole state (what pack() carries and what observe() buffers), replacing what an earlier
   * save() remembered; restore() returns to it, as often as asked. Allocation-free after the first save().
   */
  save?(): void;
  restore?(): void;
}

/** A stepper that can run live (every optional method of Stepper). */
export type LiveStepper = Stepper & Required<Pick<Stepper, 'observe' | 'generateInto' | 'save' | 'restore'>>;

/**
 * Checks live input for `streams` streams, and `predictions` when given (one array per stream, at least as
 * long); returns the samples per stream. Throws `bad_argument` for the wrong shape and `bad_signal` naming
 * the first sample that is not finite.
 */
export function checkLiveInput(input: Float32Array[], streams: number, predictions?: Float32Array[]): number {
  if (!Array.isArray(input) || input.length !== streams) throw new LabError('bad_argument', `Expected live input of ${streams} stream${streams === 1 ? '' : 's'}, but got ${Array.isArray(input) ? input.length : typeof input}`);
  const n = input[0] instanceof Float32Array ? input[0].length : -1;
  for (let b = 0; b < streams; b++) {
    const x = input[b];
    if (!(x instanceof Float32Array) || x.length !== n) throw new LabError('bad_argument', `Expected every stream of live input to be a Float32Array of ${n} samples (stream ${b} is not)`);
    for (let t = 0; t < n; t++) if (!Number.isFinite(x[t])) throw new LabError('bad_signal', `Live input sample ${t} of stream ${b} is ${x[t]}, not a finite number`);
  }
  if (predictions) {
    // Loops, not some(): a closure per call would be garbage per batch.
    let ok = predictions.length === streams;
    for (let b = 0; ok && b < streams; b++) ok = predictions[b] instanceof Float32Array && predictions[b].length >= n;
    if (!ok) throw new LabError('bad_argument', `Expected ${streams} prediction arrays of at least ${n} samples`);
  }
  return n;
}

/** Checks an output buffer `[streams][n]` for generateInto(); returns n. */
export function checkLiveOutput(out: Float32Array[], streams: number): number {
  const n = Array.isArray(out) && out[0] instanceof Float32Array ? out[0].length : -1;
  let ok = n >= 0 && out.length === streams;
  for (let b = 0; ok && b < streams; b++) ok = out[b] instanceof Float32Array && out[b].length === n;
  if (!ok) throw new LabError('bad_argument', `Expected an output of ${streams} Float32Arrays of equal length`);
  return n;
}

/**
 * How a sampling family draws each step (regression ignores them: its output is deterministic). The
 * RNG's state after the last draw travels in the packed state, so a continuation from it draws on.
 */
export interface SamplingOptions {
  /**
   * Below 1 sharper, above 1 flatter (categorical: divides the logits; spectral: scales each bin's
   * standard deviation). Unset: the family's default (1; spectral DEFAULT_SPECTRAL_TEMPERATURE).
   */
  temperature?: number;
  /** Seeds the sampler when priming; a packed state carries its own RNG state instead. */
  seed?: number;
  /**
   * Outcomes less likely than this fraction of the most likely one are never drawn (0 = sample the whole
   * distribution). The categorical family's levels; a spectral model's mixture components are cut at 0.002
   * of the likeliest, after the temperature, whatever this says (lstm.c's SPEC_MIN_SHARE).
   */
  cut?: number;
}

/** Where a stepper starts: priming samples (signal units, one array per stream, equal lengths) or a packed state. */
export type StepperStart = { prime: Float32Array[] } | { state: Float32Array };

/**
 * One model family. `S` is its spec (one member of the shared union in
 * src/shared/families/model-spec.ts), `D` the dataset it frames a signal into.
 */
export interface ModelFamily<S extends { family: string } = ModelSpec, D extends FamilyDataset = FamilyDataset> {
  /** The `family` field's value, and the folder's name. */
  readonly name: S['family'];
  /** Validates a spec of this family and fills its defaults. */
  readonly specSchema: z.ZodType<S, unknown>;
  /** How the signal is cut into steps for this spec. */
  framing(spec: S): Framing;
  /**
   * A new, seeded model: input `[batch, window, featuresPerStep]`, output as the family's loss
   * expects it (regression: `[batch, 1]`, the next sample).
   */
  build(spec: S, seed?: number): tf.LayersModel;
  /**
   * Whether the fused LSTM/GRU kernels (fused-recurrent.ts, lstm.wasm) can run this spec's forward and
   * backward pass on `tfBackend`; a family whose input or head they do not cover returns false.
   */
  canFuse(spec: S, tfBackend: string): boolean;
  /** Throws `too_big` before anything is allocated when training would not fit in memory. */
  checkBudget(spec: S, train: TrainConfig, impl: 'fused' | 'layers'): void;
  /**
   * The affine map applied to samples before the dataset frames them (regression: presets as they
   * are, recordings standardised). `isPreset`: the signal is a generated preset.
   */
  normalisation(samples: Float32Array, isPreset: boolean): Normalisation;
  /** Multiplies network-unit losses into the units the user reads (regression: scale², MSE in signal units). */
  lossScale(normalisation: Normalisation): number;
  /** Training windows over the normalised samples (network units; the array may be framed in place). */
  dataset(samples: Float32Array, spec: S, train: TrainConfig): D;
  /** The loss the trainer minimises and its dev measure; `impl` picks the fused kernels or tfjs-layers. */
  objective(model: tf.LayersModel, spec: S, dataset: D, impl: 'fused' | 'layers'): TrainingObjective;
  /** Windows the final evaluation predicts (for the ETA), a prediction costing a third of a training window. */
  evaluationWindows(dataset: D): number;
  /**
   * Teacher-forced test and dev metrics beside the family's references (regression: test_mse,
   * dev_mse, the noise floor, persistence and a fitted linear AR predictor). Throws `cancelled`.
   */
  evaluate(model: tf.LayersModel, spec: S, dataset: D, ctx: EvaluationContext): Promise<Metrics>;
  /**
   * A generator for `model`, primed or restored (see Stepper). Throws `bad_argument` for a packed
   * state that is not this model's, `bad_signal` for a priming sample that is not finite.
   */
  stepper(model: tf.LayersModel, spec: S, normalisation: Normalisation, start: StepperStart, sampling?: SamplingOptions): Promise<Stepper>;
  /** Streams a packed state holds, after checking its header (throws `bad_argument` when it is not one). */
  stateStreams(state: Float32Array): number;
}
