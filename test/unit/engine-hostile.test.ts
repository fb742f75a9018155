// The engine's command handlers against careless or hostile requests: racing train.start, preset names
// that reach Object.prototype, source copies left behind, folders left between a checkpoint's renames.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LabService } from '../../src/main/engine/service';
import * as tf from '@tensorflow/tfjs';
import { checkTrainingBudget } from '../../src/main/engine/budget';
import { train } from '../../src/main/engine/engine';
import { buildModel } from '../../src/main/engine/families/regression/model';
import { loadModelFolder, recoverModelsDir, writeFolderAtomic } from '../../src/main/engine/store';
import { modelMse } from '../../src/main/engine/families/regression/evaluate';
import { packState, zeroState } from '../../src/shared/packed-state';
import type { EventName, EventPayload } from '../../src/shared/protocol';
import { useBackend } from './helpers';

type Ev = { event: EventName; payload: EventPayload<EventName> };

let dir: string;
let events: Ev[];
let service: LabService;
let onEvent: (e: Ev) => void = () => {};

function waitFor(pred: (e: Ev) => boolean, ms = 30_000): Promise<Ev> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      const hit = events.find(pred);
      if (hit) return resolve(hit);
      if (Date.now() - t0 > ms) return reject(new Error('timed out waiting for an event'));
      setTimeout(tick, 20);
    };
    tick();
  });
}

const done = (runId: string) => (e: Ev) => e.event === 'train.done' && (e.payload as { runId: string }).runId === runId;
const tinySine = { kind: 'preset' as const, name: 'sine', signal: { kind: 'sine' as const, length: 1500, frequency: 0.01, amplitude: 1, phase: 0, noise: 0.02, seed: 1 } };
const tinyModel = { units: [8] };
const tinyConfig = { epochs: 1, window: 20, batchSize: 32, maxTrainWindows: 128 };

beforeAll(async () => {
  await useBackend();
});

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-hostile-'));
  events = [];
  onEvent = () => {};
  service = new LabService({
    modelsDir: dir,
    backend: 'wasm',
    emit: (event, payload) => {
      events.push({ event, payload } as Ev);
      onEvent({ event, payload } as Ev);
    },
  });
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('one training slot', () => {
  it('of two train.start sent together, one runs and the other is told the engine is busy; cancel still reaches the first', async () => {
    const slow = { ...tinyConfig, epochs: 50, maxTrainWindows: 0 };
    const results = await Promise.allSettled([
      service.handle('train.start', { name: 'a', source: tinySine, model: tinyModel, config: slow, runId: 'ra' }),
      service.handle('train.start', { name: 'b', source: tinySine, model: tinyModel, config: slow, runId: 'rb' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason.code).toBe('busy');
    expect(refused.reason.message).toMatch(/already training "a"/);
    await expect(service.handle('models.delete', { name: 'a' })).rejects.toMatchObject({ code: 'busy' });
    expect(await service.handle('train.cancel', { runId: 'ra' })).toEqual({ cancelled: true });
    const d = await waitFor(done('ra'));
    expect((d.payload as { outcome: string }).outcome).toBe('cancelled');
    expect(existsSync(path.join(dir, 'b'))).toBe(false);
  });
});

describe('preset names that are properties of Object.prototype', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('"%s" is refused as an unknown preset, and nothing is saved', async (name) => {
    await expect(service.handle('signal.preview', { source: { kind: 'preset', name } })).rejects.toThrow(/unknown preset; expected one of sine/);
    await expect(service.handle('train.start', { name: 'p', source: { kind: 'preset', name }, model: tinyModel, config: tinyConfig })).rejects.toThrow(/unknown preset/);
    expect(await fs.readdir(dir)).toEqual([]);
  });
});

describe('copies of training audio in .sources', () => {
  const samples = (n: number) => ({ kind: 'samples' as const, name: 'take.wav', sampleRate: 8000, samples: Float32Array.from({ length: n }, (_, i) => Math.sin(i / 5)) });
  const sources = async () => (await fs.readdir(path.join(dir, '.sources')).catch(() => [])).length;

  it('are removed when a run fails before its first checkpoint', async () => {
    // 21 samples make one window of 20, too few for three splits: the run fails after the copy is written.
    await service.handle('train.start', { name: 'short', source: samples(21), model: tinyModel, config: tinyConfig, runId: 'r1' });
    const d = await waitFor(done('r1'));
    expect((d.payload as { error: { message: string } }).error.message).toMatch(/split is empty/);
    // The clean-up runs right after train.done; poll briefly for it rather than sleeping blindly.
    for (let i = 0; i < 100 && (await sources()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await sources()).toBe(0);
  });

  it('are removed with the model that used them, and unused ones at start-up', async () => {
    await service.handle('train.start', { name: 'kept', source: samples(1500), model: tinyModel, config: tinyConfig, runId: 'r2' });
    expect((await waitFor(done('r2'))).payload).toMatchObject({ outcome: 'completed' });
    expect(await sources()).toBe(1);
    await fs.writeFile(path.join(dir, '.sources', 'orphan-1.wav'), 'left by an older version');
    expect(await service.recover()).toEqual(['removed unused source copy orphan-1.wav']);
    expect(await sources()).toBe(1);
    expect(await service.handle('models.delete', { name: 'kept' })).toEqual({ deleted: true });
    expect(await sources()).toBe(0);
  });
});

describe('a crash between the two renames of a checkpoint', () => {
  it('the folder left as .NAME.old-* is put back at start-up, and temp folders are removed', async () => {
    await writeFolderAtomic(path.join(dir, 'm'), { 'spec.json': JSON.stringify({ format: 'sequence-lab-model', epoch: 1 }) });
    // What a kill between the renames leaves: the old folder moved aside, the new one still a temp.
    await fs.rename(path.join(dir, 'm'), path.join(dir, '.m.old-99999-lx1a2b3c-abcdef'));
    await fs.mkdir(path.join(dir, '.m.tmp-99999-lx1a2b3c-abcdef'));
    const log = await recoverModelsDir(dir);
    expect(log).toEqual(['removed unfinished write .m.tmp-99999-lx1a2b3c-abcdef', 'restored m from .m.old-99999-lx1a2b3c-abcdef']);
    expect(await fs.readdir(dir)).toEqual(['m']);
    expect(JSON.parse(await fs.readFile(path.join(dir, 'm', 'spec.json'), 'utf8')).epoch).toBe(1);
  });

  it('a folder that is not a model folder is never replaced', async () => {
    const mine = path.join(dir, 'photos');
    await fs.mkdir(mine);
    await fs.writeFile(path.join(mine, 'cat.jpg'), 'meow');
    await expect(writeFolderAtomic(mine, { 'spec.json': '{}' })).rejects.toThrow(/photos is not a Sequence Lab model folder \(it holds 1 other file, e.g. cat.jpg\); refusing to replace it/);
    expect(await fs.readFile(path.join(mine, 'cat.jpg'), 'utf8')).toBe('meow');
  });
});

describe('work bounded and cancellable (the engine is never held hostage)', () => {
  it('refuses layers over 1024 units and runs that would not fit in memory, naming the limit', async () => {
    await expect(service.handle('train.start', { name: 'big', source: tinySine, model: { units: [4096] }, config: tinyConfig })).rejects.toThrow(/model.units.0: .*1024/);
    await expect(service.handle('train.start', { name: 'huge', source: tinySine, model: tinyModel, config: { ...tinyConfig, window: 65_536, batchSize: 65_536 }, runId: 'h' })).resolves.toEqual({ runId: 'h' });
    const d = (await waitFor(done('h'))).payload as { error: { code: string; message: string } };
    expect(d.error.code).toBe('bad_argument');
    expect(d.error.message).toMatch(/windows of 65536 in batches of 65536 needs about \d+\.\d GB, over the limit of \d+\.\d GB \(a quarter of this machine's memory\)/);
    expect(checkTrainingBudget.bind(null, { type: 'lstm', units: [16, 16, 16] }, { window: 100, batchSize: 128 }, 'fused', 2 * 1024 ** 3)).not.toThrow();
    expect(() => checkTrainingBudget({ type: 'lstm', units: [16] }, { window: 100, batchSize: 128 }, 'fused', 1024 ** 2)).toThrow(/lower the window, the batch size or the units/);
  });

  it('builds recurrent kernels equal to tfjs-layers\' orthogonal initializer, without its slow QR', () => {
    const model = buildModel({ type: 'lstm', units: [16, 12] }, 5);
    for (const [i, units] of [16, 12].entries()) {
      const rk = model.layers[i].getWeights()[1];
      const ref = tf.initializers.orthogonal({ seed: 5 + 3 * i + 1 }).apply([units, 4 * units]);
      expect(tf.tidy(() => rk.sub(ref).abs().max().dataSync()[0])).toBeLessThan(1e-5);
      ref.dispose();
    }
    model.dispose();
  });

  it('a final evaluation stops when the run is cancelled, and the checkpoint stays without metrics', async () => {
    const controller = new AbortController();
    const out = path.join(dir, 'cancel-eval');
    const r = await train({
      source: tinySine,
      model: tinyModel,
      config: tinyConfig,
      out,
      backend: 'wasm',
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'epoch') controller.abort(); // after the last batch: only the evaluation is left
      },
    });
    expect(r.outcome).toBe('cancelled');
    expect(r.message).toBe('Cancelled during the final evaluation');
    const spec = JSON.parse(await fs.readFile(path.join(out, 'spec.json'), 'utf8'));
    expect(spec.status).toBe('checkpoint');
    expect(spec.metrics).toBeNull();
    const controller2 = new AbortController();
    controller2.abort();
    await expect(evaluateFolderWith(out, controller2.signal)).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('a long generation lets other requests through, and a many-stream state is refused', async () => {
    await service.handle('train.start', { name: 'g', source: tinySine, model: tinyModel, config: tinyConfig, runId: 'rg' });
    await waitFor(done('rg'));
    const order: string[] = [];
    let list: Promise<unknown> | null = null;
    // Ask for the list once generation is computing (at its first chunk), not while it loads the model.
    onEvent = (e) => {
      if (e.event === 'generate.chunk' && !list) list = service.handle('models.list', {}).then(() => order.push('list'));
    };
    await service.handle('generate.start', { name: 'g', length: 1_000_000, chunkSize: 4096 }).then(() => order.push('generate'));
    await list;
    expect(order).toEqual(['list', 'generate']);
    const state = packState(zeroState('lstm', 100, [8]));
    await expect(service.handle('generate.start', { name: 'g', length: 10, state })).rejects.toThrow(/holds 100 streams; generation continues exactly one/);
  });
});

/** The test split's error of a saved model, through the same cancellable path as the final evaluation. */
async function evaluateFolderWith(out: string, signal: AbortSignal): Promise<number> {
  const folder = await loadModelFolder(out);
  try {
    const { WindowDataset } = await import('../../src/main/engine/dataset');
    const ds = new WindowDataset(new Float32Array(3000).map((_, i) => Math.sin(i / 10)), folder.spec.train.window, folder.spec.train);
    return await modelMse(folder.model, 'lstm', ds, ds.splits.test, signal);
  } finally {
    tf.dispose(folder.optimizerWeights?.map((w) => w.tensor) ?? []);
    folder.model.dispose();
  }
}
