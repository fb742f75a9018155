// Builds a family's network: stacked recurrent layers and a dense head. Pure: the CLI, the desktop
// host and tests share it; each family says what its head is (families/<name>/).
import * as tf from '@tensorflow/tfjs';
import { LabError } from '../../../shared/errors';
import type { CellType } from '../../../shared/packed-state';
import type { LayerWeights } from '../recurrent-step';
import { orthogonalMatrix } from '../orthogonal';

/** The recurrent part of every family's spec. */
export interface StackSpec {
  type: CellType;
  units: number[];
  dropout: number;
}

/** What sits on the stack: a dense head of `units`, on the last step only or on every step. */
export interface HeadShape {
  /** Inputs per step. */
  inputs: number;
  units: number;
  /** true: the head reads every step (`[batch, time, units]` out); false: the last step (`[batch, units]`). */
  everyStep: boolean;
  /**
   * Units of a linear layer (named 'embedding') between the input and the first recurrent layer, or
   * absent: a wide input (a spectral frame's bins) reaches the stack through a few projections.
   */
  embedding?: number;
}

/**
 * Stacked recurrent layers and a linear head, input `[batch, time, inputs]` (any time length).
 */
export function buildStackModel(spec: StackSpec, head: HeadShape, seed?: number): tf.LayersModel {
  let model!: tf.Sequential;
  // tfjs-layers' unitForgetBias initializer leaks its intermediate tensors; the tidy frees them
  // (variables outlive a tidy).
  tf.tidy(() => {
    model = addLayers(spec, head, seed);
    initRecurrentKernels(model, spec, seed, head.embedding ? 1 : 0);
  });
  return model;
}

/**
 * Sets each recurrent kernel to the orthogonal matrix tfjs-layers' orthogonal initializer would draw
 * (same seed, equal within 1e-6), computed fast: see orthogonal.ts. The layers are built with zero
 * recurrent kernels so that neither building nor loading a saved model runs tfjs's slow QR.
 */
function initRecurrentKernels(model: tf.Sequential, spec: StackSpec, seed: number | undefined, first: number): void {
  spec.units.forEach((_, i) => {
    const layer = model.layers[first + i];
    const [kernel, recurrent, ...rest] = layer.getWeights();
    layer.setWeights([kernel, orthogonalMatrix(recurrent.shape as [number, number], seed === undefined ? undefined : seed + 3 * i + 1), ...rest]);
  });
}

function addLayers(spec: StackSpec, head: HeadShape, seed: number | undefined): tf.Sequential {
  const model = tf.sequential();
  if (head.embedding) {
    model.add(
      tf.layers.dense({
        units: head.embedding,
        name: 'embedding',
        inputShape: [null, head.inputs],
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + 2000 }),
      }),
    );
  }
  spec.units.forEach((units, i) => {
    const common = {
      units,
      returnSequences: head.everyStep || i < spec.units.length - 1,
      // Sigmoid gates, as in Keras and PyTorch (tfjs defaults to hardSigmoid).
      recurrentActivation: 'sigmoid' as const,
      dropout: spec.dropout,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + 3 * i }),
      recurrentInitializer: tf.initializers.zeros(), // replaced by initRecurrentKernels
      ...(i === 0 && !head.embedding ? { inputShape: [null, head.inputs] } : {}),
    };
    switch (spec.type) {
      case 'lstm':
        model.add(tf.layers.lstm({ ...common, unitForgetBias: true, name: `lstm_${i + 1}` }));
        break;
      case 'gru':
        model.add(tf.layers.gru({ ...common, name: `gru_${i + 1}` }));
        break;
      default:
        throw new Error(`Unknown model type: ${spec.type as string}`);
    }
  });
  model.add(
    tf.layers.dense({
      units: head.units,
      name: 'head',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + 1000 }),
    }),
  );
  return model;
}


/** Recurrent layers' weights as plain arrays (lstm.wasm reads them); throws `bad_file` for a layer that is not a `type` layer. */
export function readStackLayers(layers: tf.layers.Layer[], type: CellType): LayerWeights[] {
  const gates = type === 'lstm' ? 4 : 3;
  return layers.map((layer) => {
    const [k, r, b] = layer.getWeights();
    if (!k || !r || !b) throw new LabError('bad_file', `Layer ${layer.name} has no kernel, recurrent kernel and bias`);
    const units = r.shape[0];
    if (k.shape[1] !== gates * units) throw new LabError('bad_file', `Layer ${layer.name} does not look like a ${type.toUpperCase()} layer (kernel ${k.shape.join('x')})`);
    return { inputSize: k.shape[0], units, kernel: k.dataSync() as Float32Array, recurrent: r.dataSync() as Float32Array, bias: b.dataSync() as Float32Array };
  });
}
