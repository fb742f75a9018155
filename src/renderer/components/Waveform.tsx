// A wavesurfer.js waveform drawn from min/max peaks, with zoom; scrolls when zoomed in. Peaks come
// from the engine for signals (an hour of audio is 65,536 buckets, not 57 M samples) or are computed
// here from a continuation; wavesurfer then never decodes audio to draw it.
import { useEffect, useMemo, useRef, useState } from 'react';
import WaveSurfer from 'wavesurfer.js';
import { computePeaks, type Peaks } from '../../shared/dsp/peaks';

export interface WaveformProps {
  /** The samples to draw, or null; ignored when `peaks` is given. */
  samples?: Float32Array | null;
  /** Precomputed peaks with the signal's length in samples. */
  peaks?: { peaks: Peaks; length: number } | null;
  sampleRate: number;
  height?: number;
  color?: string;
  label: string;
  onReady?: (duration: number) => void;
}

export function Waveform({ samples = null, peaks = null, sampleRate, height = 96, color = '#4a7bd0', label, onReady }: WaveformProps) {
  const box = useRef<HTMLDivElement>(null);
  const ws = useRef<WaveSurfer | null>(null);
  const [zoom, setZoom] = useState(0);
  const readyRef = useRef(onReady);
  readyRef.current = onReady;

  useEffect(() => {
    if (!box.current) return;
    const w = WaveSurfer.create({ container: box.current, height, waveColor: color, progressColor: color, cursorWidth: 0, interact: false, normalize: false });
    ws.current = w;
    const off = w.on('ready', (d) => readyRef.current?.(d));
    return () => {
      off();
      w.destroy();
      ws.current = null;
    };
  }, [height, color]);

  const drawn = useMemo(() => peaks ?? (samples && samples.length ? { peaks: computePeaks(samples), length: samples.length } : null), [peaks, samples]);

  useEffect(() => {
    const w = ws.current;
    if (!w || !drawn || drawn.length === 0) return;
    let stale = false;
    void w.load('', [drawn.peaks.max, drawn.peaks.min], drawn.length / sampleRate).catch((e: Error) => {
      if (!stale) console.warn(`Waveform: ${e.message}`);
    });
    return () => {
      stale = true;
    };
  }, [drawn, sampleRate]);

  useEffect(() => {
    const w = ws.current;
    if (w && drawn && drawn.length) {
      try {
        w.zoom(zoom);
      } catch {
        // zoom before the first load is ignored
      }
    }
  }, [zoom, drawn]);

  return (
    <div className="waveform" aria-label={label}>
      <div ref={box} className="waveform-canvas" data-testid={`waveform-${label}`} data-samples={drawn?.length ?? 0} />
      <label className="zoom">
        zoom
        <input type="range" min={0} max={20000} step={100} value={zoom} onChange={(e) => setZoom(Number(e.target.value))} />
      </label>
    </div>
  );
}
