// The playback AudioWorklet: plays a stream of samples that arrive while they are generated, read
// from a FloatRingBuffer 128 frames per render quantum. The ring is shared with the UI thread (a
// SharedArrayBuffer, when the page is cross-origin isolated) or private to the worklet (the UI posts
// chunks over the port and the worklet writes them in). stream-player.ts is the UI side.
//
// Bundled by Vite as a worker (`?worker&url`), so the ring-buffer code comes with it. StreamRenderer
// is the pure part (no AudioWorklet globals), so that tests render it offline, sample for sample.
import { FloatRingBuffer } from '../../shared/audio/ring-buffer';

/** The name the processor is registered under. */
export const PLAYBACK_PROCESSOR = 'sequence-lab-playback';

/** What the UI thread passes as `processorOptions`. */
export interface PlaybackProcessorOptions {
  /** The shared ring's memory, or null: the worklet makes its own ring of `capacity` and takes chunks over the port. */
  ring: SharedArrayBuffer | null;
  capacity: number;
  /** After an under-run, wait for this many samples (or the end of the stream) before playing again. */
  rebufferSamples: number;
  /** Length of the fades that avoid clicks (start, stop, end, under-run), in samples. */
  fadeSamples: number;
  /** A progress report every this many frames. */
  reportEvery: number;
}

/** UI thread -> worklet. */
export type PlaybackCommand =
  | { type: 'samples'; samples: Float32Array }
  | { type: 'start' }
  | { type: 'end'; total: number }
  | { type: 'stop' };

/** Worklet -> UI thread. `played`: samples output so far; `time`: the audio clock when it was counted. */
export type PlaybackReport =
  | { type: 'started'; played: number; time: number }
  | { type: 'progress'; played: number; underruns: number; playing: boolean; time: number }
  | { type: 'ended'; played: number; underruns: number; time: number }
  | { type: 'stopped'; played: number; underruns: number; time: number };

type RenderState = 'waiting' | 'playing' | 'rebuffering' | 'stopping' | 'done';

/** What render() says happened in a quantum: bits to test with `&`. */
export const STARTED = 1;
export const ENDED = 2;
export const STOPPED = 4;

/**
 * Turns the ring's samples into output quanta: silence until start(); then the samples, faded in; on
 * an under-run (the ring ran dry before the end of the stream) the last real samples fade out, the
 * under-run is counted and playback waits for `rebufferSamples` again; the last samples of the stream
 * fade out and it reports ENDED; stop() fades out and reports STOPPED. Silence after the end is not
 * an under-run.
 */
export class StreamRenderer {
  /** Samples output so far (not counting silence). */
  played = 0;
  /** Times the ring ran dry before the end of the stream. */
  underruns = 0;
  private state: RenderState = 'waiting';
  /** Total samples of the stream, once end() says. */
  private total: number | null = null;
  /** Samples output since the last (re)start, for the fade-in. */
  private sinceStart = 0;
  /** Samples of the stop fade still to go. */
  private stopLeft = 0;
  private stopDue = false;
  private startedOnce = false;

  constructor(
    private readonly ring: FloatRingBuffer,
    private readonly o: { rebufferSamples: number; fadeSamples: number },
  ) {}

  /** True while samples are being output (not waiting, rebuffering or done). */
  get playing(): boolean {
    return this.state === 'playing' || this.state === 'stopping';
  }

  get done(): boolean {
    return this.state === 'done';
  }

  start(): void {
    if (this.state === 'waiting') this.state = 'playing';
  }

  /** The stream has `total` samples in all; once they are played, it has ended. */
  end(total: number): void {
    this.total = total;
  }

  stop(): void {
    if (this.state === 'done') return;
    if (this.state === 'playing') {
      this.state = 'stopping';
      this.stopLeft = this.o.fadeSamples;
    } else if (this.state !== 'stopping') {
      this.state = 'done';
      this.stopDue = true; // nothing is sounding: STOPPED on the next quantum
    }
  }

  /** Fills `out` (one render quantum); returns the STARTED, ENDED and STOPPED bits of what happened in it. */
  render(out: Float32Array): number {
    const n = out.length;
    if (this.state === 'rebuffering') {
      const left = this.total === null ? Infinity : this.total - this.played;
      if (this.ring.availableRead() >= Math.min(this.o.rebufferSamples, left)) {
        this.state = 'playing';
        this.sinceStart = 0;
      }
    }
    if (this.state !== 'playing' && this.state !== 'stopping') {
      out.fill(0);
      if (this.stopDue) {
        this.stopDue = false;
        return STOPPED;
      }
      return 0;
    }
    let events = 0;
    const want = this.total === null ? n : Math.min(n, this.total - this.played);
    const got = this.ring.read(out, 0, want);
    if (want < n) out.fill(0, want, n);
    const fade = this.o.fadeSamples;
    const stopping = this.state === 'stopping';
    for (let i = 0; i < got; i++) {
      let g = 1;
      // Fade in after a (re)start, out before the last sample of the stream, out on stop.
      if (this.sinceStart + i < fade) g = (this.sinceStart + i + 1) / (fade + 1);
      if (this.total !== null) g = Math.min(g, (this.total - this.played - i) / (fade + 1));
      if (stopping) g = Math.min(g, Math.max(0, this.stopLeft - i) / (fade + 1));
      if (g < 1) out[i] *= g;
    }
    if (!this.startedOnce && got > 0) {
      this.startedOnce = true;
      events |= STARTED;
    }
    this.played += got;
    this.sinceStart += got;
    if (stopping) {
      this.stopLeft -= got;
      if (this.stopLeft <= 0 || got < want) {
        this.state = 'done';
        return events | STOPPED;
      }
    }
    if (this.total !== null && this.played >= this.total) {
      this.state = 'done';
      return events | ENDED;
    }
    if (got < want) {
      // The ring ran dry before the end: fade the tail of what there was, wait for it to refill.
      this.underruns++;
      const k = Math.min(got, fade);
      for (let i = 0; i < k; i++) out[got - k + i] *= (k - i) / (k + 1);
      this.state = 'rebuffering';
    }
    return events;
  }
}

// ---- The processor (only where AudioWorklet globals exist) ------------------------------------

declare const registerProcessor: ((name: string, ctor: unknown) => void) | undefined;
declare const currentTime: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}

if (typeof registerProcessor === 'function') {
  class PlaybackProcessor extends AudioWorkletProcessor {
    private readonly ring: FloatRingBuffer;
    private readonly renderer: StreamRenderer;
    private readonly reportEvery: number;
    private sinceReport = 0;
    /** Set once 'ended' or 'stopped' is posted: process() then returns false and the node can go. */
    private finished = false;

    constructor(options: { processorOptions: PlaybackProcessorOptions }) {
      super();
      const o = options.processorOptions;
      this.ring = o.ring ? new FloatRingBuffer(o.ring) : FloatRingBuffer.create(o.capacity, false);
      this.renderer = new StreamRenderer(this.ring, { rebufferSamples: o.rebufferSamples, fadeSamples: o.fadeSamples });
      this.reportEvery = o.reportEvery;
      this.port.onmessage = (e: MessageEvent<PlaybackCommand>) => {
        const m = e.data;
        if (m.type === 'samples') this.ring.write(m.samples); // the UI sends no more than fits
        else if (m.type === 'start') this.renderer.start();
        else if (m.type === 'end') this.renderer.end(m.total);
        else if (m.type === 'stop') this.renderer.stop();
      };
    }

    private post(r: PlaybackReport): void {
      this.port.postMessage(r);
    }

    process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
      if (this.finished) return false;
      const out = outputs[0][0];
      const r = this.renderer;
      const events = r.render(out);
      for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
      if (events & STARTED) this.post({ type: 'started', played: r.played, time: currentTime });
      if (events & (ENDED | STOPPED)) {
        this.finished = true;
        this.post({ type: events & ENDED ? 'ended' : 'stopped', played: r.played, underruns: r.underruns, time: currentTime });
        return true;
      }
      this.sinceReport += out.length;
      if (this.sinceReport >= this.reportEvery) {
        this.sinceReport = 0;
        this.post({ type: 'progress', played: r.played, underruns: r.underruns, playing: r.playing, time: currentTime });
      }
      return true;
    }
  }

  registerProcessor(PLAYBACK_PROCESSOR, PlaybackProcessor);
}
