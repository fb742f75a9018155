// A spectrogram drawn under a waveform: time left to right, 0 Hz at the bottom, loudness as colour
// (dark = quiet). Takes the small picture shared/dsp/spectrogram.ts computes; draws it on a canvas.
import { useEffect, useMemo, useRef } from 'react';
import type { SpectrogramImage } from '../../shared/dsp/spectrogram';

/** Colour stops from quiet to loud (a magma-like ramp readable in both themes). */
const STOPS: [number, number, number][] = [
  [8, 8, 24],
  [70, 20, 110],
  [180, 50, 90],
  [245, 140, 60],
  [252, 250, 190],
];

function colour(v: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, v)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i];
  const b = STOPS[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** The band with the most energy over the whole image, in Hz (its centre), for the description. */
export function strongestBandHz(image: SpectrogramImage): number | null {
  if (!image.columns) return null;
  const sums = new Float64Array(image.rows);
  for (let c = 0; c < image.columns; c++) for (let r = 0; r < image.rows; r++) sums[r] += image.values[c * image.rows + r];
  let best = 0;
  for (let r = 1; r < image.rows; r++) if (sums[r] > sums[best]) best = r;
  return ((best + 0.5) * image.maxHz) / image.rows;
}

export function Spectrogram({ image, label, height = 72 }: { image: SpectrogramImage | null; label: string; height?: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    if (!c || !image || !image.columns) return;
    c.width = image.columns;
    c.height = image.rows;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    const data = ctx.createImageData(image.columns, image.rows);
    for (let col = 0; col < image.columns; col++) {
      for (let r = 0; r < image.rows; r++) {
        const [red, green, blue] = colour(image.values[col * image.rows + r]);
        const p = ((image.rows - 1 - r) * image.columns + col) * 4; // 0 Hz at the bottom
        data.data[p] = red;
        data.data[p + 1] = green;
        data.data[p + 2] = blue;
        data.data[p + 3] = 255;
      }
    }
    ctx.putImageData(data, 0, 0);
  }, [image]);
  const description = useMemo(() => {
    if (!image || !image.columns) return `${label} spectrogram: nothing to show`;
    const strongest = strongestBandHz(image);
    return `${label} spectrogram, 0 to ${Math.round(image.maxHz)} Hz over ${image.seconds.toFixed(2)} s${strongest !== null ? `; most energy near ${Math.round(strongest)} Hz` : ''}`;
  }, [image, label]);
  if (!image || !image.columns) return null;
  return (
    <figure className="spectrogram" data-testid={`spectrogram-${label}`} data-columns={image.columns}>
      <canvas ref={canvas} role="img" aria-label={description} style={{ width: '100%', height }} />
      <figcaption className="hint">
        <span>0 Hz</span> – <span>{(image.maxHz / 1000).toFixed(image.maxHz >= 10_000 ? 0 : 1)} kHz</span>, {image.seconds.toFixed(2)} s
      </figcaption>
    </figure>
  );
}
