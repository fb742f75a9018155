// The lab: signal, model and training, generation, runs. One client, whichever transport. Each
// feature's state lives in its own hook (training, generation, connection) or here when it ties features
// together: the session that survives a reload, the model shown, what a new signal clears.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ModelSummary, RecordingSummaryData } from '../shared/protocol';
import type { Region } from '../shared/contract';
import { encodeWav } from '../shared/signals/wav';
import { MAX_FRAME_BYTES } from '../shared/limits';
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
import { RecordingsPanel } from './features/recordings/RecordingsPanel';
import { LivePanel } from './features/live/LivePanel';
import { TakeUpload } from './features/recordings/take';
import { TrainingPanel } from './features/training/TrainingPanel';
import { formFromSettings, type TrainForm } from './features/training/train-form';
import { useTraining } from './features/training/useTraining';
import { useConnection } from './features/useConnection';
import type { ConnectionState, LabClient } from './lab-client';

/** The notebook's sine: the first signal, and what is shown when a recording goes away. */
function sineChoice(): SignalChoice {
  return { source: { kind: 'preset', name: 'sine', signal: PRESETS.sine.signal }, label: 'sine' };
}

function presetChoice(p: PresetSettings): SignalChoice | null {
  const base = PRESETS[p.name]?.signal;
  if (!base) return null;
  return { source: { kind: 'preset', name: p.name, signal: { ...base, length: p.length, noise: p.noise, seed: p.seed } }, label: p.name };
}

/** The samples of a signal, to play it: a preset is generated here (it is pure and seeded, so these
 * are the engine's samples too), decoded audio is already in the source, a recording is fetched. */
async function signalSamples(c: SignalChoice, client: LabClient): Promise<{ samples: Float32Array; sampleRate: number }> {
  if (c.source.kind === 'samples') return { samples: c.source.samples, sampleRate: c.source.sampleRate };
  if (c.source.kind === 'recording') {
    if (c.audio) return c.audio;
    const r = await client.call('recordings.read', { name: c.source.name });
    c.audio = { samples: r.samples, sampleRate: r.recording.sampleRate }; // kept for the next Play
    return c.audio;
  }
  const preset = findPreset(c.source.name);
  if (!preset) throw new Error(`Unknown preset ${c.source.name}`);
  return { samples: generateSignal(c.source.signal ?? preset.signal), sampleRate: preset.sampleRate };
}

/** What identifies a signal: a preset by its settings, a recording by its name (not its regions), decoded audio by its samples. */
function signalKey(c: SignalChoice): unknown {
  if (c.source.kind === 'recording') return `recording:${c.source.name}`;
  return c.source.kind === 'preset' ? JSON.stringify(c.source) : c.source.samples;
}

function recordingChoice(name: string, regions: { region?: Region; primeRegion?: Region } = {}): SignalChoice {
  return { source: { kind: 'recording', name, ...(regions.region ? { region: regions.region } : {}), ...(regions.primeRegion ? { primeRegion: regions.primeRegion } : {}) }, label: name };
}

/** Samples the model trains on: a recording's training region, or all of the signal. */
function regionLength(preview: SignalPreview, region: Region | undefined): number {
  if (!region) return preview.length;
  return Math.max(0, Math.min(preview.length, Math.round(region.end * preview.sampleRate)) - Math.round(region.start * preview.sampleRate));
}

/** Hands bytes to the browser as a download. */
function saveFile(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function App({ client }: { client: LabClient }) {
  const initial = useMemo(() => loadSession(), []);
  const [backend, setBackend] = useState('…');
  const [presets, setPresets] = useState<{ name: string; description: string }[]>([]);
  const [choice, setChoice] = useState<SignalChoice>(
    () =>
      (initial.recording && recordingChoice(initial.recording.name, initial.recording)) ||
      (initial.preset && presetChoice(initial.preset)) ||
      sineChoice(),
  );
  const [recordings, setRecordings] = useState<{ dir: string | null; list: RecordingSummaryData[] }>({ dir: null, list: [] });
  const [presetShown, setPresetShown] = useState<PresetSettings | null>(initial.preset);
  const [preview, setPreview] = useState<SignalPreview | null>(null);
  /** Which signal the preview shows (its signalKey): a recording's regions are drawn over its own waveform only. */
  const [previewKey, setPreviewKey] = useState<unknown>(null);
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

  const gen = useGeneration(client, { onError: showError, onPlaybackStart: stop });
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

  /** `andThen` runs in the same tick as the list update, so that React renders both together. */
  const refreshRecordings = useCallback(async (andThen?: () => void) => {
    const r = await guard(() => client.call('recordings.list', {}));
    if (r) {
      setRecordings({ dir: r.dir, list: r.recordings });
      andThen?.();
      emitAppEvent('recordings-listed', { names: r.recordings.map((x) => x.name) });
    }
    return r?.recordings ?? null;
  }, [client, guard]);

  const loadInfo = useCallback(async () => {
    const info = await guard(() => client.call('engine.info', {}));
    if (info) {
      setBackend(info.backend);
      setPresets(info.presets);
    }
    await refreshModels();
    await refreshRecordings();
  }, [client, guard, refreshModels, refreshRecordings]);

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
  // Keyed on the signal, not the choice: moving a recording's regions neither reloads its preview nor clears anything.
  const shownSignal = useRef<unknown>(signalKey(choice));
  const currentKey = signalKey(choice);
  const choiceRef = useRef(choice);
  choiceRef.current = choice;
  useEffect(() => {
    const choice = choiceRef.current;
    const key = currentKey;
    if (key !== shownSignal.current) {
      shownSignal.current = key;
      stop(); // what plays belongs to the old signal
      gen.clear();
      training.clear();
    }
    let stale = false;
    void guard(() => client.call('signal.preview', { source: choice.source })).then((p) => {
      if (p && !stale) {
        setPreview(p);
        setPreviewKey(key);
        setError(null);
      }
    });
    return () => {
      stale = true;
    };
    // training.clear and gen.clear are stable; listing `training` would rerun this on every progress event.
  }, [currentKey, client, guard, training.clear, gen.clear, stop]);

  // The session survives a reload.
  useEffect(() => {
    // A recording is not kept (it can be long); the session then starts from the default preset.
    let preset: PresetSettings | null = null;
    if (choice.source.kind === 'preset') {
      const sig = choice.source.signal as { length?: number; noise?: number; seed?: number } | undefined;
      preset = { name: choice.source.name, length: sig?.length ?? 50_001, noise: sig?.noise ?? 0.02, seed: sig?.seed ?? 1 };
    }
    const { region, primeRegion } = choice.source.kind === 'recording' ? choice.source : {};
    const recording = choice.source.kind === 'recording' ? { name: choice.source.name, ...(region ? { region } : {}), ...(primeRegion ? { primeRegion } : {}) } : null;
    const s: Session = { preset, recording, form, selected, generation: genSettings, compared };
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
    } else if (src.recording && recordings.list.some((x) => x.name === src.recording)) {
      setChoice(recordingChoice(src.recording, src));
      signal = src.recording;
    } else {
      setEngineNote(`${name} trained on a recording (${src.recording ?? src.path.split(/[\\/]/).pop()}) that is not in the library now; its settings are in the form, with the signal shown now.`);
    }
    emitAppEvent('run-duplicated', { name, signal });
  };

  /** Plays the signal (`c`: one being chosen, whose state has not landed yet) or the continuation. */
  const play = async (what: 'signal' | 'generated', c: SignalChoice = choice) => {
    const p = player.current;
    if (!p) return;
    gen.stopPlayback(); // one sound at a time: the continuation heard as it is generated stops too
    if (playingRef.current) emitAppEvent('playback-stopped', { label: playingRef.current, ended: false }); // one player: that one stops
    const info = await guard(async () => {
      const { samples, sampleRate } = what === 'signal' ? await signalSamples(c, client) : generation;
      return await p.play(samples, sampleRate, () => {
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

  // ---- The recordings library ----
  const chosenRecording = choice.source.kind === 'recording' ? choice.source : null;
  // A recording restored from the last session (or chosen elsewhere) that is no longer in the library.
  const missingRecording = chosenRecording && recordings.dir !== null && !recordings.list.some((r) => r.name === chosenRecording.name) ? chosenRecording.name : null;
  useEffect(() => {
    if (!missingRecording) return;
    setChoice(sineChoice());
    setEngineNote(`The recording "${missingRecording}" is no longer in the library; the sine preset is shown instead.`);
  }, [missingRecording]);
  const chooseRecording = (name: string) => {
    // The regions stay when the same recording is chosen again.
    const c = chosenRecording?.name === name ? recordingChoice(name, chosenRecording) : recordingChoice(name);
    setChoice(c);
    setPresetShown(null);
    emitAppEvent('recording-chosen', { name });
    return c;
  };
  const importAudio = async (file: File) => {
    const bytes = new Uint8Array(await file.arrayBuffer());
    // Refused here, with the reason, rather than by the server closing the connection.
    if (bytes.length > MAX_FRAME_BYTES - 65_536) throw new Error(`${file.name} is too large to import: ${(bytes.length / 2 ** 20).toFixed(0)} MB; the lab takes files up to ${MAX_FRAME_BYTES / 2 ** 20 - 1} MB`);
    const r = await client.call('recordings.import', { fileName: file.name, bytes });
    await refreshRecordings();
    chooseRecording(r.recording.name);
    emitAppEvent('recording-imported', { name: r.recording.name, samples: r.recording.samples, sampleRate: r.recording.sampleRate });
  };
  const downloadRecording = async (name: string) => {
    const r = await guard(() => client.call('recordings.read', { name }));
    if (!r) return;
    const bytes = encodeWav(r.samples, r.recording.sampleRate);
    saveFile(bytes, `${name}.wav`);
    emitAppEvent('recording-downloaded', { name, bytes: bytes.length });
  };
  const renameRecording = async (name: string, to: string) => {
    const r = await guard(() => client.call('recordings.rename', { name, to }));
    if (!r) return false;
    const chosen = chosenRecording;
    await refreshRecordings(() => chosen?.name === name && setChoice(recordingChoice(to, chosen)));
    return true;
  };
  const deleteRecording = async (name: string) => {
    const r = await guard(() => client.call('recordings.delete', { name }));
    if (r && chosenRecording?.name === name) setChoice(sineChoice());
    await refreshRecordings();
  };

  const exportWav = () => {
    const bytes = encodeWav(generation.samples, generation.sampleRate);
    saveFile(bytes, `${generation.model ?? 'generated'}.wav`);
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
            onRecorded={(samples, sampleRate, stored) => {
              emitAppEvent('recording-done', { samples: samples.length, sampleRate, rms: rms(samples), name: stored?.name ?? null, stored: stored?.samples ?? 0 });
              if (stored) void refreshRecordings().then(() => chooseRecording(stored.name));
            }}
            newTake={() => new TakeUpload(client)}
            onImport={importAudio}
            recording={chosenRecording && previewKey === currentKey ? chosenRecording : null}
            onRegionsChange={(r) => chosenRecording && setChoice({ ...choice, source: { kind: 'recording', name: chosenRecording.name, ...(r.region ? { region: r.region } : {}), ...(r.primeRegion ? { primeRegion: r.primeRegion } : {}) } })}
          />
          <RecordingsPanel
            recordings={recordings.list}
            dir={recordings.dir}
            chosen={chosenRecording?.name ?? null}
            unavailable={unavailable}
            onUse={(name, andPlay) => {
              const c = chooseRecording(name);
              if (andPlay) void play('signal', c);
            }}
            onDownload={(n) => void downloadRecording(n)}
            onRename={renameRecording}
            onDelete={(n) => void deleteRecording(n)}
          />
          <TrainingPanel
            backend={backend}
            signalLength={preview ? regionLength(preview, chosenRecording?.region) : null}
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
            models={models}
            model={genModel}
            onModelChange={setGenModel}
            settings={genSettings}
            onSettingsChange={setGenSettings}
            unavailable={unavailable}
            view={generation}
            busy={gen.busy}
            playing={playing === 'generated' || gen.streaming}
            onGenerate={(m, p, l, t, o, x) => void gen.generate(m, p, l, t, o, x)}
            onContinue={(l, t, x) => void gen.continueGeneration(l, t, x)}
            onPlay={() => void play('generated')}
            onStop={() => {
              gen.stopPlayback();
              stop();
            }}
            playPosition={gen.streaming ? gen.streamPosition : playPosition}
            playback={gen.playback}
            onExport={exportWav}
            onWaveformReady={(d) => emitAppEvent('signal-shown', { label: 'generated', duration: d })}
          />
          <LivePanel
            client={client}
            models={models}
            unavailable={unavailable}
            onError={showError}
            onStart={() => {
              gen.stopPlayback();
              stop();
            }}
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
