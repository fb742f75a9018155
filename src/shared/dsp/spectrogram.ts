// A spectrogram as a small picture: at most `columns` Hann-windowed frames spread evenly over a
// signal of any length (an hour costs what a second does), each a column of log magnitudes in dB
// folded into `rows` bands from 0 Hz to Nyquist and mapped to [0, 1] over the `rangeDb` below the
// loudest cell. The engine computes it for a signal it holds, the renderer for a continuation.
import FFT from 'fft.js';
import { hannWindow } from './stft';

export interface SpectrogramImage {
  columns: number;
  rows: number;
  /** `[columns, rows]` row-major (column c's band r at c·rows + r; band 0 is 0 Hz), each in [0, 1]. */
  values: Float32Array;
  /** The top band's upper edge: half the sample rate. */
  maxHz: number;
  /** Seconds the image spans. */
  seconds: number;
}

export interface SpectrogramOptions {
  columns?: number;
  rows?: number;
  /** A power of two: 512 at 16 kHz is 32 ms, enough to resolve a voice's harmonics. */
  frameSize?: number;
  /** dB shown below the loudest cell. */
  rangeDb?: number;
}

export function spectrogramImage(x: Float32Array, sampleRate: number, o: SpectrogramOptions = {}): SpectrogramImage {
  const frameSize = o.frameSize ?? 512;
  const rows = o.rows ?? 128;
  const rangeDb = o.rangeDb ?? 80;
  const bins = frameSize / 2;
  const columns = x.length === 0 ? 0 : Math.max(1, Math.min(o.columns ?? 400, Math.ceil(x.length / (frameSize / 4))));
  const values = new Float32Array(columns * rows);
  const fft = new FFT(frameSize);
  const w = hannWindow(frameSize);
  const frame = new Array<number>(frameSize).fill(0);
  const out = fft.createComplexArray() as number[];
  const perRow = bins / rows;
  let peak = -Infinity;
  for (let c = 0; c < columns; c++) {
    // Frame centred on the column's middle sample.
    const centre = Math.floor(((c + 0.5) * x.length) / columns);
    const start = centre - frameSize / 2;
    for (let i = 0; i < frameSize; i++) {
      const j = start + i;
      frame[i] = j >= 0 && j < x.length ? x[j] * w[i] : 0;
    }
    fft.realTransform(out, frame);
    for (let r = 0; r < rows; r++) {
      let power = 0;
      const from = Math.floor(r * perRow);
      const to = Math.max(from + 1, Math.floor((r + 1) * perRow));
      for (let k = from; k < to; k++) power += out[2 * k] ** 2 + out[2 * k + 1] ** 2;
      const db = 10 * Math.log10(power / (to - from) + 1e-20);
      values[c * rows + r] = db;
      if (db > peak) peak = db;
    }
  }
  // Silence (nothing above -150 dB full scale) draws dark, not as its own loudest cell.
  const top = Math.max(peak, 10 * Math.log10(frameSize * frameSize) - 150);
  for (let i = 0; i < values.length; i++) values[i] = Math.max(0, Math.min(1, (values[i] - (top - rangeDb)) / rangeDb));
  return { columns, rows, values, maxHz: sampleRate / 2, seconds: x.length / sampleRate };
}
