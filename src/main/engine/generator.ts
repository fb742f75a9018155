// Free-running generation for any family: runs a family's Stepper in slices, yielding to the event
// loop in between so that other requests are answered while a long continuation runs. What a step
// is, and what the packed state holds, are the family's (families/family.ts).
import type { Stepper } from './families/family';

/** Samples generated between two yields to the event loop (about 50 ms for a 2x128 LSTM). */
export const GENERATE_SLICE = 1 << 16;

export interface StreamOptions {
  /** Samples to generate (of stream 0). */
  length: number;
  /** Deliver the samples in chunks of this many as they are computed. */
  chunkSize?: number;
  onChunk?: (samples: Float32Array, from: number) => void;
}

/** The next `length` samples of the stepper's first stream, and the packed state after them. */
export async function generateStream(stepper: Stepper, o: StreamOptions): Promise<{ samples: Float32Array; state: Float32Array }> {
  const chunk = o.chunkSize && o.chunkSize > 0 ? o.chunkSize : GENERATE_SLICE;
  const slice = Math.max(chunk, Math.floor(GENERATE_SLICE / chunk) * chunk); // whole chunks per slice
  const samples = new Float32Array(o.length);
  for (let done = 0; done < o.length; ) {
    const n = Math.min(slice, o.length - done);
    const at = done;
    const onChunk = o.onChunk;
    const out = stepper.generate(n, chunk, onChunk ? (c, f) => onChunk(c[0], at + f) : undefined);
    samples.set(out[0], done);
    done += n;
    if (done < o.length) await new Promise((resolve) => setImmediate(resolve));
  }
  return { samples, state: stepper.pack() };
}
