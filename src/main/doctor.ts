// `sequence-lab doctor`: what this machine can run and, where something cannot, why and how to fix
// it: each TensorFlow.js backend in the engine's order of preference (the CUDA libraries that
// @tensorflow/tfjs-node-gpu needs, and what was found), the Electron runtime, Chromium for the
// end-to-end tests, the models directory and its free space. Each backend is tried in a child
// process of its own, as the engine would load it, so that one native library cannot mask another.
import type { DoctorReportData } from '../shared/protocol';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LabError } from '../shared/errors';
import { BACKEND_NAMES, type BackendName } from './engine/backend';

/** The CUDA and cuDNN that @tensorflow/tfjs-node-gpu 4.x (TensorFlow 2.9) is built against. */
export const TFJS_GPU_NEEDS = { cuda: '11.2', cudnn: '8.1', libraries: ['libcudart.so.11', 'libcudnn.so.8'] } as const;

/** This file is src/main/doctor.ts or, bundled, out/main/cli.js: the project root is two levels up. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROBE_TIMEOUT_MS = 90_000;

export interface BackendReport {
  name: BackendName;
  loaded: boolean;
  /** Why not, in one line (null when it loaded). */
  reason: string | null;
  /** What to do about it (null when it loaded or nothing can be done here). */
  fix: string | null;
  /** Backend-specific facts: versions, SIMD and threads for wasm, GPU use for cuda. */
  detail: Record<string, unknown>;
}

export interface CudaFindings {
  /** Paths of libcudart.so.11* and libcudnn.so.8* found through ldconfig or LD_LIBRARY_PATH. */
  libcudart: string[];
  libcudnn: string[];
  /** nvidia-smi's GPUs ("name, driver version, memory"), or null when nvidia-smi is absent or fails. */
  gpus: string[] | null;
}

export interface DoctorReport {
  node: { version: string; engines: string; ok: boolean };
  backends: BackendReport[];
  /** The backend the engine would start with (the first that loaded), or null. */
  engineWouldUse: BackendName | null;
  cuda: CudaFindings & { needs: { cuda: string; cudnn: string } };
  electron: { present: boolean; version: string | null; path: string | null; reason: string | null; fix: string | null };
  chromium: { present: boolean; path: string; version: string | null; fix: string | null };
  models: { dir: string; exists: boolean; writable: boolean; freeBytes: number | null; models: number; problem: string | null };
}

// ---- CUDA libraries ------------------------------------------------------------------------------

/**
 * The CUDA libraries tfjs-node-gpu needs, from `ldconfig -p` output and the files in each
 * LD_LIBRARY_PATH folder (listed by `listDir`). Pure, so tests can feed it any machine.
 */
export function findCudaLibraries(ldconfigOutput: string, ldLibraryPath: string | undefined, listDir: (dir: string) => string[]): Pick<CudaFindings, 'libcudart' | 'libcudnn'> {
  const found = { libcudart: new Set<string>(), libcudnn: new Set<string>() };
  const add = (file: string, where: string) => {
    if (/^libcudart\.so\.11(\.|$)/.test(file)) found.libcudart.add(where);
    if (/^libcudnn\.so\.8(\.|$)/.test(file)) found.libcudnn.add(where);
  };
  for (const line of ldconfigOutput.split('\n')) {
    const m = /^\s*(\S+)\s.*=>\s*(\S+)\s*$/.exec(line);
    if (m) add(m[1], m[2]);
  }
  for (const dir of (ldLibraryPath ?? '').split(path.delimiter).filter(Boolean)) {
    for (const file of listDir(dir)) add(file, path.join(dir, file));
  }
  return { libcudart: [...found.libcudart].sort(), libcudnn: [...found.libcudnn].sort() };
}

function run(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout : null;
}

function cudaFindings(): CudaFindings {
  const ldconfig = run('ldconfig', ['-p']) ?? run('/sbin/ldconfig', ['-p']) ?? '';
  const listDir = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  const libs = findCudaLibraries(ldconfig, process.env.LD_LIBRARY_PATH, listDir);
  const smi = run('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']);
  return { ...libs, gpus: smi === null ? null : smi.split('\n').map((l) => l.trim()).filter(Boolean) };
}

// ---- Backends ----------------------------------------------------------------------------------

/**
 * Loads one backend in a fresh Node process, as the engine would, and prints one line:
 * PROBE {"ok": ..., "reason": ..., "detail": ...}. Plain CommonJS, so it needs no TypeScript loader.
 */
const PROBE = String.raw`
const { createRequire } = require('node:module');
const [name, root] = process.argv.slice(1);
const req = createRequire(root + '/package.json');
const report = (r) => { process.stdout.write('\nPROBE ' + JSON.stringify(r) + '\n'); process.exit(0); };
const firstLine = (e) => String((e && e.message) || e).split('\n')[0].slice(0, 300);
(async () => {
  if (name === 'cuda' || name === 'node') {
    const pkg = name === 'cuda' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
    try { req.resolve(pkg); } catch { return report({ ok: false, stage: 'install', reason: pkg + ' is not installed (npm drops this optional dependency when its install script cannot download the native TensorFlow library)' }); }
    let tf;
    try { tf = req(pkg); } catch (e) { return report({ ok: false, stage: 'load', reason: pkg + ' failed to load: ' + firstLine(e) }); }
    await tf.ready();
    const b = tf.backend();
    const detail = { package: pkg, version: tf.version && tf.version['tfjs-core'] };
    if (typeof b.isUsingGpuDevice === 'boolean') detail.usingGpu = b.isUsingGpuDevice;
    return report(tf.getBackend() === 'tensorflow' ? { ok: true, detail } : { ok: false, stage: 'start', reason: pkg + ' loaded but its backend did not start', detail });
  }
  const tf = req('@tensorflow/tfjs');
  tf.env().set('PROD', true);
  if (name === 'wasm') req('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(name))) return report({ ok: false, stage: 'start', reason: 'the ' + name + ' backend did not start' });
  await tf.ready();
  const detail = { version: tf.version_core };
  if (name === 'wasm') {
    detail.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    detail.threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }
  report({ ok: true, detail });
})().catch((e) => report({ ok: false, stage: 'load', reason: firstLine(e) }));
`;

interface ProbeResult {
  ok: boolean;
  stage?: 'install' | 'load' | 'start';
  reason?: string;
  detail?: Record<string, unknown>;
}

function probe(name: BackendName): Promise<ProbeResult> {
  return new Promise((resolve) => {
    // ELECTRON_RUN_AS_NODE: inside the desktop app's engine (a utilityProcess) execPath is Electron itself.
    const child = spawn(process.execPath, ['-e', PROBE, name, ROOT], { stdio: ['ignore', 'pipe', 'pipe'], timeout: PROBE_TIMEOUT_MS, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith('PROBE '));
      if (line) return resolve(JSON.parse(line.slice(6)) as ProbeResult);
      // A native library can take the process down with it (a missing symbol, a CUDA abort).
      const last = err.trim().split('\n').pop() ?? '';
      resolve({ ok: false, stage: 'load', reason: `loading it ended the process (${signal ? `signal ${signal}` : `exit code ${code}`})${last ? `: ${last.slice(0, 200)}` : ''}` });
    });
  });
}

function backendFix(name: BackendName, r: ProbeResult, cuda: CudaFindings): string | null {
  if (r.ok) return null;
  switch (name) {
    case 'cuda': {
      const steps = [
        cuda.gpus === null ? 'install an NVIDIA driver (nvidia-smi was not found)' : null,
        cuda.libcudart.length && cuda.libcudnn.length
          ? null
          : `install CUDA ${TFJS_GPU_NEEDS.cuda} (libcudart.so.11.0) and cuDNN ${TFJS_GPU_NEEDS.cudnn} (libcudnn.so.8) where ldconfig or LD_LIBRARY_PATH finds them (e.g. LD_LIBRARY_PATH=/usr/local/cuda-11.2/lib64)`,
        r.stage === 'install' ? 'then npm install (its install script downloads the GPU build of libtensorflow)' : 'then npm rebuild @tensorflow/tfjs-node-gpu',
      ];
      return steps.filter(Boolean).join('; ');
    }
    case 'node':
      return r.stage === 'install'
        ? 'npm install downloads the native TensorFlow library for @tensorflow/tfjs-node; where that download is blocked, the wasm backend is used'
        : 'npm rebuild @tensorflow/tfjs-node (its native library is missing or for another platform)';
    case 'wasm':
      return 'reinstall @tensorflow/tfjs-backend-wasm (npm install); its .wasm files must sit beside its dist/ scripts';
    case 'cpu':
      return 'reinstall @tensorflow/tfjs (npm install)';
  }
}

// ---- Electron, Chromium, models ------------------------------------------------------------------

function electronRuntime(): DoctorReport['electron'] {
  const require = createRequire(path.join(ROOT, 'package.json'));
  let dir: string;
  let version: string | null = null;
  try {
    dir = path.dirname(require.resolve('electron/package.json'));
    version = (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return { present: false, version: null, path: null, reason: 'the electron package is not installed (it is a dev dependency)', fix: 'npm install in a clone of the project' };
  }
  const pathFile = path.join(dir, 'path.txt');
  const bin = existsSync(pathFile) ? path.join(dir, 'dist', readFileSync(pathFile, 'utf8').trim()) : null;
  if (!bin || !existsSync(bin)) {
    return {
      present: false,
      version,
      path: null,
      reason: `the Electron ${version} runtime is not downloaded (npm install does not fetch it)`,
      fix: 'npm start downloads it on first start (from GitHub releases, or $ELECTRON_MIRROR); until then npm start opens browser mode',
    };
  }
  // ELECTRON_RUN_AS_NODE: the binary answers like node, so this needs no display and opens no window.
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || `exit code ${r.status}`).trim().split('\n')[0].slice(0, 200);
    return { present: false, version, path: bin, reason: `the Electron runtime is there but does not start: ${why}`, fix: 'install the libraries it names (on Debian: apt-get install libgtk-3-0 libnss3 libasound2 libgbm1)' };
  }
  const display = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  return { present: true, version, path: bin, reason: display ? null : 'no display: the window needs DISPLAY or WAYLAND_DISPLAY (or xvfb-run for the tests)', fix: null };
}

function chromium(): DoctorReport['chromium'] {
  const bin = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(bin)) return { present: false, path: bin, version: null, fix: 'apt-get install chromium (or set CHROMIUM_PATH); the end-to-end tests are skipped without it' };
  const v = run(bin, ['--version', '--no-sandbox']);
  return { present: true, path: bin, version: v?.trim() ?? null, fix: null };
}

async function modelsDir(dir: string): Promise<DoctorReport['models']> {
  let exists = false;
  let models = 0;
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    exists = true;
    models = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).length;
  } catch {
    // Not there yet: the engine creates it; measure the folder it would be made in.
  }
  let probeDir = dir;
  while (!existsSync(probeDir) && path.dirname(probeDir) !== probeDir) probeDir = path.dirname(probeDir);
  let writable = false;
  let freeBytes: number | null = null;
  try {
    await fs.access(probeDir, fs.constants.W_OK);
    writable = true;
  } catch {
    // reported below
  }
  try {
    const s = await fs.statfs(probeDir);
    freeBytes = s.bavail * s.bsize;
  } catch {
    // statfs is not available everywhere
  }
  const problem = !writable ? `${probeDir} is not writable` : freeBytes !== null && freeBytes < 100 * 2 ** 20 ? `only ${formatBytes(freeBytes)} free` : null;
  return { dir, exists, writable, freeBytes, models, problem };
}

function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function nodeVersion(): DoctorReport['node'] {
  const engines = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node ?? '*';
  const [major, minor] = process.versions.node.split('.').map(Number);
  // engines is "^20.19.0 || >=22.12.0"; checked here without a semver library.
  const ok = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22;
  return { version: process.version, engines, ok };
}

// ---- Report ------------------------------------------------------------------------------------

// The report crosses the protocol for the UI's about box; its schema there must describe it exactly.
const _sameShape: DoctorReportData = {} as DoctorReport;
void _sameShape;

export async function diagnose(options: { modelsDir: string }): Promise<DoctorReport> {
  const cuda = cudaFindings();
  const results = await Promise.all(BACKEND_NAMES.map((n) => probe(n)));
  const backends = BACKEND_NAMES.map((name, i): BackendReport => {
    const r = results[i];
    return { name, loaded: r.ok, reason: r.ok ? null : (r.reason ?? 'unknown'), fix: backendFix(name, r, cuda), detail: r.detail ?? {} };
  });
  return {
    node: nodeVersion(),
    backends,
    engineWouldUse: backends.find((b) => b.loaded)?.name ?? null,
    cuda: { ...cuda, needs: { cuda: TFJS_GPU_NEEDS.cuda, cudnn: TFJS_GPU_NEEDS.cudnn } },
    electron: electronRuntime(),
    chromium: chromium(),
    models: await modelsDir(options.modelsDir),
  };
}

export function formatReport(r: DoctorReport): string {
  const lines: string[] = [];
  const yes = (b: boolean) => (b ? 'yes' : 'no ');
  lines.push(`Node.js           ${r.node.version} (package.json wants ${r.node.engines}${r.node.ok ? '' : ': NOT MET'})`);
  lines.push('', 'Backends, in the order the engine tries them:');
  for (const b of r.backends) {
    const facts = Object.entries(b.detail)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
    lines.push(`  ${b.name.padEnd(5)} ${yes(b.loaded)}  ${b.loaded ? facts : b.reason}`);
    if (b.name === 'cuda') {
      const list = (xs: string[]) => (xs.length ? xs.join(', ') : 'none found');
      lines.push(`               needs CUDA ${r.cuda.needs.cuda} and cuDNN ${r.cuda.needs.cudnn} (tfjs-node-gpu 4.x)`);
      lines.push(`               libcudart.so.11*: ${list(r.cuda.libcudart)}; libcudnn.so.8*: ${list(r.cuda.libcudnn)}`);
      lines.push(`               GPUs (nvidia-smi): ${r.cuda.gpus === null ? 'nvidia-smi not found' : list(r.cuda.gpus)}`);
    }
    if (b.fix) lines.push(`               fix: ${b.fix}`);
  }
  lines.push(`  The engine would use: ${r.engineWouldUse ?? 'nothing: no backend loads'}`);
  lines.push('');
  const e = r.electron;
  lines.push(`Electron runtime  ${e.present ? `yes  ${e.version} at ${e.path}` : `no   ${e.reason}`}`);
  if (e.present && e.reason) lines.push(`                       ${e.reason}`);
  if (e.fix) lines.push(`                  fix: ${e.fix}`);
  const c = r.chromium;
  lines.push(`Chromium (tests)  ${c.present ? `yes  ${c.version ?? ''} at ${c.path}` : `no   ${c.path} is missing`}`);
  if (c.fix) lines.push(`                  fix: ${c.fix}`);
  const m = r.models;
  const free = m.freeBytes === null ? 'free space unknown' : `${formatBytes(m.freeBytes)} free`;
  lines.push(`Models directory  ${m.dir}: ${m.exists ? `${m.models} model folder${m.models === 1 ? '' : 's'}` : 'not created yet'}, ${free}${m.problem ? `; PROBLEM: ${m.problem}` : ''}`);
  return lines.join('\n') + '\n';
}

const USAGE = `sequence-lab doctor [--models DIR] [--json]

Lists each TensorFlow.js backend (cuda, node, wasm, cpu) with whether it loads here and why not,
the CUDA libraries the cuda backend needs and what was found, the Electron runtime, Chromium for
the end-to-end tests, and the models directory with its free space. Exit code 1 when no backend
loads or the models directory cannot be written, else 0. --json prints one JSON object.
`;

/** The `doctor` command: prints the report; 1 when the engine could not run here, else 0. Bad arguments throw `bad_argument`. */
export async function runDoctor(argv: string[]): Promise<number> {
  let values: { json?: boolean; models?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, models: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new LabError('bad_argument', `doctor: ${(e as Error).message}`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const dir = path.resolve(values.models ?? process.env.SEQUENCE_LAB_MODELS ?? path.join(homedir(), '.sequence-lab', 'models'));
  const report = await diagnose({ modelsDir: dir });
  process.stdout.write(values.json ? JSON.stringify(report) + '\n' : formatReport(report));
  return report.engineWouldUse && report.models.writable ? 0 : 1;
}
