// The built preload, loaded the way Electron's sandboxed renderer loads it: `require` knows only
// 'electron', 'events', 'timers' and 'url'. If it needs anything else, window.lab never appears.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CALL_CHANNEL, COMMAND_NAMES, EVENT_CHANNEL } from '../../src/shared/protocol-names';
import { ensureDesktopBuilt } from '../fixtures/fake-electron/desktop-build';
import { loadSandboxedPreload, SANDBOX_MODULES, type SandboxedPage } from '../fixtures/fake-electron/sandbox.mjs';

interface Lab {
  commands: Record<string, (args: unknown) => Promise<unknown>>;
  call(command: string, args: unknown): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }>;
  on(event: string, listener: (payload: unknown) => void): () => void;
}

let preload: string;
beforeAll(async () => {
  preload = (await ensureDesktopBuilt()).preload;
});

/** A main process that records each invoke and answers like the real one. */
function loadPage(): { page: SandboxedPage; lab: Lab; calls: { channel: string; args: unknown[] }[] } {
  const calls: { channel: string; args: unknown[] }[] = [];
  const page = loadSandboxedPreload(preload, {
    invoke: async (channel, args) => {
      calls.push({ channel, args });
      const [command, a] = args as [string, { samples?: Float32Array }];
      if (command === 'engine.info') return { ok: true, result: { protocol: 1, backend: 'wasm' } };
      return { ok: true, result: { echoed: a } };
    },
  });
  return { page, lab: page.mainWorld.lab as Lab, calls };
}

describe('the preload in a sandboxed renderer', () => {
  it('requires nothing but electron, in its source and when it runs', () => {
    const source = readFileSync(preload, 'utf8');
    const required = [...source.matchAll(/\brequire\((['"])([^'"]+)\1\)/g)].map((m) => m[2]);
    expect(new Set(required)).toEqual(new Set(['electron']));
    const { page } = loadPage();
    expect(page.required.every((m) => SANDBOX_MODULES.includes(m))).toBe(true);
    expect(source.length).toBeLessThan(20_000); // no zod, no contract, no signal generators
  });

  it('exposes window.lab: call, on, and one function per command; never ipcRenderer', () => {
    const { page, lab } = loadPage();
    expect(Object.keys(page.mainWorld)).toEqual(['lab']);
    expect(Object.keys(lab).sort()).toEqual(['call', 'commands', 'on']);
    expect(Object.keys(lab.commands).sort()).toEqual([...COMMAND_NAMES].sort());
    const reachable = (v: unknown, seen = new Set<unknown>()): unknown[] => {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) return [];
      seen.add(v);
      return [v, ...Object.values(v as object).flatMap((x) => reachable(x, seen))];
    };
    expect(reachable(page.exposed.get('lab'))).not.toContain(page.ipcRenderer);
  });

  it('round-trips a call: page -> preload -> main process and back, Float32Array intact', async () => {
    const { lab, calls } = loadPage();
    await expect(lab.call('engine.info', {})).resolves.toEqual({ ok: true, result: { protocol: 1, backend: 'wasm' } });
    expect(calls).toEqual([{ channel: CALL_CHANNEL, args: ['engine.info', {}] }]);
    const samples = new Float32Array([0.25, -1, 3e-8]);
    const r = (await lab.commands['signal.preview']({ samples })) as { result: { echoed: { samples: Float32Array } } };
    expect(r.result.echoed.samples).toBeInstanceOf(Float32Array);
    expect(Array.from(r.result.echoed.samples)).toEqual(Array.from(samples));
  });

  it('refuses an unknown command without bothering the main process', async () => {
    const { lab, calls } = loadPage();
    await expect(lab.call('engine.shutdown', {})).resolves.toEqual({ ok: false, error: { code: 'bad_message', message: 'Unknown command "engine.shutdown"' } });
    expect(calls).toEqual([]);
  });

  it('delivers an event to its subscribers only, until they unsubscribe', () => {
    const { page, lab } = loadPage();
    const progress: unknown[] = [];
    const status: unknown[] = [];
    const off = lab.on('train.progress', (p) => progress.push(p));
    lab.on('engine.status', (p) => status.push(p));
    const payload = { runId: 'r1', name: 'sine', progress: { type: 'notice', level: 'info', message: 'hi' } };
    page.deliver(EVENT_CHANNEL, ['train.progress', payload]);
    expect(progress).toEqual([payload]);
    expect(status).toEqual([]);
    off();
    page.deliver(EVENT_CHANNEL, ['train.progress', payload]);
    expect(progress).toHaveLength(1);
    expect(page.ipcRenderer.listenerCount(EVENT_CHANNEL)).toBe(1);
    expect(() => lab.on('train.everything', () => {})).toThrow(/Unknown event "train.everything"/);
  });

  it('would have caught a preload that requires a package (the sandbox refuses it)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'seqlab-preload-'));
    try {
      const bad = path.join(dir, 'bad.cjs');
      writeFileSync(bad, 'require("pure-rand/generator/xoroshiro128plus");\nrequire("electron").contextBridge.exposeInMainWorld("lab", {});\n');
      expect(() => loadSandboxedPreload(bad, { invoke: async () => null })).toThrow(/module not found: pure-rand/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
