// The categorical family's network and its weights as plain arrays (for lstm.wasm).
import type * as tf from '@tensorflow/tfjs';
import type { CategoricalSpec } from '../../../../shared/contract';
import { LabError } from '../../../../shared/errors';
import type { CellType } from '../../../../shared/packed-state';
import type { LayerWeights } from '../../recurrent-step';
import { buildStackModel, readStackLayers } from '../stack-model';

/** Recurrent layers returning every step, then a dense head to `levels` logits: `[batch, time, context]` in, `[batch, time, levels]` out. */
export function buildCategoricalModel(spec: CategoricalSpec, seed?: number): tf.LayersModel {
  return buildStackModel(spec, { inputs: spec.context, units: spec.levels, everyStep: true }, seed);
}

export interface CategoricalWeights {
  cell: CellType;
  units: number[];
  layers: LayerWeights[];
  /** `[units[last], levels]` */
  headKernel: Float32Array;
  /** `[levels]` */
  headBias: Float32Array;
  levels: number;
}

/** Copies a built or loaded categorical model's weights out of tfjs. */
export function readCategoricalWeights(model: tf.LayersModel, spec: CategoricalSpec): CategoricalWeights {
  const layers = readStackLayers(model.layers.slice(0, -1), spec.type);
  const [hk, hb] = model.layers[model.layers.length - 1].getWeights();
  if (!hk || !hb || hk.shape[1] !== spec.levels) throw new LabError('bad_file', `The model's head does not have ${spec.levels} outputs`);
  return {
    cell: spec.type,
    units: layers.map((l) => l.units),
    layers,
    headKernel: hk.dataSync() as Float32Array,
    headBias: hb.dataSync() as Float32Array,
    levels: spec.levels,
  };
}
