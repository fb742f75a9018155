// How much memory a training run will need, checked before any is allocated, so that one request
// (window 65,536 × batch 65,536 took the engine past 6 GB in 11 s) cannot exhaust the machine and
// take every other client's work down with it.
import { totalmem } from 'node:os';
import type { ModelSpec, TrainConfig } from '../../shared/contract';
import { LabError } from '../../shared/errors';

/** Share of the machine's memory one training run may plan to use. */
export const TRAINING_MEMORY_FRACTION = 0.25;

const GB = 1024 ** 3;

/** Trainable parameters of the stack and its one-unit head. */
export function parameterCount(spec: Pick<ModelSpec, 'type' | 'units'>, inputs = 1): number {
  const gates = spec.type === 'gru' ? 3 : 4;
  let total = 0;
  let input = inputs;
  for (const u of spec.units) {
    total += gates * u * (input + u + 2); // kernel, recurrent kernel, bias (GRU: two biases; an upper bound for LSTM)
    input = u;
  }
  return total + input + 1;
}

/**
 * Bytes a run needs, roughly: weights with their gradients and Adam's two moments, and every step's
 * activations of a batch, which backpropagation through time keeps (gates, cell and hidden state per
 * unit; tfjs-layers keeps about three times what the fused kernels keep).
 */
export function trainingBytes(spec: Pick<ModelSpec, 'type' | 'units'>, cfg: Pick<TrainConfig, 'window' | 'batchSize'>, impl: 'fused' | 'layers'): number {
  const gates = spec.type === 'gru' ? 3 : 4;
  const perStep = spec.units.reduce((s, u) => s + (gates + 3) * u, 2);
  const activations = cfg.batchSize * cfg.window * perStep * 4 * (impl === 'layers' ? 3 : 1);
  return parameterCount(spec) * 4 * 4 + activations;
}

/** Throws `bad_argument` naming the sizes and the limit when a run would not fit this machine. */
export function checkTrainingBudget(
  spec: Pick<ModelSpec, 'type' | 'units'>,
  cfg: Pick<TrainConfig, 'window' | 'batchSize'>,
  impl: 'fused' | 'layers',
  machineBytes = totalmem(),
  /** A family's own per-step floats beyond the stack's (a softmax head's outputs, wide inputs). */
  extraFloatsPerStep = 0,
): void {
  const need = trainingBytes(spec, cfg, impl) + cfg.batchSize * cfg.window * extraFloatsPerStep * 4 * (impl === 'layers' ? 3 : 1);
  const limit = machineBytes * TRAINING_MEMORY_FRACTION;
  if (need > limit) {
    throw new LabError(
      'bad_argument',
      `Training ${spec.type} ${spec.units.join('x')} on windows of ${cfg.window} in batches of ${cfg.batchSize} needs about ${(need / GB).toFixed(1)} GB, ` +
        `over the limit of ${(limit / GB).toFixed(1)} GB (a quarter of this machine's memory): lower the window, the batch size or the units`,
    );
  }
}
