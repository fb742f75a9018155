// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { TrainingPanel, type TrainingView } from '../../src/renderer/features/training/TrainingPanel';
import { GenerationPanel, type GenerationView } from '../../src/renderer/features/generation/GenerationPanel';
import { ModelsPanel } from '../../src/renderer/features/models/ModelsPanel';

// Charts and waveforms draw on canvas, which happy-dom lacks; they are covered end to end.
vi.mock('../../src/renderer/components/LineChart', () => ({
  LineChart: (p: { testId: string; data: unknown[][] }) => <div data-testid={p.testId} data-points={p.data[0].length} />,
}));
vi.mock('../../src/renderer/components/Waveform', () => ({
  Waveform: (p: { label: string; samples: Float32Array | null }) => <div data-testid={`waveform-${p.label}`} data-samples={p.samples?.length ?? 0} />,
}));

afterEach(cleanup);

const metrics = { test_mse: 0.000442, dev_mse: 0.00043, noise_floor: 0.0004, persistence_mse: 0.00278, ar_mse: 0.00045, ar_order: 32 };

describe('TrainingPanel', () => {
  const idle: TrainingView = { runId: null, name: '', batchLosses: [], epochs: [], last: null, done: null };

  it('sends the settings the user typed when Train is pressed', () => {
    const onTrain = vi.fn();
    render(<TrainingPanel backend="wasm" view={idle} onTrain={onTrain} onCancel={() => {}} onResume={() => {}} />);
    fireEvent.change(screen.getByTestId('epochs'), { target: { value: '3' } });
    fireEvent.change(screen.getByTestId('units'), { target: { value: '32,32' } });
    fireEvent.click(screen.getByTestId('train'));
    expect(onTrain).toHaveBeenCalledWith(expect.objectContaining({ epochs: 3, units: '32,32', window: 100, batchSize: 128 }));
    expect(screen.getByTestId('backend').textContent).toBe('wasm');
    expect((screen.getByTestId('cancel') as HTMLButtonElement).disabled).toBe(true);
  });

  it('while training shows progress and allows only Cancel; at the end shows the references', () => {
    const running: TrainingView = {
      ...idle,
      runId: 'r1',
      name: 'm',
      batchLosses: [0.5, 0.2, 0.1],
      epochs: [{ epoch: 1, devLoss: 0.12, trainLoss: 0.2, atBatch: 3 }],
      last: { type: 'batch', epoch: 2, batch: 1, batches: 3, loss: 0.1, seqPerSecond: 5000, etaSeconds: 12.2 },
    };
    const { rerender } = render(<TrainingPanel backend="wasm" view={running} onTrain={() => {}} onCancel={() => {}} onResume={() => {}} />);
    expect(screen.getByTestId('train-status').textContent).toBe('epoch 2, batch 1/3: loss 0.1000, 5000 seq/s, ETA 13 s');
    expect((screen.getByTestId('train') as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByTestId('cancel') as HTMLButtonElement).disabled).toBe(false);
    expect(screen.getByTestId('loss-chart').dataset.points).toBe('3');
    rerender(
      <TrainingPanel backend="wasm" view={{ ...running, done: { runId: 'r1', name: 'm', outcome: 'completed', message: null, metrics, error: null } }} onTrain={() => {}} onCancel={() => {}} onResume={() => {}} />,
    );
    expect(screen.getByTestId('train-status').textContent).toBe('completed');
    expect(screen.getByTestId('metrics').textContent).toMatch(/test MSE0\.0004420noise floor0\.0004000persistence0\.002780linear AR\(32\)0\.0004500/);
    expect((screen.getByTestId('resume') as HTMLButtonElement).disabled).toBe(false);
  });

  it('shows a failed run in words', () => {
    const failed: TrainingView = { ...idle, runId: 'r', name: 'm', done: { runId: 'r', name: 'm', outcome: null, message: null, metrics: null, error: { code: 'engine_crashed', message: 'The engine stopped' } } };
    render(<TrainingPanel backend="wasm" view={failed} onTrain={() => {}} onCancel={() => {}} onResume={() => {}} />);
    expect(screen.getByTestId('train-status').textContent).toBe('failed: The engine stopped');
  });
});

describe('GenerationPanel', () => {
  const empty: GenerationView = { model: null, primeSamples: new Float32Array(0), samples: new Float32Array(0), truth: null, sampleRate: 44100, state: null };
  const props = { busy: false, playing: false, onContinue: vi.fn(), onPlay: vi.fn(), onStop: vi.fn(), onExport: vi.fn() };

  it('generates with the chosen model, prime and length; nothing to play before that', () => {
    const onGenerate = vi.fn();
    render(<GenerationPanel {...props} models={['a', 'b']} view={empty} onGenerate={onGenerate} />);
    fireEvent.change(screen.getByTestId('gen-model'), { target: { value: 'b' } });
    fireEvent.change(screen.getByTestId('prime'), { target: { value: '50' } });
    fireEvent.change(screen.getByTestId('gen-length'), { target: { value: '2000' } });
    fireEvent.click(screen.getByTestId('generate'));
    expect(onGenerate).toHaveBeenCalledWith('b', 50, 2000);
    for (const id of ['play', 'export', 'continue', 'stop']) expect((screen.getByTestId(id) as HTMLButtonElement).disabled).toBe(true);
  });

  it('plots prime and continuation on one axis and enables Play, Continue and Export', () => {
    const view: GenerationView = { model: 'a', primeSamples: new Float32Array(10), samples: new Float32Array(90), truth: new Float32Array(90), sampleRate: 8000, state: new Float32Array(8) };
    render(<GenerationPanel {...props} models={['a']} view={view} onGenerate={() => {}} />);
    expect(screen.getByTestId('generation-chart').dataset.points).toBe('100');
    expect(screen.getByTestId('waveform-generated').dataset.samples).toBe('90');
    expect(screen.getByTestId('gen-info').textContent).toBe('90 samples generated at 8000 Hz');
    for (const id of ['play', 'export', 'continue']) expect((screen.getByTestId(id) as HTMLButtonElement).disabled).toBe(false);
  });
});

describe('ModelsPanel', () => {
  const model = { name: 'sine-1', status: 'complete', type: 'lstm', units: [16, 16], window: 100, epochsDone: 5, epochs: 5, source: 'preset sine', sampleRate: 44100, metrics, updatedAt: '' };

  it('lists models with their settings and metrics, opens and deletes after confirming', () => {
    const onOpen = vi.fn();
    const onDelete = vi.fn();
    vi.stubGlobal('confirm', vi.fn(() => true));
    render(<ModelsPanel models={[model, { ...model, name: 'cp', status: 'checkpoint', epochsDone: 2, metrics: null }]} selected="cp" onOpen={onOpen} onDelete={onDelete} onRefresh={() => {}} />);
    const table = screen.getByTestId('models').textContent!;
    expect(table).toMatch(/sine-1LSTM 16×16, w100preset sine5\/5 0\.000442/);
    expect(table).toMatch(/cp.*2\/5 \(checkpoint\)/);
    fireEvent.click(screen.getByText('sine-1'));
    expect(onOpen).toHaveBeenCalledWith('sine-1');
    fireEvent.click(screen.getByLabelText('delete cp'));
    expect(onDelete).toHaveBeenCalledWith('cp');
    vi.unstubAllGlobals();
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
  });
});
