// The spectral family's network and its weights as plain arrays (for the generator).
import type * as tf from '@tensorflow/tfjs';
import type { SpectralSpec } from '../../../../shared/contract';
import { LabError } from '../../../../shared/errors';
import type { CellType } from '../../../../shared/packed-state';
import type { LayerWeights } from '../../recurrent-step';
import { buildStackModel, readStackLayers } from '../stack-model';

/** Bins per frame, DC to Nyquist: the features a step reads and the Gaussians it predicts. */
export const spectralBins = (spec: Pick<SpectralSpec, 'frameSize'>): number => spec.frameSize / 2 + 1;

/**
 * The head's outputs per step for K components of F bins: K·F means (component k's bin j at k·F + j),
 * K·F raw log-deviations (at K·F + k·F + j), then K mixture logits (at 2·K·F + k).
 */
export const headUnits = (bins: number, mixtures: number): number => mixtures * (2 * bins + 1);

/**
 * A linear embedding of each frame (`embedding` values), recurrent layers returning every step, then a
 * dense head to headUnits() outputs per step (each component's means and raw log standard deviations
 * per bin, see objective.ts's logSigma, and its logit): `[batch, time, bins]` in, `[batch, time, headUnits]` out.
 */
export function buildSpectralModel(spec: SpectralSpec, seed?: number): tf.LayersModel {
  const bins = spectralBins(spec);
  return buildStackModel(spec, { inputs: bins, units: headUnits(bins, spec.mixtures), everyStep: true, embedding: spec.embedding }, seed);
}

export interface SpectralWeights {
  /** `[bins, embedding]` and `[embedding]`: the frame's projection the stack reads. */
  embedKernel: Float32Array;
  embedBias: Float32Array;
  embedding: number;
  cell: CellType;
  units: number[];
  layers: LayerWeights[];
  /** `[units[last], headUnits(bins, mixtures)]` */
  headKernel: Float32Array;
  /** `[headUnits(bins, mixtures)]` */
  headBias: Float32Array;
  bins: number;
  mixtures: number;
}

/** Copies a built or loaded spectral model's weights out of tfjs. */
export function readSpectralWeights(model: tf.LayersModel, spec: SpectralSpec): SpectralWeights {
  const bins = spectralBins(spec);
  const [ek, eb] = model.layers[0].getWeights();
  if (model.layers[0].name !== 'embedding' || !ek || !eb || ek.shape[0] !== bins || ek.shape[1] !== spec.embedding) {
    throw new LabError('bad_file', `The model's first layer is not an embedding of ${bins} bins into ${spec.embedding} values`);
  }
  const layers = readStackLayers(model.layers.slice(1, -1), spec.type);
  if (layers[0]?.inputSize !== spec.embedding) throw new LabError('bad_file', `The model's stack reads ${layers[0]?.inputSize} values per step; its embedding has ${spec.embedding}`);
  const [hk, hb] = model.layers[model.layers.length - 1].getWeights();
  if (!hk || !hb || hk.shape[1] !== headUnits(bins, spec.mixtures)) throw new LabError('bad_file', `The model's head does not have ${headUnits(bins, spec.mixtures)} outputs`);
  return { embedKernel: ek.dataSync() as Float32Array, embedBias: eb.dataSync() as Float32Array, embedding: spec.embedding, cell: spec.type, units: layers.map((l) => l.units), layers, headKernel: hk.dataSync() as Float32Array, headBias: hb.dataSync() as Float32Array, bins, mixtures: spec.mixtures };
}
