import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { categoricalSpecSchema, trainConfigSchema, type CategoricalSpec } from '../../src/shared/contract';
import { muLawDecode, muLawEncode, muLawEdges, preEmphasis, deEmphasisInPlace } from '../../src/shared/dsp/mulaw';
import { fusedCategoricalLoss } from '../../src/main/engine/fused-recurrent';
import { categoricalFamily } from '../../src/main/engine/families/categorical';
import { CategoricalDataset } from '../../src/main/engine/families/categorical/dataset';
import { layersCategoricalLoss } from '../../src/main/engine/families/categorical/objective';
import { readCategoricalWeights } from '../../src/main/engine/families/categorical/model';
import { CategoricalStepper } from '../../src/main/engine/families/categorical/stepper';
import { Trainer } from '../../src/main/engine/trainer';
import { numTensors, releaseOptimizer, useBackend } from './helpers';

const spec = (over: Partial<CategoricalSpec> = {}): CategoricalSpec => categoricalSpecSchema.parse({ family: 'categorical', units: [8], levels: 16, ...over });

function randomise(model: tf.LayersModel, seed: number): void {
  const ws = model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.4, 'float32', seed + i));
  model.setWeights(ws);
  tf.dispose(ws);
}

async function gradsOf(model: tf.LayersModel, s: CategoricalSpec, x: tf.Tensor3D, y: tf.Tensor2D, burn: number, fused: boolean) {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const targets = y.dataSync() as Int32Array;
  const { value, grads } = tf.variableGrads(
    () => (fused ? fusedCategoricalLoss(x, targets, burn, vars, s.type) : layersCategoricalLoss(model.apply(x) as tf.Tensor3D, y, burn)),
    vars,
  );
  const out = { loss: (await value.data())[0], grads: await Promise.all(vars.map(async (v) => (await grads[v.name].data()) as Float32Array)) };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

/** A square wave of `period` samples at amplitude 0.4 (in μ-law levels, two levels alternate in runs). */
function square(n: number, period: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (i % period) < period / 2 ? 0.4 : -0.4;
  return x;
}

describe('μ-law', () => {
  it('decoding an encoded level gives the level back, and a value lies inside its level\'s decision interval', () => {
    const edges = muLawEdges(256);
    for (let q = 0; q < 256; q++) expect(muLawEncode(muLawDecode(q))).toBe(q);
    for (const v of [-1, -0.5, -0.01, 0, 0.003, 0.2, 0.99]) {
      const q = muLawEncode(v);
      expect(v).toBeGreaterThanOrEqual(edges[q] - 1e-12);
      expect(v).toBeLessThan(edges[q + 1] + 1e-12);
      expect(Math.abs(muLawDecode(q) - v)).toBeLessThan(0.02 * Math.abs(v) + 2e-4); // ~2 % steps, finer near 0
    }
  });

  it('de-emphasis undoes pre-emphasis exactly, also continued from a carried state', () => {
    const x = new Float32Array(100).map((_, i) => Math.sin(i * 0.3));
    const e = preEmphasis(x, 0.85);
    const a = e.slice(0, 40);
    const b = e.slice(40);
    const last = deEmphasisInPlace(a, 0.85);
    deEmphasisInPlace(b, 0.85, last);
    for (let i = 0; i < 40; i++) expect(a[i]).toBeCloseTo(x[i], 5);
    for (let i = 0; i < 60; i++) expect(b[i]).toBeCloseTo(x[40 + i], 5);
  });
});

describe('categorical family', () => {
  beforeAll(useBackend);

  for (const type of ['gru', 'lstm'] as const) {
    it(`the fused softmax head and ${type.toUpperCase()} stack give tfjs-layers' loss and gradients within 1e-4`, async () => {
      const s = spec({ type, units: [8, 12], levels: 16 });
      const model = categoricalFamily.build(s, 3);
      randomise(model, 11);
      const B = 9; // two shards of unequal size when the pool has two threads
      const T = 7;
      const x = tf.randomUniform([B, T, s.context], -1, 1, 'float32', 5) as tf.Tensor3D;
      const y = tf.randomUniform([B, T], 0, 16, 'int32', 6) as tf.Tensor2D;
      const a = await gradsOf(model, s, x, y, 2, true);
      const b = await gradsOf(model, s, x, y, 2, false);
      expect(a.loss).toBeCloseTo(b.loss, 5);
      a.grads.forEach((g, i) => {
        expect(g.length).toBe(b.grads[i].length);
        let worst = 0;
        for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j] - b.grads[i][j]));
        expect(worst, `weight ${i}`).toBeLessThan(1e-4);
      });
      tf.dispose([x, y]);
      model.dispose();
    });
  }

  it('sampling with a seed is reproducible, differs with another seed, and stop/continue from the packed state is exact', () => {
    const s = spec({ units: [8], levels: 16 });
    const model = categoricalFamily.build(s, 1);
    randomise(model, 4);
    const w = readCategoricalWeights(model, s);
    const prime = [square(200, 20)];
    const norm = { offset: 0, scale: 1 };
    const one = new CategoricalStepper(w, s.context, s.preEmphasis, norm, { prime }, { seed: 7 }).generate(300)[0];
    const again = new CategoricalStepper(w, s.context, s.preEmphasis, norm, { prime }, { seed: 7 }).generate(300)[0];
    const other = new CategoricalStepper(w, s.context, s.preEmphasis, norm, { prime }, { seed: 8 }).generate(300)[0];
    expect(Array.from(again)).toEqual(Array.from(one));
    expect(Array.from(other)).not.toEqual(Array.from(one));
    const first = new CategoricalStepper(w, s.context, s.preEmphasis, norm, { prime }, { seed: 7 });
    const head = first.generate(120)[0];
    const tail = new CategoricalStepper(w, s.context, s.preEmphasis, norm, { state: first.pack() }).generate(180)[0];
    expect([...head, ...tail]).toEqual(Array.from(one));
    model.dispose();
  });

  it('refuses layer sizes its kernels cannot run (multiples of 4), naming the rule', () => {
    expect(categoricalSpecSchema.safeParse({ family: 'categorical', units: [10] }).success).toBe(false);
    expect(categoricalSpecSchema.safeParse({ family: 'categorical', units: [10] }).error!.issues[0].message).toMatch(/multiple of 4/);
  });

  it('refuses a packed state of another family or a corrupt one, naming the problem', () => {
    const s = spec();
    const model = categoricalFamily.build(s, 1);
    const w = readCategoricalWeights(model, s);
    const norm = { offset: 0, scale: 1 };
    expect(() => categoricalFamily.stateStreams(new Float32Array([0x5153, 1, 0, 1, 1, 8]))).toThrow(/not a categorical model's/);
    const good = new CategoricalStepper(w, s.context, s.preEmphasis, norm, { prime: [square(10, 4)] }).pack();
    good[5] = NaN;
    expect(() => new CategoricalStepper(w, s.context, s.preEmphasis, norm, { state: good })).toThrow(/non-finite/);
    const other = new CategoricalStepper(w, s.context, s.preEmphasis, norm, { prime: [square(10, 4)] }).pack();
    const wrong = readCategoricalWeights(categoricalFamily.build(spec({ units: [4] }), 1), spec({ units: [4] }));
    expect(() => new CategoricalStepper(wrong, s.context, s.preEmphasis, norm, { state: other })).toThrow(/this model is gru 4/);
    model.dispose();
  });

  it('a tiny model learns a square wave\'s two levels: held-out bits fall far below uniform and the unigram, and it generates the square', async () => {
    const before = numTensors();
    const s = spec({ units: [16], levels: 16, preEmphasis: 0, burnIn: 8 });
    const cfg = trainConfigSchema.parse({ window: 32, batchSize: 16, epochs: 8, learningRate: 0.02, finalLearningRate: 0.002, maxTrainWindows: 256, seed: 1 });
    const signal = square(6000, 16);
    const norm = categoricalFamily.normalisation(signal, false);
    const ds = categoricalFamily.dataset(signal.map((v) => (v - norm.offset) / norm.scale), s, cfg);
    const model = categoricalFamily.build(s, 1);
    const trainer = new Trainer({ model, dataset: ds, objective: categoricalFamily.objective(model, s, ds, 'fused'), config: cfg, lossScale: categoricalFamily.lossScale(norm) });
    const r = await trainer.run();
    releaseOptimizer(r);
    expect(r.history[r.history.length - 1].devLoss).toBeLessThan(r.history[0].devLoss);
    const m = await categoricalFamily.evaluate(model, s, ds as CategoricalDataset, { normalisation: norm, noiseFloor: null });
    expect('family' in m && m.family).toBe('categorical');
    if (!('family' in m) || m.family !== 'categorical') throw new Error('expected categorical metrics');
    expect(m.uniform_bits).toBe(4);
    expect(m.unigram_bits).toBeGreaterThan(0.9); // two equally common levels: 1 bit
    expect(m.test_bits).toBeLessThan(0.5);
    expect(m.lpc_bits).toBeLessThan(0.1); // a period of 16 is exactly an order-16 linear prediction
    const g = (await categoricalFamily.stepper(model, s, norm, { prime: [signal.subarray(0, 64)] }, { seed: 3 })).generate(160)[0];
    // Every generated sample is one of the square's two values, and both occur in runs of about 8.
    const hi = g.filter((v) => Math.abs(v - 0.4) < 0.05).length;
    const lo = g.filter((v) => Math.abs(v + 0.4) < 0.05).length;
    expect(hi + lo).toBeGreaterThan(150);
    expect(Math.min(hi, lo)).toBeGreaterThan(50);
    let flips = 0;
    for (let i = 1; i < g.length; i++) if (Math.sign(g[i]) !== Math.sign(g[i - 1])) flips++;
    expect(flips).toBeGreaterThan(12);
    expect(flips).toBeLessThan(30);
    model.dispose();
    expect(numTensors()).toBe(before);
  }, 60_000);
});

describe('audio defaults', () => {
  beforeAll(useBackend);

  it('a WAV trains with the categorical family at 16 kHz unless told otherwise, and is primed on its loudest held-out half second', async () => {
    const { promises: fs } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { encodeWav } = await import('../../src/shared/signals/wav');
    const { train, generateFromFolder, loudestPrimeOffset } = await import('../../src/main/engine/engine');
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-audio-'));
    try {
      // 2 s at 22,050 Hz: a 441 Hz tone whose last 0.6 s are silence.
      const rate = 22_050;
      const x = new Float32Array(2 * rate);
      for (let i = 0; i < 1.4 * rate; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * 441 * i) / rate);
      const wav = path.join(tmp, 'tone.wav');
      await fs.writeFile(wav, encodeWav(x, rate));
      const dir = path.join(tmp, 'm');
      const r = await train({ source: { kind: 'wav', path: wav, sampleRate: 1 }, model: { units: [8] }, config: { epochs: 1, window: 32, batchSize: 8, maxTrainWindows: 16 }, out: dir });
      expect(r.outcome).toBe('completed');
      expect(r.metrics && 'family' in r.metrics && r.metrics.family).toBe('categorical');
      const g = await generateFromFolder({ dir, length: 800 });
      expect(g.sampleRate).toBe(16_000);
      expect(g.primeSamples.length).toBe(8000); // half a second at the model's rate
      // The prime is sound, not the silence the test region (the last 20 %) holds.
      const primeRms = Math.sqrt(g.primeSamples.reduce((s, v) => s + v * v, 0) / g.primeSamples.length);
      expect(primeRms).toBeGreaterThan(0.2);
      // The resampled tone kept its frequency: 441 Hz is 16000/441 = 36.3 samples per period.
      let crossings = 0;
      for (let i = 1; i < g.primeSamples.length; i++) if (g.primeSamples[i - 1] < 0 && g.primeSamples[i] >= 0) crossings++;
      expect(crossings).toBeGreaterThanOrEqual(219);
      expect(crossings).toBeLessThanOrEqual(221);
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
    const tmp2 = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-audio-'));
    expect(loudestPrimeOffset(new Float32Array([0, 0, 0, 1, 1, 0, 0, 0]), 0, 2, 0)).toBe(3);
    expect(loudestPrimeOffset(new Float32Array([0, 0, 0, 1, 1, 0, 0.5, 0.5]), 5, 2, 0)).toBe(6); // the held-out region's loudest
    // A recording below the lowest model rate (a sensor log at 500 Hz) trains at its own rate.
    const slow = path.join(tmp2, 'slow.wav');
    await fs.writeFile(slow, encodeWav(Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i / 5)), 500));
    const r2 = await train({ source: { kind: 'wav', path: slow, sampleRate: 1 }, model: { units: [4] }, config: { epochs: 1, window: 16, batchSize: 8, maxTrainWindows: 8 }, out: path.join(tmp2, 's') });
    expect(r2.outcome).toBe('completed');
    const stored = JSON.parse(await fs.readFile(path.join(tmp2, 's', 'spec.json'), 'utf8'));
    expect(stored.sampleRate).toBe(500);
    expect(stored.source.rate).toBeUndefined();
    await fs.rm(tmp2, { recursive: true, force: true });
    expect(loudestPrimeOffset(new Float32Array([0, 0, 0, 1, 1, 0, 0, 0]), 5, 2, 0)).toBe(3); // a silent region: the loudest anywhere
  }, 60_000);
});
