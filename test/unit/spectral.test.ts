import { beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { spectralSpecSchema, trainConfigSchema, type SpectralSpec } from '../../src/shared/contract';
import { featureMagnitude, FEATURE_FLOOR, magnitudeFeature, peakDeviations } from '../../src/shared/dsp/spectral-features';
import { dominantFrequency, rms } from '../../src/shared/dsp/spectrum';
import { spectralFamily } from '../../src/main/engine/families/spectral';
import type { SpectralDataset } from '../../src/main/engine/families/spectral/dataset';
import { readSpectralWeights } from '../../src/main/engine/families/spectral/model';
import { meanMixtureNll, mixtureNll, spectralOutputs } from '../../src/main/engine/families/spectral/objective';
import { DEFAULT_SPECTRAL_TEMPERATURE, SpectralStepper } from '../../src/main/engine/families/spectral/stepper';
import { Trainer } from '../../src/main/engine/trainer';
import { readStoredSpec } from '../../src/main/engine/store';
import { numTensors, releaseOptimizer, useBackend } from './helpers';

const spec = (over: Partial<SpectralSpec> = {}): SpectralSpec => spectralSpecSchema.parse({ family: 'spectral', units: [8], frameSize: 64, hop: 16, burnIn: 2, ...over });

function randomise(model: tf.LayersModel, seed: number, sd = 0.3): void {
  const ws = model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, sd, 'float32', seed + i));
  model.setWeights(ws);
  tf.dispose(ws);
}

/** A sine of `cycles` per `period` samples... at `f` cycles per sample and amplitude `a`. */
function sine(n: number, f: number, a = 0.4): Float32Array {
  return new Float32Array(n).map((_, i) => a * Math.sin(2 * Math.PI * f * i));
}

describe('spectral features', () => {
  it('map a magnitude to a feature and back, and floor silence at FEATURE_FLOOR', () => {
    for (const m of [0.01, 0.5, 3, 256]) expect(featureMagnitude(magnitudeFeature(m, 1024), 1024)).toBeCloseTo(m, 6 - Math.log10(m));
    expect(magnitudeFeature(0, 1024)).toBeCloseTo(FEATURE_FLOOR, 12);
    // One scale for every frame size: a unit sine's Hann peak (N/4) is the same feature at 64 and 4096.
    expect(magnitudeFeature(16, 64)).toBeCloseTo(magnitudeFeature(1024, 4096), 12);
  });

  it("give each peak's bins the partial's frequency from the magnitudes alone, within 0.06 bin", () => {
    const N = 1024;
    const bins = N / 2 + 1;
    for (const f of [30.0, 30.25, 30.5, 117.8]) {
      // One Hann-windowed frame of a sine at f bins, its magnitudes by direct DFT.
      const m = new Float32Array(bins);
      for (let k = 0; k < bins; k++) {
        let re = 0;
        let im = 0;
        for (let n = 0; n < N; n++) {
          const v = Math.sin((2 * Math.PI * f * n) / N) * (0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N));
          re += v * Math.cos((2 * Math.PI * k * n) / N);
          im -= v * Math.sin((2 * Math.PI * k * n) / N);
        }
        m[k] = Math.hypot(re, im);
      }
      const dev = new Float32Array(bins);
      peakDeviations(m, bins, dev, new Int32Array(bins));
      const peak = Math.round(f);
      for (const k of [peak - 1, peak, peak + 1]) expect(Math.abs(k + dev[k] - f)).toBeLessThan(0.06);
    }
  });
});

describe('spectral family', () => {
  beforeAll(useBackend);

  for (const type of ['gru', 'lstm'] as const) {
    it(`the fused ${type.toUpperCase()} stack with its mixture head (${type === 'gru' ? 3 : 1} components) gives tfjs-layers' loss and gradients within 1e-4`, async () => {
      const s = spec({ type, units: [8, 12], mixtures: type === 'gru' ? 3 : 1 });
      const model = spectralFamily.build(s, 3);
      randomise(model, 11);
      const F = s.frameSize / 2 + 1;
      const x = tf.randomUniform([9, 6, F], -1.4, 1.4, 'float32', 5) as tf.Tensor3D; // two shards of unequal size
      const y = tf.randomUniform([9, 6, F], -1.4, 1.4, 'float32', 6) as tf.Tensor3D;
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const run = async (fused: boolean) => {
        // fused: lstm.wasm's stack, the explicit-transpose head and the one-pass likelihood; else tfjs-layers and tfjs ops.
        const { value, grads } = tf.variableGrads(
          // The fused path as training runs it: the head only on the steps after the burn-in of 2.
          () => (fused ? meanMixtureNll(spectralOutputs(model, s, x, true, true, 2), y.slice([0, 2, 0]), 0, s.mixtures) : mixtureNll(model.apply(x) as tf.Tensor3D, y, 2, s.mixtures)),
          vars,
        );
        const out = { loss: (await value.data())[0], grads: await Promise.all(vars.map(async (v) => (await grads[v.name].data()) as Float32Array)) };
        tf.dispose([value, ...Object.values(grads)]);
        return out;
      };
      const a = await run(true);
      const b = await run(false);
      expect(a.loss).toBeCloseTo(b.loss, 5);
      a.grads.forEach((g, i) => {
        let worst = 0;
        for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j] - b.grads[i][j]));
        expect(worst, `weight ${i}`).toBeLessThan(1e-4);
      });
      tf.dispose([x, y]);
      model.dispose();
    });
  }

  it("lstm.wasm's mixture loss equals tfjs ops' in value and gradient at the extremes: 4 components, 5 bins (one past a vector), deviations from the floor to past the softplus switch", async () => {
    const K = 4;
    const F = 5;
    const B = 2;
    const T = 3;
    const raws = [-6, -0.5, 0, 2, 31, 40]; // ln σ's raw output: under SIGMA_MIN's log, around it, and where softplus(t) is t
    const o = new Float32Array(B * T * K * (2 * F + 1));
    for (let i = 0; i < o.length; i++) o[i] = Math.sin(i * 1.7) * 1.3;
    for (let r = 0; r < B * T; r++) for (let j = 0; j < K * F; j++) o[r * K * (2 * F + 1) + K * F + j] = raws[(r + j) % raws.length];
    const out = tf.tensor3d(o, [B, T, K * (2 * F + 1)]);
    const y = tf.tensor3d(Float32Array.from({ length: B * T * F }, (_, i) => Math.cos(i * 0.9)), [B, T, F]);
    const grad = async (f: (o: tf.Tensor3D) => tf.Scalar) => {
      const { value, grads } = tf.variableGrads(() => f(v as unknown as tf.Tensor3D), [v]);
      const r = { value: (await value.data())[0], grad: (await grads[v.name].data()) as Float32Array };
      tf.dispose([value, ...Object.values(grads)]);
      return r;
    };
    const v = tf.variable(out);
    const a = await grad((x) => meanMixtureNll(x, y, 1, K));
    const b = await grad((x) => mixtureNll(x, y, 1, K));
    expect(a.value).toBeCloseTo(b.value, 4);
    let worst = 0;
    for (let i = 0; i < a.grad.length; i++) worst = Math.max(worst, Math.abs(a.grad[i] - b.grad[i]));
    expect(worst).toBeLessThan(1e-5);
    // The burn-in's frame has no gradient.
    expect(a.grad.subarray(0, K * (2 * F + 1)).every((g) => g === 0)).toBe(true);
    // A diverged output (one NaN mean, an infinite logit, an infinite deviation) gives a NaN loss, so that the
    // trainer rolls back rather than stepping on it (the JavaScript loop this replaced did; logf_ reads bits).
    for (const [at, bad] of [[K * (2 * F + 1) + 3, NaN], [2 * K * (2 * F + 1) + 2 * K * F + 1, Infinity], [4 * K * (2 * F + 1) + K * F, Infinity]] as const) {
      const broken = o.slice();
      broken[at] = bad;
      const loss = tf.tidy(() => meanMixtureNll(tf.tensor3d(broken, [B, T, K * (2 * F + 1)]), y, 1, K).dataSync()[0]);
      expect(loss, `output ${at} = ${bad}`).toBeNaN();
    }
    tf.dispose([out, y, v]);
  });

  it('sampling (a 2-component mixture) with a seed is reproducible, differs with another seed, defaults to temperature 1.2, and stop/continue from the packed state is exact', () => {
    const s = spec({ mixtures: 2 });
    const model = spectralFamily.build(s, 1);
    randomise(model, 4, 0.2);
    const w = readSpectralWeights(model, s);
    const prime = [sine(300, 0.05), sine(300, 0.11)]; // two streams
    const norm = { offset: 0.01, scale: 2 };
    const make = (seed: number) => new SpectralStepper(w, s, norm, { prime }, { seed });
    const one = make(7).generate(301);
    expect(one).toHaveLength(2);
    expect(Array.from(make(7).generate(301)[1])).toEqual(Array.from(one[1]));
    expect(Array.from(make(8).generate(301)[0])).not.toEqual(Array.from(one[0]));
    // No temperature given: the family's default, 1.2, not 1.
    expect(DEFAULT_SPECTRAL_TEMPERATURE).toBe(1.2);
    expect(Array.from(new SpectralStepper(w, s, norm, { prime }, { seed: 7, temperature: 1.2 }).generate(301)[0])).toEqual(Array.from(one[0]));
    expect(Array.from(new SpectralStepper(w, s, norm, { prime }, { seed: 7, temperature: 1 }).generate(301)[0])).not.toEqual(Array.from(one[0]));
    // Stopping mid-hop (37 is not a multiple of 16) and continuing from the packed state alone.
    const first = make(7);
    const head = first.generate(37);
    const packed = first.pack();
    const rest = new SpectralStepper(w, s, norm, { state: packed }).generate(264);
    for (let b = 0; b < 2; b++) expect([...head[b], ...rest[b]]).toEqual(Array.from(one[b]));
    expect(spectralFamily.stateStreams(packed)).toBe(2);
    for (const v of one[0]) expect(Number.isFinite(v)).toBe(true);
    model.dispose();
  });

  it('never draws a component less likely than 0.002 of the likeliest: one that training left with no weight stays silent', () => {
    const s = spec({ mixtures: 2 });
    const model = spectralFamily.build(s, 1);
    randomise(model, 4, 0.2);
    const w = readSpectralWeights(model, s);
    const F = w.bins;
    const K = 2;
    const V = K * (2 * F + 1);
    // The head ignores the state: component 0 quiet (features at -1, about 35 dB under a half-scale sine), component 1
    // at the ceiling, with a logit 6.5 below (a share of 0.0015, under the cut; without it, about 9 draws in 6,000 frames).
    w.headKernel.fill(0);
    for (let j = 0; j < F; j++) {
      w.headBias[j] = -1;
      w.headBias[F + j] = 1;
      w.headBias[K * F + j] = -4;
      w.headBias[K * F + F + j] = -4;
    }
    w.headBias[2 * K * F] = 0;
    w.headBias[2 * K * F + 1] = -6.5;
    expect(w.headBias).toHaveLength(V);
    const stepper = new SpectralStepper(w, s, { offset: 0, scale: 1 }, { prime: [sine(300, 0.05)] }, { seed: 3, temperature: 1 });
    const out = stepper.generate(6000 * s.hop)[0];
    let loudest = 0;
    for (let i = 0; i + s.hop <= out.length; i += s.hop) loudest = Math.max(loudest, rms(out.subarray(i, i + s.hop)));
    expect(loudest).toBeLessThan(0.05);
  });

  it('refuses a short prime, a packed state of another family or a corrupt one, naming the problem', () => {
    const s = spec();
    const model = spectralFamily.build(s, 1);
    const w = readSpectralWeights(model, s);
    const norm = { offset: 0, scale: 1 };
    expect(() => new SpectralStepper(w, s, norm, { prime: [sine(40, 0.1)] })).toThrow(/needs a prime of at least 64 samples, but got 40/);
    expect(() => new SpectralStepper(w, s, norm, { prime: [sine(100, 0.1).fill(NaN, 50, 51)] })).toThrow(/Priming sample 50 of stream 0 is not a finite number/);
    expect(() => spectralFamily.stateStreams(new Float32Array(64).fill(1, 1).fill(0x5143, 0, 1))).toThrow(/not a spectral model's/);
    const good = new SpectralStepper(w, s, norm, { prime: [sine(100, 0.1)] }).pack();
    const bad = good.slice();
    bad[13] = Infinity;
    expect(() => new SpectralStepper(w, s, norm, { state: bad })).toThrow(/non-finite value at index 13/);
    const rng = good.slice();
    rng[9] = 70_000; // the first stream's RNG high half
    expect(() => new SpectralStepper(w, s, norm, { state: rng })).toThrow(/RNG state of stream 0 is corrupt/);
    // The phase vocoder's frame count (after the stream's RNG, pending samples and next frame, and its own version and sizes).
    const unprimed = good.slice();
    unprimed[9 + 2 + 16 + 33 + 4] = 0;
    expect(() => new SpectralStepper(w, s, norm, { state: unprimed })).toThrow(/has resynthesised 0 frames; a primed one has at least 2/);
    const big = spec({ frameSize: 128, hop: 32 });
    const wBig = readSpectralWeights(spectralFamily.build(big, 1), big);
    expect(() => new SpectralStepper(wBig, big, norm, { state: good })).toThrow(/frames of 64 every 16; this model's are 128 every 32/);
    expect(spectralSpecSchema.safeParse({ family: 'spectral', frameSize: 1000 }).error!.issues[0].message).toMatch(/power of two/);
    expect(spectralSpecSchema.safeParse({ family: 'spectral', frameSize: 64, hop: 48 }).error!.issues[0].message).toMatch(/at most half the frame size/);
    model.dispose();
  });

  it('a tiny model learns a two-tone hum: held-out NLL beats persistence, and it continues at the right pitch and level', async () => {
    const before = numTensors();
    const s = spec({ units: [16], frameSize: 128, hop: 32 });
    const cfg = trainConfigSchema.parse({ window: 16, batchSize: 8, epochs: 24, learningRate: 0.01, finalLearningRate: 0.001, split: 'blocked', trainFraction: 0.7, devFraction: 0.1, maxTrainWindows: 64, seed: 1 });
    // 0.125 cycles per sample (bin 16 of 128) with a tremolo, so that frames change and persistence is not perfect.
    const n = 12_000;
    const signal = new Float32Array(n).map((_, i) => (0.3 + 0.15 * Math.sin((2 * Math.PI * i) / 1500)) * Math.sin(2 * Math.PI * 0.125 * i) + 0.05 * Math.sin(2 * Math.PI * 0.25 * i));
    const norm = spectralFamily.normalisation(signal, false);
    const ds = spectralFamily.dataset(signal.map((v) => (v - norm.offset) / norm.scale), s, cfg);
    const model = spectralFamily.build(s, 1);
    const r = await new Trainer({ model, dataset: ds, objective: spectralFamily.objective(model, s, ds, 'fused'), config: cfg, lossScale: spectralFamily.lossScale(norm) }).run();
    releaseOptimizer(r);
    expect(r.history.at(-1)!.devLoss).toBeLessThan(r.history[0].devLoss);
    const m = await spectralFamily.evaluate(model, s, ds as SpectralDataset, { normalisation: norm, noiseFloor: null });
    if (!('family' in m) || m.family !== 'spectral') throw new Error('expected spectral metrics');
    expect(m.test_nll).toBeLessThan(m.persistence_nll);
    expect(m.test_nll).toBeLessThan(m.mean_frame_nll);
    expect(m.test_lsd_db).toBeGreaterThan(0); // a slow tremolo: persistence's one-step LSD is hard to beat, and need not be
    const stepper = await spectralFamily.stepper(model, s, norm, { prime: [signal.subarray(8000, 9000)] }, { seed: 2 });
    const g = stepper.generate(2048)[0];
    expect(dominantFrequency(g)).toBeCloseTo(0.125, 2);
    const ratio = rms(g) / rms(signal.subarray(9000, 11048));
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
    model.dispose();
    expect(numTensors()).toBe(before);
  }, 60_000);

  it('trains from a WAV through the engine, saves, loads and continues from its packed state as one run does', async () => {
    const { encodeWav } = await import('../../src/shared/signals/wav');
    const { train, generateFromFolder } = await import('../../src/main/engine/engine');
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-spectral-'));
    try {
      const rate = 16_000;
      const wav = path.join(tmp, 'hum.wav');
      await fs.writeFile(wav, encodeWav(sine(rate * 2, 250 / rate, 0.5), rate));
      const dir = path.join(tmp, 'm');
      const r = await train({ source: { kind: 'wav', path: wav, sampleRate: 1 }, model: { family: 'spectral', units: [8], frameSize: 256, hop: 64 }, config: { epochs: 1, window: 8, batchSize: 4, maxTrainWindows: 8 }, out: dir });
      expect(r.outcome).toBe('completed');
      expect(r.metrics && 'family' in r.metrics && r.metrics.family).toBe('spectral');
      const whole = await generateFromFolder({ dir, length: 700, sampling: { seed: 5 } });
      expect(whole.primeSamples.length).toBe(8000); // half a second of audio
      const part = await generateFromFolder({ dir, length: 300, sampling: { seed: 5 } });
      const more = await generateFromFolder({ dir, length: 400, state: part.state });
      expect([...part.samples, ...more.samples]).toEqual(Array.from(whole.samples));
      // New models draw from 4 components; a one-component model saved before `mixtures` was written to its
      // spec (so without the field) still loads as one component and generates the same samples.
      expect((await readStoredSpec(dir)).model).toMatchObject({ mixtures: 4 });
      const one = path.join(tmp, 'one');
      await train({ source: { kind: 'wav', path: wav, sampleRate: 1 }, model: { family: 'spectral', units: [8], frameSize: 256, hop: 64, mixtures: 1 }, config: { epochs: 1, window: 8, batchSize: 4, maxTrainWindows: 8 }, out: one });
      const before = await generateFromFolder({ dir: one, length: 300, sampling: { seed: 5 } });
      const specFile = path.join(one, 'spec.json');
      const saved = JSON.parse(await fs.readFile(specFile, 'utf8')) as { model: Record<string, unknown> };
      delete saved.model.mixtures;
      await fs.writeFile(specFile, JSON.stringify(saved));
      expect((await readStoredSpec(one)).model).toMatchObject({ mixtures: 1 });
      expect(Array.from((await generateFromFolder({ dir: one, length: 300, sampling: { seed: 5 } })).samples)).toEqual(Array.from(before.samples));
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});
