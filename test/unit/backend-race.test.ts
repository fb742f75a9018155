// Requests that arrive together at a fresh engine each start the backend; they must share one start.
import { describe, expect, it } from 'vitest';
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { initBackend } from '../../src/main/engine/backend';
import { train } from '../../src/main/engine/engine';
import { shortSine } from './helpers';

describe('backend start-up', () => {
  it('concurrent first calls get one backend, and training works after them', async () => {
    delete process.env.SEQUENCE_LAB_BACKEND; // the default order: cuda, node, wasm, cpu
    const infos = await Promise.all([initBackend(), initBackend(), initBackend(), initBackend(null)]);
    expect(new Set(infos.map((i) => i.name)).size).toBe(1);
    expect(infos.every((i) => i === infos[0])).toBe(true);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-race-'));
    try {
      const r = await train({ source: shortSine(1500), model: { units: [8] }, config: { epochs: 1, window: 20, batchSize: 32, maxTrainWindows: 64 }, out: path.join(dir, 'm') });
      expect(r.outcome).toBe('completed');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
