// Model and training: settings, Train / Cancel / Resume, a live loss chart, progress and the result
// beside the references (noise floor, persistence, linear AR).
import { useMemo, useState } from 'react';
import { DEFAULT_BATCH_SIZE, DEFAULT_EPOCH_WINDOWS, DEFAULT_EPOCHS, DEFAULT_LEARNING_RATE, DEFAULT_SEED, DEFAULT_WINDOW } from '../../../shared/contract';
import type { EventPayload } from '../../../shared/protocol';
import { LineChart } from '../../components/LineChart';

export interface TrainSettings {
  name: string;
  type: 'lstm' | 'gru';
  units: string;
  window: number;
  batchSize: number;
  learningRate: number;
  epochs: number;
  split: 'shuffled' | 'blocked';
  seed: number;
  maxTrainWindows: number;
}

export const defaultTrainSettings: TrainSettings = {
  name: 'sine-lstm',
  type: 'lstm',
  units: '16,16,16',
  window: DEFAULT_WINDOW,
  batchSize: DEFAULT_BATCH_SIZE,
  learningRate: DEFAULT_LEARNING_RATE,
  epochs: DEFAULT_EPOCHS,
  split: 'shuffled',
  seed: DEFAULT_SEED,
  maxTrainWindows: DEFAULT_EPOCH_WINDOWS,
};

export interface TrainingView {
  runId: string | null;
  name: string;
  batchLosses: number[];
  epochs: { epoch: number; devLoss: number; trainLoss: number; atBatch: number }[];
  last: EventPayload<'train.progress'>['progress'] | null;
  done: EventPayload<'train.done'> | null;
}

export interface TrainingPanelProps {
  backend: string;
  /** Samples in the chosen signal, to say how much of it one epoch covers; null before one is shown. */
  signalLength?: number | null;
  view: TrainingView;
  onTrain: (s: TrainSettings) => void;
  onCancel: () => void;
  onResume: (name: string, epochs: number) => void;
}

const fmt = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toPrecision(4));

function Field(props: { label: string; children: React.ReactNode }) {
  return (
    <label>
      {props.label}
      {props.children}
    </label>
  );
}

/** What one epoch trains on, in words: windows, and the share of the training windows they are. */
export function epochCoverage(signalLength: number, window: number, maxTrainWindows: number, trainFraction = 0.6): string {
  const trainWindows = Math.round(Math.max(0, signalLength - window) * trainFraction);
  const perEpoch = maxTrainWindows > 0 ? Math.min(maxTrainWindows, trainWindows) : trainWindows;
  const share = trainWindows > 0 ? (100 * perEpoch) / trainWindows : 0;
  return `an epoch trains on ${perEpoch.toLocaleString('en-US')} windows of ${window} samples: ${share >= 99.95 ? 'all' : `${share.toPrecision(2)} %`} of the ${trainWindows.toLocaleString('en-US')} training windows`;
}

export function TrainingPanel({ backend, signalLength = null, view, onTrain, onCancel, onResume }: TrainingPanelProps) {
  const [s, setS] = useState<TrainSettings>(defaultTrainSettings);
  const set = <K extends keyof TrainSettings>(k: K, v: TrainSettings[K]) => setS((o) => ({ ...o, [k]: v }));
  const num = (k: keyof TrainSettings) => (e: React.ChangeEvent<HTMLInputElement>) => set(k, Number(e.target.value) as never);
  const running = view.runId !== null && !view.done;
  const last = view.last;

  const chart = useMemo(() => {
    const n = view.batchLosses.length;
    const x = Array.from({ length: n }, (_, i) => i + 1);
    const dev: (number | null)[] = new Array(n).fill(null);
    for (const e of view.epochs) if (e.atBatch >= 1 && e.atBatch <= n) dev[e.atBatch - 1] = e.devLoss;
    return [x, view.batchLosses, dev];
  }, [view.batchLosses, view.epochs]);

  const pct = last && last.type === 'batch' ? ((last.epoch - 1 + last.batch / last.batches) / s.epochs) * 100 : view.done ? 100 : 0;
  const m = view.done?.metrics;

  return (
    <section className="panel" aria-labelledby="train-h">
      <h2 id="train-h">Model and training</h2>
      <div className="grid-form">
        <Field label="name">
          <input data-testid="model-name" value={s.name} onChange={(e) => set('name', e.target.value)} />
        </Field>
        <Field label="cell">
          <select value={s.type} onChange={(e) => set('type', e.target.value as 'lstm' | 'gru')}>
            <option value="lstm">LSTM</option>
            <option value="gru">GRU</option>
          </select>
        </Field>
        <Field label="layer sizes">
          <input data-testid="units" value={s.units} onChange={(e) => set('units', e.target.value)} />
        </Field>
        <Field label="window">
          <input data-testid="window" type="number" min={1} value={s.window} onChange={num('window')} />
        </Field>
        <Field label="batch">
          <input data-testid="batch" type="number" min={1} value={s.batchSize} onChange={num('batchSize')} />
        </Field>
        <Field label="learning rate">
          <input type="number" step={0.0005} min={0} value={s.learningRate} onChange={num('learningRate')} />
        </Field>
        <Field label="epochs">
          <input data-testid="epochs" type="number" min={1} value={s.epochs} onChange={num('epochs')} />
        </Field>
        <Field label="split">
          <select value={s.split} onChange={(e) => set('split', e.target.value as 'shuffled' | 'blocked')}>
            <option value="shuffled">shuffled</option>
            <option value="blocked">blocked</option>
          </select>
        </Field>
        <Field label="seed">
          <input type="number" value={s.seed} onChange={num('seed')} />
        </Field>
        <Field label="windows per epoch (0 = all)">
          <input data-testid="max-windows" type="number" min={0} value={s.maxTrainWindows} onChange={num('maxTrainWindows')} />
        </Field>
        {signalLength !== null && (
          <p className="hint wide" data-testid="epoch-coverage">
            {epochCoverage(signalLength, s.window, s.maxTrainWindows)}
          </p>
        )}
        <Field label="backend">
          <output data-testid="backend">{backend}</output>
        </Field>
      </div>
      <div className="row buttons">
        <button data-testid="train" disabled={running} onClick={() => onTrain(s)}>
          Train
        </button>
        <button data-testid="cancel" disabled={!running} onClick={onCancel}>
          Cancel
        </button>
        <button data-testid="resume" disabled={running || !view.done} onClick={() => onResume(view.name || s.name, s.epochs)} title="Continue this model from its last checkpoint up to the epochs set above">
          Resume
        </button>
      </div>
      <progress data-testid="train-progress" max={100} value={pct} />
      <p className="hint" data-testid="train-status">
        {last && last.type === 'evaluation' && !view.done
          ? `evaluating: ${last.done.toLocaleString('en-US')} of ${last.total.toLocaleString('en-US')} windows, ETA ${Math.ceil(last.etaSeconds)} s`
          : last && last.type === 'batch' && !view.done
          ? `epoch ${last.epoch}, batch ${last.batch}/${last.batches}: loss ${fmt(last.loss)}, ${Math.round(last.seqPerSecond)} seq/s, ETA ${Math.ceil(last.etaSeconds)} s`
          : view.done
            ? view.done.error
              ? `failed: ${view.done.error.message}`
              : `${view.done.outcome}${view.done.message ? `: ${view.done.message}` : ''}`
            : 'not trained yet'}
      </p>
      <LineChart testId="loss-chart" height={180} data={chart} logY xLabel="batch" series={[{ label: 'train loss', color: '#4a7bd0' }, { label: 'dev loss', color: '#d0644a', points: true }]} />
      {m && (
        <table className="metrics" data-testid="metrics">
          <tbody>
            <tr>
              <th>test MSE</th>
              <td title={m.eval_windows ? `95 % interval over ${m.eval_windows.toLocaleString('en-US')} test windows` : undefined}>
                {fmt(m.test_mse)}
                {m.test_mse_ci95 !== undefined && <span className="hint"> ± {fmt(m.test_mse_ci95)}</span>}
              </td>
              <th>noise floor</th>
              <td>{fmt(m.noise_floor)}</td>
            </tr>
            <tr>
              <th>persistence</th>
              <td>{fmt(m.persistence_mse)}</td>
              <th>linear AR({m.ar_order})</th>
              <td>{fmt(m.ar_mse)}</td>
            </tr>
          </tbody>
        </table>
      )}
    </section>
  );
}
