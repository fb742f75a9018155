// One training run at a time, as the UI sees it: start (fresh or replacing), resume, cancel (shown
// as "cancelling…" until the run ends), open a saved run's curve. Events of other runs are ignored
// (the run id is chosen here and listened for before the call). A refused start or resume puts back
// what was on screen: an error never erases a finished result.
import { useCallback, useEffect, useRef, useState } from 'react';
import { emitAppEvent } from '../../app-events';
import type { LabClient } from '../../lab-client';
import type { EventPayload, UiSource } from '../../../shared/protocol';
import { regressionMetrics } from '../../../shared/contract';
import { runCurves } from '../models/runs';
import { emptyTraining, type TrainingView, type TrainRequest } from './TrainingPanel';

export const newRunId = () => `ui-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export interface TrainingHandlers {
  /** A run ended (any outcome) or failed. */
  onDone: (d: EventPayload<'train.done'>) => void;
  onError: (message: string) => void;
  onNotice: (message: string) => void;
}

export function useTraining(client: LabClient, h: TrainingHandlers) {
  const [view, setView] = useState<TrainingView>(emptyTraining);
  const current = useRef<string | null>(null);
  /** What was shown before the run in progress: put back if the run fails before drawing anything. */
  const before = useRef<TrainingView>(emptyTraining);
  const handlers = useRef(h);
  handlers.current = h;

  useEffect(() => {
    const offs = [
      client.on('train.progress', (p) => {
        if (p.runId !== current.current) return;
        const e = p.progress;
        if (e.type === 'batch') setView((t) => ({ ...t, last: e, batchX: [...t.batchX, e.epoch - 1 + e.batch / e.batches], batchLosses: [...t.batchLosses, e.loss] }));
        else if (e.type === 'epoch') {
          setView((t) => ({ ...t, totalEpochs: e.epochs, epochs: [...t.epochs, { epoch: e.epoch, devLoss: e.devLoss, trainLoss: e.trainLoss }] }));
          emitAppEvent('training-progress', { epoch: e.epoch, devLoss: e.devLoss });
        } else if (e.type === 'evaluation') setView((t) => ({ ...t, last: e }));
        else if (e.level === 'warning') handlers.current.onError(e.message);
        else handlers.current.onNotice(e.message); // e.g. early stopping: news, not an error
      }),
      client.on('train.done', (d) => {
        if (d.runId !== current.current) return;
        const previous = before.current;
        // A run that failed before its first batch has nothing to show: the last result stays.
        setView((t) => (d.error && t.batchLosses.length === 0 && previous.done ? previous : { ...t, done: d }));
        if (d.error) handlers.current.onError(`Training ${d.name} failed: ${d.error.message}`);
        handlers.current.onDone(d);
        emitAppEvent('training-done', { name: d.name, outcome: d.outcome, test_mse: regressionMetrics(d.metrics)?.test_mse ?? null, test_bits: d.metrics && 'family' in d.metrics && d.metrics.family === 'categorical' ? d.metrics.test_bits : null, test_nll: d.metrics && 'family' in d.metrics && d.metrics.family === 'spectral' ? d.metrics.test_nll : null, error: d.error?.code ?? null });
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [client]);

  /** Calls the engine; on refusal puts back `before` and says why. */
  const startRun = useCallback(
    async (runId: string, shown: TrainingView, call: () => Promise<unknown>) => {
      before.current = shown;
      try {
        await call();
      } catch (e) {
        if (current.current === runId) current.current = shown.runId;
        setView((t) => (t.runId === runId ? shown : t));
        handlers.current.onError((e as Error).message);
      }
    },
    [],
  );

  const train = useCallback(
    async (r: TrainRequest, source: UiSource, overwrite: boolean) => {
      const runId = newRunId();
      const shown = view;
      current.current = runId;
      setView({ ...emptyTraining, runId, name: r.name, totalEpochs: r.config.epochs });
      await startRun(runId, shown, () => client.call('train.start', { name: r.name, source, model: r.model, config: r.config, runId, overwrite }));
    },
    [client, startRun, view],
  );

  /** Continues `name` (shown in the panel) up to `epochs`, or to its own total when undefined. */
  const resume = useCallback(
    async (name: string, epochs: number | undefined, ownEpochs: number) => {
      const runId = newRunId();
      const shown = view;
      current.current = runId;
      // The curve so far stays; the new epochs are drawn after it.
      setView((t) => ({ ...(t.name === name ? t : emptyTraining), runId, name, done: null, last: null, cancelling: false, totalEpochs: epochs ?? ownEpochs }));
      await startRun(runId, shown, () => client.call('train.resume', { name, epochs, runId }));
    },
    [client, startRun, view],
  );

  const cancel = useCallback(async () => {
    const runId = view.runId;
    if (!runId || view.done) return;
    setView((t) => (t.runId === runId ? { ...t, cancelling: true } : t));
    emitAppEvent('cancel-requested', { runId });
    try {
      const r = await client.call('train.cancel', { runId });
      if (!r.cancelled) setView((t) => (t.runId === runId ? { ...t, cancelling: false } : t));
    } catch (e) {
      setView((t) => (t.runId === runId ? { ...t, cancelling: false } : t));
      handlers.current.onError((e as Error).message);
    }
  }, [client, view.runId, view.done]);

  /** Shows a saved run's curve and result; returns false (and says why) when it cannot be read. */
  const open = useCallback(
    async (name: string): Promise<boolean> => {
      try {
        const r = await client.call('models.get', { name });
        current.current = null;
        const { batchX } = runCurves(r, 'epoch');
        setView({
          ...emptyTraining,
          name,
          batchX,
          batchLosses: Array.from(r.batchLosses),
          epochs: r.history.map((e) => ({ epoch: e.epoch, devLoss: e.devLoss, trainLoss: e.trainLoss })),
          totalEpochs: r.summary.epochs,
          // A run interrupted at a checkpoint has no outcome yet; the status line says where it stopped.
          done: {
            runId: '',
            name,
            outcome: r.summary.outcome ?? null,
            message: r.summary.outcome ? null : `saved at a checkpoint after ${r.summary.epochsDone} of ${r.summary.epochs} epochs`,
            metrics: r.summary.metrics,
            error: null,
          },
        });
        emitAppEvent('run-opened', { name });
        return true;
      } catch (e) {
        handlers.current.onError((e as Error).message);
        return false;
      }
    },
    [client],
  );

  /** The engine went away mid-run: the run's end will never be reported here. */
  const interrupt = useCallback((message: string, code: 'engine_crashed' | 'engine_unreachable') => {
    setView((t) => (t.runId && !t.done ? { ...t, cancelling: false, done: { runId: t.runId, name: t.name, outcome: null, message: null, metrics: null, error: { code, message } } } : t));
  }, []);

  const clear = useCallback(() => {
    setView((t) => (t.runId && !t.done ? t : emptyTraining));
  }, []);

  return { view, train, resume, cancel, open, interrupt, clear };
}
