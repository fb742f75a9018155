import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { WindowDataset } from '../../src/main/engine/dataset';
import { buildModel } from '../../src/main/engine/families/regression/model';
import { learningRateAt, Trainer } from '../../src/main/engine/trainer';
import { trainConfigSchema, type TrainEvent } from '../../src/shared/contract';
import { generateSignal } from '../../src/shared/signals/generators';
import { numTensors, releaseOptimizer, useBackend } from './helpers';

const signal = generateSignal({ kind: 'sine', length: 1200, frequency: 0.01, noise: 0.02, seed: 1 });
const config = (over: object = {}) =>
  trainConfigSchema.parse({ window: 20, batchSize: 32, learningRate: 0.01, finalLearningRate: null, epochs: 2, maxTrainWindows: 128, ...over });

async function weightsOf(model: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
}

describe('Trainer', () => {
  beforeAll(useBackend);

  it("one batch trained 100 steps drops its loss 10x (the notebook's check)", async () => {
    const model = buildModel({ units: [16] }, 1);
    const ds = new WindowDataset(signal, 20, { split: 'shuffled', trainFraction: 0.6, devFraction: 0.2, seed: 1 });
    const { x, y } = ds.batch(ds.splits.train, 0, 64);
    const opt = tf.train.adam(0.01);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const losses: number[] = [];
    for (let i = 0; i < 100; i++) {
      const l = opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar, true, vars)!;
      losses.push((await l.data())[0]);
      l.dispose();
    }
    expect(losses[99]).toBeLessThan(losses[0] / 10);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });

  it('reports batch and epoch progress, loss falls, and leaks no tensors', async () => {
    const before = numTensors();
    const model = buildModel({ units: [8] }, 1);
    const ds = new WindowDataset(signal, 20, config());
    const events: TrainEvent[] = [];
    const checkpoints: number[] = [];
    const r = await new Trainer({
      model,
      cell: 'lstm',
      dataset: ds,
      config: config({ epochs: 3 }),
      onEvent: (e) => events.push(e),
      onCheckpoint: async (c) => {
        checkpoints.push(c.epoch);
        expect(c.optimizerWeights.length).toBe(1 + 2 * model.trainableWeights.length);
      },
    }).run().then(releaseOptimizer);
    expect(r.outcome).toBe('completed');
    expect(r.epochsDone).toBe(3);
    expect(checkpoints).toEqual([1, 2, 3]);
    const batches = events.filter((e) => e.type === 'batch');
    const epochs = events.filter((e) => e.type === 'epoch');
    expect(batches.length).toBe(3 * 4);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    for (const e of batches) {
      expect(e.seqPerSecond).toBeGreaterThan(0);
      expect(e.etaSeconds).toBeGreaterThanOrEqual(0);
    }
    expect(r.history[2].trainLoss).toBeLessThan(r.history[0].trainLoss);
    model.dispose();
    expect(numTensors()).toBe(before);
  });

  it('cancels at a batch boundary and keeps the weights of the last finished batch', async () => {
    const model = buildModel({ units: [8] }, 1);
    const ds = new WindowDataset(signal, 20, config());
    const ac = new AbortController();
    let batches = 0;
    let atCancel: Float32Array[] = [];
    const r = await new Trainer({
      model,
      cell: 'lstm',
      dataset: ds,
      config: config({ epochs: 5 }),
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'batch' && ++batches === 6) ac.abort();
      },
    }).run().then(releaseOptimizer);
    atCancel = await weightsOf(model);
    expect(r.outcome).toBe('cancelled');
    expect(batches).toBe(6);
    expect(r.epochsDone).toBe(1);
    expect(atCancel.every((w) => w.every(Number.isFinite))).toBe(true);
    model.dispose();
  });

  it('a non-finite loss stops training and rolls back to the last good weights', async () => {
    const before = numTensors();
    const model = buildModel({ units: [8] }, 1);
    const ds = new WindowDataset(signal, 20, config());
    let good: Float32Array[] = [];
    let batches = 0;
    const notices: string[] = [];
    const r = await new Trainer({
      model,
      cell: 'lstm',
      dataset: ds,
      config: config({ epochs: 3 }),
      onEvent: (e) => {
        if (e.type === 'notice') notices.push(e.message);
        if (e.type !== 'batch') return;
        // The weights batch 5 starts from: the last ones to give a finite loss.
        if (++batches === 4) good = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
        if (batches === 5) {
          // Sabotage: the weights after batch 5 hold a NaN, so batch 6's loss is NaN.
          const head = model.layers[model.layers.length - 1];
          const [k, b] = head.getWeights();
          const nan = tf.fill(b.shape, NaN);
          head.setWeights([k, nan]);
          nan.dispose();
        }
      },
    }).run().then(releaseOptimizer);
    expect(r.outcome).toBe('diverged');
    expect(r.message).toMatch(/epoch 2, batch 2: the loss became NaN/);
    expect(notices).toHaveLength(1);
    const after = await weightsOf(model);
    after.forEach((w, i) => expect(w).toEqual(good[i]));
    model.dispose();
    expect(numTensors()).toBe(before);
  });

  it('resuming from a checkpoint with its optimizer state gives exactly the uninterrupted run', async () => {
    const ds = new WindowDataset(signal, 20, config());
    const straight = buildModel({ units: [8] }, 3);
    await new Trainer({ model: straight, cell: 'lstm', dataset: ds, config: config({ epochs: 2 }) }).run().then(releaseOptimizer);

    const first = buildModel({ units: [8] }, 3);
    let saved: { name: string; tensor: tf.Tensor }[] = [];
    await new Trainer({
      model: first,
      cell: 'lstm',
      dataset: ds,
      config: config({ epochs: 1 }),
      onCheckpoint: async (c) => {
        saved = c.optimizerWeights.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) }));
      },
    }).run().then(releaseOptimizer);
    // A fresh model in the same state, as after loading the checkpoint folder.
    const resumed = buildModel({ units: [8] }, 99);
    resumed.setWeights(first.getWeights());
    const r = await new Trainer({ model: resumed, cell: 'lstm', dataset: ds, config: config({ epochs: 2 }), startEpoch: 1, optimizerWeights: saved }).run().then(releaseOptimizer);
    expect(r.epochsDone).toBe(2);
    const a = await weightsOf(straight);
    const b = await weightsOf(resumed);
    a.forEach((w, i) => expect(b[i]).toEqual(w));
    tf.dispose(saved.map((s) => s.tensor));
    [straight, first, resumed].forEach((m) => m.dispose());
  });

  it('early stopping keeps the best epoch', async () => {
    const model = buildModel({ units: [4] }, 1);
    const ds = new WindowDataset(signal, 20, config());
    // A learning rate this high makes dev loss bounce, so patience 1 triggers.
    const r = await new Trainer({ model, cell: 'lstm', dataset: ds, config: config({ epochs: 30, learningRate: 0.5, earlyStopPatience: 1 }) }).run().then(releaseOptimizer);
    expect(r.outcome).toBe('early-stopped');
    expect(r.epochsDone).toBeLessThan(30);
    model.dispose();
  });

  it('the cosine schedule goes from the learning rate to the final one', () => {
    const c = config({ learningRate: 0.01, finalLearningRate: 0.001 });
    expect(learningRateAt(c, 0)).toBeCloseTo(0.01, 10);
    expect(learningRateAt(c, 1)).toBeCloseTo(0.001, 10);
    expect(learningRateAt(c, 0.5)).toBeCloseTo(0.0055, 10);
    expect(learningRateAt(config(), 0.7)).toBe(0.01);
  });
});
