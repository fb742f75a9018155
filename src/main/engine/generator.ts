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
  /**
   * Hears each chunk as it is computed, with the packed state after it: a client that stops
   * listening mid-way continues exactly from the last chunk it heard.
   */
  onChunk?: (samples: Float32Array, from: number, state: Float32Array) => void;
}

/** The next `length` samples of the stepper's first stream, and the packed state after them. */
export async function generateStream(stepper: Stepper, o: StreamOptions): Promise<{ samples: Float32Array; state: Float32Array }> {
  const chunk = o.chunkSize && o.chunkSize > 0 ? o.chunkSize : GENERATE_SLICE;
  // Chunks are generated one generate() call each (one call after another continues exactly), so that
  // the state after each can be packed; without a listener, whole slices.
  const step = o.onChunk ? chunk : Math.max(chunk, Math.floor(GENERATE_SLICE / chunk) * chunk);
  const samples = new Float32Array(o.length);
  let sinceYield = 0;
  for (let done = 0; done < o.length; ) {
    const n = Math.min(step, o.length - done);
    const out = stepper.generate(n)[0];
    samples.set(out, done);
    o.onChunk?.(out, done, stepper.pack());
    done += n;
    sinceYield += n;
    if (done < o.length && sinceYield >= GENERATE_SLICE) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return { samples, state: stepper.pack() };
}
