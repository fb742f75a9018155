import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../src/main/engine/families/regression/model';
import { predictWindows, readWeights, RecurrentStepper } from '../../src/main/engine/recurrent-step';
import { generate } from '../../src/main/engine/families/regression/generate';
import { fusedPredictWindows, wasmCapable } from '../../src/main/engine/fused-recurrent';
import { generateSignal } from '../../src/shared/signals/generators';
import { unpackState } from '../../src/shared/packed-state';
import { useBackend } from './helpers';

const signal = generateSignal({ kind: 'sines', length: 600, components: [{ frequency: 0.013, amplitude: 0.7 }, { frequency: 0.05, amplitude: 0.4 }], noise: 0.05, seed: 4 });

async function tfjsPredict(model: tf.LayersModel, starts: number[], window: number): Promise<Float32Array> {
  const x = new Float32Array(starts.length * window);
  starts.forEach((s, b) => x.set(signal.subarray(s, s + window), b * window));
  const xt = tf.tensor3d(x, [starts.length, window, 1]);
  const y = model.predict(xt) as tf.Tensor;
  const out = (await y.data()) as Float32Array;
  tf.dispose([xt, y]);
  return out;
}

/** Random weights of a realistic size, so that every gate is exercised. */
function randomise(model: tf.LayersModel, seed: number): void {
  model.setWeights(model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.4, 'float32', seed + i)));
}

describe('fused recurrent step', () => {
  beforeAll(useBackend);

  it.each([
    ['lstm', [16, 16, 16]],
    ['lstm', [5, 12]],
    ['gru', [16, 16, 16]],
    ['gru', [7]],
  ] as const)('equals the tfjs model teacher-forced within 1e-5 (%s %j)', async (type, units) => {
    const model = buildModel({ type, units: [...units] }, 11);
    randomise(model, 100);
    const window = 40;
    const starts = [0, 17, 123, 301, 555 - window];
    const expected = await tfjsPredict(model, starts, window);
    const weights = await readWeights(model, type);
    const got = predictWindows(weights, signal, starts, window, 3);
    for (let i = 0; i < starts.length; i++) expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-5);
    if (wasmCapable(weights)) {
      const wasm = fusedPredictWindows(weights, signal, starts, window);
      for (let i = 0; i < starts.length; i++) expect(Math.abs(wasm[i] - expected[i])).toBeLessThan(1e-5);
    }
    model.dispose();
  });

  it.each([[[8, 8]], [[5, 3]]])('generating N, stopping and continuing from the packed state equals one uninterrupted run (lstm %j)', async (units) => {
    const model = buildModel({ type: 'lstm', units }, 5);
    randomise(model, 7);
    const weights = await readWeights(model, 'lstm');
    model.dispose();
    const normalisation = { offset: 0.1, scale: 0.5 };
    const prime = [signal.slice(0, 50), signal.slice(100, 150)];
    const whole = generate({ weights, normalisation, prime, length: 300 });
    const first = generate({ weights, normalisation, prime, length: 120 });
    const rest = generate({ weights, normalisation, state: first.state, length: 180 });
    for (let b = 0; b < 2; b++) {
      expect(first.samples[b]).toEqual(whole.samples[b].slice(0, 120));
      expect(rest.samples[b]).toEqual(whole.samples[b].slice(120));
    }
    expect(rest.state).toEqual(whole.state);
    expect(unpackState(whole.state).batch).toBe(2);
  });

  it.each([[[6]], [[8, 12]]])('the first generated sample is the model prediction for the prime window (lstm %j)', async (units) => {
    const model = buildModel({ type: 'lstm', units }, 2);
    randomise(model, 9);
    const [expected] = await tfjsPredict(model, [200], 30);
    const weights = await readWeights(model, 'lstm');
    const r = generate({ weights, normalisation: { offset: 0, scale: 1 }, prime: [signal.slice(200, 230)], length: 1 });
    expect(Math.abs(r.samples[0][0] - expected)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('the wasm and TypeScript steps generate the same samples (within float rounding)', async () => {
    const model = buildModel({ type: 'lstm', units: [8, 8] }, 5);
    randomise(model, 3);
    const weights = await readWeights(model, 'lstm');
    model.dispose();
    const prime = signal.slice(0, 40);
    const wasm = generate({ weights, normalisation: { offset: 0, scale: 1 }, prime: [prime], length: 100 }).samples[0];
    const js = new RecurrentStepper(weights, 1);
    for (const v of prime) js.step(Float32Array.of(v));
    const y = new Float32Array(1);
    for (let t = 0; t < 100; t++) {
      js.output(y);
      expect(Math.abs(wasm[t] - y[0])).toBeLessThan(1e-4);
      js.step(y);
    }
  });

  it('delivers chunks in order and stops early when cancelled', async () => {
    const model = buildModel({ type: 'gru', units: [4] }, 2);
    const weights = await readWeights(model, 'gru');
    model.dispose();
    const chunks: number[] = [];
    const ac = new AbortController();
    const r = generate({
      weights,
      normalisation: { offset: 0, scale: 1 },
      streams: 1,
      length: 100,
      chunkSize: 30,
      signal: ac.signal,
      onChunk: (c, from) => {
        chunks.push(from, c[0].length);
        if (from >= 30) ac.abort();
      },
    });
    expect(chunks).toEqual([0, 30, 30, 30]);
    expect(r.generated).toBe(60);
    expect(r.samples[0].length).toBe(60);
  });

  it('refuses a state made for another network', async () => {
    const model = buildModel({ type: 'lstm', units: [4] }, 2);
    const weights = await readWeights(model, 'lstm');
    model.dispose();
    const other = generate({ weights: { ...weights, units: [5] }, normalisation: { offset: 0, scale: 1 }, streams: 1, length: 0 }).state;
    expect(() => new RecurrentStepper(weights, unpackState(other))).toThrow(/State is for a lstm 5 network, but the model is lstm 4/);
  });
});
