// Runs are never lost: train.start refuses a name that holds a model unless asked to replace it, and
// a saved model gives back what it was made of (for "Duplicate run") and when and how long it ran.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LabService } from '../../src/main/engine/service';
import type { EventPayload } from '../../src/shared/protocol';
import { useBackend } from './helpers';

let dir: string;
let service: LabService;
let finished: Map<string, EventPayload<'train.done'>>;

const tinySine = { kind: 'preset' as const, name: 'sine', signal: { kind: 'sine' as const, length: 1500, frequency: 0.01, amplitude: 1, phase: 0, noise: 0.02, seed: 1 } };
const tinyConfig = { epochs: 2, window: 20, batchSize: 32, maxTrainWindows: 128 };

async function trainTo(name: string, runId: string, overwrite?: boolean): Promise<EventPayload<'train.done'>> {
  await service.handle('train.start', { name, source: tinySine, model: { units: [8] }, config: tinyConfig, runId, overwrite });
  for (;;) {
    const d = finished.get(runId);
    if (d) return d;
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  await useBackend();
});

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-runs-'));
  finished = new Map();
  service = new LabService({ modelsDir: dir, backend: 'wasm', emit: (event, p) => event === 'train.done' && finished.set((p as EventPayload<'train.done'>).runId, p as EventPayload<'train.done'>) });
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('train.start and an existing model', () => {
  it('refuses with code exists unless overwrite is set, and leaves the saved model as it was', async () => {
    const first = await trainTo('m', 'r1');
    expect(first.outcome).toBe('completed');
    const before = await service.handle('models.get', { name: 'm' });
    await expect(service.handle('train.start', { name: 'm', source: tinySine, config: tinyConfig })).rejects.toMatchObject({ code: 'exists', message: expect.stringMatching(/A model named "m" already exists/) });
    expect((await service.handle('models.get', { name: 'm' })).summary).toEqual(before.summary);
    // The slot was released: the same request with overwrite runs.
    expect((await trainTo('m', 'r2', true)).outcome).toBe('completed');
  });

  it('a saved model says what it was made of, when it began and how long it trained', async () => {
    await trainTo('d', 'r3');
    const got = await service.handle('models.get', { name: 'd' });
    expect(got.settings).toMatchObject({ model: { type: 'lstm', units: [8] }, train: { epochs: 2, window: 20, batchSize: 32 }, source: { kind: 'preset', name: 'sine' } });
    expect(got.summary.trainSeconds).toBeGreaterThan(0);
    expect(Date.parse(got.summary.createdAt!)).toBeLessThanOrEqual(Date.parse(got.summary.updatedAt));
    const { models } = await service.handle('models.list', {});
    expect(models[0]).toMatchObject({ name: 'd', outcome: 'completed', trainSeconds: got.summary.trainSeconds });
  });
});
