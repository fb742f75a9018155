// Generation as the UI sees it: one continuation at a time, growing as its chunks arrive (a
// continuation too), then the whole result; Continue appends from the returned packed state. Each
// run can be heard as it is generated: its chunks go to a StreamPlayer. A stale run (the signal
// changed meanwhile, or a newer run started) is dropped by its run id. An error never erases the
// last result. Stop stops the sound only: generation has no cancel, and its result is still shown.
import { useCallback, useEffect, useRef, useState } from 'react';
import { emitAppEvent } from '../../app-events';
import { StreamPlayer } from '../../audio/stream-player';
import type { LabClient } from '../../lab-client';
import { newRunId } from '../training/useTraining';
import type { GenerateOptions, GenerationView, StreamPlayback } from './GenerationPanel';

export const emptyGeneration: GenerationView = { model: null, primeSamples: new Float32Array(0), samples: new Float32Array(0), truth: null, sampleRate: 44100, state: null };

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** How often the growing continuation is redrawn while its chunks arrive. */
const VIEW_UPDATE_MS = 150;

export interface GenerationHandlers {
  onError: (message: string) => void;
  /** Play-while-generating is about to start: stop any other playback (one player at a time). */
  onPlaybackStart?: () => void;
}

/** The run whose chunks are drawn: its id and where its samples start in the view (after the earlier ones, for a continuation). */
interface ShownRun {
  runId: string;
  base: number;
  /** The chunks received in order, and the packed state after the last: kept if the run fails mid-way. */
  received: Float32Array[];
  receivedLength: number;
  lastState: Float32Array | null;
}

/** A run that failed after some chunks: what arrived, and the state to continue from. */
function receivedPart(run: ShownRun): { samples: Float32Array; state: Float32Array } | null {
  if (!run.lastState || !run.receivedLength) return null;
  const samples = new Float32Array(run.receivedLength);
  let o = 0;
  for (const c of run.received) {
    samples.set(c, o);
    o += c.length;
  }
  return { samples, state: run.lastState };
}

/** The run being heard: its player, where it starts in the view, and how much of it was pushed. */
interface HeardRun extends ShownRun {
  player: StreamPlayer;
  sampleRate: number;
  pushed: number;
}

export function useGeneration(client: LabClient, h: GenerationHandlers) {
  const [view, setView] = useState<GenerationView>(emptyGeneration);
  const [busy, setBusy] = useState(false);
  const [playback, setPlayback] = useState<StreamPlayback | null>(null);
  const current = useRef<ShownRun | null>(null);
  const heard = useRef<HeardRun | null>(null);
  /** The last stream started: only its events change the status line (a stopped one reports late). */
  const latest = useRef<HeardRun | null>(null);
  const handlers = useRef(h);
  handlers.current = h;

  // The continuation is heard as its chunks arrive, and grows on screen a few times a second (each
  // redraw recomputes the chart and spectrogram of all of it; the sound must not wait for that).
  useEffect(() => {
    let shown: { run: ShownRun; from: number; chunks: Float32Array[] } | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      const batch = shown;
      shown = null;
      if (!batch || current.current !== batch.run) return;
      const added = batch.chunks.length === 1 ? batch.chunks[0] : batch.chunks.reduce(concat);
      setView((g) => (batch.run.base + batch.from === g.samples.length ? { ...g, samples: concat(g.samples, added) } : g));
    };
    const off = client.on('generate.chunk', (c) => {
      const run = current.current;
      if (!run || c.runId !== run.runId) return;
      if (c.from === run.receivedLength && c.state) {
        run.received.push(c.samples);
        run.receivedLength += c.samples.length;
        run.lastState = c.state;
      }
      const s = heard.current;
      if (s && s.runId === c.runId && c.from === s.pushed) {
        s.player.push(c.samples);
        s.pushed += c.samples.length;
      }
      if (shown && (shown.run !== run || shown.from + shown.chunks.reduce((n, x) => n + x.length, 0) !== c.from)) flush();
      if (!shown) shown = { run, from: c.from, chunks: [] };
      shown.chunks.push(c.samples);
      timer ??= setTimeout(flush, VIEW_UPDATE_MS);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [client]);

  /** Stops what plays as it is generated (with a short fade); the generation itself goes on. */
  const stopPlayback = useCallback(() => {
    const s = heard.current;
    heard.current = null;
    s?.player.stop();
  }, []);

  useEffect(
    () => () => {
      const s = heard.current;
      heard.current = null;
      s?.player.destroy();
    },
    [],
  );

  const startPlayback = (run: ShownRun, sampleRate: number, expected: number) => {
    stopPlayback();
    handlers.current.onPlaybackStart?.();
    let player: StreamPlayer;
    try {
      player = new StreamPlayer({ sampleRate, expectedSamples: expected });
    } catch (e) {
      latest.current = null;
      setPlayback({ state: 'failed', seconds: 0, underruns: 0, message: (e as Error).message });
      return;
    }
    const s: HeardRun = { ...run, player, sampleRate, pushed: 0 };
    heard.current = latest.current = s;
    setPlayback({ state: 'buffering', seconds: 0, underruns: 0 });
    const show = (p: StreamPlayback) => latest.current === s && setPlayback(p);
    const over = () => {
      if (heard.current === s) heard.current = null;
    };
    player.on('started', (buffered, generationDone) => {
      show({ state: 'playing', seconds: 0, underruns: 0 });
      emitAppEvent('playback-started', { label: 'generated', streaming: true, state: 'running', sampleRate, seconds: expected / sampleRate, bufferedSeconds: buffered, generationDone, shared: player.shared });
    });
    player.on('ended', (underruns, seconds) => {
      over();
      show({ state: 'ended', seconds, underruns });
      emitAppEvent('playback-ended', { label: 'generated', underruns, seconds });
    });
    player.on('stopped', (seconds) => {
      over();
      show({ state: 'stopped', seconds, underruns: 0 });
      emitAppEvent('playback-stopped', { label: 'generated', ended: false });
    });
    player.on('error', (message) => {
      over();
      show({ state: 'failed', seconds: 0, underruns: 0, message });
      emitAppEvent('playback-stopped', { label: 'generated', ended: false, error: message });
    });
  };

  /** Whatever the chunks missed, then the end: the player plays out the rest. */
  const endPlayback = (runId: string, samples: Float32Array) => {
    const s = heard.current;
    if (!s || s.runId !== runId) return;
    if (s.pushed < samples.length) s.player.push(samples.subarray(s.pushed));
    s.pushed = samples.length;
    s.player.end();
  };

  const generate = async (model: string, prime: number | null, length: number, temperature: number | null = null, offset: number | null = null, options: GenerateOptions | null = null) => {
    setBusy(true);
    const before = view;
    const runId = newRunId();
    const run: ShownRun = (current.current = { runId, base: 0, received: [], receivedLength: 0, lastState: null });
    const sampleRate = options?.sampleRate ?? before.sampleRate;
    setView({ ...emptyGeneration, model, sampleRate });
    if (options?.play) startPlayback(run, sampleRate, length);
    else stopPlayback();
    try {
      const r = await client.call('generate.start', { name: model, ...(prime !== null ? { prime } : {}), length, ...(temperature !== null ? { temperature } : {}), ...(offset !== null ? { offset } : {}), runId });
      if (current.current !== run) return; // the signal changed meanwhile
      endPlayback(runId, r.samples);
      setView({ model, primeSamples: r.primeSamples, samples: r.samples, truth: r.truth, sampleRate: r.sampleRate, state: r.state });
      emitAppEvent('generation-done', { model, samples: r.samples.length });
    } catch (e) {
      if (heard.current?.runId === runId) stopPlayback();
      const part = receivedPart(run);
      if (current.current === run && part) {
        // The engine went away mid-way: what it generated is kept, and Continue carries on from it.
        setView({ model, primeSamples: new Float32Array(0), samples: part.samples, truth: null, sampleRate, state: part.state });
        handlers.current.onError(`${(e as Error).message}. The ${part.samples.length.toLocaleString('en-US')} samples generated before that are kept; Continue carries on from them.`);
      } else {
        if (current.current === run) setView(before); // an error never erases the last result
        handlers.current.onError((e as Error).message);
      }
    } finally {
      setBusy(false);
    }
  };

  const continueGeneration = async (length: number, temperature: number | null = null, options: GenerateOptions | null = null) => {
    if (!view.model || !view.state) return;
    setBusy(true);
    const before = view.samples;
    const model = view.model;
    const runId = newRunId();
    // The continuation's chunks count from 0: they land after what is shown.
    const run: ShownRun = (current.current = { runId, base: before.length, received: [], receivedLength: 0, lastState: null });
    if (options?.play) startPlayback(run, view.sampleRate, length);
    else stopPlayback();
    let r;
    try {
      r = await client.call('generate.start', { name: model, length, state: view.state, ...(temperature !== null ? { temperature } : {}), runId });
    } catch (e) {
      if (heard.current?.runId === runId) stopPlayback();
      const part = receivedPart(run);
      if (current.current === run && part) {
        setView((g) => ({ ...g, samples: concat(before, part.samples), truth: null, state: part.state }));
        handlers.current.onError(`${(e as Error).message}. The ${part.samples.length.toLocaleString('en-US')} samples generated before that are kept; Continue carries on from them.`);
      } else {
        if (current.current === run) setView((g) => ({ ...g, samples: before }));
        handlers.current.onError((e as Error).message);
      }
    }
    setBusy(false);
    if (r && current.current === run) {
      const { samples, state } = r;
      endPlayback(runId, samples);
      setView((g) => ({ ...g, samples: concat(before, samples), truth: null, state }));
      emitAppEvent('generation-done', { model, samples: before.length + samples.length, continued: true });
    }
  };

  /** Seconds into the view that the stream being heard has reached: where its playhead goes. */
  const streamPosition = useCallback(() => {
    const s = heard.current;
    return s ? s.base / s.sampleRate + s.player.position : 0;
  }, []);

  /** A new signal: what was generated belonged to the old one; a run in progress is dropped. */
  const clear = useCallback(() => {
    current.current = null;
    latest.current = null;
    stopPlayback();
    setPlayback(null);
    setView(emptyGeneration);
  }, [stopPlayback]);

  /** The engine went away: the run's answer will never come, nor the rest of its sound. */
  const interrupt = useCallback(() => {
    stopPlayback();
    setBusy(false);
  }, [stopPlayback]);

  /** Whether the continuation is being heard as it is generated (buffering or playing). */
  const streaming = playback?.state === 'buffering' || playback?.state === 'playing';

  return { view, busy, generate, continueGeneration, clear, interrupt, playback, streaming, stopPlayback, streamPosition };
}
