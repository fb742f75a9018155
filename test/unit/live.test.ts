// Live mode's engine core: the steppers' observe() (teacher-forced live input) and LiveSession.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  categoricalSpecSchema,
  regressionSpecSchema,
  spectralSpecSchema,
  trainConfigSchema,
  type CategoricalSpec,
  type ModelSpec,
  type Normalisation,
  type SpectralSpec,
} from '../../src/shared/contract';
import { categoricalFamily } from '../../src/main/engine/families/categorical';
import type { Stepper } from '../../src/main/engine/families/family';
import { regressionFamily } from '../../src/main/engine/families/regression';
import { spectralFamily } from '../../src/main/engine/families/spectral';
import { readSpectralWeights } from '../../src/main/engine/families/spectral/model';
import { SpectralStepper } from '../../src/main/engine/families/spectral/stepper';
import { LiveSession, openLiveSession } from '../../src/main/engine/live';
import { LabService } from '../../src/main/engine/service';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, nowIso, saveModelFolder, type StoredSpec } from '../../src/main/engine/store';
import { Trainer } from '../../src/main/engine/trainer';
import { numTensors, releaseOptimizer, useBackend } from './helpers';

const catSpec = (over: Partial<CategoricalSpec> = {}): CategoricalSpec => categoricalSpecSchema.parse({ family: 'categorical', units: [8], levels: 16, context: 4, ...over });
const specSpec = (over: Partial<SpectralSpec> = {}): SpectralSpec => spectralSpecSchema.parse({ family: 'spectral', units: [8], frameSize: 64, hop: 16, burnIn: 2, ...over });

function randomise(model: tf.LayersModel, seed: number, sd = 0.4): void {
  const ws = model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, sd, 'float32', seed + i));
  model.setWeights(ws);
  tf.dispose(ws);
}

/** A deterministic test signal: two sines and a little pseudo-noise. */
function tone(n: number, seed = 1): Float32Array {
  let s = seed;
  return new Float32Array(n).map((_, i) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return 0.3 * Math.sin(0.07 * i) + 0.1 * Math.sin(0.31 * i) + 0.02 * (s / 2 ** 32 - 0.5);
  });
}

/** A square wave of `period` samples at amplitude 0.4. */
function square(n: number, period: number): Float32Array {
  return new Float32Array(n).map((_, i) => (i % period < period / 2 ? 0.4 : -0.4));
}

/** Feeds `x` to observe() in pieces of the given sizes (then the rest). */
function observeInPieces(stepper: Stepper, x: Float32Array, sizes: number[]): void {
  let at = 0;
  for (const n of [...sizes, x.length]) {
    const end = Math.min(x.length, at + n);
    stepper.observe!([x.slice(at, end)]);
    at = end;
    if (at === x.length) break;
  }
}

describe('observe: live input into a stepper', () => {
  beforeAll(useBackend);

  for (const type of ['gru', 'lstm'] as const) {
    it(`categorical (${type.toUpperCase()}): a prime then observe() then generate() is a prime of it all then generate(), draw for draw`, async () => {
      const s = catSpec({ type, units: [8, 12] });
      const model = categoricalFamily.build(s, 1);
      randomise(model, 3);
      const norm: Normalisation = { offset: 0.013, scale: 1.7 };
      const x = tone(700);
      const sampling = { seed: 9, temperature: 0.8 };
      const whole = await categoricalFamily.stepper(model, s, norm, { prime: [x] }, sampling);
      const parts = await categoricalFamily.stepper(model, s, norm, { prime: [x.subarray(0, 50)] }, sampling);
      observeInPieces(parts, x.subarray(50), [1, 3, 128, 17]);
      expect(Array.from(parts.generate(400)[0])).toEqual(Array.from(whole.generate(400)[0]));
      // And the packed states agree after that.
      expect(Array.from(parts.pack())).toEqual(Array.from(whole.pack()));
      model.dispose();
    });
  }

  it('spectral: a prime then observe() then generate() is a prime of it all then generate(), sample for sample', async () => {
    const s = specSpec({ mixtures: 2 });
    const model = spectralFamily.build(s, 1);
    randomise(model, 4, 0.2);
    const norm: Normalisation = { offset: 0.01, scale: 2 };
    const x = tone(900);
    const whole = await spectralFamily.stepper(model, s, norm, { prime: [x] }, { seed: 3 });
    const parts = await spectralFamily.stepper(model, s, norm, { prime: [x.subarray(0, 100)] }, { seed: 3 });
    observeInPieces(parts, x.subarray(100), [5, 16, 33, 128]);
    expect(Array.from(parts.generate(300)[0])).toEqual(Array.from(whole.generate(300)[0]));
    expect(Array.from(parts.pack())).toEqual(Array.from(whole.pack()));
    model.dispose();
  });

  it('spectral: input heard after a generation re-anchors the phase vocoder, which then resynthesises the input itself', async () => {
    const s = specSpec();
    const model = spectralFamily.build(s, 1);
    randomise(model, 5, 0.2);
    const N = s.frameSize;
    const x = tone(2000);
    const stepper = (await spectralFamily.stepper(model, s, { offset: 0, scale: 1 }, { prime: [x.subarray(0, 300)] }, { seed: 1 })) as SpectralStepper;
    // What observe() resynthesised of the frame it just completed, beside the input it stands for (the
    // ring's oldest hop: the frame's first): internals, read only here.
    const inner = stepper as unknown as { skip: number; pending: number; live: { discard: Float32Array; recent: Float32Array[]; at: number } };
    const gaps = (from: number, to: number) => {
      const worst: number[] = [];
      for (let t = from; t < to; t++) {
        stepper.observe([x.subarray(t, t + 1)]);
        if (inner.pending === 0 && inner.skip === N - s.hop) {
          const { discard, recent, at } = inner.live;
          worst.push(Math.max(...discard.map((v, i) => Math.abs(v - recent[0][(at + i) % N]))));
        }
      }
      return worst;
    };
    const primed = gaps(300, 600);
    expect(Math.max(...primed)).toBeLessThan(1e-4); // after a prime: the phase vocoder is the identity
    stepper.generate(37);
    const after = gaps(600, 1000);
    expect(after.length).toBeGreaterThan(20);
    // The first frames overlap the drawn ones' tails; from the frame after a frame's worth, the input again.
    expect(Math.max(...after.slice(N / s.hop + 1))).toBeLessThan(1e-4);
    model.dispose();
  });

  it('regression (GRU): a prime then observe() then generate() is a prime of it all then generate()', async () => {
    const s = regressionSpecSchema.parse({ type: 'gru', units: [8] });
    const model = regressionFamily.build(s, 1);
    const norm: Normalisation = { offset: 0.1, scale: 0.5 };
    const x = tone(300);
    const whole = await regressionFamily.stepper(model, s, norm, { prime: [x] });
    const parts = await regressionFamily.stepper(model, s, norm, { prime: [x.subarray(0, 10)] });
    observeInPieces(parts, x.subarray(10), [7, 100]);
    expect(Array.from(parts.generate(200)[0])).toEqual(Array.from(whole.generate(200)[0]));
    // Its predictions are the predicted mean before each sample: what generate() gives for the first.
    const next = await regressionFamily.stepper(model, s, norm, { prime: [x] });
    const p = new Float32Array(1);
    const again = await regressionFamily.stepper(model, s, norm, { prime: [x] });
    again.observe!([new Float32Array([0.25])], [p]);
    expect(p[0]).toBeCloseTo(next.generate(1)[0][0], 5);
    model.dispose();
  });
});

const RATE = 8000;
const BATCH = 128;
/** Batches of `x` (a multiple of BATCH samples). */
const batches = (x: Float32Array) => Array.from({ length: x.length / BATCH }, (_, i) => x.slice(i * BATCH, (i + 1) * BATCH));
const rmsOf = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
const silence = (n: number) => new Float32Array(n);

/** The stored spec of a model folder for `model` (what train() writes, minus the history). */
function storedSpec(model: ModelSpec, normalisation: Normalisation): StoredSpec {
  return {
    format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, status: 'complete', model, train: trainConfigSchema.parse({}),
    source: { kind: 'preset', name: 'sine' }, normalisation, sampleRate: RATE, epochsDone: 1, outcome: 'completed',
    noiseFloor: null, metrics: null, backend: 'wasm', createdAt: nowIso(), updatedAt: nowIso(),
  };
}

describe('live sessions on a categorical model that learnt a square wave', () => {
  const s = catSpec({ units: [16], context: 16, preEmphasis: 0, burnIn: 8 });
  const signal = square(6000, 16);
  const norm = categoricalFamily.normalisation(signal, false);
  let model: tf.LayersModel;
  /** A stepper as openLiveSession makes one: primed on silence. */
  const stepper = (temperature = 0) => categoricalFamily.stepper(model, s, norm, { prime: [silence(4096)] }, { seed: 5, temperature });

  beforeAll(async () => {
    await useBackend();
    const cfg = trainConfigSchema.parse({ window: 32, batchSize: 16, epochs: 8, learningRate: 0.02, finalLearningRate: 0.002, maxTrainWindows: 256, seed: 1 });
    const ds = categoricalFamily.dataset(signal.map((v) => (v - norm.offset) / norm.scale), s, cfg);
    model = categoricalFamily.build(s, 1);
    releaseOptimizer(await new Trainer({ model, dataset: ds, objective: categoricalFamily.objective(model, s, ds, 'fused'), config: cfg, lossScale: 1 }).run());
  }, 60_000);
  afterAll(() => model.dispose());

  it('follow: each batch out is the one-step predictions of the batch in, which match the square\'s levels', async () => {
    const live = new LiveSession(await stepper(), { mode: 'follow', family: 'categorical', sampleRate: RATE });
    const input = square(24 * BATCH, 16);
    let hits = 0;
    let counted = 0;
    batches(input).forEach((b, i) => {
      const out = live.process(b);
      expect(out).toHaveLength(BATCH);
      if (i < 2) return; // the state warms up from silence
      for (let t = 0; t < BATCH; t++) {
        expect(Math.abs(Math.abs(out[t]) - 0.4)).toBeLessThan(0.05); // one of the square's two levels
        if (Math.sign(out[t]) === Math.sign(b[t])) hits++;
        counted++;
      }
    });
    expect(hits / counted).toBeGreaterThan(0.9); // and the one that comes next
    expect(live.stats).toMatchObject({ batches: 24, samplesIn: 24 * BATCH, samplesOut: 24 * BATCH, state: 'listening', responses: 0 });
    expect(live.stats.maxComputeMs).toBeGreaterThan(0);
  });

  it('call-response: silent while the input plays, answers after the hold time from where the phrase ended, listens again when it returns', async () => {
    const live = new LiveSession(await stepper(1), { mode: 'call-response', family: 'categorical', sampleRate: RATE, holdSeconds: 0.1 }); // 800 samples: the 7th quiet batch
    const reference = await stepper(1);
    const phrase = (n: number, from: number) => square(from + n * BATCH, 16).subarray(from);
    const heard: Float32Array[] = [];
    const run = (input: Float32Array) => batches(input).map((b) => live.process(b).slice());
    // A phrase: listened to in silence.
    const call1 = phrase(10, 3);
    for (const out of run(call1)) expect(rmsOf(out)).toBe(0);
    expect(live.stats.state).toBe('listening');
    // Quiet (below -45 dBFS, not digital silence): silence while the hold time runs, then an answer.
    const hush = new Float32Array(12 * BATCH).fill(0.001);
    const answer1 = run(hush);
    answer1.slice(0, 6).forEach((out) => expect(rmsOf(out)).toBe(0));
    expect(live.stats).toMatchObject({ state: 'responding', responses: 1 });
    const response1 = Float32Array.from(answer1.slice(6).flatMap((o) => [...o]));
    expect(rmsOf(response1)).toBeGreaterThan(0.2); // it plays on: the square, not silence
    // The answer continues the phrase itself (the quiet it heard while waiting is forgotten).
    reference.observe!([call1]);
    heard.push(...reference.generate(response1.length));
    expect(Array.from(response1)).toEqual(Array.from(heard[0]));
    // The input returns: silence again, and the state goes on from the answer and the new phrase.
    const call2 = phrase(4, 0);
    for (const out of run(call2)) expect(rmsOf(out)).toBe(0);
    expect(live.stats.state).toBe('listening');
    const answer2 = run(silence(9 * BATCH));
    expect(live.stats).toMatchObject({ state: 'responding', responses: 2 });
    reference.observe!([call2]);
    const response2 = Float32Array.from(answer2.slice(6).flatMap((o) => [...o]));
    expect(Array.from(response2)).toEqual(Array.from(reference.generate(response2.length)[0]));
  });

  it('rejects a batch with a sample that is not finite, naming it, and carries on as if it never came; and a batch of the wrong length', async () => {
    const a = new LiveSession(await stepper(1), { mode: 'follow', family: 'categorical', sampleRate: RATE });
    const b = new LiveSession(await stepper(1), { mode: 'follow', family: 'categorical', sampleRate: RATE });
    const [b1, b2] = batches(square(2 * BATCH, 16));
    const bad = b1.slice();
    bad[5] = NaN;
    a.process(b1);
    b.process(b1);
    expect(() => a.process(bad)).toThrow(expect.objectContaining({ code: 'bad_signal', message: expect.stringMatching(/sample 5 of batch 1 is NaN/) }));
    expect(() => a.process(new Float32Array(100))).toThrow(expect.objectContaining({ code: 'bad_argument', message: expect.stringMatching(/batch of 128 samples/) }));
    expect(Array.from(a.process(b2))).toEqual(Array.from(b.process(b2)));
    expect(a.stats.batches).toBe(2);
  });
});

describe('live sessions from a model folder', () => {
  let tmp: string;
  beforeAll(async () => {
    await useBackend();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-live-'));
  });
  afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

  it('a spectral model follows (frame-rate predictions), answers as a stepper continues, and no tensor is left behind', async () => {
    const s = specSpec({ units: [8], frameSize: 64, hop: 16 });
    const model = spectralFamily.build(s, 1);
    randomise(model, 6, 0.2);
    const norm: Normalisation = { offset: 0, scale: 0.8 };
    const dir = path.join(tmp, 'spectral');
    await saveModelFolder(dir, { model, spec: storedSpec(s, norm), optimizerWeights: null, log: [] });
    const w = readSpectralWeights(model, s);
    model.dispose();
    const before = numTensors();
    const follow = await openLiveSession({ dir, mode: 'follow', sampling: { seed: 2 } });
    expect(numTensors()).toBe(before);
    expect(follow).toMatchObject({ family: 'spectral', sampleRate: RATE, batchSize: 128 });
    const outs = batches(tone(8 * BATCH)).map((b) => follow.process(b).slice());
    for (const o of outs) for (const v of o) expect(Number.isFinite(v)).toBe(true);
    expect(rmsOf(outs[0].subarray(0, 15))).toBe(0); // nothing is predicted before the first frame completes (the 16th sample)
    expect(rmsOf(outs[0].subarray(15))).toBeGreaterThan(0);
    expect(rmsOf(outs[7])).toBeGreaterThan(0);
    follow.dispose();
    expect(() => follow.process(new Float32Array(128))).toThrow(/closed/);
    // Call and response: the answer is what a stepper that heard the phrase generates.
    const cr = await openLiveSession({ dir, mode: 'call-response', holdSeconds: 0.05, sampling: { seed: 2 } }); // 400 samples: the 4th quiet batch
    const reference = new SpectralStepper(w, s, norm, { prime: [silence(4096)] }, { seed: 2 });
    const call = tone(5 * BATCH);
    batches(call).forEach((b) => expect(rmsOf(cr.process(b))).toBe(0));
    const answer = batches(silence(7 * BATCH)).map((b) => cr.process(b).slice());
    expect(cr.stats).toMatchObject({ state: 'responding', responses: 1 });
    answer.slice(0, 3).forEach((o) => expect(rmsOf(o)).toBe(0));
    reference.observe([call]);
    const response = Float32Array.from(answer.slice(3).flatMap((o) => [...o]));
    expect(Array.from(response)).toEqual(Array.from(reference.generate(response.length)[0]));
    // The input returns (the frames the answer drew ahead give way to it), then falls quiet again.
    const call2 = tone(3 * BATCH, 7);
    batches(call2).forEach((b) => expect(rmsOf(cr.process(b))).toBe(0));
    expect(cr.stats.state).toBe('listening');
    const answer2 = batches(silence(6 * BATCH)).map((b) => cr.process(b).slice());
    expect(cr.stats).toMatchObject({ state: 'responding', responses: 2 });
    reference.observe([call2]);
    const response2 = Float32Array.from(answer2.slice(3).flatMap((o) => [...o]));
    expect(rmsOf(response2)).toBeGreaterThan(0);
    expect(Array.from(response2)).toEqual(Array.from(reference.generate(response2.length)[0]));
    cr.dispose();
    expect(numTensors()).toBe(before);
  });

  it('opens a categorical folder; refuses a family without live input, naming it, and a bad mode', async () => {
    const s = catSpec();
    const model = categoricalFamily.build(s, 1);
    const dir = path.join(tmp, 'categorical');
    await saveModelFolder(dir, { model, spec: storedSpec(s, { offset: 0, scale: 1 }), optimizerWeights: null, log: [] });
    model.dispose();
    const before = numTensors();
    const live = await openLiveSession({ dir, mode: 'call-response' });
    expect(live.process(tone(128))).toHaveLength(128);
    live.setMode('follow'); // between batches; the state carries on
    expect(live.mode).toBe('follow');
    expect(rmsOf(live.process(tone(128)))).toBeGreaterThan(0);
    live.dispose();
    expect(numTensors()).toBe(before);
    await expect(openLiveSession({ dir, mode: 'echo' as never })).rejects.toThrow(/mode 'follow' or 'call-response'/);
    const plain: Stepper = { streams: 1, generate: (n) => [new Float32Array(n)], pack: () => new Float32Array(0) };
    expect(() => new LiveSession(plain, { mode: 'follow', family: 'sketch', sampleRate: RATE })).toThrow(expect.objectContaining({ code: 'bad_argument', message: expect.stringMatching(/A sketch model cannot run live/) }));
  });
});

describe('live mode through the engine\'s commands', () => {
  let root: string;
  beforeAll(async () => {
    await useBackend();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-live-svc-'));
    const s = catSpec();
    const model = categoricalFamily.build(s, 1);
    await saveModelFolder(path.join(root, 'models', 'cat'), { model, spec: storedSpec(s, { offset: 0, scale: 1 }), optimizerWeights: null, log: [] });
    model.dispose();
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('starts at the model\'s rate only, answers each batch in order with one of the same length, and stops with its figures', async () => {
    const service = new LabService({ modelsDir: path.join(root, 'models'), backend: 'wasm', emit: () => {} });
    await expect(service.handle('live.start', { name: 'cat', mode: 'follow', sampleRate: 48_000 })).rejects.toMatchObject({
      code: 'bad_argument',
      message: `"cat" runs at ${RATE} Hz, but the live input is at 48000 Hz; capture at the model's rate`,
    });
    await expect(service.handle('live.start', { name: 'nope', mode: 'follow', sampleRate: RATE })).rejects.toMatchObject({ code: 'not_found' });
    const before = numTensors();
    const { liveId, batchSize, family } = await service.handle('live.start', { name: 'cat', mode: 'follow', sampleRate: RATE, seed: 3 });
    expect({ batchSize, family }).toEqual({ batchSize: 128, family: 'categorical' });
    const a = await service.handle('live.push', { liveId, seq: 0, samples: tone(128) });
    expect(a).toMatchObject({ seq: 0, state: 'listening' });
    expect(a.samples).toHaveLength(128);
    const b = await service.handle('live.push', { liveId, seq: 1, samples: tone(128) });
    expect(b.samples).not.toBe(a.samples); // each answer is its own array, not the session's reused buffer
    await expect(service.handle('live.push', { liveId, seq: 1, samples: tone(128) })).rejects.toMatchObject({ code: 'bad_argument', message: 'Live batch 1 arrived after batch 1' });
    await expect(service.handle('live.push', { liveId, seq: 2, samples: tone(64) })).rejects.toMatchObject({ code: 'bad_argument' });
    await expect(service.handle('live.push', { liveId, seq: 3, samples: Float32Array.of(...tone(127), NaN) })).rejects.toMatchObject({ code: 'bad_signal', message: expect.stringMatching(/sample 127/) });
    const stopped = await service.handle('live.stop', { liveId });
    expect(stopped).toMatchObject({ batches: 2, responses: 0 });
    expect(stopped.maxComputeMs).toBeGreaterThan(0);
    expect(numTensors()).toBe(before);
    await expect(service.handle('live.push', { liveId, seq: 4, samples: tone(128) })).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(/No live session/) });
  });
});
