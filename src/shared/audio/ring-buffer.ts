// A single-producer single-consumer ring of float samples between two threads: the UI thread writes
// generated audio, a playback AudioWorklet reads 128 frames per render quantum (or the other way round
// for capture). Pure: no DOM, no node:*, no allocation per read or write, so it runs inside a worklet.
//
// Design after Paul Adenot's ringbuf.js: the read and write indices live in an Int32Array beside the
// samples, each written by one side only, with Atomics. JavaScript's memory model orders the plain
// sample writes before the Atomics.store of the write index, so a reader that Atomics.loads the index
// sees the samples. One slot stays empty so that "full" and "empty" differ without a shared count.
// Hand-written rather than a dependency: ringbuf.js is ~300 lines for several element types and
// counts no under- or over-runs, which this ring must report.

import { LabError, checkInteger } from '../errors';

/** Largest capacity accepted: ten minutes at 48 kHz, far beyond a playback ring's few seconds. */
export const MAX_RING_CAPACITY = 48_000 * 600;

// Header slots (Int32), each with one writer: the consumer owns READ and the under-run counters, the
// producer owns WRITE and the over-run counters.
const READ = 0;
const WRITE = 1;
const UNDERRUNS = 2;
const UNDERRUN_SAMPLES = 3;
const OVERRUNS = 4;
const OVERRUN_SAMPLES = 5;
/** Header length in Int32s; 8 keeps the samples 32-byte aligned. */
const HEADER_INTS = 8;
const HEADER_BYTES = HEADER_INTS * Int32Array.BYTES_PER_ELEMENT;

/** Counts since the ring was made; Int32 in the shared header, so they wrap after 2^31. */
export interface RingCounters {
  /** Reads that asked for more than was there. */
  underruns: number;
  /** Zeros those reads filled in. */
  underrunSamples: number;
  /** Writes that did not fit whole. */
  overruns: number;
  /** Samples those writes did not store (the caller still holds them and may write them later). */
  overrunSamples: number;
}

export class FloatRingBuffer {
  /** Samples the ring holds when full. */
  readonly capacity: number;
  /** The memory both sides map: send it to the other thread (postMessage) and wrap it there with `new FloatRingBuffer(buffer)`. */
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  private readonly header: Int32Array;
  private readonly data: Float32Array;
  /** capacity + 1: the slot kept empty. */
  private readonly slots: number;

  /** Bytes a ring of `capacity` samples needs. */
  static bytesFor(capacity: number): number {
    checkInteger('capacity', capacity, 1, MAX_RING_CAPACITY);
    return HEADER_BYTES + (capacity + 1) * Float32Array.BYTES_PER_ELEMENT;
  }

  /**
   * A new empty ring of `capacity` samples (in a SharedArrayBuffer where the platform has one and
   * `shared` is not false), or the ring whose memory another thread created and sent.
   */
  static create(capacity: number, shared = typeof SharedArrayBuffer !== 'undefined'): FloatRingBuffer {
    const bytes = FloatRingBuffer.bytesFor(capacity);
    return new FloatRingBuffer(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  }

  constructor(buffer: SharedArrayBuffer | ArrayBuffer) {
    const slots = (buffer.byteLength - HEADER_BYTES) / Float32Array.BYTES_PER_ELEMENT;
    if (!Number.isInteger(slots) || slots < 2 || slots - 1 > MAX_RING_CAPACITY) {
      throw new LabError('bad_argument', `Expected a ring buffer's memory to be FloatRingBuffer.bytesFor(capacity) bytes, but got ${buffer.byteLength}`);
    }
    this.buffer = buffer;
    this.slots = slots;
    this.capacity = slots - 1;
    this.header = new Int32Array(buffer, 0, HEADER_INTS);
    this.data = new Float32Array(buffer, HEADER_BYTES, slots);
    const r = Atomics.load(this.header, READ);
    const w = Atomics.load(this.header, WRITE);
    if (r < 0 || r >= slots || w < 0 || w >= slots) {
      throw new LabError('bad_argument', `Ring buffer memory holds indices out of range (read ${r}, write ${w}, ${slots} slots)`);
    }
  }

  /** Samples waiting to be read (a lower bound from the producer's side). */
  availableRead(): number {
    const r = Atomics.load(this.header, READ);
    const w = Atomics.load(this.header, WRITE);
    return (w - r + this.slots) % this.slots;
  }

  /** Room for samples (a lower bound from the consumer's side). */
  availableWrite(): number {
    return this.capacity - this.availableRead();
  }

  /**
   * Producer side: appends `src[start, end)`, as much as fits. Returns the number stored; when that is
   * short, counts one over-run and the samples left out (the caller decides whether to retry them).
   */
  write(src: Float32Array, start = 0, end = src.length): number {
    const wanted = end - start;
    if (!(start >= 0 && end <= src.length && wanted >= 0)) {
      throw new LabError('bad_argument', `Expected 0 <= start <= end <= ${src.length}, but got start ${start}, end ${end}`);
    }
    const r = Atomics.load(this.header, READ);
    const w = Atomics.load(this.header, WRITE);
    const room = this.capacity - ((w - r + this.slots) % this.slots);
    const n = Math.min(wanted, room);
    if (n < wanted) {
      Atomics.add(this.header, OVERRUNS, 1);
      Atomics.add(this.header, OVERRUN_SAMPLES, wanted - n);
    }
    if (n === 0) return 0;
    // Plain loops, not set(subarray()): a subarray is a new object per call, garbage in a worklet.
    const data = this.data;
    const slots = this.slots;
    for (let i = 0, at = w; i < n; i++) {
      data[at] = src[start + i];
      if (++at === slots) at = 0;
    }
    Atomics.store(this.header, WRITE, (w + n) % this.slots);
    return n;
  }

  /**
   * Consumer side: fills `dst[start, end)` with the oldest samples. Returns how many were real; when
   * fewer were waiting, the rest is zeros (silence, not stale audio) and one under-run is counted.
   */
  read(dst: Float32Array, start = 0, end = dst.length): number {
    const wanted = end - start;
    if (!(start >= 0 && end <= dst.length && wanted >= 0)) {
      throw new LabError('bad_argument', `Expected 0 <= start <= end <= ${dst.length}, but got start ${start}, end ${end}`);
    }
    const r = Atomics.load(this.header, READ);
    const w = Atomics.load(this.header, WRITE);
    const n = Math.min(wanted, (w - r + this.slots) % this.slots);
    const data = this.data;
    const slots = this.slots;
    for (let i = 0, at = r; i < n; i++) {
      dst[start + i] = data[at];
      if (++at === slots) at = 0;
    }
    if (n < wanted) {
      dst.fill(0, start + n, end);
      Atomics.add(this.header, UNDERRUNS, 1);
      Atomics.add(this.header, UNDERRUN_SAMPLES, wanted - n);
    }
    if (n > 0) Atomics.store(this.header, READ, (r + n) % this.slots);
    return n;
  }

  /** Consumer side: drops everything waiting (a stop or a seek). */
  clear(): void {
    Atomics.store(this.header, READ, Atomics.load(this.header, WRITE));
  }

  /** The under- and over-run counts so far (allocates: call it for a status line, not per quantum). */
  counters(): RingCounters {
    return {
      underruns: Atomics.load(this.header, UNDERRUNS),
      underrunSamples: Atomics.load(this.header, UNDERRUN_SAMPLES),
      overruns: Atomics.load(this.header, OVERRUNS),
      overrunSamples: Atomics.load(this.header, OVERRUN_SAMPLES),
    };
  }
}
