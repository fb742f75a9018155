import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../src/main/engine/families/regression/model';
import { fusedRecurrentPredict } from '../../src/main/engine/fused-recurrent';
import { numTensors, releaseOptimizer, useBackend } from './helpers';
import { Trainer } from '../../src/main/engine/trainer';
import { WindowDataset } from '../../src/main/engine/dataset';
import { trainConfigSchema } from '../../src/shared/contract';
import { generateSignal } from '../../src/shared/signals/generators';

function randomBatch(B: number, T: number, seed: number) {
  return { x: tf.randomNormal([B, T, 1], 0, 0.7, 'float32', seed) as tf.Tensor3D, y: tf.randomNormal([B, 1], 0, 0.7, 'float32', seed + 1) as tf.Tensor2D };
}

function randomise(model: tf.LayersModel, seed: number): void {
  const ws = model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.3, 'float32', seed + i));
  model.setWeights(ws);
  tf.dispose(ws);
}

async function grads(model: tf.LayersModel, x: tf.Tensor3D, y: tf.Tensor2D, fused: boolean) {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads: g } = tf.variableGrads(
    () => tf.losses.meanSquaredError(y, fused ? fusedRecurrentPredict(model, x) : (model.apply(x) as tf.Tensor)) as tf.Scalar,
    vars,
  );
  const out = { loss: (await value.data())[0], grads: await Promise.all(vars.map(async (v) => (await g[v.name].data()) as Float32Array)) };
  tf.dispose([value, ...Object.values(g)]);
  return out;
}

describe('fused LSTM and GRU training op', () => {
  beforeAll(useBackend);

  it('lstm.wasm was built from the lstm.c beside it (run src/main/engine/native/build.sh after editing)', () => {
    const dir = new URL('../../src/main/engine/native/', import.meta.url);
    const sha = createHash('sha256').update(readFileSync(new URL('lstm.c', dir))).digest('hex');
    expect(readFileSync(new URL('lstm.c.sha256', dir), 'utf8').trim()).toBe(sha);
  });

  it.each([
    ['lstm', [16, 16, 16], 50, 8],
    ['lstm', [128, 128], 12, 3],
    ['lstm', [4, 8], 7, 5],
    ['gru', [16, 16, 16], 50, 8],
    ['gru', [128, 128], 12, 3],
    ['gru', [4, 12], 7, 5],
  ] as const)('%s gradients equal tfjs-layers within 1e-4 (units %j, window %i, batch %i)', async (type, units, T, B) => {
    const model = buildModel({ type, units: [...units] }, 3);
    randomise(model, 10);
    const { x, y } = randomBatch(B, T, 5);
    const ref = await grads(model, x, y, false);
    const got = await grads(model, x, y, true);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.max(1, ref.loss));
    let worst = 0;
    ref.grads.forEach((g, i) => g.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - got.grads[i][j])))));
    expect(worst).toBeLessThan(1e-4);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('training through the fused op follows the same loss curve as tfjs-layers for the same seed', async () => {
    const signal = generateSignal({ kind: 'sine', length: 1500, frequency: 0.01, noise: 0.02, seed: 1 });
    const config = trainConfigSchema.parse({ window: 30, batchSize: 32, learningRate: 0.01, epochs: 3, maxTrainWindows: 256 });
    const curve = async (forward: 'fused' | 'layers') => {
      const model = buildModel({ units: [8, 8] }, 7);
      const losses: number[] = [];
      await new Trainer({
        model,
        cell: 'lstm',
        dataset: new WindowDataset(signal, 30, config),
        config,
        forward,
        onEvent: (e) => {
          if (e.type === 'batch') losses.push(e.loss);
        },
      }).run().then(releaseOptimizer);
      model.dispose();
      return losses;
    };
    const fused = await curve('fused');
    const layers = await curve('layers');
    expect(fused).toHaveLength(24);
    expect(fused[23]).toBeLessThan(fused[0] / 2);
    fused.forEach((l, i) => expect(Math.abs(l - layers[i])).toBeLessThan(1e-3 * layers[i]));
  });

  it('an optimizer step through the fused op leaks no tensors', async () => {
    const model = buildModel({ units: [8, 8] }, 3);
    const { x, y } = randomBatch(4, 10, 1);
    const opt = tf.train.adam(0.01);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const step = () => opt.minimize(() => tf.losses.meanSquaredError(y, fusedRecurrentPredict(model, x)) as tf.Scalar, true, vars)!.dispose();
    step();
    const before = numTensors();
    step();
    step();
    expect(numTensors()).toBe(before);
    opt.dispose();
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('training worker threads', () => {
  it('a worker thread that cannot load is given up with a reason, and the pool still trains on this thread', async () => {
    const { ShardPool } = await import('../../src/main/engine/fused-recurrent');
    const missing = new URL('./no-such-worker.js', import.meta.url);
    const pool = new ShardPool(2, missing, 2000);
    expect(pool.threads).toBe(1);
    expect(pool.degraded).toMatch(/worker thread 1 did not start within 2 s: training on 1 thread/);
    let ran = false;
    expect(pool.run([], () => (ran = true))).toEqual([]);
    expect(ran).toBe(true);
    pool.dispose();
  });
});
