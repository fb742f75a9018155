// Generate: prime length and length; the continuation after the primed part with the truth
// overlaid; Play / Stop; Continue from the returned packed state; Export WAV.
import { useMemo, useState } from 'react';
import { LineChart } from '../../components/LineChart';
import { Waveform } from '../../components/Waveform';

export interface GenerationView {
  model: string | null;
  primeSamples: Float32Array;
  /** Every generated sample so far, continuations appended. */
  samples: Float32Array;
  truth: Float32Array | null;
  sampleRate: number;
  state: Float32Array | null;
}

export interface GenerationPanelProps {
  models: string[];
  view: GenerationView;
  busy: boolean;
  playing: boolean;
  onGenerate: (model: string, prime: number, length: number) => void;
  onContinue: (length: number) => void;
  onPlay: () => void;
  onStop: () => void;
  onExport: () => void;
  onWaveformReady?: (duration: number) => void;
}

export function GenerationPanel({ models, view, busy, playing, onGenerate, onContinue, onPlay, onStop, onExport, onWaveformReady }: GenerationPanelProps) {
  const [prime, setPrime] = useState(100);
  const [length, setLength] = useState(1000);
  const [model, setModel] = useState<string>('');
  const chosen = model && models.includes(model) ? model : (view.model ?? models[0] ?? '');

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
          <select data-testid="gen-model" value={chosen} onChange={(e) => setModel(e.target.value)}>
            {models.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label>
          prime
          <input data-testid="prime" type="number" min={1} value={prime} onChange={(e) => setPrime(Number(e.target.value))} />
        </label>
        <label>
          length
          <input data-testid="gen-length" type="number" min={1} value={length} onChange={(e) => setLength(Number(e.target.value))} />
        </label>
      </div>
      <div className="row buttons">
        <button data-testid="generate" disabled={busy || !chosen} onClick={() => onGenerate(chosen, prime, length)}>
          Generate
        </button>
        <button data-testid="continue" disabled={busy || !view.state} onClick={() => onContinue(length)} title="Continue from the packed state">
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
      </div>
      <LineChart
        testId="generation-chart"
        data={chart}
        xLabel="samples after the prime"
        series={[
          { label: 'prime', color: '#4a7bd0' },
          { label: 'generated', color: '#e08a1e' },
          { label: 'truth', color: '#8a8a8a', dash: [4, 3] },
        ]}
      />
      <Waveform label="generated" samples={view.samples.length ? view.samples : null} sampleRate={view.sampleRate} color="#e08a1e" height={64} onReady={onWaveformReady} />
      <p className="hint" data-testid="gen-info">
        {view.samples.length ? `${view.samples.length.toLocaleString()} samples generated at ${view.sampleRate} Hz` : 'nothing generated yet'}
      </p>
    </section>
  );
}
