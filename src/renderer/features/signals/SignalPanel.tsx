// Signal: choose a preset (and its parameters) or open a WAV file; see its waveform.
import { useEffect, useState } from 'react';
import type { CommandResult, UiSource } from '../../../shared/protocol';
import { signalTooLong } from '../../../shared/limits';
import { decodeWav } from '../../../shared/signals/wav';
import { PRESETS, type SignalSpec } from '../../../shared/signals/generators';
import { Waveform } from '../../components/Waveform';
import { MicrophoneRecorder } from '../../audio/capture';

export interface SignalChoice {
  source: UiSource;
  label: string;
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
}

export function SignalPanel({ presets, preview, onChoose, onError, onShown, onRecorded, select = null }: SignalPanelProps) {
  const [preset, setPreset] = useState(select?.name ?? 'sine');
  const [length, setLength] = useState(select?.length ?? 50_001);
  const [noise, setNoise] = useState(select?.noise ?? 0.02);
  const [seed, setSeed] = useState(select?.seed ?? 1);
  useEffect(() => {
    if (!select) return;
    setPreset(select.name);
    setLength(select.length);
    setNoise(select.noise);
    setSeed(select.seed);
  }, [select]);

  const choosePreset = (name: string, len = length, nz = noise, sd = seed) => {
    setPreset(name);
    setNote(null);
    const base = PRESETS[name]?.signal;
    if (!base) return onError(`Unknown preset ${name}`);
    onChoose({ source: { kind: 'preset', name, signal: { ...base, length: len, noise: nz, seed: sd } as SignalSpec }, label: name });
  };

  const [recordSeconds, setRecordSeconds] = useState(3);
  const [note, setNote] = useState<string | null>(null);
  const [recording, setRecording] = useState<{ stop: AbortController; seconds: number } | null>(null);

  const record = async () => {
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
      const audio = decodeWav(new Uint8Array(await file.arrayBuffer()), file.name);
      // Refused here, with the reason, rather than by the server closing the connection.
      const tooLong = signalTooLong(file.name, audio.samples.length);
      if (tooLong) return onError(tooLong);
      setNote(`${file.name}: ${audio.channels} channel(s), ${audio.bitDepth}-bit, mixed to mono`);
      onChoose({ source: { kind: 'samples', name: file.name, sampleRate: audio.sampleRate, samples: audio.samples }, label: file.name });
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
        <label>
          samples
          <input type="number" min={200} max={5_000_000} value={length} onChange={(e) => setLength(Number(e.target.value))} onBlur={() => choosePreset(preset)} />
        </label>
        <label>
          noise σ
          <input type="number" min={0} step={0.01} value={noise} onChange={(e) => setNoise(Number(e.target.value))} onBlur={() => choosePreset(preset)} />
        </label>
        <label>
          seed
          <input type="number" value={seed} onChange={(e) => setSeed(Number(e.target.value))} onBlur={() => choosePreset(preset)} />
        </label>
        <label className="file">
          open WAV
          <input data-testid="open-wav" type="file" accept=".wav,audio/wav" onChange={(e) => e.target.files?.[0] && void openWav(e.target.files[0])} />
        </label>
        <label>
          record (s)
          <input data-testid="record-seconds" type="number" min={0.5} max={600} step={0.5} value={recordSeconds} onChange={(e) => setRecordSeconds(Number(e.target.value))} />
        </label>
        {recording ? (
          <button data-testid="record-stop" onClick={() => recording.stop.abort()}>
            Stop ({recording.seconds.toFixed(1)} s)
          </button>
        ) : (
          <button data-testid="record" onClick={() => void record()}>
            Record microphone
          </button>
        )}
      </div>
      <p className="hint">{note ?? presets.find((p) => p.name === preset)?.description}</p>
      <Waveform label="signal" peaks={preview ? { peaks: preview.peaks, length: preview.length } : null} sampleRate={preview?.sampleRate ?? 44100} onReady={onShown} />
      {preview && (
        <p className="hint" data-testid="signal-info">
          {preview.length.toLocaleString()} samples at {preview.sampleRate} Hz
          {preview.noiseFloor !== null ? `, noise floor ${preview.noiseFloor.toPrecision(3)}` : ''}
        </p>
      )}
    </section>
  );
}
