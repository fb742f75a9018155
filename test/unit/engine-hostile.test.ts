// The engine's command handlers against careless or hostile requests: racing train.start, preset names
// that reach Object.prototype, source copies left behind, folders left between a checkpoint's renames.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LabService } from '../../src/main/engine/service';
import { recoverModelsDir, writeFolderAtomic } from '../../src/main/engine/store';
import type { EventName, EventPayload } from '../../src/shared/protocol';
import { useBackend } from './helpers';

type Ev = { event: EventName; payload: EventPayload<EventName> };

let dir: string;
let events: Ev[];
let service: LabService;

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
const tinySine = { kind: 'preset' as const, name: 'sine', signal: { kind: 'sine' as const, length: 1500, frequency: 0.01, noise: 0.02, seed: 1 } };
const tinyModel = { units: [8] };
const tinyConfig = { epochs: 1, window: 20, batchSize: 32, maxTrainWindows: 128 };

beforeAll(async () => {
  await useBackend();
});

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-hostile-'));
  events = [];
  service = new LabService({ modelsDir: dir, backend: 'wasm', emit: (event, payload) => events.push({ event, payload } as Ev) });
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
