// `sequence-lab doctor`: every backend listed with whether it loads and why not, the CUDA libraries
// found, Electron, Chromium and the models directory; what a user reads to fix their machine.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findCudaLibraries, formatReport, runDoctor, type DoctorReport } from '../../src/main/doctor';

describe('finding the CUDA libraries tfjs-node-gpu needs', () => {
  const ldconfig = [
    '1234 libs found in cache `/etc/ld.so.cache`',
    '\tlibcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda-11.2/lib64/libcudart.so.11.0',
    '\tlibcudart.so.12 (libc6,x86-64) => /usr/local/cuda-12.4/lib64/libcudart.so.12',
    '\tlibcudnn.so.9 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.9',
    '\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1',
  ].join('\n');

  it('takes CUDA 11 and cuDNN 8 from ldconfig, not other majors', () => {
    expect(findCudaLibraries(ldconfig, undefined, () => [])).toEqual({ libcudart: ['/usr/local/cuda-11.2/lib64/libcudart.so.11.0'], libcudnn: [] });
  });

  it('also looks in each LD_LIBRARY_PATH folder', () => {
    const dirs: Record<string, string[]> = { '/opt/cudnn/lib': ['libcudnn.so.8', 'libcudnn.so.8.1.1', 'libcudnn_ops_infer.so.8'], '/nowhere': [] };
    const found = findCudaLibraries('', `/opt/cudnn/lib${path.delimiter}/nowhere`, (d) => dirs[d] ?? []);
    expect(found).toEqual({ libcudart: [], libcudnn: ['/opt/cudnn/lib/libcudnn.so.8', '/opt/cudnn/lib/libcudnn.so.8.1.1'] });
  });
});

describe('sequence-lab doctor on this machine', () => {
  let models: string;
  let report: DoctorReport;
  let code: number;
  const savedChromium = process.env.CHROMIUM_PATH;

  beforeAll(async () => {
    models = mkdtempSync(path.join(tmpdir(), 'seqlab-doctor-'));
    mkdirSync(path.join(models, 'sine-1'));
    process.env.CHROMIUM_PATH = path.join(models, 'no-chromium-here');
    let out = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    try {
      code = await runDoctor(['--json', '--models', models]);
    } finally {
      write.mockRestore();
    }
    report = JSON.parse(out) as DoctorReport;
  });
  afterAll(() => {
    if (savedChromium === undefined) delete process.env.CHROMIUM_PATH;
    else process.env.CHROMIUM_PATH = savedChromium;
    rmSync(models, { recursive: true, force: true });
  });

  it('lists every backend in the engine order, each loaded or with a reason and a fix', () => {
    expect(report.backends.map((b) => b.name)).toEqual(['cuda', 'node', 'wasm', 'cpu']);
    for (const b of report.backends) {
      if (b.loaded) expect(b.reason).toBeNull();
      else expect([b.reason, b.fix].every((s) => typeof s === 'string' && s.length > 10), b.name).toBe(true);
    }
    // The wasm and cpu backends ship with the npm packages, so they load everywhere.
    expect(report.backends.filter((b) => b.loaded).map((b) => b.name)).toEqual(expect.arrayContaining(['wasm', 'cpu']));
    expect(report.backends.find((b) => b.name === 'wasm')!.detail).toHaveProperty('simd');
    expect(report.engineWouldUse).toBe(report.backends.find((b) => b.loaded)!.name);
    expect(code).toBe(0);
  });

  it('says which CUDA and cuDNN the GPU backend needs and what it found', () => {
    expect(report.cuda.needs).toEqual({ cuda: '11.2', cudnn: '8.1' });
    expect(Array.isArray(report.cuda.libcudart) && Array.isArray(report.cuda.libcudnn)).toBe(true);
    const cuda = report.backends[0];
    if (!cuda.loaded && report.cuda.libcudart.length === 0) expect(cuda.fix).toMatch(/CUDA 11\.2.*cuDNN 8\.1/);
  });

  it('reports the Electron runtime, Chromium and the models directory with its free space', () => {
    expect(typeof report.electron.present).toBe('boolean');
    if (!report.electron.present) expect(report.electron.reason).toMatch(/Electron/);
    expect(report.chromium).toMatchObject({ present: false, path: process.env.CHROMIUM_PATH });
    expect(report.chromium.fix).toMatch(/apt-get install chromium/);
    expect(report.models).toMatchObject({ dir: models, exists: true, writable: true, models: 1, problem: null });
    expect(report.models.freeBytes).toBeGreaterThan(0);
  });

  it('prints the same as lines a person reads: each backend, each fix, the free space', () => {
    const text = formatReport(report);
    for (const b of report.backends) expect(text).toMatch(new RegExp(`^  ${b.name}\\s+(yes|no)`, 'm'));
    expect(text).toMatch(/needs CUDA 11\.2 and cuDNN 8\.1/);
    expect(text.match(/fix: /g)?.length).toBe(report.backends.filter((b) => !b.loaded).length + 1 + (report.electron.fix ? 1 : 0));
    expect(text).toMatch(new RegExp(`Models directory  ${models}: 1 model folder, [\\d.]+ [KMGT]?B free`));
  });

  it('refuses an unknown option, naming it', async () => {
    await expect(runDoctor(['--gpu'])).rejects.toMatchObject({ code: 'bad_argument', message: expect.stringMatching(/--gpu/) });
  });
});
