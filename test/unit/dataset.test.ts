import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { splitWindows, WindowDataset, windowCount } from '../../src/main/engine/dataset';
import { useBackend } from './helpers';

const cfg = { split: 'shuffled' as const, trainFraction: 0.6, devFraction: 0.2, seed: 1 };

describe('windows and splits', () => {
  beforeAll(useBackend);

  it('the notebook signal has 49,951 windows of 50, split 60/20/20 without overlap of starts', () => {
    expect(windowCount(50_001, 50)).toBe(49_951);
    const s = splitWindows(50_001, 50, cfg);
    expect(s.train.length + s.dev.length + s.test.length).toBe(49_951);
    expect(s.train.length).toBe(Math.round(49_951 * 0.6));
    const all = new Set([...s.train, ...s.dev, ...s.test]);
    expect(all.size).toBe(49_951);
    expect(Math.max(...all)).toBe(49_950); // the last window's target is the last sample
  });

  it('the same seed gives the same split; another seed another', () => {
    expect(splitWindows(1000, 10, cfg).train).toEqual(splitWindows(1000, 10, cfg).train);
    expect(splitWindows(1000, 10, { ...cfg, seed: 2 }).train).not.toEqual(splitWindows(1000, 10, cfg).train);
  });

  it('the blocked split shares no sample between sets (window and target)', () => {
    const w = 10;
    const s = splitWindows(1000, w, { ...cfg, split: 'blocked' });
    const span = (starts: Int32Array) => [Math.min(...starts), Math.max(...starts) + w];
    const [a0, a1] = span(s.train);
    const [b0, b1] = span(s.dev);
    const [c0, c1] = span(s.test);
    expect(a0).toBe(0);
    expect(a1).toBeLessThan(b0);
    expect(b1).toBeLessThan(c0);
    expect(c1).toBe(999);
  });

  it('a signal too short for the window says so', () => {
    expect(() => splitWindows(30, 50, cfg)).toThrow(/too few for windows of 50/);
  });

  it('a batch holds the windows at its starts and their next sample', async () => {
    const signal = Float32Array.from({ length: 200 }, (_, i) => i);
    const ds = new WindowDataset(signal, 5, cfg);
    const before = tf.memory().numTensors;
    const { x, y } = ds.batch(ds.splits.train, 3, 4);
    expect(x.shape).toEqual([4, 5, 1]);
    expect(y.shape).toEqual([4, 1]);
    const xs = await x.data();
    const ys = await y.data();
    for (let b = 0; b < 4; b++) {
      const s = ds.splits.train[3 + b];
      expect(Array.from(xs.slice(b * 5, b * 5 + 5))).toEqual([s, s + 1, s + 2, s + 3, s + 4]);
      expect(ys[b]).toBe(s + 5);
    }
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the last batch of an epoch is short, not padded', () => {
    const ds = new WindowDataset(new Float32Array(100), 5, cfg);
    const n = ds.splits.train.length;
    const { x } = ds.batch(ds.splits.train, n - 3, 10);
    expect(x.shape[0]).toBe(3);
    x.dispose();
  });
});
