// Plays samples as they are generated: chunks are pushed as they arrive and played through the
// playback AudioWorklet (playback-worklet.ts) at the model's sample rate, starting after a short
// pre-roll, long before the last chunk. One StreamPlayer per stream; destroy() releases it all.
/// <reference types="vite/client" />
import { FloatRingBuffer } from '../../shared/audio/ring-buffer';
import { PLAYBACK_PROCESSOR, type PlaybackCommand, type PlaybackProcessorOptions, type PlaybackReport } from './playback-worklet';
import workletUrl from './playback-worklet.ts?worker&url';

/** Options of a StreamPlayer; defaults in `defaultStreamPlayerOptions`. */
export interface StreamPlayerOptions {
  /** Hertz: the stream's rate; the audio context runs at it. */
  sampleRate: number;
  /** Samples the stream will have in all, when known: then the pre-roll grows for a producer slower than real time. */
  expectedSamples?: number | null;
  /** Seconds buffered before playback starts (at least; more when the producer is slow or its chunks long). */
  prerollSeconds?: number;
  /** Seconds the ring holds; what does not fit waits on this side. */
  ringSeconds?: number;
  /** Seconds of the fades at start, stop, end and under-run (no clicks). */
  fadeSeconds?: number;
  /** The audio context's latency hint: 'playback' (steady) for continuations, 'interactive' for live mode. */
  latencyHint?: 'playback' | 'interactive';
}

export const defaultStreamPlayerOptions = {
  expectedSamples: null,
  prerollSeconds: 0.3,
  ringSeconds: 4,
  fadeSeconds: 0.005,
  latencyHint: 'playback',
} as const satisfies Omit<StreamPlayerOptions, 'sampleRate'>;

/** Events, with labelled arguments. */
export interface StreamPlayerEvents {
  /** Sound started; `buffered`: seconds buffered when it was let go, `ended`: whether the stream was already whole. */
  started: [buffered: number, ended: boolean];
  /** The last sample was played; `underruns`: times the buffer ran dry before that. */
  ended: [underruns: number, seconds: number];
  /** stop() took effect. */
  stopped: [seconds: number];
  /** Playback could not start (no AudioWorklet, an unsupported rate, ...): the reason in words. */
  error: [message: string];
}

/** Safety factor on the estimated shortfall of a producer slower than real time, and on the longest wait between chunks. */
const SAFETY = 1.5;
/** Chunks seen before the producer's rate is trusted. */
const CHUNKS_FOR_RATE = 3;

/**
 * Samples to have buffered before starting so that, at the producer's measured rate, the buffer
 * does not run dry before the stream ends: a margin (the pre-roll; two of the longest chunks, as chunks
 * come in bursts; 1.5 x the longest wait between chunks so far, as a busy machine stalls the producer)
 * plus the shortfall of a producer slower than real time over what is still to come. `rate`: samples
 * produced per second of wall time (null: not measured yet); `longestGap`: seconds. Pure, for tests.
 */
export function samplesToBuffer(o: { sampleRate: number; preroll: number; longestChunk: number; longestGap?: number; expected: number | null; pushed: number; rate: number | null }): number {
  const margin = Math.max(o.preroll, 2 * o.longestChunk, SAFETY * (o.longestGap ?? 0) * o.sampleRate);
  if (o.expected === null) return margin;
  const left = Math.max(0, o.expected - o.pushed);
  if (left === 0) return 0; // whole: play it
  if (o.rate === null) return Infinity; // one chunk so far: wait for a second to measure the rate
  const shortfall = o.rate >= o.sampleRate ? 0 : ((o.sampleRate - o.rate) * left) / o.rate;
  return Math.min(o.expected, margin + SAFETY * shortfall);
}

type Listener<A extends unknown[]> = (...args: A) => void;

export class StreamPlayer {
  readonly sampleRate: number;
  private readonly o: Required<Omit<StreamPlayerOptions, 'expectedSamples'>> & { expectedSamples: number | null };
  private ctx: AudioContext | null = null;
  private node: AudioWorkletNode | null = null;
  /** The shared ring, or null when chunks go over the port. */
  private ring: FloatRingBuffer | null = null;
  private capacity: number;
  /** Chunks not yet in the ring (or not yet posted), oldest first; `offset` into the first. */
  private pending: Float32Array[] = [];
  private offset = 0;
  private pushed = 0;
  /** Samples handed to the worklet (port mode), to know the room left in its ring. */
  private sent = 0;
  private played = 0;
  private underrunCount = 0;
  /** The audio clock at the worklet's last count, and whether it was playing then. */
  private reportTime = 0;
  private sounding = false;
  private firstChunkAt: number | null = null;
  private firstChunk = 0;
  private lastChunkAt = 0;
  private chunks = 0;
  private longestChunk = 0;
  /** Seconds: the longest wait between two chunks so far. */
  private longestGap = 0;
  private ended = false;
  private endSent = false;
  private startSent = false;
  private bufferedAtStart = 0;
  private phase: 'opening' | 'buffering' | 'playing' | 'ended' | 'stopped' | 'failed' = 'opening';
  private stopTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners: { [K in keyof StreamPlayerEvents]: Set<Listener<StreamPlayerEvents[K]>> } = { started: new Set(), ended: new Set(), stopped: new Set(), error: new Set() };
  /** Resolves once the worklet is loaded (or playback failed). */
  readonly ready: Promise<void>;

  constructor(options: StreamPlayerOptions) {
    this.o = { ...defaultStreamPlayerOptions, ...options, expectedSamples: options.expectedSamples ?? null };
    if (!(Number.isFinite(options.sampleRate) && options.sampleRate > 0)) throw new Error(`Expected sampleRate to be a positive number of hertz, but got ${options.sampleRate}`);
    this.sampleRate = options.sampleRate;
    this.capacity = Math.max(4096, Math.round(this.o.ringSeconds * this.sampleRate));
    if (this.o.expectedSamples !== null) this.capacity = Math.min(this.capacity, Math.max(128, this.o.expectedSamples));
    this.ready = this.open().catch((e: Error) => this.fail(e.message));
  }

  /** Subscribes to an event; returns the unsubscribe. */
  on<K extends keyof StreamPlayerEvents>(event: K, listener: Listener<StreamPlayerEvents[K]>): () => void {
    const set = this.listeners[event] as Set<Listener<StreamPlayerEvents[K]>>;
    set.add(listener);
    return () => set.delete(listener);
  }

  private emit<K extends keyof StreamPlayerEvents>(event: K, ...args: StreamPlayerEvents[K]): void {
    for (const l of [...(this.listeners[event] as Set<Listener<StreamPlayerEvents[K]>>)]) l(...args);
  }

  private async open(): Promise<void> {
    if (typeof AudioContext === 'undefined') throw new Error('this browser has no Web Audio');
    const ctx = new AudioContext({ sampleRate: this.sampleRate, latencyHint: this.o.latencyHint });
    this.ctx = ctx;
    if (!ctx.audioWorklet) throw new Error('AudioWorklet needs a secure page (https, or http://127.0.0.1)');
    // Not awaited: a context the browser keeps suspended until a gesture must not hold up loading.
    void ctx.resume().catch(() => {});
    await ctx.audioWorklet.addModule(workletUrl);
    if (this.phase !== 'opening') return; // stopped or destroyed meanwhile
    const shared = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
    this.ring = shared ? FloatRingBuffer.create(this.capacity, true) : null;
    const fadeSamples = Math.max(1, Math.round(this.o.fadeSeconds * this.sampleRate));
    const processorOptions: PlaybackProcessorOptions = {
      ring: this.ring ? (this.ring.buffer as SharedArrayBuffer) : null,
      capacity: this.capacity,
      rebufferSamples: Math.min(this.capacity, Math.round(this.o.prerollSeconds * this.sampleRate)),
      fadeSamples,
      reportEvery: Math.max(128, Math.round(this.sampleRate / 50)),
    };
    const node = new AudioWorkletNode(ctx, PLAYBACK_PROCESSOR, { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1], processorOptions });
    node.port.onmessage = (e: MessageEvent<PlaybackReport>) => this.report(e.data);
    node.connect(ctx.destination);
    this.node = node;
    this.phase = 'buffering';
    this.pump();
  }

  /** Whether the ring is shared with the worklet (the page is cross-origin isolated). */
  get shared(): boolean {
    return this.ring !== null;
  }

  /** Appends a chunk of the stream (copied when it must wait). */
  push(samples: Float32Array): void {
    if (this.ended) throw new Error('push() after end()');
    if (!samples.length || this.isOver()) return;
    const now = performance.now();
    if (this.firstChunkAt === null) {
      this.firstChunkAt = now;
      this.firstChunk = samples.length;
    } else {
      this.longestGap = Math.max(this.longestGap, (now - this.lastChunkAt) / 1000);
    }
    this.lastChunkAt = now;
    this.chunks++;
    this.longestChunk = Math.max(this.longestChunk, samples.length);
    this.pending.push(samples);
    this.pushed += samples.length;
    this.pump();
  }

  /** The stream is whole: play the rest, then 'ended'. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.pump();
  }

  /** Seconds of this stream heard so far: where the playhead goes. */
  get position(): number {
    let s = this.played / this.sampleRate;
    if (this.sounding && this.ctx && this.phase === 'playing') s += Math.min(0.1, Math.max(0, this.ctx.currentTime - this.reportTime));
    return Math.min(s, this.pushed / this.sampleRate);
  }

  /** Buffering, playing, or over (ended, stopped, failed). */
  get state(): 'opening' | 'buffering' | 'playing' | 'ended' | 'stopped' | 'failed' {
    return this.phase;
  }

  /** Fades out and stops; 'stopped' follows (at once when nothing sounds). */
  stop(): void {
    if (this.isOver()) return;
    const wasPlaying = this.phase === 'playing';
    this.phase = 'stopped';
    this.pending = [];
    if (this.node && wasPlaying) {
      this.post({ type: 'stop' });
      // A suspended context renders nothing: do not wait for the fade then.
      this.stopTimer = setTimeout(() => this.finish('stopped'), 250);
    } else {
      this.finish('stopped');
    }
  }

  /** Releases the worklet node and the audio context; no event after this. */
  destroy(): void {
    for (const set of Object.values(this.listeners)) set.clear();
    if (!this.isOver()) this.phase = 'stopped';
    this.release();
  }

  private isOver(): boolean {
    return this.phase === 'ended' || this.phase === 'stopped' || this.phase === 'failed';
  }

  private post(m: PlaybackCommand): void {
    this.node?.port.postMessage(m);
  }

  /** Moves waiting chunks into the ring as far as it has room; starts playback once enough is buffered. */
  private pump(): void {
    if (!this.node || this.isOver()) return;
    while (this.pending.length) {
      const chunk = this.pending[0];
      const room = this.ring ? this.ring.availableWrite() : this.capacity - (this.sent - this.played);
      if (room <= 0) break;
      const end = Math.min(chunk.length, this.offset + room);
      if (this.ring) {
        this.ring.write(chunk, this.offset, end);
      } else {
        // Transferred copy: the caller keeps its array (the view holds the same samples).
        const part = chunk.slice(this.offset, end);
        this.node.port.postMessage({ type: 'samples', samples: part } satisfies PlaybackCommand, [part.buffer]);
      }
      this.sent += end - this.offset;
      if (end === chunk.length) {
        this.pending.shift();
        this.offset = 0;
      } else {
        this.offset = end;
        break;
      }
    }
    if (this.ended && !this.pending.length && this.sent === this.pushed && !this.endSent) {
      this.endSent = true;
      this.post({ type: 'end', total: this.pushed });
    }
    if (!this.startSent && this.shouldStart()) {
      this.startSent = true;
      this.bufferedAtStart = this.pushed / this.sampleRate;
      this.post({ type: 'start' });
    }
  }

  private shouldStart(): boolean {
    if (this.pushed === 0) return this.ended && this.endSent; // an empty stream ends at once
    if (this.ended) return true;
    const elapsed = this.firstChunkAt === null ? 0 : (performance.now() - this.firstChunkAt) / 1000;
    const rate = elapsed > 0 && this.chunks >= CHUNKS_FOR_RATE ? (this.pushed - this.firstChunk) / elapsed : null;
    const need = samplesToBuffer({
      sampleRate: this.sampleRate,
      preroll: this.o.prerollSeconds * this.sampleRate,
      longestChunk: this.longestChunk,
      longestGap: Math.max(this.longestGap, (performance.now() - this.lastChunkAt) / 1000), // a wait under way counts too
      expected: this.o.expectedSamples,
      pushed: this.pushed,
      rate,
    });
    return this.pushed >= need;
  }

  /** Times the buffer ran dry before the end of the stream, so far. */
  get underruns(): number {
    return this.underrunCount;
  }

  private report(r: PlaybackReport): void {
    if (this.isOver() && this.phase !== 'stopped') return;
    this.played = r.played;
    if (r.type !== 'started') this.underrunCount = r.underruns;
    this.reportTime = r.time;
    switch (r.type) {
      case 'started':
        this.sounding = true;
        if (this.phase === 'buffering') {
          this.phase = 'playing';
          this.emit('started', this.bufferedAtStart, this.ended);
        }
        break;
      case 'progress':
        this.sounding = r.playing;
        break;
      case 'ended':
        this.sounding = false;
        if (this.phase === 'stopped') return this.finish('stopped'); // it ended as stop() was on its way
        if (this.phase === 'buffering') this.emit('started', this.bufferedAtStart, this.ended); // shorter than a quantum
        return this.finish('ended', r.underruns);
      case 'stopped':
        this.sounding = false;
        this.finish('stopped');
        return;
      default:
        throw new Error(`Unknown playback report: ${(r as { type: string }).type}`);
    }
    this.pump(); // room freed in the ring
  }

  private finish(how: 'ended' | 'stopped', underruns = 0): void {
    if (this.stopTimer) clearTimeout(this.stopTimer);
    this.stopTimer = null;
    const seconds = this.played / this.sampleRate;
    this.phase = how;
    this.release();
    if (how === 'ended') this.emit('ended', underruns, seconds);
    else this.emit('stopped', seconds);
    for (const set of Object.values(this.listeners)) set.clear();
  }

  private fail(message: string): void {
    if (this.isOver()) return this.release();
    this.phase = 'failed';
    this.release();
    this.emit('error', message);
    for (const set of Object.values(this.listeners)) set.clear();
  }

  private release(): void {
    if (this.stopTimer) clearTimeout(this.stopTimer);
    this.stopTimer = null;
    if (this.node) {
      this.node.port.onmessage = null;
      this.node.port.close();
      this.node.disconnect();
      this.node = null;
    }
    this.pending = [];
    this.ring = null;
    const ctx = this.ctx;
    this.ctx = null;
    if (ctx && ctx.state !== 'closed') void ctx.close().catch(() => {});
  }
}
