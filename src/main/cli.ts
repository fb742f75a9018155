// sequence-lab: the headless command line over the engine (train, eval, generate, bench).
// Bad input ends with one line naming the problem and exit code 2; nothing is left half-written.
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_CELL,
  DEFAULT_FAMILY,
  MODEL_FAMILIES,
  type ModelFamilyName,
  DEFAULT_DROPOUT,
  DEFAULT_EPOCH_WINDOWS,
  DEFAULT_EPOCHS,
  DEFAULT_FINAL_LEARNING_RATE,
  DEFAULT_LEARNING_RATE,
  DEFAULT_SEED,
  DEFAULT_SPLIT,
  DEFAULT_UNITS,
  DEFAULT_WINDOW,
  MAX_GENERATE_LENGTH,
  MAX_UNITS,
  type Metrics,
  type ModelSpecInput,
  AUDIO_DEFAULT_FAMILY,
  AUDIO_SAMPLE_RATE,
  DEFAULT_CATEGORICAL_UNITS,
  DEFAULT_SPECTRAL_UNITS,
  DEFAULT_SPECTRAL_MIXTURES,
  DEFAULT_SPECTRAL_TEMPERATURE,
  FAMILY_TRAIN_DEFAULTS,
  MIN_MODEL_RATE,
  MAX_MODEL_RATE,
  type Region,
  type SignalSource,
  type TrainConfigInput,
  type TrainEvent,
} from '../shared/contract';

import { dominantFrequency, rms } from '../shared/dsp/spectrum';
import { WELCH_SEGMENT } from '../shared/dsp/continuation-metrics';
import { judgeContinuation, type ContinuationJudgement } from '../shared/dsp/trivial-continuations';
import { LabError, toErrorData } from '../shared/errors';
import { findPreset, PRESETS } from '../shared/signals/generators';
import { encodeWav } from '../shared/signals/wav';
import { runBench } from './engine/bench';
import { evaluateFolder, generateFromFolder, train } from './engine/engine';
import { plotSvg } from './engine/plot';
import { RecordingsLibrary, type RecordingSummary } from './engine/recordings';
import { defaultRecordingsDir } from './engine/service';
import { checkRegionText } from '../shared/region-text';
import { writeFilesAtomic } from './engine/store';

const USAGE = `Usage: sequence-lab <command> [options]

Commands:
  train     (--preset NAME | --wav FILE) --out DIR [options]   train a model (or --resume DIR)
  eval      --model DIR                                          test metrics beside the references
  generate  --model DIR --length N --out FILE.wav [options]      free-running continuation
  recordings [list | import FILE... | rename NAME NEW | delete NAME] [--models DIR]
                                                                 the recordings library (recordings/ beside the models folder)
  bench                                                          speed per backend
  serve     [--host H] [--port P] [--models DIR] [--new-token]   the UI in a browser (browser mode)
  doctor    [--models DIR] [--json]                              what can run on this machine, and why not

train options:
  --preset NAME        ${Object.keys(PRESETS).join(', ')}
  --wav FILE           any PCM or float WAV, mixed to mono
  --samples N          length of the --preset signal (${PRESETS.sine.signal.length})
  --out DIR            model folder, written at each epoch end (atomic)
  --resume             continue the run in --out (optimizer state included)
  --overwrite          replace the model already in --out (other folders are never replaced)
  --epochs N           (${DEFAULT_EPOCHS})            --seed S          (${DEFAULT_SEED})
  --window N           (${DEFAULT_WINDOW})          --batch N         (${DEFAULT_BATCH_SIZE})
  --lr X               (${DEFAULT_LEARNING_RATE})        --final-lr X      cosine decay to X (${DEFAULT_FINAL_LEARNING_RATE}; 0 = constant)
  --family NAME        model family: ${MODEL_FAMILIES.join(', ')} (${DEFAULT_FAMILY})
  --cell lstm|gru      (${DEFAULT_CELL})         --units A,B,C     (${DEFAULT_UNITS.join(',')}; at most ${MAX_UNITS} each)
  --dropout X          (${DEFAULT_DROPOUT})            --split shuffled|blocked (${DEFAULT_SPLIT})
  --recording NAME     train on a recording of the library (a copy, in .sources/ beside --out)
  --region A-B         train on seconds A to B of the --wav file or --recording (all of it)
  --prime-region A-B   where its continuations are primed by default (kept with the model)
  --rate HZ            model sample rate of a --wav recording (${AUDIO_SAMPLE_RATE}, or the file's own where lower)
  categorical family (the default for --wav: a μ-law sample RNN, ${DEFAULT_CATEGORICAL_UNITS.join('x')} GRU; window, batch, lr and epochs
  default to ${Object.entries(FAMILY_TRAIN_DEFAULTS.categorical).filter(([k]) => ['window', 'batchSize', 'learningRate', 'epochs'].includes(k)).map(([k, x]) => `${k} ${String(x)}`).join(', ')}):
  --levels N           μ-law levels (256)      --pre-emphasis A  (0.85; 0 = off)      --burn-in N  (32)
  --input-noise L      std of noise added to the inputs while training: μ-law levels (categorical, 0), feature units (spectral, 0.1)
  spectral family (STFT frames, sampled per bin, phase-vocoder resynthesis; ${DEFAULT_SPECTRAL_UNITS.join('x')} GRU; windows count frames;
  ${Object.entries(FAMILY_TRAIN_DEFAULTS.spectral).filter(([k]) => ['window', 'batchSize', 'learningRate', 'epochs'].includes(k)).map(([k, x]) => `${k} ${String(x)}`).join(', ')}):
  --frame-size N       samples per frame, a power of two (1024)   --hop N  samples between frames (a quarter frame; at most half)
  --burn-in N          frames not counted at the start of each window (4)
  --mixtures K         components of the mixture a frame is drawn from (${DEFAULT_SPECTRAL_MIXTURES}; 1: a Gaussian per bin)
  --patience N         early stop on dev loss (0 = off)
  --impl auto|fused|layers  training kernel (auto: fused kernels where they apply)
  --max-train-windows N  windows per epoch (${DEFAULT_EPOCH_WINDOWS}; 0 = all)
generate options:
  --prime N            priming samples from the signal (window length)
  --length N           samples to generate (at most ${MAX_GENERATE_LENGTH})
  --offset N           where the prime starts (start of the test region)
  --prime-region A-B   prime on seconds A to B of the model's recording (the one kept with the model)
  --plot FILE.svg      primed, generated and true samples
  --state-in FILE      continue from a packed state (.f32) instead of priming
  --state-out FILE     write the packed state after the last sample (.f32)
  --temperature T      sampling (categorical, spectral): below 1 sharper, above 1 noisier, 0 = most likely (1; spectral ${DEFAULT_SPECTRAL_TEMPERATURE})
  --seed S             sampling seed (1); a --state-in carries its own
serve options:
  --new-token          forget the kept token (serve.json beside the models folder) and make a new one
common options:
  --backend B          cuda, node, wasm or cpu (or $SEQUENCE_LAB_BACKEND); default: the first that starts
  --json               print one JSON object as the last line of stdout
`;

type Values = Record<string, string | boolean | undefined>;

function parse(argv: string[], options: ParseArgsConfig['options']): Values {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Values;
  } catch (e) {
    throw new LabError('bad_argument', (e as Error).message.split('\n')[0]);
  }
}

function str(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

function required(v: Values, name: string): string {
  const x = str(v, name);
  if (x === undefined || x === '') throw new LabError('bad_argument', `--${name} is required`);
  return x;
}

function num(v: Values, name: string, integer: boolean): number | undefined {
  const x = str(v, name);
  if (x === undefined) return undefined;
  const n = Number(x);
  if (x.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new LabError('bad_argument', `--${name} expects ${integer ? 'an integer' : 'a number'}, got "${x}"`);
  }
  return n;
}

function list(v: Values, name: string): number[] | undefined {
  const x = str(v, name);
  if (x === undefined) return undefined;
  const parts = x.split(',').map((p) => Number(p.trim()));
  if (parts.some((p) => !Number.isInteger(p))) throw new LabError('bad_argument', `--${name} expects integers separated by commas, got "${x}"`);
  return parts;
}

const common = { backend: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

function fmt(x: number | null | undefined, digits = 6): string {
  return x === null || x === undefined ? 'n/a' : x.toPrecision(digits > 3 ? 4 : digits);
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${Math.round(s % 60).toString().padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/** One progress line on stderr: redrawn in place on a terminal, a line per epoch otherwise. */
function progressPrinter(): (e: TrainEvent) => void {
  const tty = process.stderr.isTTY;
  let last = 0;
  return (e) => {
    if (e.type === 'batch') {
      if (!tty) return;
      const now = performance.now();
      if (now - last < 100 && e.batch !== e.batches) return;
      last = now;
      const width = 24;
      const done = Math.round((e.batch / e.batches) * width);
      process.stderr.write(`\r  epoch ${e.epoch} [${'#'.repeat(done)}${'.'.repeat(width - done)}] loss ${fmt(e.loss)}  ${Math.round(e.seqPerSecond)} seq/s  ETA ${fmtTime(e.etaSeconds)}   `);
    } else if (e.type === 'epoch') {
      process.stderr.write(`${tty ? '\r' : ''}epoch ${e.epoch}/${e.epochs}: train ${fmt(e.trainLoss)}  dev ${fmt(e.devLoss)}  ${Math.round(e.seqPerSecond)} seq/s  ETA ${fmtTime(e.etaSeconds)}${' '.repeat(20)}\n`);
    } else if (e.type === 'evaluation') {
      // A terminal sees the count move; a log gets the start and the end.
      if (tty) process.stderr.write(`\r  evaluating ${e.done.toLocaleString('en-US')}/${e.total.toLocaleString('en-US')} windows  ETA ${fmtTime(e.etaSeconds)}   ${e.done === e.total ? '\n' : ''}`);
      else if (e.done === e.total) process.stderr.write(`evaluated ${e.total.toLocaleString('en-US')} windows\n`);
    } else {
      process.stderr.write(`${tty ? '\n' : ''}${e.level}: ${e.message}\n`);
    }
  };
}

async function cmdTrain(argv: string[]): Promise<number> {
  const v = parse(argv, {
    ...common,
    preset: { type: 'string' },
    wav: { type: 'string' },
    recording: { type: 'string' },
    region: { type: 'string' },
    'prime-region': { type: 'string' },
    models: { type: 'string' },
    samples: { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'boolean' },
    overwrite: { type: 'boolean' },
    impl: { type: 'string' },
    epochs: { type: 'string' },
    seed: { type: 'string' },
    window: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    'final-lr': { type: 'string' },
    family: { type: 'string' },
    cell: { type: 'string' },
    units: { type: 'string' },
    dropout: { type: 'string' },
    levels: { type: 'string' },
    'pre-emphasis': { type: 'string' },
    'burn-in': { type: 'string' },
    'input-noise': { type: 'string' },
    'frame-size': { type: 'string' },
    hop: { type: 'string' },
    mixtures: { type: 'string' },
    rate: { type: 'string' },
    split: { type: 'string' },
    patience: { type: 'string' },
    'max-train-windows': { type: 'string' },
  });
  if (v.help) return usage();
  const out = required(v, 'out');
  const preset = str(v, 'preset');
  const recording = str(v, 'recording');
  if (recording !== undefined && (str(v, 'wav') !== undefined || preset !== undefined)) throw new LabError('bad_argument', 'give one of --preset NAME, --wav FILE or --recording NAME');
  // A library recording is checked here and copied once every argument is (see below).
  const wav = recording !== undefined && !v.resume ? await recordingsLibrary(v).pathOf(recording) : str(v, 'wav');
  if (!v.resume && !!preset === !!wav) throw new LabError('bad_argument', 'train needs exactly one of --preset NAME, --wav FILE or --recording NAME (or --resume)');
  if (v.resume && (preset || wav || recording !== undefined)) throw new LabError('bad_argument', '--resume continues the signal saved in --out; drop --preset/--wav/--recording');
  const region = regionArg(v, 'region');
  const primeRegion = regionArg(v, 'prime-region');
  if ((region || primeRegion) && !wav) throw new LabError('bad_argument', `--${region ? 'region' : 'prime-region'} marks a span of a --wav file or --recording`);
  if (preset && !findPreset(preset)) throw new LabError('bad_argument', `Unknown preset "${preset}"; expected one of ${Object.keys(PRESETS).join(', ')}`);
  const config: TrainConfigInput = {};
  const set = <K extends keyof TrainConfigInput>(k: K, x: TrainConfigInput[K] | undefined) => {
    if (x !== undefined) config[k] = x;
  };
  set('epochs', num(v, 'epochs', true));
  set('seed', num(v, 'seed', true));
  set('window', num(v, 'window', true));
  set('batchSize', num(v, 'batch', true));
  set('learningRate', num(v, 'lr', false));
  const finalLr = num(v, 'final-lr', false);
  set('finalLearningRate', finalLr === 0 ? null : finalLr);
  set('split', str(v, 'split') as TrainConfigInput['split']);
  set('earlyStopPatience', num(v, 'patience', true));
  set('maxTrainWindows', num(v, 'max-train-windows', true));
  const model = {
    // Validated by the family's schema in the engine: an unknown name is refused there, by name.
    ...(str(v, 'family') ? { family: str(v, 'family') as ModelFamilyName } : {}),
    ...(str(v, 'cell') ? { type: str(v, 'cell') as 'lstm' } : {}),
    ...(list(v, 'units') ? { units: list(v, 'units') } : {}),
    ...(num(v, 'dropout', false) !== undefined ? { dropout: num(v, 'dropout', false) } : {}),
    ...(num(v, 'levels', true) !== undefined ? { levels: num(v, 'levels', true) } : {}),
    ...(num(v, 'pre-emphasis', false) !== undefined ? { preEmphasis: num(v, 'pre-emphasis', false) } : {}),
    ...(num(v, 'burn-in', true) !== undefined ? { burnIn: num(v, 'burn-in', true) } : {}),
    ...(num(v, 'input-noise', false) !== undefined ? { inputNoise: num(v, 'input-noise', false) } : {}),
    ...(num(v, 'frame-size', true) !== undefined ? { frameSize: num(v, 'frame-size', true) } : {}),
    ...(num(v, 'mixtures', true) !== undefined ? { mixtures: num(v, 'mixtures', true) } : {}),
    // A frame size alone keeps the hop at a quarter of it (the default 256 of 1024).
    ...(num(v, 'hop', true) !== undefined
      ? { hop: num(v, 'hop', true) }
      : num(v, 'frame-size', true) !== undefined
        ? { hop: Math.max(1, Math.floor(num(v, 'frame-size', true)! / 4)) }
        : {}),
  } as ModelSpecInput;
  // Options of one family given to another would be dropped without a word: refuse them by name.
  const family = str(v, 'family') ?? (wav ? AUDIO_DEFAULT_FAMILY : v.resume ? undefined : DEFAULT_FAMILY);
  const only: Record<string, string[]> = { categorical: ['levels', 'pre-emphasis'], spectral: ['frame-size', 'hop', 'mixtures'], audio: ['burn-in', 'input-noise'] };
  if (family !== undefined) {
    for (const [owner, flags] of Object.entries(only)) {
      const applies = owner === 'audio' ? family === 'categorical' || family === 'spectral' : family === owner;
      const given = flags.filter((f) => v[f] !== undefined);
      if (!applies && given.length) throw new LabError('bad_argument', `--${given[0]} is an option of the ${owner === 'audio' ? 'categorical and spectral families' : `${owner} family`}; this run trains a ${family} model (--family)`);
    }
  }
  const rate = num(v, 'rate', true);
  if (rate !== undefined && !wav) throw new LabError('bad_argument', '--rate sets the model sample rate of a --wav recording');
  if (rate !== undefined && (rate < MIN_MODEL_RATE || rate > MAX_MODEL_RATE)) throw new LabError('bad_argument', `--rate expects a sample rate from ${MIN_MODEL_RATE} to ${MAX_MODEL_RATE} Hz, got ${rate}`);
  if (v.resume) {
    const extra = Object.keys(config).filter((k) => k !== 'epochs');
    if (extra.length || Object.keys(model).length) throw new LabError('bad_argument', '--resume keeps the saved settings; only --epochs may change');
  }

  const samples = num(v, 'samples', true);
  if (samples !== undefined && !preset) throw new LabError('bad_argument', '--samples sets the length of a --preset signal');
  const source: SignalSource | undefined = preset
    ? { kind: 'preset', name: preset, ...(samples !== undefined ? { signal: { ...PRESETS[preset].signal, length: samples } as Extract<SignalSource, { kind: 'preset' }>['signal'] } : {}) }
    : wav
      ? {
          kind: 'wav',
          path: wav,
          sampleRate: 1,
          ...(rate !== undefined ? { rate } : {}),
          ...(recording !== undefined ? { recording } : {}),
          ...(region ? { region } : {}),
          ...(primeRegion ? { primeRegion } : {}),
        }
      : undefined;

  // A library recording trains on a copy beside the model folder (as the UI's runs do), so that
  // renaming or deleting the recording later leaves the model whole.
  let copy: string | null = null;
  if (recording !== undefined && source?.kind === 'wav') {
    copy = path.join(path.dirname(path.resolve(out)), '.sources', `${path.basename(out)}-${Date.now().toString(36)}.wav`);
    await recordingsLibrary(v).copyTo(recording, copy);
    source.path = copy;
  }

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write('\nCancelling at the next batch boundary (Ctrl-C again to quit at once)...\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  /** A recording's copy that no checkpoint came to use is not left behind. */
  const dropCopy = async () => {
    if (copy && !(await fs.stat(path.join(out, 'spec.json')).catch(() => null))) await fs.rm(copy, { force: true });
  };
  try {
    const report = await train({
      source,
      model,
      config,
      out,
      resume: !!v.resume,
      overwrite: !!v.overwrite,
      backend: str(v, 'backend') ?? null,
      signal: controller.signal,
      onEvent: progressPrinter(),
      impl: parseImpl(str(v, 'impl')),
      onBackend: (b, impl) => {
        process.stderr.write(`backend: ${b.name}, ${impl === 'fused' ? 'fused kernels (lstm.wasm)' : 'tfjs-layers'}${b.skipped.length ? ` (skipped ${b.skipped.join('; ')})` : ''}\n`);
      },
    });
    const m = report.metrics;
    if (report.outcome === 'cancelled') {
      process.stderr.write(report.epochsDone > 0 ? `Cancelled; the checkpoint of epoch ${report.epochsDone} is in ${out} (resume with --resume).\n` : 'Cancelled before the first checkpoint; nothing was written.\n');
    } else if (!v.json && m) {
      process.stdout.write(
        [
          `${report.outcome} after ${report.epochsDone} epochs on ${report.backend} in ${report.seconds.toFixed(1)} s; model in ${out}`,
          ...metricsLines(m).map((l) => `  ${l}`),
        ].join('\n') + '\n',
      );
    }
    if (v.json) {
      process.stdout.write(
        JSON.stringify({ outcome: report.outcome, message: report.message, epochs: report.epochsDone, ...(m ?? {}), backend: report.backend, impl: report.impl, seconds: round(report.seconds), model: out }) + '\n',
      );
    }
    if (report.epochsDone === 0) await dropCopy();
    return report.outcome === 'cancelled' ? 130 : report.outcome === 'diverged' ? 1 : 0;
  } catch (e) {
    await dropCopy();
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** A model's test metrics beside its family's references, one per line. */
function metricsLines(m: Metrics): string[] {
  if ('family' in m && m.family === 'spectral') {
    return [
      `test NLL        ${m.test_nll.toFixed(3)} ± ${m.test_nll_ci95.toFixed(3)} nats/bin (95 %, ${m.eval_frames.toLocaleString('en-US')} frames)`,
      `dev NLL         ${m.dev_nll.toFixed(3)} nats/bin`,
      `persistence     ${m.persistence_nll.toFixed(3)} nats/bin (the last frame again)`,
      `bin spread      ${m.mean_frame_nll.toFixed(3)} nats/bin (each bin's own distribution, no context)`,
      `one-step LSD    ${m.test_lsd_db.toFixed(2)} dB (persistence ${m.persistence_lsd_db.toFixed(2)} dB)`,
    ];
  }
  if ('family' in m) {
    return [
      `test NLL        ${m.test_bits.toFixed(3)} ± ${m.test_bits_ci95.toFixed(3)} bits/sample (95 %, ${m.eval_predictions.toLocaleString('en-US')} predictions)`,
      `dev NLL         ${m.dev_bits.toFixed(3)} bits/sample`,
      `linear pred.(${m.lpc_order}) ${m.lpc_bits.toFixed(3)} bits/sample (Laplace residual)`,
      `unigram         ${m.unigram_bits.toFixed(3)} bits/sample`,
      `uniform         ${m.uniform_bits.toFixed(3)} bits/sample`,
    ];
  }
  return [
    `test MSE        ${fmt(m.test_mse)}${m.test_mse_ci95 !== undefined ? ` ± ${fmt(m.test_mse_ci95, 2)} (95 %, ${m.eval_windows?.toLocaleString('en-US')} windows)` : ''}`,
    `dev MSE         ${fmt(m.dev_mse)}`,
    `noise floor     ${fmt(m.noise_floor)}`,
    `persistence     ${fmt(m.persistence_mse)}`,
    `linear AR(${m.ar_order})   ${fmt(m.ar_mse)}`,
  ];
}

function parseImpl(v: string | undefined): 'auto' | 'fused' | 'layers' {
  if (v === undefined || v === 'auto' || v === 'fused' || v === 'layers') return v ?? 'auto';
  throw new LabError('bad_argument', `--impl expects auto, fused or layers, got "${v}"`);
}

async function cmdEval(argv: string[]): Promise<number> {
  const v = parse(argv, { ...common, model: { type: 'string' } });
  if (v.help) return usage();
  const r = await evaluateFolder(required(v, 'model'), str(v, 'backend') ?? null);
  const m = r.metrics;
  if (v.json) process.stdout.write(JSON.stringify({ ...m, backend: r.backend, epochs: r.spec.epochsDone, model: required(v, 'model') }) + '\n');
  else {
    process.stdout.write(metricsLines(m).join('\n') + '\n');
  }
  return 0;
}

async function readStateFile(file: string): Promise<Float32Array> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (e) {
    throw new LabError('bad_file', `Cannot read state file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message}`);
  }
  if (buf.byteLength % 4 !== 0) throw new LabError('bad_file', `State file ${file} is not a whole number of float32 values`);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

async function cmdGenerate(argv: string[]): Promise<number> {
  const v = parse(argv, {
    ...common,
    model: { type: 'string' },
    prime: { type: 'string' },
    offset: { type: 'string' },
    length: { type: 'string' },
    out: { type: 'string' },
    plot: { type: 'string' },
    'state-in': { type: 'string' },
    'state-out': { type: 'string' },
    temperature: { type: 'string' },
    seed: { type: 'string' },
    'prime-region': { type: 'string' },
  });
  if (v.help) return usage();
  const dir = required(v, 'model');
  const out = required(v, 'out');
  const length = num(v, 'length', true);
  if (length === undefined || length < 1 || length > MAX_GENERATE_LENGTH) {
    throw new LabError('bad_argument', `--length expects an integer from 1 to ${MAX_GENERATE_LENGTH}${length === undefined ? '' : `, got ${length}`}`);
  }
  const stateIn = str(v, 'state-in');
  const r = await generateFromFolder({
    dir,
    length,
    prime: num(v, 'prime', true),
    offset: num(v, 'offset', true),
    primeRegion: regionArg(v, 'prime-region'),
    state: stateIn ? await readStateFile(stateIn) : undefined,
    backend: str(v, 'backend') ?? null,
    sampling: {
      ...(num(v, 'temperature', false) !== undefined ? { temperature: num(v, 'temperature', false) } : {}),
      ...(num(v, 'seed', true) !== undefined ? { seed: num(v, 'seed', true) } : {}),
    },
  });
  // Everything is computed before anything is written; each file is written atomically.
  const wav = encodeWav(r.samples, r.sampleRate);
  const svg = str(v, 'plot')
    ? plotSvg(
        [
          ...(r.truth ? [{ label: 'truth', color: '#999999', start: r.primeStart + r.primeSamples.length, values: r.truth, dashed: true }] : []),
          { label: 'prime', color: '#1f77b4', start: r.primeStart, values: r.primeSamples },
          { label: 'generated', color: '#ff7f0e', start: r.primeStart + r.primeSamples.length, values: r.samples },
        ],
        `${dir}: ${r.primeSamples.length} primed, ${r.samples.length} generated`,
      )
    : null;
  const judged = judgeGenerated(r); // computed before anything is written
  const stateOut = str(v, 'state-out');
  await writeFilesAtomic([
    { path: out, data: wav },
    ...(svg ? [{ path: str(v, 'plot')!, data: svg }] : []),
    ...(stateOut ? [{ path: stateOut, data: new Uint8Array(r.state.buffer, r.state.byteOffset, r.state.byteLength) }] : []),
  ]);
  const summary = {
    samples: r.samples.length,
    prime: r.primeSamples.length,
    sample_rate: r.sampleRate,
    dominant_frequency: dominantFrequency(r.samples),
    rms: rms(r.samples),
    truth_mse: r.truth ? mseAgainst(r.samples, r.truth) : null,
    judged_against: judged?.against ?? null,
    continuation_metrics: judged?.metrics ?? null,
    out,
  };
  if (v.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else {
    process.stdout.write(
      `wrote ${summary.samples} samples at ${summary.sample_rate} Hz to ${out}; dominant frequency ${summary.dominant_frequency.toFixed(5)} cycles/sample, RMS ${summary.rms.toFixed(4)}\n`,
    );
  }
  return 0;
}

/**
 * The continuation's metrics beside silence, the linear predictor run free, the last period looped and
 * the spectral freeze, judged against the true continuation where there is one long enough for a
 * spectrum, else the prime; null when neither has any sound (a run primed from --state-in with no truth).
 */
function judgeGenerated(r: { samples: Float32Array; primeSamples: Float32Array; truth: Float32Array | null; sampleRate: number }): { against: 'truth' | 'prime'; metrics: ContinuationJudgement } | null {
  const truth = r.truth && r.truth.length > WELCH_SEGMENT && rms(r.truth) > 0 ? r.truth : null;
  const reference = truth ?? r.primeSamples;
  if (!(rms(reference) > 0)) return null;
  return { against: truth ? 'truth' : 'prime', metrics: judgeContinuation(r.samples, r.primeSamples, reference, r.sampleRate) };
}

function mseAgainst(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[i] - b[i]) ** 2;
  return n ? s / n : NaN;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

async function cmdBench(argv: string[]): Promise<number> {
  const v = parse(argv, { ...common, config: { type: 'string' }, seconds: { type: 'string' }, backends: { type: 'string' } });
  if (v.help) return usage();
  const seconds = num(v, 'seconds', false);
  if (seconds !== undefined && !(seconds > 0)) throw new LabError('bad_argument', `--seconds expects a positive number, got ${seconds}`);
  await runBench({
    configs: str(v, 'config')?.split(','),
    backends: (str(v, 'backends') ?? str(v, 'backend'))?.split(','),
    seconds,
    onRow: (row) => process.stdout.write(JSON.stringify(row) + '\n'),
  });
  return 0;
}

async function cmdServe(argv: string[]): Promise<number> {
  const v = parse(argv, { ...common, host: { type: 'string' }, port: { type: 'string' }, models: { type: 'string' }, static: { type: 'string' }, 'new-token': { type: 'boolean' } });
  if (v.help) return usage();
  const port = num(v, 'port', true);
  if (port !== undefined && (port < 0 || port > 65535)) throw new LabError('bad_argument', `--port expects 0-65535, got ${port}`);
  const { startServer } = await import('./host/serve');
  const { startWithServeIdentity } = await import('./host/serve-identity');
  const modelsDir = path.resolve(str(v, 'models') ?? path.join(homedir(), '.sequence-lab', 'models'));
  const host = str(v, 'host') ?? '127.0.0.1';
  const staticDir = str(v, 'static') ?? fileURLToPath(new URL('../../out/renderer', import.meta.url));
  // The port and token are kept beside the models folder, so that a restarted server answers at the
  // same URL and an open tab reconnects by itself.
  const server = await startWithServeIdentity(path.join(path.dirname(modelsDir), 'serve.json'), { newToken: !!v['new-token'], port }, (id) =>
    startServer({ host, port: id.port, token: id.token, staticDir, modelsDir, backend: str(v, 'backend') ?? null }),
  ).catch((e: Error) => {
    throw new LabError('bad_argument', e.message);
  });
  process.stdout.write(`Sequence Lab is serving ${server.url}\n`);
  server.supervisor.on((e) => {
    if (e.event === 'engine.status' && e.payload.state !== 'ready') process.stderr.write(`engine: ${e.payload.message}\n`);
  });
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

/** A `--region A-B` argument in seconds, or undefined when absent. */
function regionArg(v: Values, name: string): Region | undefined {
  const text = str(v, name);
  if (text === undefined) return undefined;
  const r = checkRegionText(text, Infinity);
  if (r.error !== null || !r.value) throw new LabError('bad_argument', `--${name} ${r.error ?? 'is empty'} (got "${text}")`);
  return r.value;
}

function modelsDirArg(v: Values): string {
  return path.resolve(str(v, 'models') ?? process.env.SEQUENCE_LAB_MODELS ?? path.join(homedir(), '.sequence-lab', 'models'));
}

function recordingsLibrary(v: Values): RecordingsLibrary {
  return new RecordingsLibrary(process.env.SEQUENCE_LAB_RECORDINGS ?? defaultRecordingsDir(modelsDirArg(v)));
}

/** `recordings list | import FILE... | rename NAME NEW | delete NAME`: the library the UI shows. */
async function cmdRecordings(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...common, models: { type: 'string' } }, strict: true, allowPositionals: true });
  } catch (e) {
    throw new LabError('bad_argument', (e as Error).message.split('\n')[0]);
  }
  const v = parsed.values as Values;
  if (v.help) return usage();
  const [action = 'list', ...args] = parsed.positionals;
  const lib = recordingsLibrary(v);
  const print = (x: unknown, text: string) => process.stdout.write(v.json ? `${JSON.stringify(x)}\n` : text);
  const line = (r: RecordingSummary) => `${r.name}\t${r.seconds.toFixed(2)} s\t${r.sampleRate} Hz\t${r.bytes} bytes\n`;
  const arity = (n: number, usageText: string) => {
    if (args.length !== n) throw new LabError('bad_argument', `recordings ${action} expects ${usageText}`);
  };
  switch (action) {
    case 'list': {
      arity(0, 'no arguments');
      await lib.recover(); // a take a crash interrupted shows up repaired
      const all = await lib.list();
      print({ dir: lib.dir, recordings: all }, all.length ? all.map(line).join('') : `No recordings in ${lib.dir}\n`);
      return 0;
    }
    case 'import': {
      if (!args.length) throw new LabError('bad_argument', 'recordings import expects one or more audio files');
      const done: RecordingSummary[] = [];
      for (const file of args) {
        const bytes = await fs.readFile(file).catch((e: NodeJS.ErrnoException) => {
          throw new LabError('bad_file', e.code === 'ENOENT' ? `${file} does not exist` : `Cannot read ${file}: ${e.message}`);
        });
        done.push(await lib.import(path.basename(file), new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
      }
      print({ imported: done }, done.map(line).join(''));
      return 0;
    }
    case 'rename': {
      arity(2, 'NAME NEW');
      const r = await lib.rename(args[0], args[1]);
      print({ recording: r }, line(r));
      return 0;
    }
    case 'delete': {
      arity(1, 'NAME');
      const deleted = await lib.delete(args[0]);
      if (!deleted) throw new LabError('not_found', `No recording named "${args[0]}" in ${lib.dir}`);
      print({ deleted }, `deleted ${args[0]}\n`);
      return 0;
    }
    default:
      throw new LabError('bad_argument', `Unknown recordings action "${action}"; expected list, import, rename or delete`);
  }
}

function usage(): number {
  process.stdout.write(USAGE);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'train':
      return cmdTrain(rest);
    case 'eval':
      return cmdEval(rest);
    case 'generate':
      return cmdGenerate(rest);
    case 'bench':
      return cmdBench(rest);
    case 'recordings':
      return cmdRecordings(rest);
    case 'serve':
      return cmdServe(rest);
    case 'doctor':
      return (await import('./doctor')).runDoctor(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      return usage();
    default:
      throw new LabError('bad_argument', `Unknown command "${command}"; expected train, eval, generate, recordings, bench, serve or doctor (see --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    const err = toErrorData(e);
    process.stderr.write(`sequence-lab: ${err.code === 'internal' ? 'internal error' : 'error'}: ${err.message}\n`);
    if (err.code === 'internal' && process.env.SEQUENCE_LAB_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(err.code === 'internal' ? 1 : 2);
  },
);
