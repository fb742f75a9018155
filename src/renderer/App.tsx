// The lab: signal, model and training, generation, models. One client, whichever transport.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ModelSummary } from '../shared/protocol';
import { encodeWav } from '../shared/signals/wav';
import { rms } from '../shared/dsp/spectrum';
import { emitAppEvent } from './app-events';
import { SamplePlayer } from './audio/player';
import { GenerationPanel, type GenerationView } from './features/generation/GenerationPanel';
import { ModelsPanel } from './features/models/ModelsPanel';
import { SignalPanel, type SignalChoice, type SignalPreview } from './features/signals/SignalPanel';
import { TrainingPanel, type TrainingView, type TrainSettings } from './features/training/TrainingPanel';
import type { LabClient } from './lab-client';
import { PRESETS } from '../shared/signals/generators';

const emptyTraining: TrainingView = { runId: null, name: '', batchLosses: [], epochs: [], last: null, done: null };
const emptyGeneration: GenerationView = { model: null, primeSamples: new Float32Array(0), samples: new Float32Array(0), truth: null, sampleRate: 44100, state: null };

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export function App({ client }: { client: LabClient }) {
  const [backend, setBackend] = useState('…');
  const [presets, setPresets] = useState<{ name: string; description: string }[]>([]);
  const [choice, setChoice] = useState<SignalChoice>({ source: { kind: 'preset', name: 'sine', signal: PRESETS.sine.signal }, label: 'sine' });
  const [preview, setPreview] = useState<SignalPreview | null>(null);
  const [training, setTraining] = useState<TrainingView>(emptyTraining);
  const [models, setModels] = useState<ModelSummary[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [generation, setGeneration] = useState<GenerationView>(emptyGeneration);
  const [busy, setBusy] = useState(false);
  const [playing, setPlaying] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [engineNote, setEngineNote] = useState<string | null>(null);
  const player = useRef<SamplePlayer | null>(null);
  const trainingRun = useRef<string | null>(null);
  const generationRun = useRef<string | null>(null);

  const showError = useCallback((message: string) => {
    setError(message);
    emitAppEvent('error-shown', { message });
  }, []);

  const guard = useCallback(
    async <T,>(work: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await work();
      } catch (e) {
        showError((e as Error).message);
        return undefined;
      }
    },
    [showError],
  );

  const refreshModels = useCallback(async () => {
    const r = await guard(() => client.call('models.list', {}));
    if (r) setModels(r.models);
  }, [client, guard]);

  const loadInfo = useCallback(async () => {
    const info = await guard(() => client.call('engine.info', {}));
    if (info) {
      setBackend(info.backend);
      setPresets(info.presets);
    }
    await refreshModels();
  }, [client, guard, refreshModels]);

  useEffect(() => {
    player.current = new SamplePlayer();
    void loadInfo().then(() => emitAppEvent('app-loaded'));
    const offs = [
      client.on('train.progress', (p) => {
        if (p.runId !== trainingRun.current) return;
        const e = p.progress;
        if (e.type === 'batch') setTraining((t) => ({ ...t, last: e, batchLosses: [...t.batchLosses, e.loss] }));
        else if (e.type === 'epoch') {
          setTraining((t) => ({ ...t, epochs: [...t.epochs, { epoch: e.epoch, devLoss: e.devLoss, trainLoss: e.trainLoss, atBatch: t.batchLosses.length }] }));
          emitAppEvent('training-progress', { epoch: e.epoch, devLoss: e.devLoss });
        } else if (e.type === 'evaluation') setTraining((t) => ({ ...t, last: e }));
        else if (e.level === 'warning') showError(e.message);
        else setEngineNote(e.message); // e.g. early stopping: news, not an error
      }),
      client.on('train.done', (d) => {
        if (d.runId !== trainingRun.current) return;
        setTraining((t) => ({ ...t, done: d }));
        if (d.error) showError(`Training ${d.name} failed: ${d.error.message}`);
        setSelected(d.name);
        void refreshModels();
        emitAppEvent('training-done', { name: d.name, outcome: d.outcome, test_mse: d.metrics?.test_mse ?? null });
      }),
      // The continuation grows as its chunks arrive, before the whole result does.
      client.on('generate.chunk', (c) => {
        if (c.runId !== generationRun.current) return;
        setGeneration((g) => (c.from === g.samples.length ? { ...g, samples: concat(g.samples, c.samples) } : g));
      }),
      client.on('engine.status', (s) => {
        emitAppEvent('engine-status', { state: s.state, message: s.message });
        if (s.state === 'crashed') {
          setEngineNote(s.message);
          setTraining((t) => (t.runId && !t.done ? { ...t, done: { runId: t.runId, name: t.name, outcome: null, message: null, metrics: null, error: { code: 'engine_crashed', message: s.message } } } : t));
        }
        if (s.state === 'restarted') {
          setEngineNote(`${s.message} You can carry on; interrupted training can be resumed from its last checkpoint.`);
          void loadInfo();
        }
      }),
    ];
    return () => {
      offs.forEach((off) => off());
      player.current?.destroy();
    };
  }, [client, loadInfo, refreshModels, showError]);

  useEffect(() => {
    let stale = false;
    void guard(() => client.call('signal.preview', { source: choice.source })).then((p) => {
      if (p && !stale) setPreview(p);
    });
    return () => {
      stale = true;
    };
  }, [choice, client, guard]);

  const newRunId = () => `ui-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

  // The run id is chosen here and listened for before the call: the first progress events can
  // arrive before the engine's reply.
  const train = async (s: TrainSettings) => {
    const units = s.units.split(',').map((u) => Number(u.trim()));
    const runId = (trainingRun.current = newRunId());
    setTraining({ ...emptyTraining, runId, name: s.name });
    const r = await guard(() =>
      client.call('train.start', {
        name: s.name,
        source: choice.source,
        model: { type: s.type, units },
        config: { window: s.window, batchSize: s.batchSize, learningRate: s.learningRate, epochs: s.epochs, split: s.split, seed: s.seed, maxTrainWindows: s.maxTrainWindows },
        runId,
      }),
    );
    if (!r) setTraining((t) => (t.runId === runId ? { ...t, runId: null } : t));
  };

  const resume = async (name: string, epochs: number) => {
    const before = training;
    const runId = (trainingRun.current = newRunId());
    setTraining((t) => ({ ...t, runId, name, done: null }));
    const r = await guard(() => client.call('train.resume', { name, epochs, runId }));
    if (!r) setTraining((t) => (t.runId === runId ? before : t)); // e.g. already trained that many epochs
  };

  const open = async (name: string) => {
    setSelected(name);
    const r = await guard(() => client.call('models.get', { name }));
    if (r) {
      trainingRun.current = null;
      setTraining({
        runId: null,
        name,
        batchLosses: Array.from(r.batchLosses),
        epochs: r.history.map((h, i) => ({ epoch: h.epoch, devLoss: h.devLoss, trainLoss: h.trainLoss, atBatch: Math.round(((i + 1) * r.batchLosses.length) / Math.max(1, r.history.length)) })),
        last: null,
        done: { runId: '', name, outcome: r.summary.status, message: null, metrics: r.summary.metrics, error: null },
      });
    }
  };

  const generate = async (model: string, prime: number, length: number) => {
    setBusy(true);
    const runId = (generationRun.current = newRunId());
    setGeneration({ ...emptyGeneration, model });
    const r = await guard(() => client.call('generate.start', { name: model, prime, length, runId }));
    setBusy(false);
    if (r) {
      setGeneration({ model, primeSamples: r.primeSamples, samples: r.samples, truth: r.truth, sampleRate: r.sampleRate, state: r.state });
      emitAppEvent('generation-done', { model, samples: r.samples.length });
    }
  };

  const continueGeneration = async (length: number) => {
    if (!generation.model || !generation.state) return;
    setBusy(true);
    const before = generation.samples;
    // Chunks of a continuation count from 0; they are shown once the whole result is in.
    generationRun.current = null;
    const r = await guard(() => client.call('generate.start', { name: generation.model!, length, state: generation.state!, runId: newRunId() }));
    setBusy(false);
    if (r) {
      setGeneration((g) => ({ ...g, samples: concat(before, r.samples), truth: null, state: r.state }));
      emitAppEvent('generation-done', { model: generation.model, samples: generation.samples.length + r.samples.length, continued: true });
    }
  };

  const play = async () => {
    const p = player.current;
    if (!p) return;
    const info = await guard(() => p.play(generation.samples, generation.sampleRate, () => {
      setPlaying(false);
      emitAppEvent('playback-stopped', { ended: true });
    }));
    if (info) {
      setPlaying(true);
      emitAppEvent('playback-started', { state: info.state, sampleRate: info.sampleRate, seconds: info.seconds });
    }
  };

  const stop = () => {
    player.current?.stop();
    setPlaying(false);
    emitAppEvent('playback-stopped', { ended: false });
  };

  const exportWav = () => {
    const bytes = encodeWav(generation.samples, generation.sampleRate);
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${generation.model ?? 'generated'}.wav`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    emitAppEvent('wav-exported', { samples: generation.samples.length, bytes: bytes.length });
  };

  const deleteModel = async (name: string) => {
    await guard(() => client.call('models.delete', { name }));
    if (selected === name) setSelected(null);
    await refreshModels();
  };

  const modelNames = useMemo(() => models.map((m) => m.name), [models]);

  return (
    <div className="app">
      <header>
        <h1>Sequence Lab</h1>
        <span className="status" data-testid="status">
          engine: {backend} · {client.transport} mode
        </span>
      </header>
      {engineNote && (
        <div className="banner warn" role="status" data-testid="engine-note">
          {engineNote} <button onClick={() => setEngineNote(null)}>Dismiss</button>
        </div>
      )}
      {error && (
        <div className="banner error" role="alert" data-testid="error">
          {error} <button onClick={() => setError(null)}>Dismiss</button>
        </div>
      )}
      <main>
        <div className="col">
          <SignalPanel
            presets={presets}
            preview={preview}
            onChoose={setChoice}
            onError={showError}
            onShown={(d) => emitAppEvent('signal-shown', { label: 'signal', duration: d })}
            onRecorded={(samples, sampleRate) => emitAppEvent('recording-done', { samples: samples.length, sampleRate, rms: rms(samples) })}
          />
          <TrainingPanel backend={backend} signalLength={preview?.length ?? null} view={training} onTrain={(s) => void train(s)} onCancel={() => training.runId && void guard(() => client.call('train.cancel', { runId: training.runId! }))} onResume={(n, e) => void resume(n, e)} />
        </div>
        <div className="col">
          <GenerationPanel
            models={modelNames}
            view={generation}
            busy={busy}
            playing={playing}
            onGenerate={(m, p, l) => void generate(m, p, l)}
            onContinue={(l) => void continueGeneration(l)}
            onPlay={() => void play()}
            onStop={stop}
            onExport={exportWav}
            onWaveformReady={(d) => emitAppEvent('signal-shown', { label: 'generated', duration: d })}
          />
          <ModelsPanel models={models} selected={selected} onOpen={(n) => void open(n)} onDelete={(n) => void deleteModel(n)} onRefresh={() => void refreshModels()} />
        </div>
      </main>
    </div>
  );
}
