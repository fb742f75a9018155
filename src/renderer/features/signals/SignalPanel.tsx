// Signal: choose a preset (and its parameters) or open a WAV file; see its waveform.
import { useEffect, useMemo, useState } from 'react';
import type { CommandResult, UiSource } from '../../../shared/protocol';
import { signalTooLong } from '../../../shared/limits';
import { decodeAudioFile } from '../../audio/decode';
import { findPreset } from '../../../shared/signals/generators';
import { TextField } from '../../components/Field';
import { Spectrogram } from '../../components/Spectrogram';
import { Waveform } from '../../components/Waveform';
import { MicrophoneRecorder } from '../../audio/capture';
import { checkSignalFields, DEFAULT_RECORD_SECONDS, type SignalField, type SignalFields } from './signal-form';

export interface SignalChoice {
  source: UiSource;
  label: string;
  /**
   * What to show, when the page already has it (a file decoded in a worker): the engine is then not
   * asked for a preview, so an hour of audio is drawn without sending its 230 MB first.
   */
  preview?: SignalPreview;
}

/** What the engine returns for a signal to show: its length and min/max peaks. */
export type SignalPreview = CommandResult<'signal.preview'>;

export interface SignalPanelProps {
  presets: { name: string; description: string }[];
  preview: SignalPreview | null;
  onChoose: (c: SignalChoice) => void;
  onError: (message: string) => void;
  onShown: (duration: number) => void;
  onRecorded?: (samples: Float32Array, sampleRate: number) => void;
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

export function SignalPanel({ presets, preview, onChoose, onError, onShown, onRecorded, select = null, onProblem, playing = false, onPlay, onStop, playPosition }: SignalPanelProps) {
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
  const [recording, setRecording] = useState<{ stop: AbortController; seconds: number } | null>(null);

  const record = async () => {
    const recordSeconds = checked.recordSeconds;
    if (recordSeconds === null) return;
    const stop = new AbortController();
    setRecording({ stop, seconds: 0 });
    const recorder = new MicrophoneRecorder();
    try {
      const r = await recorder.record(recordSeconds, stop.signal, (s) => setRecording((x) => (x ? { ...x, seconds: s } : x)));
      if (r.samples.length < 2) throw new Error('The recording is empty');
      const tooLong = signalTooLong('The recording', r.samples.length);
      if (tooLong) throw new Error(tooLong);
      onRecorded?.(r.samples, r.sampleRate);
      const name = `microphone ${new Date().toLocaleTimeString()}`;
      setNote(`Recorded from the microphone (${name})`);
      onChoose({ source: { kind: 'samples', name, sampleRate: r.sampleRate, samples: r.samples }, label: 'microphone' });
    } catch (e) {
      onError((e as Error).message);
    } finally {
      setRecording(null);
    }
  };

  const openWav = async (file: File) => {
    try {
      const audio = await decodeAudioFile(file); // in a worker, with the waveform's peaks
      // Refused here, with the reason, rather than by the server closing the connection.
      const tooLong = signalTooLong(file.name, audio.samples.length);
      if (tooLong) return onError(tooLong);
      setNote(`${file.name}: ${audio.channels} channel(s), ${audio.bitDepth}-bit, mixed to mono`);
      onChoose({
        source: { kind: 'samples', name: file.name, sampleRate: audio.sampleRate, samples: audio.samples },
        label: file.name,
        preview: { length: audio.samples.length, sampleRate: audio.sampleRate, peaks: audio.peaks, spectrogram: audio.spectrogram, noiseFloor: null, description: file.name },
      });
    } catch (e) {
      onError((e as Error).message);
    }
  };

  return (
    <section className="panel" aria-labelledby="signal-h">
      <h2 id="signal-h">Signal</h2>
      <div className="row">
        <label>
          preset
          <select data-testid="preset" value={preset} onChange={(e) => choosePreset(e.target.value)}>
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
        <label className="file">
          open WAV
          <input data-testid="open-wav" type="file" accept=".wav,audio/wav" onChange={(e) => e.target.files?.[0] && void openWav(e.target.files[0])} />
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
      <p className="hint">{note ?? presets.find((p) => p.name === preset)?.description}</p>
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
      />
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
