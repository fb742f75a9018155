// A wavesurfer.js waveform of a Float32Array, with zoom; scrolls when zoomed in.
import { useEffect, useRef, useState } from 'react';
import WaveSurfer from 'wavesurfer.js';
import { encodeWav } from '../../shared/signals/wav';

export interface WaveformProps {
  samples: Float32Array | null;
  sampleRate: number;
  height?: number;
  color?: string;
  label: string;
  onReady?: (duration: number) => void;
}

export function Waveform({ samples, sampleRate, height = 96, color = '#4a7bd0', label, onReady }: WaveformProps) {
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

  useEffect(() => {
    const w = ws.current;
    if (!w || !samples || samples.length === 0) return;
    let stale = false;
    const blob = new Blob([encodeWav(samples, sampleRate) as Uint8Array<ArrayBuffer>], { type: 'audio/wav' });
    void w.loadBlob(blob).catch((e: Error) => {
      if (!stale) console.warn(`Waveform: ${e.message}`);
    });
    return () => {
      stale = true;
    };
  }, [samples, sampleRate]);

  useEffect(() => {
    const w = ws.current;
    if (w && samples && samples.length) {
      try {
        w.zoom(zoom);
      } catch {
        // zoom before the first load is ignored
      }
    }
  }, [zoom, samples]);

  return (
    <div className="waveform" aria-label={label}>
      <div ref={box} className="waveform-canvas" data-testid={`waveform-${label}`} data-samples={samples?.length ?? 0} />
      <label className="zoom">
        zoom
        <input type="range" min={0} max={20000} step={100} value={zoom} onChange={(e) => setZoom(Number(e.target.value))} />
      </label>
    </div>
  );
}
