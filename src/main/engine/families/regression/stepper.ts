// The regression family's stepper: generate() (generate.ts) run call after call, each continuing
// from the state the last one left, which is exact (see generate.ts). The state lives between calls
// in a RecurrentStepper, which also runs live input (observe) and live output (generateInto) without
// allocating: its TypeScript step, not lstm.wasm (generate.ts takes lstm.wasm for an LSTM stack, so
// an LSTM's live output may differ from generate()'s in float rounding).
import type { Normalisation } from '../../../../shared/contract';
import { LabError } from '../../../../shared/errors';
import { packState, unpackState } from '../../../../shared/packed-state';
import { RecurrentStepper, type RecurrentWeights } from '../../recurrent-step';
import { checkLiveInput, checkLiveOutput, type LiveStepper, type StepperStart } from '../family';
import { generate } from './generate';

export class RegressionStepper implements LiveStepper {
  readonly streams: number;
  private readonly live: RecurrentStepper;
  /** One value per stream: the network's input or output of a step. */
  private readonly y: Float32Array;
  private saved: Float32Array[] | null = null;

  constructor(
    private readonly weights: RecurrentWeights,
    private readonly normalisation: Normalisation,
    start: StepperStart,
  ) {
    // A prime runs as generate.ts primes (lstm.wasm for an LSTM), then the state is held here.
    const state = 'state' in start ? start.state : generate({ weights, normalisation, prime: start.prime, length: 0 }).state;
    this.live = new RecurrentStepper(weights, unpackState(state));
    this.streams = this.live.batch;
    this.y = new Float32Array(this.streams);
  }

  generate(length: number): Float32Array[] {
    const r = generate({ weights: this.weights, normalisation: this.normalisation, state: this.pack(), length });
    this.setState(r.state);
    return r.samples;
  }

  pack(): Float32Array {
    return packState(this.live.state);
  }

  observe(input: Float32Array[], predictions?: Float32Array[]): void {
    const n = checkLiveInput(input, this.streams, predictions);
    const { offset, scale } = this.normalisation;
    const { live, y } = this;
    for (let t = 0; t < n; t++) {
      if (predictions) {
        live.output(y);
        for (let b = 0; b < y.length; b++) predictions[b][t] = y[b] * scale + offset;
      }
      for (let b = 0; b < y.length; b++) y[b] = (input[b][t] - offset) / scale;
      live.step(y);
    }
  }

  generateInto(out: Float32Array[]): void {
    const n = checkLiveOutput(out, this.streams);
    const { offset, scale } = this.normalisation;
    const { live, y } = this;
    for (let t = 0; t < n; t++) {
      live.output(y);
      for (let b = 0; b < y.length; b++) out[b][t] = y[b] * scale + offset;
      live.step(y);
    }
  }

  save(): void {
    const { h, c } = this.live.state;
    const arrays = [...h, ...c];
    this.saved ??= arrays.map((a) => new Float32Array(a.length));
    arrays.forEach((a, i) => this.saved![i].set(a));
  }

  restore(): void {
    if (!this.saved) throw new LabError('bad_argument', 'Nothing to restore: save() was never called');
    const { h, c } = this.live.state;
    [...h, ...c].forEach((a, i) => a.set(this.saved![i]));
  }

  /** Copies a packed state's (c, h) into the live state. */
  private setState(packed: Float32Array): void {
    const s = unpackState(packed);
    const { h, c } = this.live.state;
    s.h.forEach((a, i) => h[i].set(a));
    s.c.forEach((a, i) => c[i].set(a));
  }
}
