// Free-running generation: prime once, then feed each output back one step at a time, carrying
// (c, h). The state S_k has consumed outputs y_1..y_k; the next output is the head applied to S_k's
// top h, so a packed state alone is enough to continue exactly where a run stopped.
import type { Normalisation } from '../../../../shared/contract';
import { LabError } from '../../../../shared/errors';
import { packState, unpackState, type RecurrentState } from '../../../../shared/packed-state';
import { WasmLstmStepper, wasmCapable } from '../../fused-recurrent';
import { RecurrentStepper, type RecurrentWeights } from '../../recurrent-step';

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
  let primeInputs: Float32Array | null = null;
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
      primeInputs = new Float32Array(p * streams); // [steps, B], network units
      for (let t = 0; t < p; t++) {
        for (let b = 0; b < streams; b++) {
          const v = prime[b][t];
          if (!Number.isFinite(v)) throw new LabError('bad_signal', `Priming sample ${t} of stream ${b} is ${v}`);
          primeInputs[t * streams + b] = (v - offset) / scale;
        }
      }
    }
  }
  const B = stepper.batch;
  const samples = Array.from({ length: B }, () => new Float32Array(o.length));
  const chunk = o.chunkSize && o.chunkSize > 0 ? o.chunkSize : o.length;
  const run = runner(stepper, primeInputs);
  let done = 0;
  while (done < o.length) {
    if (o.signal?.aborted) break;
    const end = Math.min(o.length, done + chunk);
    const ys = run.generate(end - done); // [steps, B]
    for (let t = done; t < end; t++) for (let b = 0; b < B; b++) samples[b][t] = ys[(t - done) * B + b] * scale + offset;
    o.onChunk?.(samples.map((s) => s.slice(done, end)), done);
    done = end;
  }
  return {
    samples: done === o.length ? samples : samples.map((s) => s.slice(0, done)),
    state: packState(run.finish()),
    generated: done,
  };
}

interface Runner {
  /** `[steps, batch]` generated samples in network units. */
  generate(steps: number): Float32Array;
  finish(): RecurrentState;
}

/** lstm.wasm for LSTM stacks that fit it, else the TypeScript step (GRU, odd layer sizes). */
function runner(stepper: RecurrentStepper, prime: Float32Array | null): Runner {
  const B = stepper.batch;
  if (stepper.weights.cell === 'lstm' && wasmCapable(stepper.weights)) {
    const w = new WasmLstmStepper(stepper.weights, stepper.state);
    if (prime) w.feed(prime, prime.length / B);
    return { generate: (n) => w.generate(n), finish: () => w.syncState() };
  }
  if (prime) for (let t = 0; t < prime.length / B; t++) stepper.step(prime.subarray(t * B, (t + 1) * B));
  const y = new Float32Array(B);
  return {
    generate: (n) => {
      const out = new Float32Array(n * B);
      for (let t = 0; t < n; t++) {
        stepper.output(y);
        out.set(y, t * B);
        stepper.step(y);
      }
      return out;
    },
    finish: () => stepper.state,
  };
}
