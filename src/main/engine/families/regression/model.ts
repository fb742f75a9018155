// Builds the regression family's network from a spec. Pure: the CLI, the desktop host and tests share it.
import * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import { orthogonalMatrix } from '../../orthogonal';
import { parseOrThrow, regressionSpecSchema, type RegressionSpec } from '../../../../shared/contract';

/** Validates a spec and fills its defaults; throws `bad_argument` naming the bad value. */
function parseRegressionSpec(input: unknown): RegressionSpec {
  return parseOrThrow(regressionSpecSchema, input ?? {}, 'model spec');
}

/**
 * Stacked recurrent layers and a linear head of one unit.
 * Input `[batch, time, 1]` (any time length), output `[batch, 1]`: the next sample after the window.
 */
export function buildModel(input: z.input<typeof regressionSpecSchema>, seed?: number): tf.LayersModel {
  const spec = parseRegressionSpec(input);
  let model!: tf.Sequential;
  // tfjs-layers' unitForgetBias initializer leaks its intermediate tensors; the tidy frees them
  // (variables outlive a tidy).
  tf.tidy(() => {
    model = addLayers(spec, seed);
    initRecurrentKernels(model, spec, seed);
  });
  return model;
}

/**
 * Sets each recurrent kernel to the orthogonal matrix tfjs-layers' orthogonal initializer would draw
 * (same seed, equal within 1e-6), computed fast: see orthogonal.ts. The layers are built with zero
 * recurrent kernels so that neither building nor loading a saved model runs tfjs's slow QR.
 */
function initRecurrentKernels(model: tf.Sequential, spec: RegressionSpec, seed: number | undefined): void {
  spec.units.forEach((_, i) => {
    const layer = model.layers[i];
    const [kernel, recurrent, ...rest] = layer.getWeights();
    layer.setWeights([kernel, orthogonalMatrix(recurrent.shape as [number, number], seed === undefined ? undefined : seed + 3 * i + 1), ...rest]);
  });
}

function addLayers(spec: RegressionSpec, seed: number | undefined): tf.Sequential {
  const model = tf.sequential();
  spec.units.forEach((units, i) => {
    const common = {
      units,
      returnSequences: i < spec.units.length - 1,
      // Sigmoid gates, as in Keras and PyTorch (tfjs defaults to hardSigmoid).
      recurrentActivation: 'sigmoid' as const,
      dropout: spec.dropout,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + 3 * i }),
      recurrentInitializer: tf.initializers.zeros(), // replaced by initRecurrentKernels
      ...(i === 0 ? { inputShape: [null, 1] } : {}),
    };
    switch (spec.type) {
      case 'lstm':
        model.add(tf.layers.lstm({ ...common, unitForgetBias: true, name: `lstm_${i + 1}` }));
        break;
      case 'gru':
        model.add(tf.layers.gru({ ...common, name: `gru_${i + 1}` }));
        break;
      default:
        throw new Error(`Unknown model type: ${(spec as { type: string }).type}`);
    }
  });
  model.add(
    tf.layers.dense({
      units: 1,
      name: 'head',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + 1000 }),
    }),
  );
  return model;
}

