// The spectral family's network and its weights as plain arrays (for the generator).
import type * as tf from '@tensorflow/tfjs';
import type { SpectralSpec } from '../../../../shared/contract';
import { LabError } from '../../../../shared/errors';
import type { CellType } from '../../../../shared/packed-state';
import type { LayerWeights } from '../../recurrent-step';
import { buildStackModel } from '../stack-model';

/** Bins per frame, DC to Nyquist: the features a step reads and the Gaussians it predicts. */
export const spectralBins = (spec: Pick<SpectralSpec, 'frameSize'>): number => spec.frameSize / 2 + 1;

/**
 * Recurrent layers returning every step, then a dense head to 2·bins outputs per step (each bin's
 * mean, then each bin's raw log standard deviation; see objective.ts's logSigma):
 * `[batch, time, bins]` in, `[batch, time, 2·bins]` out.
 */
export function buildSpectralModel(spec: SpectralSpec, seed?: number): tf.LayersModel {
  const bins = spectralBins(spec);
  return buildStackModel(spec, { inputs: bins, units: 2 * bins, everyStep: true }, seed);
}

export interface SpectralWeights {
  cell: CellType;
  units: number[];
  layers: LayerWeights[];
  /** `[units[last], 2·bins]` */
  headKernel: Float32Array;
  /** `[2·bins]` */
  headBias: Float32Array;
  bins: number;
}

/** Copies a built or loaded spectral model's weights out of tfjs. */
export function readSpectralWeights(model: tf.LayersModel, spec: SpectralSpec): SpectralWeights {
  const gates = spec.type === 'lstm' ? 4 : 3;
  const bins = spectralBins(spec);
  const layers: LayerWeights[] = model.layers.slice(0, -1).map((layer) => {
    const [k, r, b] = layer.getWeights();
    if (!k || !r || !b) throw new LabError('bad_file', `Layer ${layer.name} has no kernel, recurrent kernel and bias`);
    const units = r.shape[0];
    if (k.shape[1] !== gates * units) throw new LabError('bad_file', `Layer ${layer.name} does not look like a ${spec.type.toUpperCase()} layer (kernel ${k.shape.join('x')})`);
    return { inputSize: k.shape[0], units, kernel: k.dataSync() as Float32Array, recurrent: r.dataSync() as Float32Array, bias: b.dataSync() as Float32Array };
  });
  if (layers[0]?.inputSize !== bins) throw new LabError('bad_file', `The model reads ${layers[0]?.inputSize} features per step; a frame of ${spec.frameSize} has ${bins} bins`);
  const [hk, hb] = model.layers[model.layers.length - 1].getWeights();
  if (!hk || !hb || hk.shape[1] !== 2 * bins) throw new LabError('bad_file', `The model's head does not have ${2 * bins} outputs`);
  return { cell: spec.type, units: layers.map((l) => l.units), layers, headKernel: hk.dataSync() as Float32Array, headBias: hb.dataSync() as Float32Array, bins };
}
