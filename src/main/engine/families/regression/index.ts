// The regression family: the next sample from a window of samples, one input channel, a linear
// head of one unit, MSE (the notebook's model; the sine presets). Its packed state is
// shared/packed-state.ts's (c, h) format.
import { regressionSpecSchema, type Normalisation, type RegressionSpec } from '../../../../shared/contract';
import { LabError } from '../../../../shared/errors';
import { unpackState } from '../../../../shared/packed-state';
import { checkTrainingBudget } from '../../budget';
import { WindowDataset } from '../../dataset';
import { canUseFusedRecurrent } from '../../fused-recurrent';
import { readWeights } from '../../recurrent-step';
import type { ModelFamily } from '../family';
import { evaluate, evaluationWindowCount } from './evaluate';
import { buildModel } from './model';
import { regressionObjective } from './objective';
import { RegressionStepper } from './stepper';

/** Presets are fed as they are (the notebook did); audio is standardised to zero mean, unit variance. */
export function regressionNormalisation(x: Float32Array, isPreset: boolean): Normalisation {
  if (isPreset) return { offset: 0, scale: 1 };
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i] - mean) ** 2;
  const std = Math.sqrt(v / x.length);
  if (!(std > 1e-9)) throw new LabError('bad_signal', 'The signal is constant (silence?): there is nothing to learn');
  return { offset: mean, scale: std };
}

export const regressionFamily: ModelFamily<RegressionSpec, WindowDataset> = {
  name: 'regression',
  specSchema: regressionSpecSchema,
  framing: () => ({ samplesPerStep: 1, featuresPerStep: 1 }),
  build: (spec, seed) => buildModel(spec, seed),
  canFuse: canUseFusedRecurrent,
  checkBudget: (spec, train, impl) => checkTrainingBudget(spec, train, impl),
  normalisation: regressionNormalisation,
  lossScale: (n) => n.scale ** 2,
  dataset: (samples, _spec, train) => new WindowDataset(samples, train.window, train),
  objective: (model, spec, dataset, impl) => regressionObjective(model, spec.type, dataset, impl),
  evaluationWindows: evaluationWindowCount,
  evaluate: (model, spec, dataset, ctx) =>
    evaluate(model, spec.type, dataset, ctx.normalisation.scale ** 2, ctx.noiseFloor, { signal: ctx.signal, onProgress: ctx.onProgress }),
  stepper: async (model, spec, normalisation, start) => new RegressionStepper(await readWeights(model, spec.type), normalisation, start),
  stateStreams: (state) => unpackState(state).batch,
};
