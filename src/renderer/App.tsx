// The lab: signal, model and training, generation, runs. One client, whichever transport. Each
// feature's state lives in its own hook (training, generation, connection) or here when it ties features
// together: the session that survives a reload, the model shown, what a new signal clears.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ModelSummary } from '../shared/protocol';
import { encodeWav } from '../shared/signals/wav';
import { rms } from '../shared/dsp/spectrum';
import { findPreset, generateSignal, PRESETS } from '../shared/signals/generators';
import { emitAppEvent } from './app-events';
import { SamplePlayer } from './audio/player';
import { GenerationPanel, type GenerationSettings } from './features/generation/GenerationPanel';
import { useGeneration } from './features/generation/useGeneration';
import { AboutPanel } from './features/about/AboutPanel';
import { ModelsPanel } from './features/models/ModelsPanel';
import type { RunHistory } from './features/models/runs';
import { loadSession, saveSession, type PresetSettings, type Session } from './features/session';
import { SignalPanel, type SignalChoice, type SignalPreview } from './features/signals/SignalPanel';
import { TrainingPanel } from './features/training/TrainingPanel';
import { formFromSettings, type TrainForm } from './features/training/train-form';
import { useTraining } from './features/training/useTraining';
import { useConnection } from './features/useConnection';
import type { ConnectionState, LabClient } from './lab-client';

function presetChoice(p: PresetSettings): SignalChoice | null {
  const base = PRESETS[p.name]?.signal;
  if (!base) return null;
  return { source: { kind: 'preset', name: p.name, signal: { ...base, length: p.length, noise: p.noise, seed: p.seed } }, label: p.name };
}

/** The samples of a signal, to play it: a preset is generated here (it is pure and seeded, so these
 * are the engine's samples too), decoded audio is already in the source. */
function signalSamples(c: SignalChoice): { samples: Float32Array; sampleRate: number } {
  if (c.source.kind === 'samples') return { samples: c.source.samples, sampleRate: c.source.sampleRate };
  const preset = findPreset(c.source.name);
  if (!preset) throw new Error(`Unknown preset ${c.source.name}`);
  return { samples: generateSignal(c.source.signal ?? preset.signal), sampleRate: preset.sampleRate };
}

/** What identifies a signal: a preset by its settings, decoded audio by its samples. */
function signalKey(c: SignalChoice): unknown {
  return c.source.kind === 'preset' ? JSON.stringify(c.source) : c.source.samples;
}

export function App({ client }: { client: LabClient }) {
  const initial = useMemo(() => loadSession(), []);
  const [backend, setBackend] = useState('…');
  const [presets, setPresets] = useState<{ name: string; description: string }[]>([]);
  const [choice, setChoice] = useState<SignalChoice>(() => (initial.preset && presetChoice(initial.preset)) || { source: { kind: 'preset', name: 'sine', signal: PRESETS.sine.signal }, label: 'sine' });
  const [presetShown, setPresetShown] = useState<PresetSettings | null>(initial.preset);
  const [preview, setPreview] = useState<SignalPreview | null>(null);
  const [form, setForm] = useState<TrainForm>(initial.form);
  const [models, setModels] = useState<ModelSummary[]>([]);
  const [selected, setSelected] = useState<string | null>(initial.selected);
  const [genModel, setGenModel] = useState<string | null>(initial.selected);
  const [genSettings, setGenSettings] = useState<GenerationSettings>(initial.generation);
  const [compared, setCompared] = useState<string[]>(initial.compared);
  const [histories, setHistories] = useState<Record<string, RunHistory & { updatedAt: string }>>({});
  /** What is playing: the signal, the continuation, or nothing (one player: starting one stops the other). */
  const [playing, setPlaying] = useState<'signal' | 'generated' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [engineNote, setEngineNote] = useState<string | null>(null);
  const [signalProblem, setSignalProblem] = useState<string | null>(null);
  const player = useRef<SamplePlayer | null>(null);
  const playingRef = useRef(playing);
  playingRef.current = playing;
  const stop = useCallback(() => {
    player.current?.stop();
    if (playingRef.current) emitAppEvent('playback-stopped', { label: playingRef.current, ended: false });
    playingRef.current = null;
    setPlaying(null);
  }, []);

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
    if (r) {
      setModels(r.models);
      emitAppEvent('models-listed', { names: r.models.map((m) => m.name) });
    }
  }, [client, guard]);

  const gen = useGeneration(client, { onError: showError });
  const generation = gen.view;

  const training = useTraining(client, {
    onDone: (d) => {
      // A run that failed saved nothing new: the model shown and the Generate choice stay.
      if (!d.error) {
        setSelected(d.name);
        setGenModel(d.name);
      }
      void refreshModels();
    },
    onError: showError,
    onNotice: setEngineNote,
  });

  const loadInfo = useCallback(async () => {
    const info = await guard(() => client.call('engine.info', {}));
    if (info) {
      setBackend(info.backend);
      setPresets(info.presets);
    }
    await refreshModels();
  }, [client, guard, refreshModels]);

  const { interrupt } = training;
  const wasOffline = useRef(false);
  const onConnection = useCallback(
    (s: ConnectionState) => {
      if (s.online) {
        // Back after a loss: what the engine holds may have changed meanwhile.
        if (wasOffline.current) {
          wasOffline.current = false;
          setError(null);
          void loadInfo();
        }
      } else {
        wasOffline.current = true;
        interrupt('The connection to the engine server was lost during training; once it is back, see Runs for what was saved.', 'engine_unreachable');
        gen.interrupt();
      }
    },
    [interrupt, loadInfo, gen.interrupt],
  );
  const connection = useConnection(client, onConnection);
  const unavailable = connection.online ? null : `${connection.reason}. Reconnecting by itself…`;

  useEffect(() => {
    player.current = new SamplePlayer();
    void loadInfo().then(() => emitAppEvent('app-loaded'));
    const offs = [
      client.on('engine.status', (s) => {
        emitAppEvent('engine-status', { state: s.state, message: s.message });
        if (s.state === 'crashed') {
          setEngineNote(s.message);
          interrupt(s.message, 'engine_crashed');
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
  }, [client, loadInfo, interrupt]);

  // A new signal clears what belonged to the old one (its generation, the run shown); a good one clears an old error.
  const shownSignal = useRef<unknown>(signalKey(choice));
  useEffect(() => {
    const key = signalKey(choice);
    if (key !== shownSignal.current) {
      shownSignal.current = key;
      stop(); // what plays belongs to the old signal
      gen.clear();
      training.clear();
    }
    let stale = false;
    if (choice.preview) {
      setPreview(choice.preview);
      setError(null);
      return;
    }
    void guard(() => client.call('signal.preview', { source: choice.source })).then((p) => {
      if (p && !stale) {
        setPreview(p);
        setError(null);
      }
    });
    return () => {
      stale = true;
    };
    // training.clear and gen.clear are stable; listing `training` would rerun this on every progress event.
  }, [choice, client, guard, training.clear, gen.clear, stop]);

  // The session survives a reload.
  useEffect(() => {
    // A recording is not kept (it can be long); the session then starts from the default preset.
    let preset: PresetSettings | null = null;
    if (choice.source.kind === 'preset') {
      const sig = choice.source.signal as { length?: number; noise?: number; seed?: number } | undefined;
      preset = { name: choice.source.name, length: sig?.length ?? 50_001, noise: sig?.noise ?? 0.02, seed: sig?.seed ?? 1 };
    }
    const s: Session = { preset, form, selected, generation: genSettings, compared };
    saveSession(s);
  }, [choice, form, selected, genSettings, compared]);

  // Curves of the runs being compared, fetched once per version of each run.
  useEffect(() => {
    let stale = false;
    const want = models.filter((m) => compared.includes(m.name) && histories[m.name]?.updatedAt !== m.updatedAt);
    if (!want.length) {
      if (compared.length) emitAppEvent('compare-shown', { names: compared.filter((n) => histories[n]) });
      return;
    }
    void Promise.all(want.map((m) => client.call('models.get', { name: m.name }).then((r) => [m.name, { history: r.history, batchLosses: r.batchLosses, updatedAt: m.updatedAt }] as const).catch(() => null))).then((got) => {
      if (stale) return;
      setHistories((h) => ({ ...h, ...Object.fromEntries(got.filter((x) => x !== null)) }));
    });
    return () => {
      stale = true;
    };
  }, [client, models, compared, histories]);

  const selectedSummary = models.find((m) => m.name === selected) ?? null;
  const resumable = selectedSummary && training.view.name === selectedSummary.name ? selectedSummary : null;

  const open = async (name: string) => {
    if (await training.open(name)) {
      setSelected(name);
      setGenModel(name);
    }
  };

  /** Loads a saved run's signal and settings into the form, under a fresh name. */
  const duplicate = async (name: string) => {
    const r = await guard(() => client.call('models.get', { name }));
    if (!r) return;
    if (!r.settings) return showError(`${name} was saved by an older engine that does not report its settings; it cannot be duplicated`);
    setForm(formFromSettings(r.settings.model, r.settings.train));
    const src = r.settings.source;
    let signal = choice.label;
    if (src.kind === 'preset') {
      const sig = (src.signal ?? PRESETS[src.name]?.signal) as { length?: number; noise?: number; seed?: number } | undefined;
      const p: PresetSettings = { name: src.name, length: sig?.length ?? 50_001, noise: sig?.noise ?? 0.02, seed: sig?.seed ?? 1 };
      const c = { source: { kind: 'preset' as const, name: src.name, signal: src.signal ?? PRESETS[src.name]?.signal }, label: src.name };
      setChoice(c);
      setPresetShown(p);
      signal = src.name;
    } else {
      setEngineNote(`${name} trained on a recording (${src.path.split(/[\\/]/).pop()}); its settings are in the form, with the signal shown now. Open that recording to train on it again.`);
    }
    emitAppEvent('run-duplicated', { name, signal });
  };

  const play = async (what: 'signal' | 'generated') => {
    const p = player.current;
    if (!p) return;
    if (playingRef.current) emitAppEvent('playback-stopped', { label: playingRef.current, ended: false }); // one player: that one stops
    const info = await guard(() => {
      const { samples, sampleRate } = what === 'signal' ? signalSamples(choice) : generation;
      return p.play(samples, sampleRate, () => {
        setPlaying(null);
        emitAppEvent('playback-stopped', { label: what, ended: true });
      });
    });
    if (info) {
      setPlaying(what);
      emitAppEvent('playback-started', { label: what, state: info.state, sampleRate: info.sampleRate, seconds: info.seconds });
    }
  };

  const playPosition = useCallback(() => player.current?.position ?? 0, []);

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
    setCompared((c) => c.filter((n) => n !== name));
    await refreshModels();
  };

  const modelNames = useMemo(() => models.map((m) => m.name), [models]);
  const taken = useMemo(() => (training.view.runId && !training.view.done ? [...modelNames, training.view.name] : modelNames), [modelNames, training.view]);

  return (
    <div className="app">
      <header>
        <h1>Sequence Lab</h1>
        <span className="status" data-testid="status">
          engine: {backend} · {client.transport} mode
        </span>
        <span className={`connection ${connection.online ? 'online' : 'offline'}`} data-testid="connection" role="status">
          {connection.online ? 'connected' : 'engine server unreachable: reconnecting…'}
        </span>
        <AboutPanel client={client} />
      </header>
      {unavailable && (
        <div className="banner error" role="alert" data-testid="offline">
          {unavailable} Training and generation are paused until it is back; what you typed is kept.
        </div>
      )}
      {engineNote && (
        <div className="banner warn" role="status" data-testid="engine-note">
          {engineNote} <button onClick={() => setEngineNote(null)}>Dismiss</button>
        </div>
      )}
      {error && !unavailable && (
        <div className="banner error" role="alert" data-testid="error">
          {error} <button onClick={() => setError(null)}>Dismiss</button>
        </div>
      )}
      <main>
        <div className="col">
          <SignalPanel
            presets={presets}
            preview={preview}
            select={presetShown}
            onProblem={setSignalProblem}
            playing={playing === 'signal'}
            onPlay={() => void play('signal')}
            onStop={stop}
            playPosition={playPosition}
            onChoose={setChoice}
            onError={showError}
            onShown={(d) => emitAppEvent('signal-shown', { label: 'signal', duration: d })}
            onRecorded={(samples, sampleRate) => emitAppEvent('recording-done', { samples: samples.length, sampleRate, rms: rms(samples) })}
          />
          <TrainingPanel
            backend={backend}
            signalLength={preview?.length ?? null}
            signalLabel={choice.label}
            noiseFloor={preview?.noiseFloor ?? null}
            takenNames={taken}
            form={form}
            onFormChange={setForm}
            view={training.view}
            resumable={resumable}
            unavailable={unavailable}
            signalProblem={signalProblem}
            onTrain={(r, overwrite) => void training.train(r, choice.source, overwrite)}
            onCancel={() => void training.cancel()}
            onResume={(n, e) => void training.resume(n, e, resumable?.epochs ?? 0)}
          />
        </div>
        <div className="col">
          <GenerationPanel
            models={modelNames}
            model={genModel}
            onModelChange={setGenModel}
            settings={genSettings}
            onSettingsChange={setGenSettings}
            unavailable={unavailable}
            view={generation}
            busy={gen.busy}
            playing={playing === 'generated'}
            onGenerate={(m, p, l, t, o) => void gen.generate(m, p, l, t, o)}
            onContinue={(l, t) => void gen.continueGeneration(l, t)}
            onPlay={() => void play('generated')}
            onStop={stop}
            playPosition={playPosition}
            onExport={exportWav}
            onWaveformReady={(d) => emitAppEvent('signal-shown', { label: 'generated', duration: d })}
          />
          <ModelsPanel
            models={models}
            selected={selected}
            compared={compared}
            histories={histories}
            onCompareChange={setCompared}
            onOpen={(n) => void open(n)}
            onDuplicate={(n) => void duplicate(n)}
            onDelete={(n) => void deleteModel(n)}
            onRefresh={() => void refreshModels()}
          />
        </div>
      </main>
    </div>
  );
}
