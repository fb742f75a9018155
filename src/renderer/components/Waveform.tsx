// A wavesurfer.js waveform drawn from min/max peaks, with zoom, a time ruler (wavesurfer's Timeline
// plugin) and an amplitude ruler; scrolls when zoomed in. Peaks come
// from the engine for signals (an hour of audio is 65,536 buckets, not 57 M samples) or are computed
// here from a continuation; wavesurfer then never decodes audio to draw it.
import { useEffect, useMemo, useRef, useState } from 'react';
import WaveSurfer from 'wavesurfer.js';
import TimelinePlugin from 'wavesurfer.js/dist/plugins/timeline.esm.js';
import RegionsPlugin from 'wavesurfer.js/dist/plugins/regions.esm.js';
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
  /** Whether the signal is being played now: the playhead then follows `position`. */
  playing?: boolean;
  /** Seconds played so far, read on every animation frame while `playing`. */
  position?: () => number;
  /** Spans drawn over the waveform (wavesurfer's Regions plugin); draggable when onRegionChange is given. */
  regions?: WaveRegion[];
  /** A region was dragged or resized: its new span in seconds. */
  onRegionChange?: (id: string, span: { start: number; end: number }) => void;
}

export interface WaveRegion {
  id: string;
  start: number;
  end: number;
  color: string;
  label: string;
}

/** A time-ruler label: "0.5 s", "1:05" past a minute. */
export function formatSeconds(t: number): string {
  if (t < 60) return `${Number(t.toPrecision(3))} s`;
  const m = Math.floor(t / 60);
  const s = Math.round(t - m * 60);
  return `${m}:${String(s).padStart(2, '0')}`;
}

export function Waveform({ samples = null, peaks = null, sampleRate, height = 96, color = '#4a7bd0', label, onReady, playing = false, position, regions, onRegionChange }: WaveformProps) {
  const box = useRef<HTMLDivElement>(null);
  const ws = useRef<WaveSurfer | null>(null);
  const regionsPlugin = useRef<RegionsPlugin | null>(null);
  /** The peaks wavesurfer has finished loading: regions are drawn over those only (a region added over an older, shorter signal would be clamped to it). */
  const [loaded, setLoaded] = useState<unknown>(null);
  const loading = useRef<unknown>(null);
  const regionChange = useRef(onRegionChange);
  const drawingRegions = useRef(false);
  regionChange.current = onRegionChange;
  const [zoom, setZoom] = useState(0);
  const readyRef = useRef(onReady);
  readyRef.current = onReady;

  useEffect(() => {
    if (!box.current) return;
    // normalize: false draws ±1 at the full height, which is what the amplitude ruler says.
    const w = WaveSurfer.create({
      container: box.current,
      height,
      waveColor: color,
      progressColor: color,
      cursorWidth: 2,
      cursorColor: 'transparent', // shown while playing (below)
      interact: false,
      normalize: false,
      plugins: [TimelinePlugin.create({ height: 16, formatTimeCallback: formatSeconds, style: { fontSize: '10px', color: '#555' } })],
    });
    ws.current = w;
    const rp = w.registerPlugin(RegionsPlugin.create());
    regionsPlugin.current = rp;
    // Only the user's drags report back: the plugin also moves regions itself when they are added
    // (clamped to the duration, nudged apart when they overlap), and that must not rewrite them.
    const offUpdate = rp.on('region-updated', (r) => !drawingRegions.current && regionChange.current?.(r.id, { start: r.start, end: r.end }));
    const off = w.on('ready', (d) => {
      setLoaded(loading.current);
      readyRef.current?.(d);
    });
    return () => {
      off();
      offUpdate();
      w.destroy();
      ws.current = null;
      regionsPlugin.current = null;
    };
  }, [height, color]);

  // The playhead: wavesurfer's cursor moved to the player's position on every frame while playing
  // (it scrolls a zoomed waveform along); back at the start, hidden, once playback stops.
  const positionRef = useRef(position);
  positionRef.current = position;
  useEffect(() => {
    const w = ws.current;
    const el = box.current;
    if (!w || !el) return;
    const put = (t: number) => {
      try {
        w.setTime(t);
      } catch {
        // nothing loaded yet
      }
      el.dataset.playhead = t.toFixed(3);
    };
    if (!playing) {
      w.setOptions({ cursorColor: 'transparent' });
      put(0);
      return;
    }
    w.setOptions({ cursorColor: '#c0392b' });
    let frame = requestAnimationFrame(function tick() {
      put(positionRef.current?.() ?? 0);
      frame = requestAnimationFrame(tick);
    });
    return () => cancelAnimationFrame(frame);
  }, [playing]);

  // Keyed on the peak arrays, not the wrapper object a parent may rebuild on every render.
  const peakArrays = peaks?.peaks;
  const peakLength = peaks?.length;
  const drawn = useMemo(
    () => (peakArrays && peakLength !== undefined ? { peaks: peakArrays, length: peakLength } : samples && samples.length ? { peaks: computePeaks(samples), length: samples.length } : null),
    [peakArrays, peakLength, samples],
  );

  useEffect(() => {
    const w = ws.current;
    if (!w || !drawn || drawn.length === 0) return;
    let stale = false;
    loading.current = drawn;
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

  // The regions, drawn again whenever they or the waveform change (after each load: a load clears them).
  const draggable = onRegionChange !== undefined;
  // Keyed on the regions' values, not the array a parent rebuilds on every render: a region being
  // dragged is not torn down by an unrelated re-render (training progress, say).
  const regionsKey = JSON.stringify(regions ?? []);
  useEffect(() => {
    const rp = regionsPlugin.current;
    if (!rp || !drawn || loaded !== drawn) return;
    drawingRegions.current = true;
    try {
      rp.clearRegions();
      for (const r of JSON.parse(regionsKey) as WaveRegion[]) {
        rp.addRegion({ id: r.id, start: r.start, end: r.end, color: r.color, content: r.label, drag: draggable, resize: draggable });
      }
    } finally {
      drawingRegions.current = false;
    }
  }, [regionsKey, loaded, drawn, draggable]);

  const seconds = drawn ? drawn.length / sampleRate : 0;
  const range = useMemo(() => {
    let lo = 0;
    let hi = 0;
    for (let i = 0; drawn && i < drawn.peaks.max.length; i++) {
      lo = Math.min(lo, drawn.peaks.min[i]);
      hi = Math.max(hi, drawn.peaks.max[i]);
    }
    return [lo, hi];
  }, [drawn]);
  const summary = drawn
    ? `Waveform of the ${label} signal: ${drawn.length.toLocaleString('en-US')} samples, ${formatSeconds(seconds)} at ${sampleRate} Hz, amplitude from ${range[0].toPrecision(2)} to ${range[1].toPrecision(2)}`
    : `Waveform of the ${label} signal: nothing to show yet`;
  return (
    <figure className="waveform" aria-label={summary}>
      <div className="waveform-body">
        <div className="amplitude-ruler" aria-hidden="true" style={{ height }}>
          <span>+1</span>
          <span>0</span>
          <span>−1</span>
        </div>
        <div ref={box} className="waveform-canvas" role="img" aria-label={summary} data-testid={`waveform-${label}`} data-samples={drawn?.length ?? 0} data-playing={playing} data-regions={(regions ?? []).map((r) => `${r.id}:${r.start.toFixed(2)}-${r.end.toFixed(2)}`).join(' ')} />
      </div>
      <label className="zoom">
        zoom
        <input type="range" aria-label={`zoom the ${label} waveform (pixels per second)`} min={0} max={20000} step={100} value={zoom} onChange={(e) => setZoom(Number(e.target.value))} />
      </label>
    </figure>
  );
}
