// Streamed generation: every chunk comes with the packed state after it, and a continuation from any
// chunk's state gives exactly the rest of the run, for each family (a client that stopped listening
// mid-way, or lost its connection, carries on from the last chunk it heard).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { categoricalSpecSchema, regressionSpecSchema, spectralSpecSchema, type ModelSpec } from '../../src/shared/contract';
import { familyOf } from '../../src/main/engine/families';
import { generateStream } from '../../src/main/engine/generator';
import { numTensors, useBackend } from './helpers';

function tone(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(i * 0.07) + 0.2 * Math.sin(i * 0.31));
}

const SPECS: [string, ModelSpec][] = [
  ['regression', regressionSpecSchema.parse({ family: 'regression', units: [8] })],
  ['categorical', categoricalSpecSchema.parse({ family: 'categorical', units: [8], levels: 16, context: 4 })],
  ['spectral', spectralSpecSchema.parse({ family: 'spectral', units: [8], frameSize: 64, hop: 16, burnIn: 2 })],
];

beforeAll(async () => {
  await useBackend();
});

describe('generation in chunks', () => {
  it.each(SPECS)('%s: each chunk carries the state after it, and continuing from it gives the rest exactly', async (_name, spec) => {
    const family = familyOf(spec);
    const model = family.build(spec, 1);
    const ws = model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.3, 'float32', 7 + i));
    model.setWeights(ws);
    tf.dispose(ws);
    const norm = { offset: 0, scale: 0.5 };
    const before = numTensors();
    const chunks: { from: number; samples: Float32Array; state: Float32Array }[] = [];
    const whole = await generateStream(await family.stepper(model, spec, norm, { prime: [tone(256)] }, { seed: 4 }), {
      length: 300,
      chunkSize: 37,
      onChunk: (samples, from, state) => chunks.push({ from, samples: samples.slice(), state }),
    });
    expect(chunks.map((c) => c.from)).toEqual([0, 37, 74, 111, 148, 185, 222, 259, 296]);
    expect(Array.from(chunks.flatMap((c) => Array.from(c.samples)))).toEqual(Array.from(whole.samples));
    expect(chunks[chunks.length - 1].state).toEqual(whole.state);
    // Stop after the third chunk (111 samples) and continue from its state.
    const rest = await generateStream(await family.stepper(model, spec, norm, { state: chunks[2].state }), { length: 300 - 111 });
    expect(Array.from(rest.samples)).toEqual(Array.from(whole.samples.subarray(111)));
    expect(rest.state).toEqual(whole.state);
    expect(numTensors()).toBe(before);
    model.dispose();
  });
});
