// Plays a Float32Array through WebAudio at its own sample rate (exact samples, no media decoding).
export interface PlaybackInfo {
  state: AudioContextState;
  sampleRate: number;
  seconds: number;
}

export class SamplePlayer {
  private ctx: AudioContext | null = null;
  private source: AudioBufferSourceNode | null = null;
  /** The audio clock's time when the current source started, and its length in seconds. */
  private started = 0;
  private duration = 0;

  /** Starts playback (stopping any current one); resolves once the context is running. */
  async play(samples: Float32Array, sampleRate: number, onEnded?: () => void): Promise<PlaybackInfo> {
    this.stop();
    if (!this.ctx || this.ctx.sampleRate !== sampleRate) {
      await this.ctx?.close();
      this.ctx = new AudioContext({ sampleRate });
    }
    const buffer = this.ctx.createBuffer(1, samples.length, sampleRate);
    buffer.copyToChannel(samples as Float32Array<ArrayBuffer>, 0);
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.ctx.destination);
    source.onended = () => {
      if (this.source === source) this.source = null;
      onEnded?.();
    };
    this.source = source;
    this.started = this.ctx.currentTime;
    this.duration = samples.length / sampleRate;
    source.start(this.started);
    await this.ctx.resume();
    return { state: this.ctx.state, sampleRate: this.ctx.sampleRate, seconds: samples.length / sampleRate };
  }

  get playing(): boolean {
    return this.source !== null;
  }

  /** Seconds the audio clock has advanced (tests check that audio really runs). */
  get clock(): number {
    return this.ctx?.currentTime ?? 0;
  }

  /** Seconds of the current playback heard so far (0 when nothing plays): where a playhead goes. */
  get position(): number {
    if (!this.source || !this.ctx) return 0;
    return Math.min(this.duration, Math.max(0, this.ctx.currentTime - this.started));
  }

  stop(): void {
    const s = this.source;
    this.source = null;
    if (s) {
      s.onended = null;
      s.stop();
      s.disconnect();
    }
  }

  /** Releases the audio context. */
  destroy(): void {
    this.stop();
    void this.ctx?.close();
    this.ctx = null;
  }
}
