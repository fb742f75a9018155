// @vitest-environment happy-dom
import type { ModelSummary } from '../../src/shared/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { emptyTraining, TrainingPanel, type TrainingView } from '../../src/renderer/features/training/TrainingPanel';
import { defaultTrainForm, type TrainForm } from '../../src/renderer/features/training/train-form';
import { GenerationPanel, type GenerationView } from '../../src/renderer/features/generation/GenerationPanel';
import { ModelsPanel } from '../../src/renderer/features/models/ModelsPanel';

// Charts and waveforms draw on canvas, which happy-dom lacks; they are covered end to end.
vi.mock('../../src/renderer/components/LineChart', () => ({
  LineChart: (p: { testId: string; data: unknown[][] }) => <div data-testid={p.testId} data-points={p.data[0]?.length ?? 0} />,
  formatValue: (v: number | null) => String(v),
}));
vi.mock('../../src/renderer/components/Waveform', () => ({
  Waveform: (p: { label: string; samples: Float32Array | null }) => <div data-testid={`waveform-${p.label}`} data-samples={p.samples?.length ?? 0} />,
}));

afterEach(cleanup);

const metrics = { test_mse: 0.000442, dev_mse: 0.00043, noise_floor: 0.0004, persistence_mse: 0.00278, ar_mse: 0.00045, ar_order: 32 };

describe('TrainingPanel', () => {
  const idle: TrainingView = emptyTraining;
  const base = { backend: 'wasm', signalLabel: 'sine', onCancel: () => {}, onResume: () => {} };

  /** The panel with its form held as App holds it. */
  function Harness(p: Partial<React.ComponentProps<typeof TrainingPanel>>) {
    const [form, setForm] = useState<TrainForm>(defaultTrainForm());
    return <TrainingPanel {...base} view={idle} onTrain={() => {}} {...p} form={form} onFormChange={setForm} />;
  }

  it('keeps what is typed, sends it parsed, and names the run after its signal and model', () => {
    const onTrain = vi.fn();
    render(<Harness onTrain={onTrain} takenNames={['sine-lstm-32x32-1']} />);
    fireEvent.change(screen.getByTestId('epochs'), { target: { value: '2000' } });
    fireEvent.change(screen.getByTestId('units'), { target: { value: '32,32' } });
    fireEvent.change(screen.getByTestId('learning-rate'), { target: { value: '1e-3' } });
    expect((screen.getByTestId('epochs') as HTMLInputElement).value).toBe('2000');
    expect((screen.getByTestId('learning-rate') as HTMLInputElement).value).toBe('1e-3');
    expect((screen.getByTestId('model-name') as HTMLInputElement).value).toBe('sine-lstm-32x32-2');
    fireEvent.click(screen.getByTestId('train'));
    expect(onTrain).toHaveBeenCalledWith({ name: 'sine-lstm-32x32-2', model: { family: 'regression', type: 'lstm', units: [32, 32] }, config: expect.objectContaining({ epochs: 2000, learningRate: 0.001, window: 100, batchSize: 128 }) }, false);
    expect(screen.getByTestId('backend').textContent).toBe('wasm');
    expect((screen.getByTestId('cancel') as HTMLButtonElement).disabled).toBe(true);
  });

  it('marks a bad field with a message in words and disables Train until it is fixed', () => {
    render(<Harness />);
    const cases: [string, string, string][] = [
      ['window', '-3', 'must be at least 1'],
      ['epochs', '1e-3', 'must be a whole number'],
      ['batch', 'abc', '"abc" is not a number'],
      ['units', '16,2000', 'layer 2 must be at most 1,024'],
    ];
    for (const [id, typed, message] of cases) {
      fireEvent.change(screen.getByTestId(id), { target: { value: typed } });
      const input = screen.getByTestId(id) as HTMLInputElement;
      expect(input.value).toBe(typed);
      expect(input.getAttribute('aria-invalid')).toBe('true');
      expect(screen.getByTestId(`${id}-error`).textContent).toBe(message);
      expect(document.getElementById(input.getAttribute('aria-describedby')!)!.textContent).toBe(message);
      expect((screen.getByTestId('train') as HTMLButtonElement).disabled).toBe(true);
    }
    fireEvent.change(screen.getByTestId('window'), { target: { value: '50' } });
    fireEvent.change(screen.getByTestId('epochs'), { target: { value: '3' } });
    fireEvent.change(screen.getByTestId('batch'), { target: { value: '64' } });
    fireEvent.change(screen.getByTestId('units'), { target: { value: '16' } });
    expect(screen.getByTestId('window').getAttribute('aria-invalid')).toBeNull();
    expect((screen.getByTestId('train') as HTMLButtonElement).disabled).toBe(false);
  });

  it('asks before training into a name that holds a model', () => {
    const onTrain = vi.fn();
    render(<Harness onTrain={onTrain} takenNames={['mine']} />);
    fireEvent.change(screen.getByTestId('model-name'), { target: { value: 'mine' } });
    expect(screen.getByTestId('name-taken').textContent).toMatch(/A model named mine exists/);
    fireEvent.click(screen.getByTestId('train'));
    expect(onTrain).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId('replace-yes'));
    expect(onTrain).toHaveBeenCalledWith(expect.objectContaining({ name: 'mine' }), true);
  });

  it('while training shows progress and allows only Cancel; cancelling says so; at the end shows the verdict', () => {
    const running: TrainingView = {
      ...idle,
      runId: 'r1',
      name: 'm',
      totalEpochs: 2,
      batchX: [1 / 3, 2 / 3, 1],
      batchLosses: [0.5, 0.2, 0.1],
      epochs: [{ epoch: 1, devLoss: 0.12, trainLoss: 0.2 }],
      last: { type: 'batch', epoch: 2, batch: 1, batches: 3, loss: 0.1, seqPerSecond: 5000, etaSeconds: 12.2 },
    };
    const { rerender } = render(<Harness view={running} />);
    expect(screen.getByTestId('train-status').textContent).toBe('epoch 2, batch 1/3: loss 0.1000, 5000 seq/s, ETA 13 s');
    expect((screen.getByTestId('train') as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByTestId('cancel') as HTMLButtonElement).disabled).toBe(false);
    expect(screen.getByTestId('loss-chart').dataset.points).toBe('3');
    expect(screen.getByLabelText('training progress')).toBeTruthy();
    rerender(<Harness view={{ ...running, cancelling: true }} />);
    expect(screen.getByTestId('cancel').textContent).toBe('Cancelling…');
    expect(screen.getByTestId('train-status').textContent).toMatch(/^cancelling… /);
    const worse = { ...metrics, test_mse: 0.0207, test_mse_ci95: 0.0005 };
    rerender(<Harness view={{ ...running, done: { runId: 'r1', name: 'm', outcome: 'completed', message: null, metrics: worse, error: null } }} />);
    expect(screen.getByTestId('train-status').textContent).toBe('completed');
    expect(screen.getByTestId('verdict').textContent).toMatch(/^Worse than linear prediction: 46 ×/);
    expect(screen.getByTestId('verdict-ar').textContent).toBe('worse than linear prediction: 46 ×');
    expect(screen.getByTestId('verdict-noise_floor').textContent).toBe('52 × the noise floor');
  });

  it('says the noise floor of a recording is unknown rather than n/a', () => {
    const done: TrainingView = { ...idle, runId: 'r', name: 'm', done: { runId: 'r', name: 'm', outcome: 'completed', message: null, metrics: { ...metrics, noise_floor: null }, error: null } };
    render(<Harness view={done} />);
    expect(screen.getByTestId('verdict-noise_floor').textContent).toBe('unknown: a recording has no known added noise');
    expect(screen.getByTestId('verdict').textContent).toMatch(/^Beats linear prediction/);
  });

  it('shows a failed run in words', () => {
    const failed: TrainingView = { ...idle, runId: 'r', name: 'm', done: { runId: 'r', name: 'm', outcome: null, message: null, metrics: null, error: { code: 'engine_crashed', message: 'The engine stopped' } } };
    render(<Harness view={failed} />);
    expect(screen.getByTestId('train-status').textContent).toBe('failed: The engine stopped');
  });
});

describe('GenerationPanel', () => {
  const empty: GenerationView = { model: null, primeSamples: new Float32Array(0), samples: new Float32Array(0), truth: null, sampleRate: 44100, state: null };
  const props = { busy: false, playing: false, onContinue: vi.fn(), onPlay: vi.fn(), onStop: vi.fn(), onExport: vi.fn(), onModelChange: vi.fn() };
  function Gen(p: Omit<React.ComponentProps<typeof GenerationPanel>, 'settings' | 'onSettingsChange' | 'model' | keyof typeof props> & { model?: string }) {
    const [settings, setSettings] = useState({ prime: '100', length: '1000', temperature: '1', offset: '' });
    const [model, setModel] = useState(p.model ?? null);
    return <GenerationPanel {...props} {...p} model={model} onModelChange={setModel} settings={settings} onSettingsChange={setSettings} />;
  }

  it('generates with the chosen model, prime and length; nothing to play before that', () => {
    const onGenerate = vi.fn();
    render(<Gen models={[{ name: 'a', sampleRate: 1000, source: 'a.wav' }, { name: 'b', sampleRate: 1000, source: 'b.wav' }]} view={empty} onGenerate={onGenerate} />);
    fireEvent.change(screen.getByTestId('gen-model'), { target: { value: 'b' } });
    fireEvent.change(screen.getByTestId('prime'), { target: { value: '50' } });
    fireEvent.change(screen.getByTestId('gen-length'), { target: { value: '2' } }); // seconds: 2,000 samples at 1 kHz
    fireEvent.click(screen.getByTestId('generate'));
    expect(onGenerate).toHaveBeenCalledWith('b', 50, 2000, 1, null, { sampleRate: 1000, play: true });
    fireEvent.change(screen.getByTestId('temperature'), { target: { value: '-1' } });
    expect(screen.getByText('must be at least 0')).toBeTruthy();
    expect((screen.getByTestId('generate') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByTestId('temperature'), { target: { value: '0.7' } });
    fireEvent.click(screen.getByTestId('generate'));
    expect(onGenerate).toHaveBeenLastCalledWith('b', 50, 2000, 0.7, null, { sampleRate: 1000, play: true });
    fireEvent.change(screen.getByTestId('prime-offset'), { target: { value: '1.5' } });
    expect(screen.getByText('must be a whole number')).toBeTruthy();
    fireEvent.change(screen.getByTestId('prime-offset'), { target: { value: '4000' } });
    fireEvent.click(screen.getByTestId('generate'));
    expect(onGenerate).toHaveBeenLastCalledWith('b', 50, 2000, 0.7, 4000, { sampleRate: 1000, play: true });
    // A blank temperature is left to the model's family (spectral draws at 1.2), and the label says so.
    fireEvent.change(screen.getByTestId('temperature'), { target: { value: ' ' } });
    expect(screen.getByText("temperature (blank: the model's)")).toBeTruthy();
    fireEvent.click(screen.getByTestId('generate'));
    expect(onGenerate).toHaveBeenLastCalledWith('b', 50, 2000, null, 4000, { sampleRate: 1000, play: true });
    for (const id of ['play', 'export', 'continue', 'stop']) expect((screen.getByTestId(id) as HTMLButtonElement).disabled).toBe(true);
  });

  it('plots prime and continuation on one axis and enables Play, Continue and Export', () => {
    const view: GenerationView = { model: 'a', primeSamples: new Float32Array(10), samples: new Float32Array(90), truth: new Float32Array(90), sampleRate: 8000, state: new Float32Array(8) };
    render(<Gen models={[{ name: 'a', sampleRate: 8000, source: 'preset sine' }]} model="a" view={view} onGenerate={() => {}} />);
    expect(screen.getByTestId('generation-chart').dataset.points).toBe('100');
    expect(screen.getByTestId('waveform-generated').dataset.samples).toBe('90');
    expect(screen.getByTestId('gen-info').textContent).toBe('90 samples generated at 8000 Hz');
    for (const id of ['play', 'export', 'continue']) expect((screen.getByTestId(id) as HTMLButtonElement).disabled).toBe(false);
  });

  it('continues at the typed temperature, or with none (the family decides) when it is blank', () => {
    const view: GenerationView = { model: 'a', primeSamples: new Float32Array(10), samples: new Float32Array(90), truth: null, sampleRate: 8000, state: new Float32Array(8) };
    const onContinue = vi.fn();
    render(<GenerationPanel {...props} onContinue={onContinue} models={[{ name: 'a', sampleRate: 8000, source: 'a.wav' }]} model="a" view={view} onGenerate={() => {}} settings={{ prime: '', length: '1000 samples', temperature: '', offset: '' }} onSettingsChange={() => {}} />);
    fireEvent.click(screen.getByTestId('continue'));
    expect(onContinue).toHaveBeenLastCalledWith(1000, null, { sampleRate: 8000, play: true });
  });
});

describe('ModelsPanel', () => {
  const model: ModelSummary = { name: 'sine-1', status: 'complete', type: 'lstm', units: [16, 16], window: 100, epochsDone: 5, epochs: 5, source: 'preset sine', sampleRate: 44100, metrics, updatedAt: '' };

  it('lists models with their settings and metrics, opens and deletes after confirming', () => {
    const onOpen = vi.fn();
    const onDelete = vi.fn();
    vi.stubGlobal('confirm', vi.fn(() => true));
    render(<ModelsPanel models={[model, { ...model, name: 'cp', status: 'checkpoint', epochsDone: 2, metrics: null }]} selected="cp" onOpen={onOpen} onDelete={onDelete} onRefresh={() => {}} />);
    const table = screen.getByTestId('models').textContent!;
    expect(table).toMatch(/sine-1LSTM 16×16, w100preset sine5\/5 0\.000442/);
    expect(screen.getByTestId('run-sine-1').textContent).toMatch(/1\.02 × better/); // than linear AR
    expect(table).toMatch(/cp.*2\/5 \(checkpoint\)/);
    fireEvent.click(screen.getByLabelText('open sine-1'));
    expect(onOpen).toHaveBeenCalledWith('sine-1');
    fireEvent.click(screen.getByLabelText('delete cp'));
    expect(onDelete).toHaveBeenCalledWith('cp');
    vi.unstubAllGlobals();
  });

  it('sorts runs by a column, shows only the settings that differ, and says how a run compares with linear AR', () => {
    const runs = [
      { ...model, name: 'a', units: [16], metrics: { ...metrics, test_mse: 0.0207 }, createdAt: '2024-01-01T10:00:00Z', trainSeconds: 65 },
      { ...model, name: 'b', units: [32], createdAt: '2024-01-02T10:00:00Z', trainSeconds: 30 },
    ];
    render(<ModelsPanel models={runs} selected={null} compared={[]} onCompareChange={() => {}} onOpen={() => {}} onDelete={() => {}} onRefresh={() => {}} />);
    const names = () => screen.getAllByRole('row').slice(1).map((r) => r.getAttribute('data-testid'));
    expect(names()).toEqual(['run-b', 'run-a']); // newest first
    fireEvent.click(screen.getByTestId('sort-test_mse'));
    expect(names()).toEqual(['run-b', 'run-a']);
    fireEvent.click(screen.getByTestId('sort-test_mse'));
    expect(names()).toEqual(['run-a', 'run-b']);
    expect(screen.getByTestId('run-a').textContent).toMatch(/46 × worse/);
    expect(screen.getByTestId('run-a').textContent).toMatch(/1 min 05 s/);
    expect(screen.getByTestId('compare-chart')).toBeTruthy();
  });

  it('says there is nothing yet', () => {
    render(<ModelsPanel models={[]} selected={null} onOpen={() => {}} onDelete={() => {}} onRefresh={() => {}} />);
    expect(screen.getByText(/No saved models yet/)).toBeTruthy();
  });
});

describe('epoch coverage', () => {
  it('says how much of a long recording one epoch trains on', async () => {
    const { epochCoverage } = await import('../../src/renderer/features/training/TrainingPanel');
    expect(epochCoverage(57_600_000, 100, 200_000)).toBe('an epoch trains on 200,000 windows of 100 samples: 0.58 % of the 34,559,940 training windows');
    expect(epochCoverage(50_001, 100, 200_000)).toBe('an epoch trains on 29,941 windows of 100 samples: all of the 29,941 training windows');
    // A categorical model trains on 70 % of the signal (its family's default split).
    expect(epochCoverage(50_001, 256, 2048, 0.7)).toBe('an epoch trains on 2,048 windows of 256 samples: 5.9 % of the 34,822 training windows');
  });
});

describe('the Signal panel as typed', () => {
  it('checks samples, noise, seed and take length against the signal spec schema, in words', async () => {
    const { checkSignalFields } = await import('../../src/renderer/features/signals/signal-form');
    const { PRESETS } = await import('../../src/shared/signals/generators');
    const base = PRESETS.sine.signal;
    const ok = checkSignalFields({ length: '2000', noise: '1e-3', seed: '7', recordSeconds: '2.5' }, base);
    expect(ok.errors).toEqual({});
    expect(ok.spec).toEqual({ ...base, length: 2000, noise: 0.001, seed: 7 });
    expect(ok.recordSeconds).toBe(2.5);
    const bad = checkSignalFields({ length: '-3', noise: 'abc', seed: '1.5', recordSeconds: '601' }, base);
    expect(bad.errors).toEqual({ length: 'must be at least 2', noise: '"abc" is not a number', seed: 'must be a whole number', recordSeconds: 'must be at most 600' });
    expect(bad.spec).toBeNull();
    expect(checkSignalFields({ length: '', noise: '-1', seed: '1', recordSeconds: '0' }, base).errors).toEqual({ length: 'enter a number', noise: 'must be at least 0', recordSeconds: 'must be at least 0.5' });
    expect(checkSignalFields({ length: '60000000', noise: '0', seed: '1', recordSeconds: '1' }, base).errors).toEqual({ length: 'must be at most 50,000,000' });
  });
});
