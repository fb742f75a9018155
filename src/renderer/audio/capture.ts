// Records the microphone through an AudioWorklet into one Float32Array (mono, the context's rate),
// handing each block (about 4096 frames) to `onBlock` as it arrives: the recordings library streams
// them to the engine, the level meter and the growing waveform draw them.
const WORKLET_URL = new URL('./capture-worklet.js', import.meta.url);

/** The reason getUserMedia failed, in words a user can act on (the DOMException's name says which). */
export function microphoneError(e: unknown): Error {
  const name = (e as { name?: string })?.name;
  const detail = (e as Error)?.message ? ` (${(e as Error).message})` : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new Error(`Microphone access was denied${detail}: allow the microphone for this page in the browser's or the system's settings, then try again`);
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new Error(`No microphone was found${detail}: connect one, or choose it as the input device in the system's sound settings`);
    case 'NotReadableError':
    case 'AbortError':
      return new Error(`The microphone could not be opened${detail}: another application may be using it; close that one and try again`);
    default:
      return new Error(`Microphone unavailable${detail || `: ${String(e)}`}`);
  }
}

/** The microphone, raw: no echo cancellation, noise suppression or automatic gain (the model hears what is there). */
export async function openMicrophone(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('This browser cannot capture audio (no mediaDevices.getUserMedia; browser mode needs http://127.0.0.1 or https)');
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: false });
  } catch (e) {
    throw microphoneError(e);
  }
}

export interface Recording {
  samples: Float32Array;
  sampleRate: number;
}

export class MicrophoneRecorder {
  private ctx: AudioContext | null = null;
  private stream: MediaStream | null = null;
  private node: AudioWorkletNode | null = null;
  private source: MediaStreamAudioSourceNode | null = null;

  /**
   * Records `seconds` of audio; `signal` stops early and keeps what was captured. `onStart` hears the
   * context's rate before the first block; `onBlock` each block (the last one cut at `seconds`).
   */
  async record(
    seconds: number,
    signal?: AbortSignal,
    onProgress?: (seconds: number) => void,
    onBlock?: (block: Float32Array) => void,
    onStart?: (sampleRate: number) => void | Promise<void>,
  ): Promise<Recording> {
    this.stream = await openMicrophone();
    try {
      this.ctx = new AudioContext();
      await this.ctx.audioWorklet.addModule(WORKLET_URL);
      this.source = this.ctx.createMediaStreamSource(this.stream);
      this.node = new AudioWorkletNode(this.ctx, 'sequence-lab-capture');
      await onStart?.(this.ctx.sampleRate);
      const blocks: Float32Array[] = [];
      let frames = 0;
      const target = Math.round(seconds * this.ctx.sampleRate);
      const done = new Promise<void>((resolve) => {
        const finish = () => resolve();
        let stopping = false;
        // Stop: the worklet hands over the part-filled block it holds (up to 85 ms at 48 kHz), then the take ends.
        signal?.addEventListener(
          'abort',
          () => {
            stopping = true;
            this.node?.port.postMessage('flush');
            setTimeout(finish, 300); // a suspended context never answers
          },
          { once: true },
        );
        this.node!.port.onmessage = (e: MessageEvent<Float32Array>) => {
          if (frames < target && e.data.length) {
            const block = e.data.length > target - frames ? e.data.subarray(0, target - frames) : e.data;
            blocks.push(block);
            frames += block.length;
            onBlock?.(block);
            onProgress?.(frames / this.ctx!.sampleRate);
          }
          if (frames >= target || stopping) finish();
        };
      });
      this.source.connect(this.node);
      await this.ctx.resume();
      await done;
      const samples = new Float32Array(Math.min(frames, target));
      let o = 0;
      for (const b of blocks) {
        const n = Math.min(b.length, samples.length - o);
        samples.set(b.subarray(0, n), o);
        o += n;
        if (o >= samples.length) break;
      }
      return { samples, sampleRate: this.ctx.sampleRate };
    } finally {
      this.destroy();
    }
  }

  /** Stops capture and releases the microphone and the audio context. */
  destroy(): void {
    this.node?.port.close();
    this.node?.disconnect();
    this.source?.disconnect();
    this.stream?.getTracks().forEach((t) => t.stop());
    void this.ctx?.close();
    this.node = null;
    this.source = null;
    this.stream = null;
    this.ctx = null;
  }
}
