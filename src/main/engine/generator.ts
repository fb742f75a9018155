// Free-running generation: prime once, then feed each output back one step at a time, carrying
// (c, h). The state S_k has consumed outputs y_1..y_k; the next output is the head applied to S_k's
// top h, so a packed state alone is enough to continue exactly where a run stopped.
import type { Normalisation } from '../../shared/contract';
import { LabError } from '../../shared/errors';
import { packState, unpackState } from '../../shared/packed-state';
import { RecurrentStepper, type RecurrentWeights } from './recurrent-step';

export interface GenerateOptions {
  weights: RecurrentWeights;
  normalisation: Normalisation;
  /** Priming samples in signal units, one array per stream (all the same length, at least 1). */
  prime?: Float32Array[];
  /** A packed state returned by an earlier run; used instead of `prime`. */
  state?: Float32Array;
  /** Samples to generate per stream. */
  length: number;
  /** Streams to generate when neither prime nor state says (default 1). */
  streams?: number;
  /** Deliver samples in chunks of this many per stream (default: all at the end). */
  chunkSize?: number;
  onChunk?: (chunk: Float32Array[], from: number) => void;
  signal?: AbortSignal;
}

export interface GenerateResult {
  /** Generated samples in signal units, one array per stream. */
  samples: Float32Array[];
  /** Packed state after the last sample; pass it back as `state` to continue. */
  state: Float32Array;
  /** Samples generated per stream (less than asked when cancelled). */
  generated: number;
}

export function generate(o: GenerateOptions): GenerateResult {
  if (!Number.isInteger(o.length) || o.length < 0) throw new LabError('bad_argument', `Expected length to be a non-negative integer, but got ${o.length}`);
  const { offset, scale } = o.normalisation;
  let stepper: RecurrentStepper;
  if (o.state) {
    stepper = new RecurrentStepper(o.weights, unpackState(o.state));
  } else {
    const prime = o.prime ?? [];
    const streams = prime.length || (o.streams ?? 1);
    if (!Number.isInteger(streams) || streams < 1) throw new LabError('bad_argument', `Expected streams to be a positive integer, but got ${streams}`);
    stepper = new RecurrentStepper(o.weights, streams);
    if (prime.length) {
      const p = prime[0].length;
      if (p < 1) throw new LabError('bad_argument', 'Expected at least 1 priming sample');
      if (prime.some((s) => s.length !== p)) throw new LabError('bad_argument', 'Every stream needs the same number of priming samples');
      const x = new Float32Array(streams);
      for (let t = 0; t < p; t++) {
        for (let b = 0; b < streams; b++) {
          const v = prime[b][t];
          if (!Number.isFinite(v)) throw new LabError('bad_signal', `Priming sample ${t} of stream ${b} is ${v}`);
          x[b] = (v - offset) / scale;
        }
        stepper.step(x);
      }
    }
  }
  const B = stepper.batch;
  const samples = Array.from({ length: B }, () => new Float32Array(o.length));
  const y = new Float32Array(B);
  const chunk = o.chunkSize && o.chunkSize > 0 ? o.chunkSize : o.length;
  let done = 0;
  while (done < o.length) {
    if (o.signal?.aborted) break;
    const end = Math.min(o.length, done + chunk);
    for (let t = done; t < end; t++) {
      stepper.output(y);
      for (let b = 0; b < B; b++) samples[b][t] = y[b] * scale + offset;
      stepper.step(y);
    }
    o.onChunk?.(samples.map((s) => s.slice(done, end)), done);
    done = end;
  }
  return {
    samples: done === o.length ? samples : samples.map((s) => s.slice(0, done)),
    state: packState(stepper.state),
    generated: done,
  };
}
