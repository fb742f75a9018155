// The engine's operations, as the CLI and the hosts call them: load a signal, train (and resume),
// evaluate, generate. Node only; everything it computes with lives in the modules beside it.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  AUDIO_DEFAULT_FAMILY,
  AUDIO_SAMPLE_RATE,
  FAMILY_TRAIN_DEFAULTS,
  MAX_GENERATE_LENGTH,
  MAX_PRIME,
  MIN_MODEL_RATE,
  parseOrThrow,
  trainConfigSchema,
  type EpochRecord,
  type Metrics,
  type ModelSpec,
  type ModelSpecInput,
  type Normalisation,
  type Region,
  type SignalSource,
  type TrainConfigInput,
  type TrainEvent,
  type TrainOutcome,
} from '../../shared/contract';
import { LabError } from '../../shared/errors';
import { generateCleanSignal, generateSignal, getPreset, noiseFloor, parseSignalSpec, type SignalSpec } from '../../shared/signals/generators';
import { decodeWav } from '../../shared/signals/wav';
import { resample } from '../../shared/dsp/resample';
import { initBackend, type BackendInfo } from './backend';
import type { FamilyDataset, ModelFamily, SamplingOptions } from './families/family';
import { familyOf, parseModelSpec } from './families';
import { generateStream } from './generator';
import { checkWritableModelFolder, loadModelFolder, nowIso, saveModelFolder, MODEL_FORMAT, MODEL_FORMAT_VERSION, type StoredSpec, type NamedTensor, parseTrainingLog } from './store';
import { Trainer } from './trainer';

export interface LoadedSignal {
  source: SignalSource;
  /** Samples in signal units. */
  samples: Float32Array;
  sampleRate: number;
  /** Variance of the added noise, where the signal is synthetic. */
  noiseFloor: number | null;
  /** The noiseless signal over [from, from+length), where it is synthetic. */
  truth: ((from: number, length: number) => Float32Array) | null;
}

function presetSpec(source: Extract<SignalSource, { kind: 'preset' }>): SignalSpec {
  return source.signal ?? getPreset(source.name).signal;
}

/**
 * The samples of a signal source in signal units. A WAV is resampled to its `rate` (the model's) when
 * that differs from the file's; `defaultRate` fills a missing `rate` (new training runs on audio: at
 * most AUDIO_SAMPLE_RATE, never upsampled), and the source returned says which was used.
 */
export async function loadSignal(source: SignalSource, defaultRate?: number): Promise<LoadedSignal> {
  if (source.kind === 'preset') {
    const spec = presetSpec(source);
    const parsed = parseSignalSpec(spec);
    return {
      source,
      samples: generateSignal(spec),
      sampleRate: getPreset(source.name).sampleRate,
      noiseFloor: noiseFloor(spec),
      // A longer spec with the same seed reproduces the same prefix, so truth extends past the end.
      truth: (from, length) => generateCleanSignal({ ...parsed, length: Math.max(parsed.length, from + length) } as SignalSpec).slice(from, from + length),
    };
  }
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(source.path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LabError('bad_file', code === 'ENOENT' ? `WAV file ${source.path} does not exist` : `Cannot read ${source.path}: ${(e as Error).message}`);
  }
  const audio = decodeWav(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), source.path);
  // A file below the lowest model rate (a sensor log at 100 Hz) keeps its own rate and records none.
  const fallback = defaultRate ? Math.min(defaultRate, audio.sampleRate) : undefined;
  const rate = source.rate ?? (fallback !== undefined && fallback >= MIN_MODEL_RATE ? fallback : undefined);
  let samples = rate && rate !== audio.sampleRate ? await resampledOnce(source.path, audio, rate) : audio.samples;
  if (source.region) samples = regionOf(samples, rate ?? audio.sampleRate, source.region, 'training region', source.path);
  return {
    source: { ...source, sampleRate: audio.sampleRate, ...(rate ? { rate } : {}) },
    samples,
    sampleRate: rate ?? audio.sampleRate,
    noiseFloor: null,
    truth: null,
  };
}

/** The samples of `region` (seconds) of a signal at `rate`, or `bad_argument` naming the region when it holds too few. */
function regionOf(x: Float32Array, rate: number, region: Region, what: string, file: string): Float32Array {
  const from = Math.min(x.length, Math.round(region.start * rate));
  const to = Math.min(x.length, Math.round(region.end * rate));
  if (to - from < 2) {
    throw new LabError('bad_argument', `The ${what} ${region.start.toFixed(3)}-${region.end.toFixed(3)} s holds ${Math.max(0, to - from)} samples of ${path.basename(file)} (${(x.length / rate).toFixed(3)} s long)`);
  }
  return x.slice(from, to);
}

/**
 * The last recording resampled, kept: every Generate re-reads its model's source, and the sinc
 * resampler takes about 12 s per minute of audio. Keyed by the file's path, size and modification
 * time; callers get a copy (training normalises its samples in place).
 */
let lastResampled: { key: string; samples: Float32Array } | null = null;

async function resampledOnce(file: string, audio: { samples: Float32Array; sampleRate: number }, rate: number): Promise<Float32Array> {
  const st = await fs.stat(file);
  const key = [file, st.size, st.mtimeMs, audio.sampleRate, rate].join('\0');
  if (lastResampled?.key !== key) lastResampled = { key, samples: resample(audio.samples, audio.sampleRate, rate) };
  return lastResampled.samples.slice();
}

/** The normalisation the model's family applies to this signal. */
function normalisationFor(family: ModelFamily<ModelSpec, FamilyDataset>, signal: LoadedSignal): Normalisation {
  return family.normalisation(signal.samples, signal.source.kind === 'preset');
}

/**
 * Normalises the samples in place: a loaded signal is held once (an hour at 16 kHz is 230 MB), and
 * training and evaluation only ever need it in network units.
 */
function normaliseInPlace(x: Float32Array, n: Normalisation): Float32Array {
  if (n.offset === 0 && n.scale === 1) return x;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] - n.offset) / n.scale;
  return x;
}

export interface TrainRequest {
  /** Where the samples come from; ignored when resuming (the folder says). */
  source?: SignalSource;
  model?: ModelSpecInput;
  config?: TrainConfigInput;
  /** The model folder: written at each epoch end and at the end. */
  out: string;
  /** Continue the run saved in `out` (its optimizer state too); `config.epochs` may raise the total. */
  resume?: boolean;
  /** Replace a model already in `out` (never anything else); without it, such a folder is refused. */
  overwrite?: boolean;
  backend?: string | null;
  /** 'auto' (default): the fused recurrent op where it applies (see canUseFusedRecurrent), else tfjs-layers. */
  impl?: 'auto' | 'fused' | 'layers';
  signal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
  /** Called once the backend and implementation are chosen, before any work. */
  onBackend?: (b: BackendInfo, impl: 'fused' | 'layers') => void;
}

export interface TrainReport {
  outcome: TrainOutcome;
  message: string | null;
  dir: string;
  epochsDone: number;
  history: EpochRecord[];
  /** Null when cancelled (no final evaluation). */
  metrics: Metrics | null;
  backend: string;
  impl: 'fused' | 'layers';
  seconds: number;
}

function chooseImpl(wanted: 'auto' | 'fused' | 'layers', spec: ModelSpec, tfBackend: string): 'fused' | 'layers' {
  const fusable = familyOf(spec).canFuse(spec, tfBackend);
  if (wanted === 'fused' && !fusable) {
    throw new LabError('bad_argument', 'The fused kernels need layer sizes that are multiples of 4, no dropout, and the cpu or wasm backend');
  }
  return wanted === 'layers' || !fusable ? 'layers' : 'fused';
}

export async function train(req: TrainRequest): Promise<TrainReport> {
  const t0 = performance.now();
  const backend = await initBackend(req.backend);
  let model: tf.LayersModel;
  let stored: StoredSpec;
  let optimizerWeights: NamedTensor[] | null = null;
  let log: string[] = [];
  let loaded: LoadedSignal;
  if (req.resume) {
    const folder = await loadModelFolder(req.out);
    model = folder.model;
    optimizerWeights = folder.optimizerWeights;
    log = folder.log;
    const train = parseOrThrow(trainConfigSchema, { ...folder.spec.train, ...(req.config?.epochs ? { epochs: req.config.epochs } : {}) }, 'training settings');
    if (folder.spec.epochsDone >= train.epochs) {
      tf.dispose(optimizerWeights?.map((w) => w.tensor) ?? []);
      model.dispose();
      throw new LabError('bad_argument', `${req.out} has already trained ${folder.spec.epochsDone} epochs; pass more epochs than that to resume`);
    }
    stored = { ...folder.spec, train };
    loaded = await loadSignal(stored.source).catch((e) => {
      tf.dispose(optimizerWeights?.map((w) => w.tensor) ?? []);
      model.dispose();
      throw e;
    });
  } else {
    if (!req.source) throw new LabError('bad_argument', 'Training needs a signal: a preset or a WAV file');
    if ((await checkWritableModelFolder(req.out)) === 'model' && !req.overwrite) {
      throw new LabError('bad_argument', `${req.out} already holds a model; pass --overwrite to replace it, or --resume to continue it`);
    }
    // Audio trains with the audio family unless the request names one; each family starts from its own training defaults.
    const audio = req.source.kind === 'wav';
    const modelSpec = parseModelSpec(req.model?.family || !audio ? (req.model ?? {}) : { ...req.model, family: AUDIO_DEFAULT_FAMILY });
    const train = parseOrThrow(trainConfigSchema, { ...FAMILY_TRAIN_DEFAULTS[modelSpec.family], ...(req.config ?? {}) }, 'training settings');
    familyOf(modelSpec).checkBudget(modelSpec, train, chooseImpl(req.impl ?? 'auto', modelSpec, backend.tfBackend)); // before anything is allocated
    loaded = await loadSignal(req.source, AUDIO_SAMPLE_RATE);
    stored = {
      format: MODEL_FORMAT,
      version: MODEL_FORMAT_VERSION,
      status: 'checkpoint',
      model: modelSpec,
      train,
      source: loaded.source,
      normalisation: normalisationFor(familyOf(modelSpec), loaded),
      sampleRate: loaded.sampleRate,
      epochsDone: 0,
      outcome: null,
      noiseFloor: loaded.noiseFloor,
      metrics: null,
      backend: backend.name,
      createdAt: nowIso(),
      updatedAt: nowIso(),
    };
    model = familyOf(modelSpec).build(modelSpec, train.seed);
  }

  try {
    const family = familyOf(stored.model);
    const impl = chooseImpl(req.impl ?? 'auto', stored.model, backend.tfBackend);
    req.onBackend?.(backend, impl);
    const dataset = family.dataset(normaliseInPlace(loaded.samples, stored.normalisation), stored.model, stored.train);
    const lossScale = family.lossScale(stored.normalisation);
    const { history } = parseTrainingLog(log);
    const batchLog: string[] = [];
    const trainer = new Trainer({
      model,
      dataset,
      objective: family.objective(model, stored.model, dataset, impl),
      config: stored.train,
      startEpoch: stored.epochsDone,
      optimizerWeights,
      history,
      lossScale,
      finalEvaluationWindows: family.evaluationWindows(dataset),
      signal: req.signal,
      onEvent: (e) => {
        if (e.type === 'batch') batchLog.push(JSON.stringify({ type: 'batch', epoch: e.epoch, batch: e.batch, loss: e.loss }));
        req.onEvent?.(e);
      },
      onCheckpoint: async ({ epoch, history: h, optimizerWeights: ow }) => {
        log = [...log, ...batchLog.splice(0), JSON.stringify({ type: 'epoch', ...h[h.length - 1] })];
        stored = { ...stored, status: 'checkpoint', epochsDone: epoch, backend: backend.name, updatedAt: nowIso() };
        await saveModelFolder(req.out, { model, spec: stored, optimizerWeights: ow, log });
      },
    });
    const result = await trainer.run();
    let metrics: Metrics | null = null;
    try {
      if (result.outcome !== 'cancelled') {
        try {
          const tEval = performance.now();
          metrics = await family.evaluate(model, stored.model, dataset, {
            normalisation: stored.normalisation,
            noiseFloor: loaded.noiseFloor,
            signal: req.signal,
            onProgress: (done, total) => {
              const rate = done / Math.max(1e-3, (performance.now() - tEval) / 1000);
              req.onEvent?.({ type: 'evaluation', done, total, etaSeconds: (total - done) / rate });
            },
          });
        } catch (e) {
          if ((e as LabError).code !== 'cancelled') throw e;
          // Cancelled while evaluating: the last epoch's checkpoint stays as it is, without metrics.
          return { outcome: 'cancelled', message: 'Cancelled during the final evaluation', dir: req.out, epochsDone: result.epochsDone, history: result.history, metrics: null, backend: backend.name, impl, seconds: (performance.now() - t0) / 1000 };
        }
        stored = { ...stored, status: 'complete', epochsDone: result.epochsDone, outcome: result.outcome, metrics, updatedAt: nowIso() };
        // Adam's state stays in the folder, so that training on with more epochs continues exactly.
        await saveModelFolder(req.out, { model, spec: stored, optimizerWeights: result.optimizerWeights, log: [...log, ...batchLog] });
      }
    } finally {
      tf.dispose(result.optimizerWeights.map((w) => w.tensor));
    }
    return {
      outcome: result.outcome,
      message: result.message,
      dir: req.out,
      epochsDone: result.epochsDone,
      history: result.history,
      metrics,
      backend: backend.name,
      impl,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    tf.dispose(optimizerWeights?.map((w) => w.tensor) ?? []);
    model.dispose();
  }
}

export async function evaluateFolder(dir: string, backendName?: string | null): Promise<{ metrics: Metrics; spec: StoredSpec; backend: string }> {
  const backend = await initBackend(backendName);
  const folder = await loadModelFolder(dir);
  try {
    const family = familyOf(folder.spec.model);
    const loaded = await loadSignal(folder.spec.source);
    const dataset = family.dataset(normaliseInPlace(loaded.samples, folder.spec.normalisation), folder.spec.model, folder.spec.train);
    const metrics = await family.evaluate(folder.model, folder.spec.model, dataset, { normalisation: folder.spec.normalisation, noiseFloor: loaded.noiseFloor });
    return { metrics, spec: folder.spec, backend: backend.name };
  } finally {
    tf.dispose(folder.optimizerWeights?.map((w) => w.tensor) ?? []);
    folder.model.dispose();
  }
}

export interface GenerateRequest {
  dir: string;
  /** Priming samples taken from the model's signal (default: one window, in samples). */
  prime?: number;
  /** Where the priming samples start in the signal (default: the start of the test region). */
  offset?: number;
  /**
   * Prime on this span of the model's recording (seconds of the whole file, not of its training
   * region); without `offset` or this, the span stored with the model, if any. `prime` then takes
   * the span's last `prime` samples.
   */
  primeRegion?: Region;
  length: number;
  /** Continue from this packed state instead of priming. */
  state?: Float32Array;
  /** How a sampling family draws (temperature, seed); see families/family.ts. */
  sampling?: SamplingOptions;
  backend?: string | null;
  /** Deliver the samples in chunks of this many as they are computed. */
  chunkSize?: number;
  onChunk?: (samples: Float32Array, from: number, state: Float32Array) => void;
}

export interface GenerateReport {
  samples: Float32Array;
  state: Float32Array;
  primeSamples: Float32Array;
  primeStart: number;
  /** The noiseless continuation where the signal is synthetic, else the recorded one where it exists. */
  truth: Float32Array | null;
  sampleRate: number;
  spec: StoredSpec;
}

/** Seconds of a recording a continuation is primed on by default. */
export const AUDIO_PRIME_SECONDS = 0.5;

/**
 * Where a continuation of a recording is primed by default: the `prime` samples with the most energy
 * from `from` on (the held-out region), never its trailing silence: among starts that leave `length`
 * samples of the recording after the prime to compare with, where the region has any. When the whole
 * region is quieter than a tenth of the recording's mean power, the loudest prime anywhere.
 */
export function loudestPrimeOffset(x: Float32Array, from: number, prime: number, length: number): number {
  const search = (start: number) => {
    const last = x.length - prime;
    if (start >= last) return { at: Math.max(0, last), power: 0 };
    const end = last - length >= start ? last - length : last;
    let energy = 0;
    for (let i = start; i < start + prime; i++) energy += x[i] * x[i];
    let best = start;
    let bestEnergy = energy;
    for (let s = start + 1; s <= end; s++) {
      energy += x[s + prime - 1] ** 2 - x[s - 1] ** 2;
      if (energy > bestEnergy * (1 + 1e-9)) {
        best = s;
        bestEnergy = energy;
      }
    }
    return { at: best, power: bestEnergy / prime };
  };
  const held = search(from);
  let total = 0;
  for (let i = 0; i < x.length; i++) total += x[i] * x[i];
  return held.power >= (0.1 * total) / Math.max(1, x.length) || from === 0 ? held.at : search(0).at;
}

export async function generateFromFolder(req: GenerateRequest): Promise<GenerateReport> {
  if (!Number.isInteger(req.length) || req.length < 1 || req.length > MAX_GENERATE_LENGTH) {
    throw new LabError('bad_argument', `Expected length to be an integer from 1 to ${MAX_GENERATE_LENGTH}, but got ${req.length}`);
  }
  await initBackend(req.backend);
  const folder = await loadModelFolder(req.dir);
  try {
    const { spec } = folder;
    const family = familyOf(spec.model);
    const stream = { length: req.length, chunkSize: req.chunkSize, onChunk: req.onChunk };
    if (req.state) {
      // Continuations are single streams; a state of many streams would multiply the work unseen.
      const streams = family.stateStreams(req.state); // checks the header too
      if (streams !== 1) throw new LabError('bad_argument', `The packed state holds ${streams} streams; generation continues exactly one`);
      const r = await generateStream(await family.stepper(folder.model, spec.model, spec.normalisation, { state: req.state }, req.sampling), stream);
      return { samples: r.samples, state: r.state, primeSamples: new Float32Array(0), primeStart: 0, truth: null, sampleRate: spec.sampleRate, spec };
    }
    const primeRegion = req.offset === undefined && spec.source.kind === 'wav' ? (req.primeRegion ?? spec.source.primeRegion) : undefined;
    if (req.primeRegion && req.offset !== undefined) throw new LabError('bad_argument', 'Give a prime offset or a prime region, not both');
    if (req.primeRegion && spec.source.kind !== 'wav') throw new LabError('bad_argument', `A prime region needs a model trained on a recording; "${path.basename(req.dir)}" trained on preset ${spec.source.name}`);
    if (primeRegion && spec.source.kind === 'wav') {
      // The whole file at the model's rate, so that the prime may lie outside the training region.
      const whole = await loadSignal({ ...spec.source, region: undefined });
      const span = regionOf(whole.samples, whole.sampleRate, primeRegion, 'prime region', spec.source.path);
      const prime = req.prime ?? Math.min(span.length, MAX_PRIME);
      if (!Number.isInteger(prime) || prime < 1 || prime > span.length) throw new LabError('bad_argument', `Expected prime to be an integer in [1, ${span.length}] (the prime region's samples), but got ${prime}`);
      const primeSamples = span.slice(span.length - prime);
      const end = Math.min(whole.samples.length, Math.round(primeRegion.start * whole.sampleRate)) + span.length;
      const r = await generateStream(await family.stepper(folder.model, spec.model, spec.normalisation, { prime: [primeSamples] }, req.sampling), stream);
      const truth = end < whole.samples.length ? whole.samples.slice(end, Math.min(whole.samples.length, end + req.length)) : null;
      return { samples: r.samples, state: r.state, primeSamples, primeStart: end - prime, truth, sampleRate: spec.sampleRate, spec };
    }
    const loaded = await loadSignal(spec.source);
    const n = loaded.samples.length;
    // Audio trained since model rates existed (a WAV source with a `rate`); older folders generate as they did.
    const isAudio = spec.source.kind === 'wav' && spec.source.rate !== undefined;
    // Audio is primed on half a second by default (a window of steps is a few milliseconds of it).
    const windowSamples = spec.train.window * family.framing(spec.model).samplesPerStep;
    const prime = req.prime ?? Math.min(n, isAudio ? Math.max(windowSamples, Math.round(spec.sampleRate * AUDIO_PRIME_SECONDS)) : windowSamples);
    if (!Number.isInteger(prime) || prime < 1 || prime > n) throw new LabError('bad_argument', `Expected prime to be an integer in [1, ${n}], but got ${prime}`);
    const testStart = Math.min(n - prime, Math.floor(n * (spec.train.trainFraction + spec.train.devFraction)));
    const offset = req.offset ?? (isAudio ? loudestPrimeOffset(loaded.samples, testStart, prime, req.length) : testStart);
    if (!Number.isInteger(offset) || offset < 0 || offset + prime > n) throw new LabError('bad_argument', `Expected offset to be an integer in [0, ${n - prime}], but got ${offset}`);
    const primeSamples = loaded.samples.slice(offset, offset + prime);
    const r = await generateStream(await family.stepper(folder.model, spec.model, spec.normalisation, { prime: [primeSamples] }, req.sampling), stream);
    let truth: Float32Array | null = null;
    if (loaded.truth) truth = loaded.truth(offset + prime, req.length);
    else if (offset + prime < n) truth = loaded.samples.slice(offset + prime, Math.min(n, offset + prime + req.length));
    return { samples: r.samples, state: r.state, primeSamples, primeStart: offset, truth, sampleRate: spec.sampleRate, spec };
  } finally {
    tf.dispose(folder.optimizerWeights?.map((w) => w.tensor) ?? []);
    folder.model.dispose();
  }
}
