// A worker that turns an opened audio file into mono samples and waveform peaks, off the UI thread:
// an hour of 16 kHz audio is 57 M samples, which took the page 8 s to decode and ship to the engine
// before its waveform could be drawn. The page now draws the peaks from here at once and sends the
// samples to the engine only when it trains.
import { computePeaks } from '../../shared/dsp/peaks';
import { spectrogramImage, type SpectrogramImage } from '../../shared/dsp/spectrogram';
import { decodeWav } from '../../shared/signals/wav';

export interface DecodeRequest {
  name: string;
  bytes: ArrayBuffer;
}

export type DecodeReply =
  | { ok: true; samples: Float32Array; sampleRate: number; channels: number; bitDepth: string; peaks: { max: Float32Array; min: Float32Array }; spectrogram: SpectrogramImage }
  | { ok: false; message: string };

const scope = self as unknown as { onmessage: ((e: MessageEvent<DecodeRequest>) => void) | null; postMessage(m: DecodeReply, transfer: Transferable[]): void };

scope.onmessage = (e) => {
  try {
    const audio = decodeWav(new Uint8Array(e.data.bytes), e.data.name);
    const peaks = computePeaks(audio.samples);
    const spectrogram = spectrogramImage(audio.samples, audio.sampleRate);
    // Transferred, not copied: the samples are the file's only decoded copy.
    scope.postMessage(
      { ok: true, samples: audio.samples, sampleRate: audio.sampleRate, channels: audio.channels, bitDepth: audio.bitDepth, peaks, spectrogram },
      [audio.samples.buffer, peaks.max.buffer, peaks.min.buffer, spectrogram.values.buffer],
    );
  } catch (err) {
    scope.postMessage({ ok: false, message: (err as Error).message }, []);
  }
};
