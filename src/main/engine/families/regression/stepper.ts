// The regression family's stepper: generate() (generate.ts) run call after call, each continuing
// from the packed state the last one returned, which is exact (see generate.ts).
import type { Normalisation } from '../../../../shared/contract';
import { unpackState } from '../../../../shared/packed-state';
import type { RecurrentWeights } from '../../recurrent-step';
import type { Stepper, StepperStart } from '../family';
import { generate } from './generate';

export class RegressionStepper implements Stepper {
  readonly streams: number;
  private from: StepperStart;

  constructor(
    private readonly weights: RecurrentWeights,
    private readonly normalisation: Normalisation,
    start: StepperStart,
  ) {
    this.from = start;
    this.streams = 'state' in start ? unpackState(start.state).batch : start.prime.length;
  }

  generate(length: number, chunkSize?: number, onChunk?: (chunk: Float32Array[], from: number) => void): Float32Array[] {
    const r = generate({ weights: this.weights, normalisation: this.normalisation, ...this.from, length, ...(onChunk ? { chunkSize, onChunk } : {}) });
    this.from = { state: r.state };
    return r.samples;
  }

  pack(): Float32Array {
    if (!('state' in this.from)) this.generate(0);
    return (this.from as { state: Float32Array }).state;
  }
}
