// Signal: choose a preset (and its parameters), import an audio file or record the microphone into
// the recordings library; see its waveform, and on a recording mark the regions to train on and to
// prime continuations from.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { CommandResult, RecordingSummaryData, UiSource } from '../../../shared/protocol';
import type { Region } from '../../../shared/contract';
import { signalTooLong } from '../../../shared/limits';
import { findPreset } from '../../../shared/signals/generators';
import { TextField } from '../../components/Field';
import { Spectrogram } from '../../components/Spectrogram';
import { Waveform, type WaveRegion } from '../../components/Waveform';
import { MicrophoneRecorder } from '../../audio/capture';
import { blockLevel, GrowingPeaks, LEVEL_FLOOR_DB, type TakeUpload } from '../recordings/take';
import { checkRegionText, formatRegion } from '../../../shared/region-text';
import { checkSignalFields, DEFAULT_RECORD_SECONDS, type SignalField, type SignalFields } from './signal-form';

export interface SignalChoice {
  source: UiSource;
  label: string;
  /** A recording's samples, once fetched (to play it). */
  audio?: { samples: Float32Array; sampleRate: number };
}

/** What the engine returns for a signal to show: its length and min/max peaks. */
export type SignalPreview = CommandResult<'signal.preview'>;

export interface SignalPanelProps {
  presets: { name: string; description: string }[];
  preview: SignalPreview | null;
  onChoose: (c: SignalChoice) => void;
  onError: (message: string) => void;
  onShown: (duration: number) => void;
  /** A take was stored in the recordings library (it is then chosen as the signal by the app). */
  onRecorded?: (samples: Float32Array, sampleRate: number, stored: RecordingSummaryData | null) => void;
  /** A new upload for a take (the recordings library's); without it the take stays in the page. */
  newTake?: () => TakeUpload;
  /** Import an audio file into the recordings library (the app then chooses it). */
  onImport?: (file: File) => Promise<void>;
  /** The recording chosen as the signal, with its regions; null for a preset. */
  recording?: { name: string; region?: Region; primeRegion?: Region } | null;
  onRegionsChange?: (r: { region?: Region; primeRegion?: Region }) => void;
  /** Preset settings to show, set by the app (a restored session, a duplicated run); the app has already chosen that signal. */
  select?: { name: string; length: number; noise: number; seed: number } | null;
  /** Why the preset's typed settings cannot make a signal ("samples must be at least 2"), or null: the signal shown is then the last good one. */
  onProblem?: (problem: string | null) => void;
  /** Whether the signal is playing; Play and Stop, and where the playhead is (seconds). */
  playing?: boolean;
  onPlay?: () => void;
  onStop?: () => void;
  playPosition?: () => number;
}

const FIELD_NAMES: Record<SignalField, string> = { length: 'samples', noise: 'noise σ', seed: 'seed', recordSeconds: 'record (s)' };

export function SignalPanel({
  presets,
  preview,
  onChoose,
  onError,
  onShown,
  onRecorded,
  newTake,
  onImport,
  recording: chosenRecording = null,
  onRegionsChange,
  select = null,
  onProblem,
  playing = false,
  onPlay,
  onStop,
  playPosition,
}: SignalPanelProps) {
  const [preset, setPreset] = useState(select?.name ?? 'sine');
  const [fields, setFields] = useState<SignalFields>(() => ({
    length: String(select?.length ?? 50_001),
    noise: String(select?.noise ?? 0.02),
    seed: String(select?.seed ?? 1),
    recordSeconds: String(DEFAULT_RECORD_SECONDS),
  }));
  useEffect(() => {
    if (!select) return;
    setPreset(select.name);
    setFields((f) => ({ ...f, length: String(select.length), noise: String(select.noise), seed: String(select.seed) }));
  }, [select]);

  const checked = useMemo(() => checkSignalFields(fields, findPreset(preset)?.signal ?? null), [fields, preset]);
  const specProblem = (['length', 'noise', 'seed'] as const).map((f) => checked.errors[f] && `${FIELD_NAMES[f]} ${checked.errors[f]}`).find(Boolean) ?? null;
  useEffect(() => onProblem?.(specProblem), [onProblem, specProblem]);

  const set = (f: SignalField, text: string) => setFields((x) => ({ ...x, [f]: text }));

  /** Chooses preset `name` with the typed settings; while one of them is wrong, the last good signal stays. */
  const choosePreset = (name: string) => {
    setPreset(name);
    setNote(null);
    const base = findPreset(name)?.signal;
    if (!base) return onError(`Unknown preset ${name}`);
    const c = checkSignalFields(fields, base);
    if (c.spec) onChoose({ source: { kind: 'preset', name, signal: c.spec }, label: name });
  };

  const [note, setNote] = useState<string | null>(null);
  const [recording, setRecording] = useState<{ stop: AbortController; seconds: number; rmsDb: number; peakDb: number; peaks: GrowingPeaks; sampleRate: number; name: string | null } | null>(null);
  const [importing, setImporting] = useState<string | null>(null);

  /**
   * Records a take: each block goes to the recordings library as it arrives (a crash loses at most the
   * last second), the level meter and the waveform follow it; the stored take becomes the signal.
   */
  const record = async () => {
    const recordSeconds = checked.recordSeconds;
    if (recordSeconds === null) return;
    const stop = new AbortController();
    const peaks = new GrowingPeaks();
    setRecording({ stop, seconds: 0, rmsDb: LEVEL_FLOOR_DB, peakDb: LEVEL_FLOOR_DB, peaks, sampleRate: 48_000, name: null });
    const recorder = new MicrophoneRecorder();
    const take = newTake?.() ?? null;
    let failed: Error | null = null;
    try {
      const r = await recorder.record(
        recordSeconds,
        stop.signal,
        (s) => setRecording((x) => (x ? { ...x, seconds: s } : x)),
        (block) => {
          peaks.push(block);
          const level = blockLevel(block);
          setRecording((x) => (x ? { ...x, ...level } : x));
          take?.push(block, (e) => {
            failed = e;
            stop.abort(); // the engine cannot store it: stop rather than record into nothing
          });
        },
        async (sampleRate) => {
          const name = take ? await take.start(sampleRate) : null;
          setRecording((x) => (x ? { ...x, sampleRate, name } : x));
        },
      );
      const stored = take ? await take.finish(r.samples.length < 2) : null;
      if (failed) throw new Error(`The take stopped at ${(take!.stored / r.sampleRate).toFixed(1)} s: ${(failed as Error).message}`);
      if (r.samples.length < 2) throw new Error('The recording is empty');
      const tooLong = signalTooLong('The recording', r.samples.length);
      if (tooLong) throw new Error(tooLong);
      onRecorded?.(r.samples, r.sampleRate, stored);
      if (stored) {
        setNote(`Recorded from the microphone into the library as "${stored.name}"`);
      } else {
        const name = `microphone ${new Date().toLocaleTimeString()}`;
        setNote(`Recorded from the microphone (${name})`);
        onChoose({ source: { kind: 'samples', name, sampleRate: r.sampleRate, samples: r.samples }, label: 'microphone' });
      }
    } catch (e) {
      await take?.finish().catch(() => null);
      onError((e as Error).message);
    } finally {
      setRecording(null);
    }
  };

  const importFile = async (file: File) => {
    if (!onImport) return;
    setImporting(file.name);
    try {
      await onImport(file);
      setNote(null);
    } catch (e) {
      onError((e as Error).message);
    } finally {
      setImporting(null);
    }
  };

  return (
    <section className="panel" aria-labelledby="signal-h">
      <h2 id="signal-h">Signal</h2>
      <div className="row">
        <label>
          preset
          <select data-testid="preset" value={chosenRecording ? '' : preset} onChange={(e) => choosePreset(e.target.value)}>
            {chosenRecording && (
              <option value="" disabled>
                (a recording)
              </option>
            )}
            {presets.map((p) => (
              <option key={p.name} value={p.name} title={p.description}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <TextField label="samples" inputMode="numeric" testId="signal-length" value={fields.length} error={checked.errors.length} onChange={(t) => set('length', t)} onCommit={() => choosePreset(preset)} />
        <TextField label="noise σ" inputMode="decimal" testId="signal-noise" value={fields.noise} error={checked.errors.noise} onChange={(t) => set('noise', t)} onCommit={() => choosePreset(preset)} />
        <TextField label="seed" inputMode="numeric" testId="signal-seed" value={fields.seed} error={checked.errors.seed} onChange={(t) => set('seed', t)} onCommit={() => choosePreset(preset)} />
        <label className="file" title="WAV, FLAC, MP3 or Ogg Vorbis: mixed to mono and kept in the recordings library">
          {importing ? `importing ${importing}…` : 'import audio'}
          <input
            data-testid="open-wav"
            type="file"
            accept=".wav,.flac,.mp3,.ogg,.oga,audio/*"
            disabled={!onImport || importing !== null}
            onChange={(e) => {
              const f = e.target.files?.[0];
              e.target.value = ''; // the same file may be chosen again
              if (f) void importFile(f);
            }}
          />
        </label>
        <TextField label="record (s)" inputMode="decimal" testId="record-seconds" value={fields.recordSeconds} error={checked.errors.recordSeconds} onChange={(t) => set('recordSeconds', t)} />
        {recording ? (
          <button data-testid="record-stop" onClick={() => recording.stop.abort()}>
            Stop ({recording.seconds.toFixed(1)} s)
          </button>
        ) : (
          <button data-testid="record" disabled={checked.recordSeconds === null} title={checked.errors.recordSeconds ? 'Fix the take length first' : undefined} onClick={() => void record()}>
            Record microphone
          </button>
        )}
      </div>
      {recording && (
        <div className="take" data-testid="take" data-seconds={recording.seconds.toFixed(3)} data-name={recording.name ?? ''}>
          <div className="row">
            <span className="meter" role="meter" aria-label="microphone level (dBFS)" aria-valuemin={LEVEL_FLOOR_DB} aria-valuemax={0} aria-valuenow={Math.round(recording.rmsDb)} data-testid="level">
              <span className="meter-rms" style={{ width: `${levelPercent(recording.rmsDb)}%` }} />
              <span className="meter-peak" style={{ left: `${levelPercent(recording.peakDb)}%` }} />
            </span>
            <span className="hint">
              {recording.rmsDb.toFixed(0)} dBFS · {recording.seconds.toFixed(1)} s{recording.name ? ` into "${recording.name}"` : ''}
            </span>
          </div>
          <Waveform label="take" peaks={recording.peaks.length ? { peaks: recording.peaks.peaks, length: recording.peaks.length } : null} sampleRate={recording.sampleRate} height={48} />
        </div>
      )}
      <p className="hint">{note ?? (chosenRecording ? `Recording "${chosenRecording.name}" from the library` : presets.find((p) => p.name === preset)?.description)}</p>
      {specProblem && (
        <p className="hint warn-text" data-testid="signal-problem">
          The signal shown is the last good one; fix the settings marked in red to change it. Train waits until then.
        </p>
      )}
      <Waveform
        label="signal"
        peaks={preview ? { peaks: preview.peaks, length: preview.length } : null}
        sampleRate={preview?.sampleRate ?? 44100}
        onReady={onShown}
        playing={playing}
        position={playPosition}
        regions={chosenRecording ? waveRegions(chosenRecording) : undefined}
        onRegionChange={chosenRecording && onRegionsChange ? (id, r) => onRegionsChange({ ...chosenRecording, [id]: r }) : undefined}
      />
      {chosenRecording && preview && onRegionsChange && <RegionFields recording={chosenRecording} seconds={preview.length / preview.sampleRate} onChange={onRegionsChange} />}
      <Spectrogram image={preview?.spectrogram ?? null} label="signal" />
      <div className="row">
        <button data-testid="signal-play" disabled={!preview || playing || !onPlay} onClick={onPlay} title="Play the signal shown">
          Play signal
        </button>
        <button data-testid="signal-stop" disabled={!playing} onClick={onStop}>
          Stop
        </button>
        {preview && (
          <span className="hint" data-testid="signal-info">
            {preview.length.toLocaleString()} samples at {preview.sampleRate} Hz
            {preview.noiseFloor !== null ? `, noise floor ${preview.noiseFloor.toPrecision(3)}` : ''}
          </span>
        )}
      </div>
    </section>
  );
}

/** The meter's scale: -60 dBFS at the left, 0 at the right. */
function levelPercent(db: number): number {
  return Math.max(0, Math.min(100, ((db + 60) / 60) * 100));
}

const REGION_COLORS = { region: 'rgba(74, 123, 208, 0.18)', primeRegion: 'rgba(230, 126, 34, 0.25)' } as const;

function waveRegions(r: { region?: Region; primeRegion?: Region }): WaveRegion[] {
  const out: WaveRegion[] = [];
  if (r.region) out.push({ id: 'region', ...r.region, color: REGION_COLORS.region, label: 'train' });
  if (r.primeRegion) out.push({ id: 'primeRegion', ...r.primeRegion, color: REGION_COLORS.primeRegion, label: 'prime' });
  return out;
}

/**
 * The two regions of a recording as text fields ("1.5-3.2", in seconds; blank: all of it / the
 * engine's choice), kept in step with the regions dragged on the waveform.
 */
function RegionFields({ recording, seconds, onChange }: { recording: { region?: Region; primeRegion?: Region }; seconds: number; onChange: (r: { region?: Region; primeRegion?: Region }) => void }) {
  const [text, setText] = useState({ region: formatRegion(recording.region), primeRegion: formatRegion(recording.primeRegion) });
  const [errors, setErrors] = useState<{ region?: string; primeRegion?: string }>({});
  const last = useRef(recording);
  useEffect(() => {
    if (last.current === recording) return;
    last.current = recording;
    setText({ region: formatRegion(recording.region), primeRegion: formatRegion(recording.primeRegion) });
    setErrors({});
  }, [recording]);
  const commit = (id: 'region' | 'primeRegion') => {
    const r = checkRegionText(text[id], seconds);
    setErrors((e) => ({ ...e, [id]: r.error ?? undefined }));
    if (r.error === null) onChange({ ...recording, [id]: r.value ?? undefined });
  };
  return (
    <div className="row">
      <TextField
        label="train on (s)"
        testId="train-region"
        hint="The span of the recording to train on, as start-end in seconds (drag the blue region); blank: all of it"
        value={text.region}
        error={errors.region}
        onChange={(t) => setText((x) => ({ ...x, region: t }))}
        onCommit={() => commit('region')}
      />
      <TextField
        label="prime from (s)"
        testId="prime-region"
        hint="Where continuations start by default, as start-end in seconds (drag the orange region); blank: the loudest held-out half second"
        value={text.primeRegion}
        error={errors.primeRegion}
        onChange={(t) => setText((x) => ({ ...x, primeRegion: t }))}
        onCommit={() => commit('primeRegion')}
      />
      <button data-testid="mark-regions" onClick={() => onChange(defaultRegions(seconds))} title="Train on the first 70 % and prime from the half second after it">
        Mark regions
      </button>
    </div>
  );
}

/** A starting point to drag from: train on the first 70 %, prime on the half second that follows. */
function defaultRegions(seconds: number): { region: Region; primeRegion: Region } {
  const cut = Math.round(seconds * 0.7 * 100) / 100;
  return { region: { start: 0, end: cut }, primeRegion: { start: cut, end: Math.min(seconds, Math.round((cut + 0.5) * 100) / 100) } };
}
