// Generation as the UI sees it: one continuation at a time, growing as its chunks arrive, then the
// whole result; Continue appends from the returned packed state. A stale run (the signal changed
// meanwhile, or a newer run started) is dropped by its run id. An error never erases the last result.
import { useCallback, useEffect, useRef, useState } from 'react';
import { emitAppEvent } from '../../app-events';
import type { LabClient } from '../../lab-client';
import { newRunId } from '../training/useTraining';
import type { GenerationView } from './GenerationPanel';

export const emptyGeneration: GenerationView = { model: null, primeSamples: new Float32Array(0), samples: new Float32Array(0), truth: null, sampleRate: 44100, state: null };

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export interface GenerationHandlers {
  onError: (message: string) => void;
}

export function useGeneration(client: LabClient, h: GenerationHandlers) {
  const [view, setView] = useState<GenerationView>(emptyGeneration);
  const [busy, setBusy] = useState(false);
  /** The run whose chunks are drawn; null while none is (a continuation is shown once it is whole). */
  const current = useRef<string | null>(null);
  const handlers = useRef(h);
  handlers.current = h;

  // The continuation grows as its chunks arrive, before the whole result does.
  useEffect(
    () =>
      client.on('generate.chunk', (c) => {
        if (c.runId !== current.current) return;
        setView((g) => (c.from === g.samples.length ? { ...g, samples: concat(g.samples, c.samples) } : g));
      }),
    [client],
  );

  const generate = async (model: string, prime: number, length: number, temperature = 1, offset: number | null = null) => {
    setBusy(true);
    const before = view;
    const runId = (current.current = newRunId());
    setView({ ...emptyGeneration, model, sampleRate: before.sampleRate });
    try {
      const r = await client.call('generate.start', { name: model, prime, length, temperature, ...(offset !== null ? { offset } : {}), runId });
      if (current.current !== runId) return; // the signal changed meanwhile
      setView({ model, primeSamples: r.primeSamples, samples: r.samples, truth: r.truth, sampleRate: r.sampleRate, state: r.state });
      emitAppEvent('generation-done', { model, samples: r.samples.length });
    } catch (e) {
      if (current.current === runId) setView(before); // an error never erases the last result
      handlers.current.onError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const continueGeneration = async (length: number, temperature = 1) => {
    if (!view.model || !view.state) return;
    setBusy(true);
    const before = view.samples;
    const model = view.model;
    // Chunks of a continuation count from 0; they are shown once the whole result is in.
    current.current = null;
    let r;
    try {
      r = await client.call('generate.start', { name: model, length, state: view.state, temperature, runId: newRunId() });
    } catch (e) {
      handlers.current.onError((e as Error).message);
    }
    setBusy(false);
    if (r) {
      const { samples, state } = r;
      setView((g) => ({ ...g, samples: concat(before, samples), truth: null, state }));
      emitAppEvent('generation-done', { model, samples: before.length + samples.length, continued: true });
    }
  };

  /** A new signal: what was generated belonged to the old one; a run in progress is dropped. */
  const clear = useCallback(() => {
    current.current = null;
    setView(emptyGeneration);
  }, []);

  /** The engine went away: the run's answer will never come. */
  const interrupt = useCallback(() => setBusy(false), []);

  return { view, busy, generate, continueGeneration, clear, interrupt };
}
