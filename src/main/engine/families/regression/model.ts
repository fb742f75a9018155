// Builds the regression family's network from a spec. Pure: the CLI, the desktop host and tests share it.
import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import { parseOrThrow, regressionSpecSchema } from '../../../../shared/contract';
import { buildStackModel } from '../stack-model';

/**
 * Stacked recurrent layers and a linear head of one unit.
 * Input `[batch, time, 1]` (any time length), output `[batch, 1]`: the next sample after the window.
 */
export function buildModel(input: z.input<typeof regressionSpecSchema>, seed?: number): tf.LayersModel {
  const spec = parseOrThrow(regressionSpecSchema, input ?? {}, 'model spec');
  return buildStackModel(spec, { inputs: 1, units: 1, everyStep: false }, seed);
}
