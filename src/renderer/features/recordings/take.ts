// A microphone take on its way to the recordings library: each captured block is appended to the
// engine's WAV as it arrives (one append at a time, in order), so that a closed window or a crashed
// engine loses at most the last second; meanwhile the level meter and the growing waveform read the
// blocks. Pure apart from the client it is given, so tests drive it with a fake one.
import type { LabClient } from '../../lab-client';
import type { RecordingSummaryData } from '../../../shared/protocol';

/** Decibels relative to full scale; silence reads as this floor rather than -Infinity. */
export const LEVEL_FLOOR_DB = -90;

/** A block's RMS and peak in dBFS (floored at LEVEL_FLOOR_DB). */
export function blockLevel(block: Float32Array): { rmsDb: number; peakDb: number } {
  let sum = 0;
  let peak = 0;
  for (let i = 0; i < block.length; i++) {
    const v = block[i];
    sum += v * v;
    const a = v < 0 ? -v : v;
    if (a > peak) peak = a;
  }
  const db = (x: number) => (x > 0 ? Math.max(LEVEL_FLOOR_DB, 20 * Math.log10(x)) : LEVEL_FLOOR_DB);
  return { rmsDb: db(Math.sqrt(sum / Math.max(1, block.length))), peakDb: db(peak) };
}

/**
 * Min/max peaks of a signal that grows block by block, one bucket per `bucket` samples, kept in arrays
 * that double when full: drawing a growing take costs its new samples, not all of it again.
 */
export class GrowingPeaks {
  private max = new Float32Array(1024);
  private min = new Float32Array(1024);
  private buckets = 0;
  /** Samples seen. */
  length = 0;

  constructor(readonly bucket = 256) {}

  push(block: Float32Array): void {
    for (let i = 0; i < block.length; i++, this.length++) {
      const b = Math.floor(this.length / this.bucket);
      if (b >= this.buckets) {
        if (b >= this.max.length) {
          const grow = (a: Float32Array) => {
            const n = new Float32Array(a.length * 2);
            n.set(a);
            return n;
          };
          this.max = grow(this.max);
          this.min = grow(this.min);
        }
        this.max[b] = -Infinity;
        this.min[b] = Infinity;
        this.buckets = b + 1;
      }
      const v = block[i];
      if (v > this.max[b]) this.max[b] = v;
      if (v < this.min[b]) this.min[b] = v;
    }
  }

  /** The peaks so far (views of the first buckets; copy them to keep). */
  get peaks(): { max: Float32Array; min: Float32Array } {
    return { max: this.max.subarray(0, this.buckets), min: this.min.subarray(0, this.buckets) };
  }
}

/** Streams a take's blocks to the engine in order; the first failure stops the take and is kept. */
export class TakeUpload {
  private queue: Promise<unknown> = Promise.resolve();
  private id: string | null = null;
  /** The first append that failed, if one did: the take stops there (what was flushed is kept). */
  failure: Error | null = null;
  /** Samples the engine has confirmed. */
  stored = 0;
  name: string | null = null;

  constructor(private readonly client: Pick<LabClient, 'call'>) {}

  async start(sampleRate: number, name?: string): Promise<string> {
    const r = await this.client.call('recordings.start', { sampleRate, ...(name ? { name } : {}) });
    this.id = r.id;
    this.name = r.name;
    return r.name;
  }

  /** Queues one block; `onFailure` hears the first error once. */
  push(block: Float32Array, onFailure?: (e: Error) => void): void {
    const id = this.id;
    if (!id || this.failure) return;
    const samples = block.slice(); // the capture may reuse its buffer before the append is sent
    this.queue = this.queue.then(async () => {
      if (this.failure) return;
      try {
        this.stored = (await this.client.call('recordings.append', { id, samples })).samples;
      } catch (e) {
        this.failure = e as Error;
        onFailure?.(this.failure);
      }
    });
  }

  /** Waits for every queued block, then keeps the take (or throws it away with `discard`). */
  async finish(discard = false): Promise<RecordingSummaryData | null> {
    await this.queue;
    if (!this.id) return null;
    const id = this.id;
    this.id = null;
    if (this.failure) {
      // The engine may be gone (its restart recovers the take) or may still hold it: finish it if it can.
      return this.client
        .call('recordings.finish', { id, discard })
        .then((r) => r.recording)
        .catch(() => null);
    }
    return (await this.client.call('recordings.finish', { id, discard })).recording;
  }
}
