// Long recordings: evaluation whose cost does not grow with the recording, epochs of a set number of
// windows drawn without copying the split, and progress with a confidence interval on the way.
import { beforeAll, describe, expect, it } from 'vitest';
import { WindowDataset } from '../../src/main/engine/dataset';
import { evaluate, EVAL_WINDOWS, evaluationSteps } from '../../src/main/engine/families/regression/evaluate';
import { buildModel } from '../../src/main/engine/families/regression/model';
import { trainConfigSchema } from '../../src/shared/contract';
import { useBackend } from './helpers';

const cfg = trainConfigSchema.parse({ window: 20, seed: 3 });

function sawtooth(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i % 73) / 36.5 - 1) * 0.8);
}

describe('long recordings', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('evaluating a recording 4 × longer runs the same number of recurrent steps', async () => {
    const model = buildModel({ units: [8] }, 1);
    const steps = async (n: number) => {
      const before = evaluationSteps.count;
      const m = await evaluate(model, 'lstm', new WindowDataset(sawtooth(n), cfg.window, cfg), 1, null);
      expect(m.eval_windows).toBe(EVAL_WINDOWS);
      return evaluationSteps.count - before;
    };
    const short = await steps(300_000);
    const long = await steps(1_200_000);
    expect(short).toBe(2 * EVAL_WINDOWS * cfg.window); // dev and test, each capped
    expect(long).toBe(short);
    model.dispose();
  });

  it('reports progress up to the total, and a 95 % interval beside the test error', async () => {
    const model = buildModel({ units: [8] }, 1);
    const ds = new WindowDataset(sawtooth(30_000), cfg.window, cfg);
    const seen: [number, number][] = [];
    const m = await evaluate(model, 'lstm', ds, 1, null, { onProgress: (done, total) => seen.push([done, total]) });
    const total = ds.splits.test.length + ds.splits.dev.length;
    expect(seen.at(-1)).toEqual([total, total]);
    expect(seen.every(([d], i) => i === 0 || d > seen[i - 1][0])).toBe(true);
    expect(m.eval_windows).toBe(ds.splits.test.length);
    expect(m.test_mse_ci95).toBeGreaterThan(0);
    expect(m.test_mse_ci95!).toBeLessThan(m.test_mse);
    model.dispose();
  });

  it('an epoch of a few windows of a long split draws distinct training windows, the same for the same seed', () => {
    const ds = new WindowDataset(sawtooth(2_000_000), cfg.window, cfg);
    const a = ds.epochOrder(1, 3, 1000);
    expect(a.length).toBe(1000);
    expect(new Set(a).size).toBe(1000);
    const train = new Set(ds.splits.train);
    expect([...a].every((s) => train.has(s))).toBe(true);
    expect(Array.from(ds.epochOrder(1, 3, 1000))).toEqual(Array.from(a));
    expect(Array.from(ds.epochOrder(2, 3, 1000))).not.toEqual(Array.from(a));
  });
});
