// Picks the TensorFlow.js backend: CUDA, native TensorFlow, WebAssembly, then plain JS, in that order.
// The native packages are optional dependencies whose install downloads a library; where that failed,
// or CUDA 11.2 / cuDNN 8.1 is missing, we say why in one line and fall back.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { LabError } from '../../shared/errors';

export const BACKEND_NAMES = ['cuda', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Environment variable that forces a backend, like `--backend`. */
export const BACKEND_ENV = 'SEQUENCE_LAB_BACKEND';

export interface BackendInfo {
  name: BackendName;
  /** tfjs's own name for it ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  /** One line per backend that was tried and skipped, saying why. */
  skipped: string[];
}

const require = createRequire(import.meta.url);
let current: BackendInfo | null = null;

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0].slice(0, 200);
}

async function tryBackend(name: BackendName): Promise<string> {
  switch (name) {
    case 'cuda':
    case 'node': {
      const pkg = name === 'cuda' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      try {
        require.resolve(pkg);
      } catch {
        throw new Error(`${pkg} is not installed (its native TensorFlow library could not be downloaded)`);
      }
      try {
        require(pkg); // registers the 'tensorflow' backend on the shared tfjs engine
      } catch (e) {
        throw new Error(`${pkg} failed to load: ${firstLine(e)}`);
      }
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend did not start`);
      return 'tensorflow';
    }
    case 'wasm':
      if (!(await tf.setBackend('wasm'))) throw new Error('the WebAssembly backend did not start');
      return 'wasm';
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
      return 'cpu';
  }
}

export function parseBackendName(value: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new LabError('bad_argument', `Unknown backend "${value}"; expected one of ${BACKEND_NAMES.join(', ')}`);
}

/** The start-up in progress: calls are queued so that requests arriving together share one start. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Starts a backend: the requested one (argument, else $SEQUENCE_LAB_BACKEND), or the first that works.
 * A forced backend that cannot start is an error, not a silent fallback. Concurrent calls run one
 * after another: two first requests racing through setBackend() left tfjs with a half-registered
 * backend that broke every later training run.
 */
export function initBackend(requested?: string | null): Promise<BackendInfo> {
  const run = queue.then(() => startBackend(requested));
  queue = run.catch(() => {});
  return run;
}

async function startBackend(requested?: string | null): Promise<BackendInfo> {
  const wanted = requested ?? process.env[BACKEND_ENV] ?? null;
  // PROD silences tfjs's console banners and skips debug checks.
  tf.env().set('PROD', true);
  if (current && (!wanted || current.name === wanted)) return current;
  const order: readonly BackendName[] = wanted ? [parseBackendName(wanted)] : BACKEND_NAMES;
  const skipped: string[] = [];
  for (const name of order) {
    try {
      const tfBackend = await tryBackend(name);
      await tf.ready();
      current = { name, tfBackend, skipped };
      return current;
    } catch (e) {
      skipped.push(`${name}: ${firstLine(e)}`);
    }
  }
  throw new LabError('backend', `No TensorFlow.js backend could start: ${skipped.join('; ')}`);
}

