// The spectral family's per-frame path reuses scratch (per frame size, per hop, per stepper) so that live
// mode allocates nothing per batch. What that must not change: a stepper's samples do not depend on
// other steppers or vocoders using the same scratch in between, nor on the batch size it is driven in.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { spectralSpecSchema, type SpectralSpec } from '../../src/shared/contract';
import { timeStretch } from '../../src/shared/dsp/phase-vocoder';
import { peakDeviations } from '../../src/shared/dsp/spectral-features';
import { magnitudes, stft } from '../../src/shared/dsp/stft';
import { spectralFamily } from '../../src/main/engine/families/spectral';
import { readSpectralWeights } from '../../src/main/engine/families/spectral/model';
import { SpectralStepper } from '../../src/main/engine/families/spectral/stepper';
import { useBackend } from './helpers';

const spec = (over: Partial<SpectralSpec>): SpectralSpec => spectralSpecSchema.parse({ family: 'spectral', units: [8], burnIn: 2, ...over });

function weights(s: SpectralSpec, seed: number) {
  const model = spectralFamily.build(s, 1);
  const ws = model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.2, 'float32', seed + i));
  model.setWeights(ws);
  tf.dispose(ws);
  const w = readSpectralWeights(model, s);
  model.dispose();
  return w;
}

function tone(n: number, seed = 1): Float32Array {
  let s = seed;
  return new Float32Array(n).map((_, i) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return 0.3 * Math.sin(0.07 * i) + 0.1 * Math.sin(0.31 * i) + 0.02 * (s / 2 ** 32 - 0.5);
  });
}

const BATCH = 128;
const norm = { offset: 0.01, scale: 0.8 };

describe('spectral per-frame scratch', () => {
  beforeAll(useBackend);

  it('steppers interleaved batch by batch (two of one frame size, one of another) each generate what they generate alone', () => {
    const a = spec({ frameSize: 64, hop: 16 });
    const b = spec({ frameSize: 128, hop: 32 });
    const wa = weights(a, 3);
    const wb = weights(b, 7);
    const make = () => [
      new SpectralStepper(wa, a, norm, { prime: [tone(600, 1)] }, { seed: 2 }),
      new SpectralStepper(wa, a, norm, { prime: [tone(600, 2), tone(600, 3)] }, { seed: 5, temperature: 0.7 }),
      new SpectralStepper(wb, b, norm, { prime: [tone(600, 4)] }, { seed: 9 }),
    ];
    const n = 20 * BATCH;
    const alone = make().map((s) => s.generate(n));
    const steppers = make();
    const together = steppers.map((s) => Array.from({ length: s.streams }, () => new Float32Array(n)));
    for (let at = 0; at < n; at += BATCH) {
      steppers.forEach((s, i) => {
        const out = together[i].map(() => new Float32Array(BATCH));
        s.generateInto(out);
        out.forEach((o, j) => together[i][j].set(o, at));
      });
    }
    together.forEach((streams, i) => streams.forEach((x, j) => expect(Array.from(x), `stepper ${i} stream ${j}`).toEqual(Array.from(alone[i][j]))));
  });

  it('followers interleaved batch by batch each predict what they predict alone', () => {
    const s = spec({ frameSize: 64, hop: 16 });
    const w = weights(s, 6);
    const input = [tone(12 * BATCH, 7), tone(12 * BATCH, 8)];
    const make = () => input.map((_, i) => new SpectralStepper(w, s, norm, { prime: [tone(600, i + 1)] }, { seed: i + 2 }));
    const follow = (stepper: SpectralStepper, x: Float32Array, from: number, to: number) => {
      const out = new Float32Array(to - from);
      stepper.observe([x.subarray(from, to)], [out]);
      return out;
    };
    const alone = make().map((st, i) => follow(st, input[i], 0, input[i].length));
    const steppers = make();
    const together = input.map((x) => new Float32Array(x.length));
    for (let at = 0; at < input[0].length; at += BATCH) steppers.forEach((st, i) => together[i].set(follow(st, input[i], at, at + BATCH), at));
    together.forEach((x, i) => expect(Array.from(x), `follower ${i}`).toEqual(Array.from(alone[i])));
  });

  it('peakDeviations gives the same deviations whether it takes the logs itself or is given them', () => {
    const N = 256;
    const bins = N / 2 + 1;
    const m = magnitudes(stft(tone(4 * N), { frameSize: N, hop: N / 4 })).subarray(2 * bins, 3 * bins);
    const logs = new Float64Array(bins).map((_, k) => Math.log(Math.max(1e-30, m[k])));
    const own = new Float32Array(bins);
    const given = new Float32Array(bins);
    const peaksA = new Int32Array(bins);
    const peaksB = new Int32Array(bins);
    const count = peakDeviations(m, bins, own, peaksA);
    expect(count).toBeGreaterThan(1);
    expect(peakDeviations(m, bins, given, peaksB, logs)).toBe(count);
    expect(Array.from(given)).toEqual(Array.from(own));
    expect(Array.from(peaksB.subarray(0, count))).toEqual(Array.from(peaksA.subarray(0, count)));
  });

  it('time stretches of one frame size at other hops in between leave a stretch unchanged (tables per hop)', () => {
    const x = tone(3000);
    const first = timeStretch(x, 1.5, { frameSize: 256, synthesisHop: 64 }).samples;
    timeStretch(x, 0.5, { frameSize: 256, synthesisHop: 64 });
    timeStretch(x, 2, { frameSize: 256, synthesisHop: 32 });
    expect(Array.from(timeStretch(x, 1.5, { frameSize: 256, synthesisHop: 64 }).samples)).toEqual(Array.from(first));
  });
});
