// Model specs, one schema per family, discriminated on `family` (as Magenta.js's specs are on
// `type`). Shared so that the UI validates a spec before sending it and the engine where it
// receives it. Every family is a stack of recurrent layers (the part below, which the budget, the
// fused kernels and the models list read); what a family adds beside it is its own.
import { z } from 'zod';

/** Default layer sizes: the notebook's 3 stacked LSTM layers of 16 units. */
export const DEFAULT_UNITS = [16, 16, 16];
/**
 * Largest recurrent layer. 1024 units build in about 5 s (orthogonal.ts) and hold 4 M weights per
 * layer; a bigger layer would train at a few sequences per second on a CPU.
 */
export const MAX_UNITS = 1024;
export const MAX_LAYERS = 16;
/** Default input dropout between recurrent layers (0 = off, as in the notebook). */
export const DEFAULT_DROPOUT = 0;
export const DEFAULT_CELL = 'lstm';
/** The family of a spec that names none: every model folder written before families existed. */
export const DEFAULT_FAMILY = 'regression';

/** Recurrent cells. */
export const cellTypeSchema = z.enum(['lstm', 'gru']);

/** The recurrent stack every family is built on; a family's schema spreads this shape. */
export const recurrentStackShape = {
  /** Recurrent cell: 'lstm' or 'gru'. Gates use sigmoid (not tfjs's hardSigmoid) to match Keras and PyTorch. */
  type: cellTypeSchema.default(DEFAULT_CELL),
  /** Units of each stacked recurrent layer, bottom first. */
  units: z.array(z.number().int().min(1).max(MAX_UNITS)).min(1).max(MAX_LAYERS).default(DEFAULT_UNITS),
  /** Dropout on each recurrent layer's inputs while training, in [0, 1). */
  dropout: z.number().min(0).lt(1).default(DEFAULT_DROPOUT),
};

/**
 * 'regression': the next sample from a window of samples, one input channel and a linear head of one
 * unit, trained on MSE (the notebook's model). `family` may be left out: it defaults to regression,
 * so that specs stored before families existed read as what they are.
 */
export const regressionSpecSchema = z.object({
  family: z.literal('regression').default('regression'),
  ...recurrentStackShape,
});
export type RegressionSpec = z.output<typeof regressionSpecSchema>;

/** Output levels of the categorical family's softmax (8-bit μ-law). */
export const DEFAULT_LEVELS = 256;
/** The categorical family's default stack: one GRU layer of 128 units (the torch_mulaw_rnn.py reference's size). */
export const DEFAULT_CATEGORICAL_UNITS = [128];

/**
 * 'categorical': a μ-law sample RNN (SampleRNN / WaveRNN's idea, one tier). Each step reads the
 * previous sample's μ-law level as one scaled input (`level / (levels-1) · 2 - 1`) and predicts a
 * distribution over the next sample's `levels` levels (it reads the last `context` levels, scaled) through a dense softmax head, trained on
 * cross-entropy at every step of a window. The signal is pre-emphasised (`preEmphasis`) before the
 * μ-law and de-emphasised after generation. Generation samples with a temperature and a seeded RNG.
 */
export const categoricalSpecSchema = z.object({
  family: z.literal('categorical'),
  ...recurrentStackShape,
  type: cellTypeSchema.default('gru'),
  /** Layer sizes, multiples of 4: training, evaluation and sampling all run in lstm.wasm, 4 units per vector. */
  units: z
    .array(z.number().int().min(4).max(MAX_UNITS).multipleOf(4, { message: 'must be a multiple of 4 for a categorical model' }))
    .min(1)
    .max(MAX_LAYERS)
    .default(DEFAULT_CATEGORICAL_UNITS),
  /** μ-law levels of the input and the softmax: 256 (8-bit) by default; a multiple of 4. */
  levels: z.number().int().min(4).max(1024).multipleOf(4).default(DEFAULT_LEVELS),
  /** Pre-emphasis coefficient in [0, 1): 0 = off. LPCNet uses 0.85; it lifts the highs the μ-law would bury in noise. */
  preEmphasis: z.number().min(0).lt(1).default(0.85),
  /**
   * Previous samples each step reads (the newest last): 1 is the classic sample RNN; more hand the
   * net the recent waveform directly, so it need not hold it in its state to predict the next sample
   * (each costs 3·units multiply-adds per step in a GRU, a fraction of the recurrent product).
   */
  context: z.number().int().min(1).max(64).default(16),
  /**
   * Standard deviation, in μ-law levels, of Gaussian noise added to the inputs (not the targets) while
   * training: generation feeds the net its own sampled levels, which are never exactly the recording's.
   * 0 = off.
   */
  inputNoise: z.number().min(0).max(64).default(0),
  /** Steps at the start of each training window whose loss is not counted (the state warms up from zero). */
  burnIn: z.number().int().min(0).max(4096).default(32),
});
export type CategoricalSpec = z.output<typeof categoricalSpecSchema>;

/** The spectral family's default stack: one GRU layer of 128 units (bench/spectral-quality.ts). */
export const DEFAULT_SPECTRAL_UNITS = [128];
/**
 * The temperature a spectral model draws at unless told: each bin's deviation widened by a fifth.
 * Free-running at 1 the continuations came out under-dispersed: spectra duller between partials than
 * the source's, speech quieter (a spoken phrase's first 0.5 s at 0.37-0.42 of the source's RMS). Measured
 * with bench/audio-quality.ts on four-component models trained with seeds 1-3 (sampling seed 1), 1.1 → 1.2: on
 * bench/make-audio.sh's recordings the phrase fell under half the source's RMS for some half second with
 * two of the three models at 1.1 and with none at 1.2, and long-term LSD went 3.3-4.0 → 3.1-3.5 dB (vowel),
 * 1.5-1.6 → 1.2 (noise), 1.2-1.6 → 1.2-1.5 (bowed), 9.3-11.6 → 8.3-10.7 (phrase), 12.3-13.6 → 12.3-13.8
 * (pluck); on bench/make-validation-audio.sh's, on which nothing was chosen, 9.6 → 8.5 (speech, whose
 * quietest half second went 0.42 → 0.77 of the source's RMS), 7.2 → 7.0 (vowel), 1.6 → 1.2 (noise), and
 * worse on a steady square-wave tone, 0.76 → 1.07 dB, where the spectral freeze gets 0.93. 1.3 made the
 * tone 1.50 and pushed a phrase past 1.9 × its source's RMS.
 */
export const DEFAULT_SPECTRAL_TEMPERATURE = 1.2;
/** Mixture components of a spectral model (see `mixtures` below). */
export const DEFAULT_SPECTRAL_MIXTURES = 4;
/** Samples per analysis frame: 64 ms at 16 kHz, so that a voice's harmonics fall in separate bins. */
export const DEFAULT_SPECTRAL_FRAME = 1024;
/** Samples between frames: a quarter frame (Hann² overlaps evenly; the phase vocoder's usual hop). */
export const DEFAULT_SPECTRAL_HOP = 256;

const isPowerOfTwo = (n: number) => (n & (n - 1)) === 0;

/**
 * 'spectral': a frame-rate model. The signal is cut into Hann-windowed STFT frames (`frameSize`
 * samples every `hop`); each step reads one frame's log-magnitudes (frameSize / 2 + 1 bins, scaled) and
 * predicts the next frame as a mixture of `mixtures` components, each a Gaussian per bin (a mean and a
 * log standard deviation per bin). Generation samples every bin with a temperature and a seeded RNG, takes each
 * partial's frequency from the sampled spectrum's peaks, and resynthesises the frames with a phase
 * vocoder (identity phase locking, overlap-add).
 */
const spectralSpecObject = z.object({
    family: z.literal('spectral'),
    ...recurrentStackShape,
    type: cellTypeSchema.default('gru'),
    /** Layer sizes, multiples of 4 (the fused kernels run 4 units per vector). */
    units: z
      .array(z.number().int().min(4).max(MAX_UNITS).multipleOf(4, { message: 'must be a multiple of 4 for a spectral model' }))
      .min(1)
      .max(MAX_LAYERS)
      .default(DEFAULT_SPECTRAL_UNITS),
    /** Samples per STFT frame: a power of two from 16 to 4096. */
    frameSize: z
      .number()
      .int()
      .min(16)
      .max(4096)
      .refine(isPowerOfTwo, { message: 'must be a power of two' })
      .default(DEFAULT_SPECTRAL_FRAME),
    /** Samples between frames: 1 to frameSize / 2. */
    hop: z.number().int().min(1).max(2048).default(DEFAULT_SPECTRAL_HOP),
    /**
     * Units of the linear projection a frame goes through before the stack (a multiple of 4): the
     * recurrent layer then reads a few dozen values, not every bin, which cuts its input weights 8-fold
     * at 1024-sample frames (generation speed; fewer weights to overfit a short recording).
     */
    embedding: z.number().int().min(4).max(1024).multipleOf(4, { message: 'must be a multiple of 4' }).default(64),
    /**
     * Components of the mixture each frame is drawn from: every component has its own mean and
     * deviation per bin, and a frame picks one component, so "a syllable or a pause", "this note or the
     * next" are separate components rather than one Gaussian halfway between (1 = a plain Gaussian per
     * bin). 4 by default, measured with bench/audio-quality.ts on bench/make-audio.sh's recordings: with
     * one Gaussian per bin a frame cannot choose, so the pluck's onsets came out as noise bursts (long-term
     * LSD 18.6-29.9 dB, the spectral freeze 17.7) and the spoken phrase fell quiet with two training seeds
     * of four (a half second at 0.19 and 0.07 of the source's RMS). With 4 (16 epochs, temperature 1.2,
     * three training seeds by three sampling seeds) the pluck stays tonal (11.8-17.5 dB) and the phrase's
     * quietest half second is 0.47-1.19 of the source's RMS, at the cost of more hiss between the phrase's
     * formants (LSD 6.2-11.0, where one Gaussian's seed that kept talking got 6.1-6.7) and a head four
     * times as wide (a training step 1.7 × longer). 2 and 3 components (at 1.1, 20 epochs) did not hold:
     * the phrase fell to 0.18 and 0.23, and the pluck burst with 3.
     */
    mixtures: z.number().int().min(1).max(8).default(DEFAULT_SPECTRAL_MIXTURES),
    /** Frames at the start of each training window whose loss is not counted (the state warms up from zero). */
    burnIn: z.number().int().min(0).max(1024).default(4),
    /**
     * Standard deviation of Gaussian noise added to the input frames (not the targets) while training, in
     * feature units (1 = 4 nepers, 35 dB): generation feeds the net frames it drew itself, never exactly a
     * recording's. 0 = off.
     */
    inputNoise: z.number().min(0).max(4).default(0.1),
});
export const spectralSpecSchema = spectralSpecObject.refine((s) => s.hop <= s.frameSize / 2, { message: 'hop must be at most half the frame size', path: ['hop'] });
export type SpectralSpec = z.output<typeof spectralSpecSchema>;

/** Every family's spec. A new family adds its schema here and its folder under src/main/engine/families. */
export const modelSpecSchema = z.discriminatedUnion('family', [regressionSpecSchema, categoricalSpecSchema, spectralSpecSchema]);
export type ModelSpecInput = z.input<typeof modelSpecSchema>;
export type ModelSpec = z.output<typeof modelSpecSchema>;
export type ModelFamilyName = ModelSpec['family'];
/**
 * A spec as a request carries it: any family's fields, each optional; the engine fills the defaults
 * (by the family's schema) where it receives the request.
 */
export const modelSpecArgsSchema = z.discriminatedUnion('family', [
  regressionSpecSchema.partial(),
  categoricalSpecSchema.partial().required({ family: true }),
  spectralSpecObject.partial().required({ family: true }),
]);

/** The families a user can choose, in the order the UI lists them. */
export const MODEL_FAMILIES: readonly ModelFamilyName[] = ['regression', 'categorical', 'spectral'];
/** What each family is called in the UI and the CLI's help. */
export const FAMILY_LABELS: Record<ModelFamilyName, string> = {
  regression: 'regression (MSE)',
  categorical: 'categorical (μ-law)',
  spectral: 'spectral (STFT)',
};
