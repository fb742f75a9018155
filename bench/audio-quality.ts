// The audio families' quality and speed on the recordings bench/make-audio.sh makes (issue 9's bars),
// run as a script, not a timed test:
//   bench/make-audio.sh runs/audio && node --import tsx bench/audio-quality.ts [--dir runs/audio] [--family categorical]
//       [--listen DIR: writes each continuation, its truth and prime as WAV files]
//       [--epochs N] [--units A,B] [--pre-emphasis A] [--context N] [--input-noise LEVELS] [--window N] [--batch N] [--lr X] [--temperatures default,0.7 (default: the family's)] [--cut 0.002] [--seed S (sampling)] [--train-seed S] [--only vowel,pluck] [--no-train] [--json]
// For each recording: trains with the audio defaults (or the options given) into runs/audio-models/,
// then generates 2 s after a 0.5 s prime from held-out audio and judges it beside the trivial
// continuations (silence, the linear predictor run free, the last period looped, the spectral
// freeze). Prints one row per recording: training time and speed, held-out bits/sample beside the
// references, generation speed on one core, RMS of each 0.5 s (and how many of the recording's own
// segments of that length leave the same collapse band), long-term LSD, pitch and flatness.
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { encodeWav } from '../src/shared/signals/wav';
import { generateFromFolder, loadSignal, train } from '../src/main/engine/engine';
import { familyOf } from '../src/main/engine/families';
import { loadModelFolder } from '../src/main/engine/store';
import { initBackend } from '../src/main/engine/backend';
import { judgeContinuation } from '../src/shared/dsp/trivial-continuations';
import { compareWithSource, describeSignal } from '../src/shared/dsp/continuation-metrics';
import type { ModelSpecInput, SignalSource, TrainConfigInput } from '../src/shared/contract';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: 'runs/audio' },
    out: { type: 'string', default: 'runs/audio-models' },
    family: { type: 'string' },
    epochs: { type: 'string' },
    units: { type: 'string' },
    'pre-emphasis': { type: 'string' },
    context: { type: 'string' },
    'input-noise': { type: 'string' },
    'frame-size': { type: 'string' },
    hop: { type: 'string' },
    mixtures: { type: 'string' },
    window: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    'max-train-windows': { type: 'string' },
    temperatures: { type: 'string', default: 'default,0.7' },
    cut: { type: 'string' },
    seed: { type: 'string' },
    'train-seed': { type: 'string' },
    only: { type: 'string' },
    'no-train': { type: 'boolean' },
    json: { type: 'boolean' },
    listen: { type: 'string' },
  },
});
const recordings = (values.only ?? 'vowel,phrase,pluck,bowed,noise').split(',');
const config: TrainConfigInput = {
  ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
  ...(values.window ? { window: Number(values.window) } : {}),
  ...(values.batch ? { batchSize: Number(values.batch) } : {}),
  ...(values.lr ? { learningRate: Number(values.lr), finalLearningRate: Number(values.lr) / 10 } : {}),
  ...(values['max-train-windows'] ? { maxTrainWindows: Number(values['max-train-windows']) } : {}),
  ...(values['train-seed'] ? { seed: Number(values['train-seed']) } : {}),
};
const model = {
  ...(values.family ? { family: values.family } : {}),
  ...(values.units ? { units: values.units.split(',').map(Number) } : {}),
  ...(values['pre-emphasis'] ? { preEmphasis: Number(values['pre-emphasis']) } : {}),
  ...(values.context ? { context: Number(values.context) } : {}),
  ...(values['input-noise'] ? { inputNoise: Number(values['input-noise']) } : {}),
  ...(values['frame-size'] ? { frameSize: Number(values['frame-size']) } : {}),
  ...(values.hop ? { hop: Number(values.hop) } : {}),
  ...(values.mixtures ? { mixtures: Number(values.mixtures) } : {}),
} as ModelSpecInput;
const GENERATE_SECONDS = 2;
const PRIME_SECONDS = 0.5;
const rows: Record<string, unknown>[] = [];
const f = (x: number | null | undefined, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

/**
 * How often the recording itself, cut into segments as long as a continuation (one every 0.25 s), has some
 * block outside the collapse band around the same reference: the criterion's rate on real audio of that
 * kind (speech with pauses leaves it often; a steady tone never). The samples are the model's source, as
 * training loaded them (at the model's rate).
 */
async function recordingOutsideBand(source: SignalSource, reference: Float32Array, rate: number, length: number): Promise<{ outside: number; segments: number }> {
  const { samples } = await loadSignal(source);
  const d = describeSignal(reference, rate);
  let outside = 0;
  let segments = 0;
  for (let at = 0; at + length <= samples.length; at += Math.round(rate / 4)) {
    segments++;
    if (compareWithSource(samples.subarray(at, at + length), d, rate).collapsed) outside++;
  }
  return { outside, segments };
}

for (const name of recordings) {
  const wav = path.join(values.dir!, `${name}.wav`);
  const out = path.join(values.out!, name);
  let trainSeconds: number | null = null;
  let seq: number | null = null;
  if (!values['no-train']) {
    const r = await train({
      source: { kind: 'wav', path: wav, sampleRate: 1 },
      out,
      overwrite: true, // this script's own output folders
      model,
      config,
      onEvent: (e) => {
        if (e.type === 'epoch') {
          seq = e.seqPerSecond;
          process.stderr.write(`${name}: epoch ${e.epoch}/${e.epochs} train ${e.trainLoss.toFixed(3)} dev ${e.devLoss.toFixed(3)} ${Math.round(e.seqPerSecond)} seq/s\n`);
        }
      },
    });
    trainSeconds = r.seconds;
  }
  await initBackend(null);
  for (const temperature of values.temperatures!.split(',').map((t) => (t === 'default' ? undefined : Number(t)))) {
  const sampling = { ...(temperature !== undefined ? { temperature } : {}), ...(values.cut !== undefined ? { cut: Number(values.cut) } : {}), ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}) };
  const folder = await loadModelFolder(out);
  const { spec } = folder;
  const samplesPerSecond = seq === null ? null : seq * spec.train.window * familyOf(spec.model).framing(spec.model).samplesPerStep;
  const rate = spec.sampleRate;
  const length = Math.round(GENERATE_SECONDS * rate);
  const g = await generateFromFolder({ dir: out, length, prime: Math.round(PRIME_SECONDS * rate), sampling });
  // Generation speed on this thread, steady state: from the state the run above ended in, 2 s to warm
  // up (a new wasm instance's first pages and strips), then 2 s timed.
  const stepper = await familyOf(spec.model).stepper(folder.model, spec.model, spec.normalisation, { state: g.state }, sampling);
  stepper.generate(length);
  const t0 = performance.now();
  stepper.generate(length);
  const usPerSample = ((performance.now() - t0) * 1000) / length;
  folder.model.dispose();
  const reference = g.truth && g.truth.length >= length / 2 ? g.truth : g.primeSamples;
  const j = judgeContinuation(g.samples, g.primeSamples, reference, rate);
  const itself = j.model.collapsed ? await recordingOutsideBand(spec.source, reference, rate, length) : null;
  if (values.listen) {
    mkdirSync(values.listen, { recursive: true });
    const write = (what: string, x: Float32Array) => writeFileSync(path.join(values.listen!, `${name}-${spec.model.family}-${what}.wav`), encodeWav(x, rate));
    write(`T${temperature ?? 'default'}`, g.samples);
    write('prime', g.primeSamples);
    if (g.truth) write('truth', g.truth);
  }
  const m = spec.metrics && 'family' in spec.metrics && spec.metrics.family === 'categorical' ? spec.metrics : null;
  const sm = spec.metrics && 'family' in spec.metrics && spec.metrics.family === 'spectral' ? spec.metrics : null;
  const lsd = { model: j.model.lsdDb, silence: j.baselines.silence.lsdDb, lp: j.baselines.linearPredictor?.lsdDb ?? null, loop: j.baselines.lastPeriodLooped?.lsdDb ?? null, freeze: j.baselines.spectralFreeze?.lsdDb ?? null };
  const row = {
    recording: name,
    temperature: temperature ?? 'default',
    family: spec.model.family,
    units: spec.model.units.join('x'),
    rate,
    train_s: trainSeconds,
    train_samples_per_s: samplesPerSecond,
    test_bits: m?.test_bits ?? null,
    lpc_bits: m?.lpc_bits ?? null,
    unigram_bits: m?.unigram_bits ?? null,
    test_nll: sm?.test_nll ?? null,
    persistence_nll: sm?.persistence_nll ?? null,
    mean_frame_nll: sm?.mean_frame_nll ?? null,
    gen_us_per_sample: usPerSample,
    realtime_x: 1e6 / usPerSample / rate,
    judged_against: reference === g.truth ? 'truth' : 'prime',
    rms_over_time: j.model.rmsOverTime,
    collapsed: j.model.collapsed,
    recording_segments_outside: itself,
    lsd_db: lsd,
    beats_all_trivial_lsd: [lsd.silence, lsd.lp, lsd.loop, lsd.freeze].every((b) => b === null || (lsd.model !== null && lsd.model < b)),
    pitch_hz: j.model.pitchHz,
    source_pitch_hz: j.model.sourcePitchHz,
    pitch_error_pct: j.model.pitchErrorPercent,
    flatness: j.model.flatness,
    source_flatness: j.model.sourceFlatness,
    generated: g.samples.length,
  };
  rows.push(row);
  if (!values.json) {
    process.stdout.write(
      `${name.padEnd(7)} T=${temperature ?? 'default'} ${row.family} ${row.units} @${rate} Hz  train ${f(trainSeconds, 0)} s (${f(samplesPerSecond, 0)} samples/s)  ` +
        (sm ? `NLL ${f(row.test_nll, 3)} nats/bin (persistence ${f(row.persistence_nll, 3)}, bin spread ${f(row.mean_frame_nll, 3)})` : `bits ${f(row.test_bits, 3)} (LPC ${f(row.lpc_bits, 3)}, unigram ${f(row.unigram_bits, 3)})`) +
        `  gen ${f(usPerSample, 1)} µs/sample (${f(row.realtime_x, 1)}x real time)\n` +
        `        RMS/0.5 s ${row.rms_over_time.map((r) => f(r)).join(' ')}${row.collapsed ? ' COLLAPSED' : ''}${itself ? ` (the recording's own ${f(length / rate, 0)} s segments: ${itself.outside}/${itself.segments})` : ''}  LSD ${f(lsd.model)} dB (silence ${f(lsd.silence, 1)}, LP ${f(lsd.lp, 1)}, loop ${f(lsd.loop)}, freeze ${f(lsd.freeze)})` +
        `  pitch ${f(row.pitch_hz, 1)} vs ${f(row.source_pitch_hz, 1)} Hz (${f(row.pitch_error_pct, 1)} %)  flatness ${f(row.flatness, 3)} vs ${f(row.source_flatness, 3)}  [vs ${row.judged_against}]\n`,
    );
  }
  }
}
if (values.json) process.stdout.write(JSON.stringify(rows) + '\n');
