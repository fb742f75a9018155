// Live mode, the notebook's plan: the microphone, captured at the model's rate in batches of one
// render quantum (128 samples), goes to the engine over the same transport as every other message
// (live.push, Electron IPC or the WebSocket); each answer (a batch of the same length) is played
// through the playback worklet's ring. Round-trip latency is measured from a batch leaving the capture
// worklet (its arrival on this thread) to its answer arriving; under-runs are the playback ring's.
import { StreamPlayer } from './stream-player';
import { openMicrophone } from './capture';
import type { LabClient } from '../lab-client';
import type { LiveModeName } from '../../shared/protocol';

const CAPTURE_WORKLET_URL = new URL('./capture-worklet.js', import.meta.url);

export interface LiveLoopOptions {
  client: Pick<LabClient, 'call'>;
  /** The model to run (its rate is the capture's). */
  model: string;
  mode: LiveModeName;
  sampleRate: number;
  /** Samples per batch (one render quantum by default). */
  batchSize?: number;
  /** Seconds of answers buffered before they sound: room for the round trip's jitter. */
  prerollSeconds?: number;
  /** Batches allowed in flight; beyond that input is dropped (and counted) rather than queued. */
  maxInFlight?: number;
  /** The model's sampling temperature; unset: its family's default. */
  temperature?: number;
}

export const defaultLiveLoopOptions = { batchSize: 128, prerollSeconds: 0.06, maxInFlight: 32 } as const;

/** What the panel shows, updated as answers arrive. Latencies in milliseconds. */
export interface LiveFigures {
  batches: number;
  lastMs: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  underruns: number;
  /** Input batches dropped because too many were in flight (the engine fell behind). */
  dropped: number;
  state: 'listening' | 'responding';
  levelDbfs: number;
  computeMs: number;
  /** Whether answers have started to sound. */
  sounding: boolean;
  /** Call and response: times the model began to answer (known once stopped). */
  responses: number;
}

/** Latencies kept for the median and the 95th percentile: the last this many batches (about 33 s at 16 kHz). */
const LATENCY_WINDOW = 4096;

export class LiveLoop {
  private readonly o: LiveLoopOptions & typeof defaultLiveLoopOptions;
  private ctx: AudioContext | null = null;
  private stream: MediaStream | null = null;
  private source: MediaStreamAudioSourceNode | null = null;
  private node: AudioWorkletNode | null = null;
  private player: StreamPlayer | null = null;
  private liveId: string | null = null;
  private seq = 0;
  private inFlight = 0;
  private stopped = false;
  private readonly latencies = new Float64Array(LATENCY_WINDOW);
  private readonly sorted = new Float64Array(LATENCY_WINDOW);
  readonly figures: LiveFigures = { batches: 0, lastMs: 0, medianMs: 0, p95Ms: 0, maxMs: 0, underruns: 0, dropped: 0, state: 'listening', levelDbfs: -120, computeMs: 0, sounding: false, responses: 0 };
  /** Hears the figures after each answer (at most every `every` batches) and errors that end the loop. */
  onFigures: ((f: LiveFigures) => void) | null = null;
  onError: ((message: string) => void) | null = null;

  constructor(options: LiveLoopOptions) {
    this.o = { ...defaultLiveLoopOptions, ...options } as LiveLoop['o'];
  }

  /** Opens the microphone and the engine's session; resolves once batches flow. */
  async start(): Promise<{ family: string }> {
    this.stream = await openMicrophone();
    try {
      const started = await this.o.client.call('live.start', { name: this.o.model, mode: this.o.mode, sampleRate: this.o.sampleRate, batchSize: this.o.batchSize, ...(this.o.temperature !== undefined ? { temperature: this.o.temperature } : {}) });
      if (this.stopped) {
        // stop() ran while the engine opened the session: close it now rather than leave it idle.
        await this.o.client.call('live.stop', { liveId: started.liveId }).catch(() => null);
        throw new Error('Live mode was stopped while it started');
      }
      this.liveId = started.liveId;
      // The capture runs at the model's rate: the browser resamples the microphone.
      this.ctx = new AudioContext({ sampleRate: this.o.sampleRate, latencyHint: 'interactive' });
      await this.ctx.audioWorklet.addModule(CAPTURE_WORKLET_URL);
      this.source = this.ctx.createMediaStreamSource(this.stream);
      this.node = new AudioWorkletNode(this.ctx, 'sequence-lab-capture', { processorOptions: { blockSize: this.o.batchSize, recycle: true } });
      this.player = new StreamPlayer({ sampleRate: this.o.sampleRate, prerollSeconds: this.o.prerollSeconds, ringSeconds: 2, latencyHint: 'interactive' });
      this.player.on('started', () => (this.figures.sounding = true));
      this.player.on('error', (m) => this.fail(`Playback failed: ${m}`));
      await this.player.ready;
      if (this.stopped || !this.node || !this.source) throw new Error('Live mode was stopped while it started');
      this.node.port.onmessage = (e: MessageEvent<Float32Array>) => this.send(e.data);
      this.source.connect(this.node);
      await this.ctx.resume();
      return { family: started.family };
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  private send(batch: Float32Array): void {
    const liveId = this.liveId;
    if (!liveId || this.stopped) return;
    if (this.inFlight >= this.o.maxInFlight) {
      this.figures.dropped++;
      this.node?.port.postMessage(batch, [batch.buffer]); // dropped, but its buffer is reused
      return;
    }
    const t0 = performance.now();
    const seq = this.seq++;
    this.inFlight++;
    // The batch's buffer goes back to the capture worklet once the call has settled (its message was
    // sent by then), so that the audio thread reuses it instead of allocating.
    const recycle = () => this.node?.port.postMessage(batch, [batch.buffer]);
    this.o.client.call('live.push', { liveId, seq, samples: batch }).then(
      (r) => {
        this.inFlight--;
        recycle();
        if (this.stopped) return;
        this.answer(performance.now() - t0, r);
      },
      (e: Error) => {
        this.inFlight--;
        recycle();
        this.fail(e.message);
      },
    );
  }

  private answer(ms: number, r: { samples: Float32Array; state: 'listening' | 'responding'; computeMs: number; levelDbfs: number }): void {
    const f = this.figures;
    this.latencies[f.batches % LATENCY_WINDOW] = ms;
    f.batches++;
    f.lastMs = ms;
    f.maxMs = Math.max(f.maxMs, ms);
    f.state = r.state;
    f.computeMs = r.computeMs;
    f.levelDbfs = r.levelDbfs;
    this.player?.push(r.samples);
    f.underruns = this.player?.underruns ?? 0;
    // The percentiles every 16 batches (a sort of at most 4096 values): cheap at 125 batches/s.
    if (f.batches % 16 === 1) this.percentiles();
    this.onFigures?.(f);
  }

  private percentiles(): void {
    const n = Math.min(this.figures.batches, LATENCY_WINDOW);
    const s = this.sorted.subarray(0, n);
    s.set(this.latencies.subarray(0, n));
    s.sort();
    this.figures.medianMs = s[Math.floor((n - 1) / 2)];
    this.figures.p95Ms = s[Math.min(n - 1, Math.floor(0.95 * (n - 1)))];
  }

  private fail(message: string): void {
    if (this.stopped) return;
    void this.stop();
    this.onError?.(message);
  }

  /** Stops capture and playback and closes the engine's session; returns the final figures. */
  async stop(): Promise<LiveFigures> {
    const liveId = this.liveId;
    const wasStopped = this.stopped;
    this.stopped = true;
    this.liveId = null;
    if (this.figures.batches) this.percentiles();
    this.figures.underruns = this.player?.underruns ?? this.figures.underruns;
    if (this.node) this.node.port.onmessage = null;
    this.node?.disconnect();
    this.source?.disconnect();
    this.stream?.getTracks().forEach((t) => t.stop());
    this.player?.destroy();
    void this.ctx?.close().catch(() => {});
    this.node = null;
    this.source = null;
    this.stream = null;
    this.player = null;
    this.ctx = null;
    if (liveId && !wasStopped) {
      const r = await this.o.client.call('live.stop', { liveId }).catch(() => null);
      if (r) this.figures.responses = r.responses;
    }
    return this.figures;
  }
}
