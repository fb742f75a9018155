// Shared set-up for engine tests: the wasm backend (the default here), tiny signals and models.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/main/engine/backend';
import type { SignalSource } from '../../src/shared/contract';

export async function useBackend(): Promise<void> {
  await initBackend(process.env.SEQUENCE_LAB_TEST_BACKEND ?? 'wasm');
}

/** The sine preset cut to `length` samples: same frequency, noise and seed. */
export function shortSine(length = 2000): SignalSource {
  return { kind: 'preset', name: 'sine', signal: { kind: 'sine', length, frequency: 0.01, amplitude: 1, phase: 0, noise: 0.02, seed: 1 } };
}

export function numTensors(): number {
  return tf.memory().numTensors;
}

/** Builds the renderer into out/renderer unless it is there (npm test builds it first). */
export async function ensureWebBuilt(): Promise<string> {
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const dir = fileURLToPath(new URL('../../out/renderer', import.meta.url));
  if (!existsSync(`${dir}/index.html`)) {
    const { build } = await import('vite');
    await build({ configFile: fileURLToPath(new URL('../../vite.renderer.config.ts', import.meta.url)), logLevel: 'error' });
  }
  return dir;
}

/** Disposes the optimizer state a Trainer returns (tests that do not keep it). */
export function releaseOptimizer<T extends { optimizerWeights: { tensor: tf.Tensor }[] }>(r: T): T {
  tf.dispose(r.optimizerWeights.map((w) => w.tensor));
  return r;
}
