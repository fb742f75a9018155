// Generate: prime length and length (in seconds); the continuation after the primed part with the
// truth overlaid, heard as it is generated (or later with Play) with a playhead on its growing
// waveform; Stop; Continue from the returned packed state; Export WAV.
import { ContinuationVerdict } from './ContinuationVerdict';
import { useMemo } from 'react';
import { DEFAULT_SPECTRAL_TEMPERATURE, MAX_PRIME } from '../../../shared/contract';
import type { ModelSummary } from '../../../shared/protocol';
import { checkLength, defaultSeconds } from './generation-length';
import { LineChart, formatValue } from '../../components/LineChart';
import { TextField } from '../../components/Field';
import { Waveform } from '../../components/Waveform';
import { Spectrogram } from '../../components/Spectrogram';
import { spectrogramImage } from '../../../shared/dsp/spectrogram';
import { parseNumberText } from '../training/train-form';

export interface GenerationView {
  model: string | null;
  primeSamples: Float32Array;
  /** Every generated sample so far, continuations appended. */
  samples: Float32Array;
  truth: Float32Array | null;
  sampleRate: number;
  state: Float32Array | null;
}

/** Prime, length and a sampling model's temperature (blank: its family's), as typed. */
export interface GenerationSettings {
  prime: string;
  /** Seconds ("2", "250 ms" and "1000 samples" too; generation-length.ts); blank: the model's default. */
  length: string;
  temperature: string;
  /** Where the prime starts in the signal, in samples; blank: the engine chooses (the held-out part, for audio its loudest half second). */
  offset: string;
  /** Play the continuation as it is generated (absent: yes). */
  live?: boolean;
}

/** A model as the panel needs it: its rate turns seconds into samples, its source picks the default length. */
export type ModelChoice = Pick<ModelSummary, 'name' | 'sampleRate' | 'source'>;

/** How the continuation plays as it is generated: null before the first Generate with playback. */
export interface StreamPlayback {
  state: 'buffering' | 'playing' | 'ended' | 'stopped' | 'failed';
  /** Seconds heard (when over). */
  seconds: number;
  /** Times the buffer ran dry before the end (generation slower than real time). */
  underruns: number;
  /** Why it could not play ('failed'). */
  message?: string;
}

/** The playback status line in words. */
export function describePlayback(p: StreamPlayback): string {
  const s = `${p.seconds.toFixed(2)} s`;
  const gaps = p.underruns === 0 ? 'no gaps' : `${p.underruns} gap${p.underruns === 1 ? '' : 's'}: generation ran slower than real time`;
  switch (p.state) {
    case 'buffering':
      return 'buffering the first chunks…';
    case 'playing':
      return 'playing as it is generated';
    case 'ended':
      return `played ${s}, ${gaps}`;
    case 'stopped':
      return `stopped after ${s}`;
    case 'failed':
      return `cannot play while generating: ${p.message ?? 'unknown reason'}`;
    default:
      throw new Error(`Unknown playback state: ${(p as { state: string }).state}`);
  }
}

/** A prime start as typed: blank (automatic) or a whole number of samples from 0. */
export function checkOffset(text: string): { value: number | null; error: null } | { value: null; error: string } {
  if (text.trim() === '') return { value: null, error: null };
  const r = parseNumberText(text);
  if ('error' in r) return { value: null, error: r.error };
  if (!Number.isInteger(r.value)) return { value: null, error: 'must be a whole number' };
  if (r.value < 0) return { value: null, error: 'must be at least 0' };
  return { value: r.value, error: null };
}

/**
 * A sampling temperature as typed: a number from 0 (the most likely level each step) to 100, or why not;
 * blank (value null) leaves it to the model's family (1, spectral DEFAULT_SPECTRAL_TEMPERATURE).
 */
export function checkTemperature(text: string): { value: number | null; error: null } | { value: null; error: string } {
  if (text.trim() === '') return { value: null, error: null };
  const r = parseNumberText(text);
  if ('error' in r) return { value: null, error: r.error };
  if (r.value < 0) return { value: null, error: 'must be at least 0' };
  if (r.value > 100) return { value: null, error: 'must be at most 100' };
  return { value: r.value, error: null };
}

/** A whole number in [min, max] as typed, or why not. */
function checkCount(text: string, min: number, max: number): { value: number; error: null } | { value: null; error: string } {
  const r = parseNumberText(text);
  if ('error' in r) return { value: null, error: r.error };
  if (!Number.isInteger(r.value)) return { value: null, error: 'must be a whole number' };
  if (r.value < min) return { value: null, error: `must be at least ${min.toLocaleString('en-US')}` };
  if (r.value > max) return { value: null, error: `must be at most ${max.toLocaleString('en-US')}` };
  return { value: r.value, error: null };
}

/** What Generate and Continue pass besides the numbers: the rate used for seconds, and whether to play as it comes. */
export interface GenerateOptions {
  sampleRate: number;
  play: boolean;
}

export interface GenerationPanelProps {
  models: ModelChoice[];
  /** The model to generate from (the one just trained or opened, unless the user picked another). */
  model: string | null;
  onModelChange: (name: string) => void;
  settings: GenerationSettings;
  onSettingsChange: (s: GenerationSettings) => void;
  /** Why the engine cannot be used now (connection lost), or null. */
  unavailable?: string | null;
  view: GenerationView;
  busy: boolean;
  playing: boolean;
  /** offset: where the prime starts in the signal, or null to let the engine choose. */
  /** length: samples (converted from the field's seconds at the model's rate). */
  onGenerate: (model: string, prime: number | null, length: number, temperature: number | null, offset: number | null, options: GenerateOptions) => void;
  onContinue: (length: number, temperature: number | null, options: GenerateOptions) => void;
  onPlay: () => void;
  onStop: () => void;
  onExport: () => void;
  onWaveformReady?: (duration: number) => void;
  /** Seconds of the continuation played so far, for the waveform's playhead. */
  playPosition?: () => number;
  /** The last play-while-generating, for its status line. */
  playback?: StreamPlayback | null;
}

export function GenerationPanel({ models, model, onModelChange, settings, onSettingsChange, unavailable = null, view, busy, playing, onGenerate, onContinue, onPlay, onStop, onExport, onWaveformReady, playPosition, playback = null }: GenerationPanelProps) {
  const chosenModel = models.find((m) => m.name === model) ?? models[0] ?? null;
  const chosen = chosenModel?.name ?? '';
  // Blank: the engine's choice (half a second of audio, the model's prime region, or one window of a preset).
  const prime: { value: number | null; error: string | null } = settings.prime.trim() === '' ? { value: null, error: null } : checkCount(settings.prime, 1, MAX_PRIME);
  // Generate converts at the chosen model's rate; Continue at the rate of the continuation shown.
  const rate = chosenModel?.sampleRate ?? view.sampleRate;
  const fallback = defaultSeconds(chosenModel?.source);
  const length = checkLength(settings.length, rate, fallback);
  const continued = checkLength(settings.length, view.sampleRate, fallback);
  const live = settings.live !== false;
  const temperature = checkTemperature(settings.temperature);
  const spectrogram = useMemo(() => (view.samples.length ? spectrogramImage(view.samples, view.sampleRate) : null), [view.samples, view.sampleRate]);
  const offset = checkOffset(settings.offset ?? '');
  const invalid = prime.error !== null || length.error !== null || temperature.error !== null || offset.error !== null || !chosenModel;

  const chart = useMemo(() => {
    const p = view.primeSamples.length;
    const n = p + view.samples.length;
    const x = Array.from({ length: n }, (_, i) => i - p);
    const primeY = x.map((_, i) => (i < p ? view.primeSamples[i] : null));
    const gen = x.map((_, i) => (i >= p ? view.samples[i - p] : i === p - 1 ? view.primeSamples[i] : null));
    const truth = x.map((_, i) => (i >= p && view.truth && i - p < view.truth.length ? view.truth[i - p] : null));
    return [x, primeY, gen, truth];
  }, [view.primeSamples, view.samples, view.truth]);

  return (
    <section className="panel" aria-labelledby="gen-h">
      <h2 id="gen-h">Generate</h2>
      <div className="row">
        <label>
          model
          <select data-testid="gen-model" value={chosen} onChange={(e) => onModelChange(e.target.value)}>
            {models.map((m) => (
              <option key={m.name}>{m.name}</option>
            ))}
          </select>
        </label>
        <TextField
          label="prime (samples; blank: auto)"
          hint="Samples of the signal the model hears first; blank: half a second of audio (the recording's prime region, when one is marked) or one window of a preset"
          inputMode="numeric"
          testId="prime"
          value={settings.prime} error={prime.error} onChange={(t) => onSettingsChange({ ...settings, prime: t })} />
        <TextField
          label="prime from (sample)"
          inputMode="numeric"
          testId="prime-offset"
          value={settings.offset ?? ''}
          error={offset.error}
          onChange={(t) => onSettingsChange({ ...settings, offset: t })}
          hint="blank: the held-out part of the signal (for audio, its loudest stretch)"
        />
        <TextField
          label={settings.length.trim() === '' ? `length (s; blank: ${fallback})` : 'length (s)'}
          inputMode="decimal"
          testId="gen-length"
          value={settings.length}
          error={length.error}
          onChange={(t) => onSettingsChange({ ...settings, length: t })}
          hint={`seconds to generate (or "250 ms", or "1000 samples"); blank: ${fallback} s for this model${length.samples !== null ? `; now ${length.samples.toLocaleString('en-US')} samples at ${rate.toLocaleString('en-US')} Hz` : ''}`}
        />
        <TextField
          label={settings.temperature.trim() === '' ? "temperature (blank: the model's)" : 'temperature'}
          inputMode="decimal"
          testId="temperature"
          value={settings.temperature}
          error={temperature.error}
          onChange={(t) => onSettingsChange({ ...settings, temperature: t })}
          hint={`categorical and spectral models: below 1 sharper, above 1 noisier, 0 = the most likely value; blank: 1 (categorical) or ${DEFAULT_SPECTRAL_TEMPERATURE} (spectral)`}
        />
      </div>
      <div className="row buttons">
        <button
          data-testid="generate"
          disabled={busy || !chosen || invalid || !!unavailable}
          title={unavailable ?? undefined}
          onClick={() => prime.error === null && length.samples !== null && temperature.error === null && onGenerate(chosen, prime.value, length.samples, temperature.value, offset.value, { sampleRate: rate, play: live })}
        >
          Generate
        </button>
        <button
          data-testid="continue"
          disabled={busy || !view.state || continued.error !== null || temperature.error !== null || !!unavailable}
          onClick={() => continued.samples !== null && temperature.error === null && onContinue(continued.samples, temperature.value, { sampleRate: view.sampleRate, play: live })}
          title={continued.error ? `length: ${continued.error}` : 'Continue from the packed state'}
        >
          Continue
        </button>
        <button data-testid="play" disabled={!view.samples.length || playing} onClick={onPlay}>
          Play
        </button>
        <button data-testid="stop" disabled={!playing} onClick={onStop}>
          Stop
        </button>
        <button data-testid="export" disabled={!view.samples.length} onClick={onExport}>
          Export WAV
        </button>
        <label style={{ flexDirection: 'row', alignItems: 'center', gap: 6, alignSelf: 'center' }} title="Hear the continuation while it is generated (it starts after a short buffer)">
          <input type="checkbox" style={{ minWidth: 0, margin: 0 }} data-testid="play-live" checked={live} onChange={(e) => onSettingsChange({ ...settings, live: e.target.checked })} />
          play while generating
        </label>
      </div>
      <LineChart
        testId="generation-chart"
        data={chart}
        xLabel="samples after the prime"
        yLabel="amplitude"
        summary={
          view.samples.length
            ? `${view.model ?? 'The model'}: ${view.primeSamples.length.toLocaleString('en-US')} samples of prime, then ${view.samples.length.toLocaleString('en-US')} generated${view.truth ? ', the true continuation dashed' : ''}; generated values from ${formatValue(Math.min(...view.samples.subarray(0, 10_000)), 3)} to ${formatValue(Math.max(...view.samples.subarray(0, 10_000)), 3)} in the first ${Math.min(10_000, view.samples.length).toLocaleString('en-US')}.`
            : 'Generation chart: nothing generated yet.'
        }
        series={[
          { label: 'prime', color: '#4a7bd0' },
          { label: 'generated', color: '#e08a1e' },
          { label: 'truth', color: '#8a8a8a', dash: [4, 3] },
        ]}
      />
      <Waveform label="generated" samples={view.samples.length ? view.samples : null} sampleRate={view.sampleRate} color="#e08a1e" height={64} onReady={onWaveformReady} playing={playing} position={playPosition} />
      <Spectrogram image={spectrogram} label="generated" />
      <p className="hint" data-testid="gen-info">
        {view.samples.length ? `${view.samples.length.toLocaleString()} samples generated at ${view.sampleRate} Hz` : 'nothing generated yet'}
      </p>
      {playback && (
        <p className="hint" data-testid="playback-status" data-state={playback.state} role="status">
          {describePlayback(playback)}
        </p>
      )}
      {/* Judged once whole: the judgement costs ~0.1 s a second of audio, too much to redo per chunk while it plays. */}
      {view.samples.length > 0 && !busy && <ContinuationVerdict samples={view.samples} primeSamples={view.primeSamples} truth={view.truth} sampleRate={view.sampleRate} />}
    </section>
  );
}
