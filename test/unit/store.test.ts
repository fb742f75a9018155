import { regressionMetrics } from '../../src/shared/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluateFolder, generateFromFolder, train } from '../../src/main/engine/engine';
import { loadModelFolder, writeFolderAtomic } from '../../src/main/engine/store';
import { numTensors, shortSine, useBackend } from './helpers';

let tmp: string;
const tiny = { window: 20, batchSize: 32, epochs: 2, learningRate: 0.01, maxTrainWindows: 128 };

describe('model folders and the train/generate cycle', () => {
  beforeAll(async () => {
    await useBackend();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-store-'));
  });
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('a train and generate cycle leaks no tensors, and the folder loads back with the same predictions', async () => {
    const dir = path.join(tmp, 'cycle');
    await train({ source: shortSine(1500), model: { units: [8, 8] }, config: tiny, out: dir }); // warm caches
    const before = numTensors();
    const report = await train({ source: shortSine(1500), model: { units: [8, 8] }, config: tiny, out: dir, overwrite: true });
    const gen = await generateFromFolder({ dir, length: 200 });
    expect(numTensors()).toBe(before);

    expect(report.outcome).toBe('completed');
    expect(regressionMetrics(report.metrics)!.noise_floor).toBeCloseTo(0.0004, 10);
    expect(regressionMetrics(report.metrics)!.persistence_mse).toBeGreaterThan(0);
    expect((await fs.readdir(dir)).sort()).toEqual(['model.json', 'optimizer.bin', 'optimizer.json', 'spec.json', 'training-log.jsonl', 'weights.bin']);
    const log = (await fs.readFile(path.join(dir, 'training-log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(log.filter((r) => r.type === 'epoch').map((r) => r.epoch)).toEqual([1, 2]);
    expect(log.filter((r) => r.type === 'batch')).toHaveLength(8);
    expect(gen.samples).toHaveLength(200);
    expect(gen.truth).toHaveLength(200);
    expect(gen.sampleRate).toBe(44_100);

    // Loaded back, the model predicts exactly what the trained one did (evaluation is deterministic).
    const again = await evaluateFolder(dir);
    expect(regressionMetrics(again.metrics)!.test_mse).toBe(regressionMetrics(report.metrics)!.test_mse);
    const folder = await loadModelFolder(dir);
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['./weights.bin']);
    expect(folder.spec.status).toBe('complete');
    expect(folder.spec.epochsDone).toBe(2);
    folder.model.dispose();
  });

  it('resuming a checkpoint folder gives the same model as training straight through', async () => {
    const straight = path.join(tmp, 'straight');
    const resumed = path.join(tmp, 'resumed');
    await train({ source: shortSine(1500), model: { units: [6] }, config: { ...tiny, epochs: 3 }, out: straight });
    // Stop after epoch 1 (cancel at the first batch of epoch 2), then resume to 3 epochs.
    const ac = new AbortController();
    const first = await train({
      source: shortSine(1500),
      model: { units: [6] },
      config: { ...tiny, epochs: 3 },
      out: resumed,
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'epoch') ac.abort();
      },
    });
    expect(first.outcome).toBe('cancelled');
    expect(JSON.parse(await fs.readFile(path.join(resumed, 'spec.json'), 'utf8')).epochsDone).toBe(1);
    expect(await fs.readdir(resumed)).toContain('optimizer.bin');
    const second = await train({ out: resumed, resume: true });
    expect(second.epochsDone).toBe(3);
    const a = await fs.readFile(path.join(straight, 'weights.bin'));
    const b = await fs.readFile(path.join(resumed, 'weights.bin'));
    expect(b.equals(a)).toBe(true);
    await expect(train({ out: resumed, resume: true })).rejects.toThrow(/already trained 3 epochs/);
    // A finished run keeps Adam's state, so it can train on: one more epoch continues the log.
    expect(await fs.readdir(resumed)).toContain('optimizer.bin');
    const more = await train({ out: resumed, resume: true, config: { epochs: 4 } });
    expect(more.epochsDone).toBe(4);
    expect(more.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a folder whose weights are cut short or missing, naming the file', async () => {
    const dir = path.join(tmp, 'cycle');
    const cut = path.join(tmp, 'cut');
    await fs.cp(dir, cut, { recursive: true });
    const w = await fs.readFile(path.join(cut, 'weights.bin'));
    await fs.writeFile(path.join(cut, 'weights.bin'), w.subarray(0, w.length - 8));
    await expect(loadModelFolder(cut)).rejects.toThrow(/weights.bin holds \d+ bytes, but model.json describes \d+/);
    await fs.rm(path.join(cut, 'weights.bin'));
    await expect(loadModelFolder(cut)).rejects.toThrow(/weights.bin is missing/);
    await fs.rm(path.join(cut, 'spec.json'));
    await expect(loadModelFolder(cut)).rejects.toThrow(/not a Sequence Lab model folder: spec.json is missing/);
    await expect(loadModelFolder(path.join(tmp, 'nothing'))).rejects.toThrow(/does not exist/);
  });

  it('an atomic folder write that fails leaves the old folder whole and no temp folder behind', async () => {
    const dir = path.join(tmp, 'atomic');
    const spec = JSON.stringify({ format: 'sequence-lab-model' }); // only model folders are ever replaced
    await writeFolderAtomic(dir, { 'spec.json': spec, 'a.txt': 'one' });
    await expect(writeFolderAtomic(dir, { 'a.txt': 'two', 'no/such/dir.txt': 'x' })).rejects.toThrow(/Could not write/);
    expect(await fs.readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('one');
    expect((await fs.readdir(tmp)).filter((n) => n.includes('.tmp-'))).toEqual([]);
    await writeFolderAtomic(dir, { 'spec.json': spec, 'b.txt': 'three' });
    expect((await fs.readdir(dir)).sort()).toEqual(['b.txt', 'spec.json']);
    expect((await fs.readdir(tmp)).filter((n) => n.includes('.old-'))).toEqual([]);
  });

  it('generation from a WAV-trained model works in signal units', async () => {
    const { encodeWav } = await import('../../src/shared/signals/wav');
    const { generateSignal } = await import('../../src/shared/signals/generators');
    const wav = path.join(tmp, 'tone.wav');
    const x = generateSignal({ kind: 'sine', length: 1500, frequency: 0.02, amplitude: 0.3, noise: 0.01 });
    for (let i = 0; i < x.length; i++) x[i] += 0.1; // an offset, to check de-normalisation
    await fs.writeFile(wav, encodeWav(x, 8000));
    const dir = path.join(tmp, 'wavmodel');
    const r = await train({ source: { kind: 'wav', path: wav, sampleRate: 1 }, model: { family: 'regression', units: [8] }, config: tiny, out: dir });
    expect(regressionMetrics(r.metrics)!.noise_floor).toBeNull();
    const g = await generateFromFolder({ dir, length: 50 });
    expect(g.sampleRate).toBe(8000);
    const mean = g.samples.reduce((s, v) => s + v, 0) / g.samples.length;
    expect(mean).toBeGreaterThan(-0.3);
    expect(mean).toBeLessThan(0.5);
  });
});
