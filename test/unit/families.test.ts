// Model families behind one interface: a family defined here, and nowhere in src, trains, evaluates,
// generates and is stored through the same trainer, evaluation, generator and store (adding a
// family touches none of them); the regression family gives what it gave before families existed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { regressionMetrics, type Metrics } from '../../src/shared/contract';
import { LabError } from '../../src/shared/errors';
import { persistenceMse } from '../../src/shared/dsp/linear-predictor';
import { WindowDataset } from '../../src/main/engine/dataset';
import { evaluateFolder, generateFromFolder, train } from '../../src/main/engine/engine';
import { familyOf, parseModelSpec, registerFamily } from '../../src/main/engine/families';
import type { ModelFamily, SamplingOptions, Stepper, StepperStart } from '../../src/main/engine/families/family';
import { readStoredSpec } from '../../src/main/engine/store';
import { defaultSession, loadSession, saveSession } from '../../src/renderer/features/session';
import { validateTrainForm } from '../../src/renderer/features/training/train-form';
import { numTensors, shortSine, useBackend } from './helpers';

const fixtures = new URL('../fixtures/families/', import.meta.url).pathname;
let tmp: string;

// ---- A fake family: the next sample is the window's mean times one trained weight ----------------

const meanSpecSchema = z.object({ family: z.literal('mean'), window: z.number().int().min(1).default(20) });
type MeanSpec = z.output<typeof meanSpecSchema>;
const STATE_MAGIC = 0x4d45; // 'ME'
/** The sampling options the last stepper was made with (the generator passes them through). */
let lastSampling: SamplingOptions | undefined;

/** `[batch, window, 1]` → `[batch, 1]`: the mean over time, then one weight (no bias). */
function buildMean(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.globalAveragePooling1d({ inputShape: [null, 1] }));
  model.add(tf.layers.dense({ units: 1, useBias: false, kernelInitializer: tf.initializers.constant({ value: 0.5 }) }));
  return model;
}

/** Mean squared error of `model` on the windows at `starts`, in network units. */
async function meanMse(model: tf.LayersModel, ds: WindowDataset, starts: Int32Array): Promise<number> {
  let s = 0;
  for (let from = 0; from < starts.length; from += 512) {
    const { x, y } = ds.batch(starts, from, 512);
    const e = tf.tidy(() => tf.sum(tf.square(tf.sub(model.predict(x) as tf.Tensor, y))));
    s += (await e.data())[0];
    tf.dispose([x, y, e]);
  }
  return s / starts.length;
}

/** Holds the last `window` samples; its packed state is [magic, window, ...history oldest first]. */
class MeanStepper implements Stepper {
  readonly streams = 1;
  private history: number[];
  constructor(
    private readonly weight: number,
    private readonly window: number,
    start: StepperStart,
  ) {
    if ('state' in start) {
      meanFamily.stateStreams(start.state);
      this.history = Array.from(start.state.subarray(2));
    } else {
      this.history = Array.from(start.prime[0].slice(-window));
    }
  }
  generate(length: number, chunkSize = length, onChunk?: (c: Float32Array[], from: number) => void): Float32Array[] {
    const out = new Float32Array(length);
    for (let t = 0; t < length; t++) {
      const mean = this.history.reduce((a, b) => a + b, 0) / this.history.length;
      out[t] = Math.fround(this.weight * mean);
      this.history.push(out[t]);
      if (this.history.length > this.window) this.history.shift();
      if (onChunk && ((t + 1) % chunkSize === 0 || t === length - 1)) onChunk([out.slice(t - (t % chunkSize), t + 1)], t - (t % chunkSize));
    }
    return [out];
  }
  pack(): Float32Array {
    return Float32Array.from([STATE_MAGIC, this.window, ...this.history]);
  }
}

const meanFamily: ModelFamily<MeanSpec, WindowDataset> = {
  name: 'mean',
  specSchema: meanSpecSchema,
  framing: () => ({ samplesPerStep: 1, featuresPerStep: 1 }),
  build: () => buildMean(),
  canFuse: () => false,
  checkBudget: () => {},
  normalisation: () => ({ offset: 0, scale: 1 }),
  lossScale: () => 1,
  dataset: (samples, spec) => new WindowDataset(samples, spec.window, { split: 'shuffled', trainFraction: 0.6, devFraction: 0.2, seed: 1 }),
  objective: (model, _spec, ds) => ({
    loss: (x, y) => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar,
    measure: (starts) => meanMse(model, ds, starts),
  }),
  evaluationWindows: (ds) => ds.splits.test.length + ds.splits.dev.length,
  evaluate: async (model, _spec, ds, ctx): Promise<Metrics> => {
    const test = await meanMse(model, ds, ds.splits.test);
    ctx.onProgress?.(ds.splits.test.length, ds.splits.test.length + ds.splits.dev.length);
    const dev = await meanMse(model, ds, ds.splits.dev);
    const persistence = persistenceMse(ds.signal, ds.splits.test, ds.window);
    return { test_mse: test, dev_mse: dev, noise_floor: ctx.noiseFloor, persistence_mse: persistence, ar_mse: persistence, ar_order: 1 };
  },
  stepper: async (model, spec, _n, start, sampling) => {
    lastSampling = sampling;
    return new MeanStepper((await model.getWeights()[0].data())[0], spec.window, start);
  },
  stateStreams: (state) => {
    if (state.length < 3 || state[0] !== STATE_MAGIC) throw new LabError('bad_argument', 'Not a mean-family state');
    return 1;
  },
};

describe('model families', () => {
  let unregister: () => void;
  beforeAll(async () => {
    await useBackend();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-families-'));
    unregister = registerFamily(meanFamily);
  });
  afterAll(async () => {
    unregister();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('a family defined outside src trains, is stored, evaluates and generates through the same engine, leaking no tensors', async () => {
    const dir = path.join(tmp, 'mean');
    const before = numTensors();
    const events: string[] = [];
    const report = await train({
      source: shortSine(1500),
      model: { family: 'mean' } as never,
      config: { window: 20, batchSize: 32, epochs: 3, learningRate: 0.05, maxTrainWindows: 256 },
      out: dir,
      onEvent: (e) => events.push(e.type),
    });
    expect(report.outcome).toBe('completed');
    expect(report.impl).toBe('layers');
    expect(events.filter((e) => e === 'epoch')).toHaveLength(3);
    expect(report.history[2].trainLoss).toBeLessThan(report.history[0].trainLoss);
    expect(regressionMetrics(report.metrics)!.test_mse).toBeGreaterThan(0);

    const stored = await readStoredSpec(dir);
    expect(stored.model).toEqual({ family: 'mean', window: 20 });
    const evaluated = await evaluateFolder(dir);
    expect(regressionMetrics(evaluated.metrics)!.test_mse).toBeCloseTo(regressionMetrics(report.metrics)!.test_mse, 12);

    const whole = await generateFromFolder({ dir, length: 50 });
    const first = await generateFromFolder({ dir, length: 20 });
    const rest = await generateFromFolder({ dir, length: 30, state: first.state });
    expect(Array.from(first.samples)).toEqual(Array.from(whole.samples.subarray(0, 20)));
    expect(Array.from(rest.samples)).toEqual(Array.from(whole.samples.subarray(20)));
    expect(rest.state).toEqual(whole.state);
    const chunks: number[] = [];
    await generateFromFolder({ dir, length: 50, chunkSize: 16, onChunk: (_c, from) => chunks.push(from) });
    expect(chunks).toEqual([0, 16, 32, 48]);
    await generateFromFolder({ dir, length: 5, sampling: { temperature: 0.5, seed: 3 } });
    expect(lastSampling).toEqual({ temperature: 0.5, seed: 3 });
    await expect(generateFromFolder({ dir, length: 5, state: new Float32Array([1, 2, 3]) })).rejects.toThrow(/Not a mean-family state/);

    const resumed = await train({ out: dir, resume: true, config: { epochs: 4 } });
    expect(resumed.epochsDone).toBe(4);
    expect(numTensors()).toBe(before);
  });

  it('specs without a family are regression; an unknown family is refused by name', async () => {
    expect(parseModelSpec({ units: [4] })).toEqual({ family: 'regression', type: 'lstm', units: [4], dropout: 0 });
    expect(familyOf({}).name).toBe('regression');
    expect(() => familyOf({ family: 'nope' })).toThrow('Unknown model family: nope');
    expect(() => parseModelSpec({ family: 'nope' })).toThrow(/family: expected one of regression, categorical, spectral, mean, but got "nope"/);
    const dir = path.join(tmp, 'unknown');
    await fs.cp(path.join(fixtures, 'pre-family-gru'), dir, { recursive: true });
    const spec = JSON.parse(await fs.readFile(path.join(dir, 'spec.json'), 'utf8')) as { model: object };
    await fs.writeFile(path.join(dir, 'spec.json'), JSON.stringify({ ...spec, model: { ...spec.model, family: 'nope' } }));
    await expect(readStoredSpec(dir)).rejects.toThrow(/model\.family: expected one of/);
  });

  it('the UI sends its family, and a session saved before families loads with the default family', () => {
    const session = defaultSession();
    expect(validateTrainForm(session.form, 'x').model).toEqual({ family: 'regression', type: 'lstm', units: [16, 16, 16] });
    const oldForm: Partial<typeof session.form> = { ...session.form, name: 'kept' };
    delete oldForm.family;
    const loaded = loadSession({ getItem: () => JSON.stringify({ ...session, form: oldForm }) });
    expect(loaded.form).toMatchObject({ family: 'regression', name: 'kept' });
  });

  it("a session's temperature: an old session's '1' (then the only default) loads blank, the family's; one saved now keeps what was typed", () => {
    const session = defaultSession();
    expect(session.generation.temperature).toBe('');
    const old = (temperature: string) => loadSession({ getItem: () => JSON.stringify({ ...session, generation: { prime: '', length: '', temperature, offset: '' } }) }).generation.temperature;
    expect(old('1')).toBe('');
    expect(old('0.8')).toBe('0.8');
    let stored = '';
    for (const typed of ['1', '', '1.3']) {
      saveSession({ ...session, generation: { ...session.generation, temperature: typed } }, { setItem: (_k, v) => void (stored = v) });
      expect(loadSession({ getItem: () => stored }).generation.temperature).toBe(typed);
    }
  });

  // Values recorded from the code before families (commit c634b69): the same seeded runs, the same
  // metrics and generated samples, bit for bit; and the folders it wrote load and continue as before.
  const baseline = JSON.parse(
    readFileSync(new URL('../fixtures/families/regression-baseline.json', import.meta.url), 'utf8'),
  ) as Record<'lstm' | 'gru', { impl: string; metrics: Metrics; samples: number[]; state: number[] }>;
  const runs = { lstm: { units: [8, 8] }, gru: { type: 'gru' as const, units: [6] } };

  for (const name of ['lstm', 'gru'] as const) {
    it(`the regression family (${name}) trains, evaluates and generates exactly as before families`, async () => {
      const dir = path.join(tmp, `regression-${name}`);
      const r = await train({ source: shortSine(1500), model: runs[name], config: { window: 20, batchSize: 32, epochs: 2, learningRate: 0.01, maxTrainWindows: 128, seed: 7 }, out: dir });
      expect(r.impl).toBe(baseline[name].impl);
      expect(r.metrics).toEqual(baseline[name].metrics);
      const g = await generateFromFolder({ dir, length: 200 });
      expect(Array.from(g.samples)).toEqual(baseline[name].samples);
      expect(Array.from(g.state)).toEqual(baseline[name].state);
    });

    it(`a ${name} folder written before families (no family field) loads as regression and gives the same results`, async () => {
      const dir = path.join(tmp, `old-${name}`);
      await fs.cp(path.join(fixtures, `pre-family-${name}`), dir, { recursive: true });
      expect((await readStoredSpec(dir)).model.family).toBe('regression');
      const e = await evaluateFolder(dir);
      expect(e.metrics).toEqual(baseline[name].metrics);
      const g = await generateFromFolder({ dir, length: 200 });
      expect(Array.from(g.samples)).toEqual(baseline[name].samples);
    });
  }
});
