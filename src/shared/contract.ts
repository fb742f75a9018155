// The engine's typed API: model specs, training settings, progress events and results.
// Defined once here; the CLI, the desktop host and the browser client all speak it, and every
// value that arrives from outside is validated with these schemas where it is received.
import { z } from 'zod';
import { LabError } from './errors';
import { findPreset, PRESETS, signalSpecSchema } from './signals/generators';
import type { ModelFamilyName as FamilyName } from './families/model-spec';

// ---- Model spec ---------------------------------------------------------------------------

// The union of the families' specs, discriminated on `family`; see families/model-spec.ts.
export {
  cellTypeSchema,
  DEFAULT_CELL,
  DEFAULT_DROPOUT,
  DEFAULT_FAMILY,
  DEFAULT_UNITS,
  FAMILY_LABELS,
  MAX_UNITS,
  MODEL_FAMILIES,
  modelSpecArgsSchema,
  modelSpecSchema,
  regressionSpecSchema,
  categoricalSpecSchema,
  DEFAULT_CATEGORICAL_UNITS,
  spectralSpecSchema,
  DEFAULT_SPECTRAL_UNITS,
  DEFAULT_SPECTRAL_MIXTURES,
  DEFAULT_SPECTRAL_TEMPERATURE,
  type CategoricalSpec,
  type SpectralSpec,
  type ModelFamilyName,
  type ModelSpec,
  type ModelSpecInput,
  type RegressionSpec,
} from './families/model-spec';

// ---- Limits --------------------------------------------------------------------------------

/** Longest continuation one generate call makes (10 M samples: 40 MB, under 4 min at 16 kHz). */
export const MAX_GENERATE_LENGTH = 10_000_000;
/** Most priming samples one generate call takes from the signal. */
export const MAX_PRIME = 1_000_000;
/** Largest window and batch: 65,536 (a 1.5 s window at 44.1 kHz). */
export const MAX_WINDOW = 65_536;
export const MAX_BATCH_SIZE = 65_536;
export const MAX_EPOCHS = 100_000;

// ---- Training settings --------------------------------------------------------------------

/**
 * 100, not the notebook's 50: generation carries the state for thousands of steps, and a net
 * trained only on 50-step-old states drifted 2.5 % in frequency when free-running (bench/quality.ts).
 */
export const DEFAULT_WINDOW = 100;
export const DEFAULT_BATCH_SIZE = 128;
export const DEFAULT_LEARNING_RATE = 0.002;
/** Cosine decay to this rate by the last batch (the notebook kept 0.002 throughout). */
export const DEFAULT_FINAL_LEARNING_RATE = 0.0001;
export const DEFAULT_EPOCHS = 5;
export const DEFAULT_SEED = 1;
/** Windows per epoch unless set: all of a preset's (30,000 for the sine), 200,000 of a long recording's. */
export const DEFAULT_EPOCH_WINDOWS = 200_000;
export const DEFAULT_SPLIT = 'shuffled';
/** Share of the windows (or, blocked, of the signal) that trains; the UI's epoch hint counts with it too. */
export const DEFAULT_TRAIN_FRACTION = 0.6;

export const trainConfigSchema = z.object({
  /** Samples the network sees before predicting the next one. */
  window: z.number().int().min(1).max(MAX_WINDOW).default(DEFAULT_WINDOW),
  /** Windows per optimizer step. Generation uses its own batch (number of streams). */
  batchSize: z.number().int().min(1).max(MAX_BATCH_SIZE).default(DEFAULT_BATCH_SIZE),
  /** Adam's learning rate. */
  learningRate: z.number().gt(0).max(1).default(DEFAULT_LEARNING_RATE),
  /** Learning rate at the last batch of the last epoch, reached by cosine decay; null keeps it constant. */
  finalLearningRate: z.number().gt(0).max(1).nullable().default(DEFAULT_FINAL_LEARNING_RATE),
  epochs: z.number().int().min(1).max(MAX_EPOCHS).default(DEFAULT_EPOCHS),
  /** 'shuffled': window starts shuffled then cut (the notebook); 'blocked': contiguous spans, no sample shared. */
  split: z.enum(['shuffled', 'blocked']).default(DEFAULT_SPLIT),
  /** Fractions of windows for train and dev; the rest is test. */
  trainFraction: z.number().gt(0).lt(1).default(DEFAULT_TRAIN_FRACTION),
  devFraction: z.number().gt(0).lt(1).default(0.2),
  seed: z.number().int().default(DEFAULT_SEED),
  /** Stop when dev loss has not improved for this many epochs (0 = never). */
  earlyStopPatience: z.number().int().min(0).default(0),
  /**
   * Windows one epoch trains on (0 = every training window). The default keeps an epoch of a long
   * recording to about 20 s on a 2-core CPU; the presets have fewer training windows than this.
   */
  maxTrainWindows: z.number().int().min(0).default(DEFAULT_EPOCH_WINDOWS),
});
export type TrainConfigInput = z.input<typeof trainConfigSchema>;
export type TrainConfig = z.output<typeof trainConfigSchema>;

/**
 * Training settings a family starts from where the request leaves them out (the fields above
 * otherwise). The categorical family's were measured on 16 kHz recordings on a 2-core machine
 * (bench/audio-quality.ts): windows of 256 steps after a burn-in, batches of 16 at a rate of 0.008
 * (on the sung vowel: LSD 7.9 dB against 13.1 for batches of 32 at 0.004, in the same 200 s), and early
 * stopping after 3 epochs without a better dev loss: 8 s of pink noise overfits from the third epoch.
 */
export const FAMILY_TRAIN_DEFAULTS: Record<FamilyName, Partial<TrainConfigInput>> = {
  regression: {},
  categorical: { window: 256, batchSize: 16, learningRate: 0.008, finalLearningRate: 0.0008, epochs: 16, earlyStopPatience: 3, maxTrainWindows: 2048, split: 'blocked', trainFraction: 0.7, devFraction: 0.1 },
  // Windows count frames (a hop of samples each); see bench/audio-quality.ts --family spectral.
  // 16 epochs: with a four-component head (model-spec.ts) 20 took 69 s on the pluck; 16 kept every recording's
  // continuation closer to its source than the spectral freeze, 14 did not (the pluck trained with seed 2, 19.1 dB against 17.7, at temperature 1.1).
  spectral: { window: 32, batchSize: 16, learningRate: 0.003, finalLearningRate: 0.0003, epochs: 16, earlyStopPatience: 5, maxTrainWindows: 256, split: 'blocked', trainFraction: 0.6, devFraction: 0.2 },
};

/** The family to train on audio (a WAV, the microphone) when the request names none. */
export const AUDIO_DEFAULT_FAMILY: FamilyName = 'categorical';

/** The model sample rate audio trains at by default: recordings at higher rates are resampled to it. */
export const AUDIO_SAMPLE_RATE = 16_000;
export const MIN_MODEL_RATE = 1000;
export const MAX_MODEL_RATE = 192_000;

/** A span of a recording in seconds from its start (end after start). */
export const regionSchema = z
  .object({ start: z.number().min(0).max(1e7), end: z.number().gt(0).max(1e7) })
  .refine((r) => r.end > r.start, { message: 'a region must end after it starts' });
export type Region = z.infer<typeof regionSchema>;

/** Where the training samples come from. */
export const signalSourceSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('preset'),
    name: z.string().refine((n) => findPreset(n) !== undefined, { message: `unknown preset; expected one of ${Object.keys(PRESETS).join(', ')}` }),
    signal: signalSpecSchema.optional(),
  }),
  z.object({
    kind: z.literal('wav'),
    path: z.string(),
    /** The file's own sample rate (filled in when it is read). */
    sampleRate: z.number().int().positive(),
    /**
     * The model's sample rate: the recording is resampled to it (a windowed-sinc resampler) when the
     * file's differs. New training runs on audio default to AUDIO_SAMPLE_RATE; absent (folders from
     * before it existed): the file's own rate.
     */
    rate: z.number().int().min(MIN_MODEL_RATE).max(MAX_MODEL_RATE).optional(),
    /** The library recording this file is a copy of (shown to the user; the copy is what loads). */
    recording: z.string().optional(),
    /** The span the model trains on, in seconds of the file; all of it when absent. */
    region: regionSchema.optional(),
    /** Where continuations are primed by default, in seconds of the file (a run repeats with it). */
    primeRegion: regionSchema.optional(),
  }),
]);
export type SignalSource = z.infer<typeof signalSourceSchema>;

/** Affine map applied to samples before the network sees them: net = (x - offset) / scale. */
export const normalisationSchema = z.object({ offset: z.number(), scale: z.number().positive() });
export type Normalisation = z.infer<typeof normalisationSchema>;

// ---- Events and results -------------------------------------------------------------------

/** Training progress as the engine emits it and every receiver validates it: one schema, types inferred. */
export const trainEventSchema = z.discriminatedUnion('type', [
  /** After each batch; epoch and batch are 1-based. */
  z.object({ type: z.literal('batch'), epoch: z.number(), batch: z.number(), batches: z.number(), loss: z.number(), seqPerSecond: z.number(), etaSeconds: z.number() }),
  /** After each epoch, with the dev loss and the learning rate reached. */
  z.object({
    type: z.literal('epoch'),
    epoch: z.number(),
    epochs: z.number(),
    trainLoss: z.number(),
    devLoss: z.number(),
    seqPerSecond: z.number(),
    etaSeconds: z.number(),
    learningRate: z.number(),
  }),
  /** The final evaluation after the last epoch: windows predicted so far of the total. */
  z.object({ type: z.literal('evaluation'), done: z.number(), total: z.number(), etaSeconds: z.number() }),
  /** News for the user (early stopping, a rollback): info is not an error. */
  z.object({ type: z.literal('notice'), level: z.enum(['info', 'warning']), message: z.string() }),
]);
export type TrainEvent = z.infer<typeof trainEventSchema>;


/** A regression model's test metrics (no `family` field: every model before families had these). */
export const regressionMetricsSchema = z.object({
  test_mse: z.number(),
  dev_mse: z.number(),
  /** Variance of the added noise where the signal is synthetic; null when unknown. */
  noise_floor: z.number().nullable(),
  persistence_mse: z.number(),
  ar_mse: z.number(),
  ar_order: z.number(),
  /** Test windows the metrics were measured on (a spread sample of at most 10,000); absent in older models. */
  eval_windows: z.number().int().optional(),
  /** Half-width of the 95 % confidence interval of test_mse over those windows; absent in older models. */
  test_mse_ci95: z.number().optional(),
});
export type RegressionMetrics = z.infer<typeof regressionMetricsSchema>;

/**
 * A categorical model's held-out negative log-likelihood in bits per sample, beside references a
 * model must beat: a uniform distribution over the levels (log2 levels), the levels' histogram on the
 * train split (unigram), and a linear predictor with a Laplace residual, each put through the same
 * μ-law levels.
 */
export const categoricalMetricsSchema = z.object({
  family: z.literal('categorical'),
  test_bits: z.number(),
  dev_bits: z.number(),
  /** Half-width of the 95 % confidence interval of test_bits over the test predictions. */
  test_bits_ci95: z.number(),
  uniform_bits: z.number(),
  unigram_bits: z.number(),
  lpc_bits: z.number(),
  lpc_order: z.number().int(),
  /** Test predictions the metrics were measured on. */
  eval_predictions: z.number().int(),
});
export type CategoricalMetrics = z.infer<typeof categoricalMetricsSchema>;

/**
 * A spectral model's held-out negative log-likelihood of the next frame's log-magnitudes, in nats per
 * bin (of the scaled feature), beside two references: a Gaussian around the previous frame
 * (persistence) and each bin's Gaussian over the train frames (no context), both with one standard
 * deviation per bin fitted on train. `test_lsd_db`: the log-spectral distance of the predicted mean
 * frame from the true one (teacher-forced, one step ahead), beside persistence's.
 */
export const spectralMetricsSchema = z.object({
  family: z.literal('spectral'),
  test_nll: z.number(),
  dev_nll: z.number(),
  /** Half-width of the 95 % confidence interval of test_nll over the test windows. */
  test_nll_ci95: z.number(),
  persistence_nll: z.number(),
  mean_frame_nll: z.number(),
  test_lsd_db: z.number(),
  persistence_lsd_db: z.number(),
  /** Test frames the metrics were measured on. */
  eval_frames: z.number().int(),
});
export type SpectralMetrics = z.infer<typeof spectralMetricsSchema>;

/** Test metrics of a model, by family. */
export const metricsSchema = z.union([categoricalMetricsSchema, spectralMetricsSchema, regressionMetricsSchema]);
export type Metrics = z.infer<typeof metricsSchema>;

/** The regression metrics of a model, or null for another family's. */
export function regressionMetrics(m: Metrics | null | undefined): RegressionMetrics | null {
  return m && !('family' in m) ? m : null;
}

/** One line of a model's training-log.jsonl per epoch. */
export const epochRecordSchema = z.object({ epoch: z.number(), trainLoss: z.number(), devLoss: z.number(), learningRate: z.number(), seconds: z.number() });
export type EpochRecord = z.infer<typeof epochRecordSchema>;

/** How a training run ended. */
export const TRAIN_OUTCOMES = ['completed', 'early-stopped', 'cancelled', 'diverged'] as const;
export type TrainOutcome = (typeof TRAIN_OUTCOMES)[number];
/** A model folder's state: saved at an epoch end of a run still going or interrupted, or finished. */
export const MODEL_STATUSES = ['checkpoint', 'complete'] as const;

// ---- Validation helper --------------------------------------------------------------------

/** Parses `value` with `schema`, throwing `bad_argument` that names the field and the reason. */
export function parseOrThrow<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue.path.length ? issue.path.join('.') : what;
    throw new LabError('bad_argument', `Invalid ${what}: ${field}: ${issue.message}`);
  }
  return r.data;
}
