// Model and training: settings (typed text, checked per field as you type), Train / Cancel / Resume,
// a live loss chart on an epoch axis with the references drawn in, and the result as a verdict:
// each metric as a ratio to the noise floor, persistence and linear prediction.
import { useMemo, useState } from 'react';
import { DEFAULT_TRAIN_FRACTION, FAMILY_LABELS, FAMILY_TRAIN_DEFAULTS, MODEL_FAMILIES, type ModelFamilyName } from '../../../shared/contract';
import { frameCount } from '../../../shared/dsp/stft';
import { DEFAULT_SPECTRAL_HOP } from '../../../shared/families/model-spec';
import type { EventPayload, ModelSummary } from '../../../shared/protocol';
import { LineChart, formatValue, type ReferenceLine } from '../../components/LineChart';
import { TextField } from '../../components/Field';
import { FIELD_LABELS, formForFamily, parseNumberText, suggestRunName, validateTrainForm, type Cell, type Split, type TrainForm, type ValidatedForm } from './train-form';
import { likelihoodOf, REFERENCE_COLORS, referenceVerdicts, summaryVerdict } from './verdict';

export interface TrainingView {
  runId: string | null;
  name: string;
  /** Per batch: its position in epochs (1.5 = half way through epoch 2) and its loss. */
  batchX: number[];
  batchLosses: number[];
  epochs: { epoch: number; devLoss: number; trainLoss: number }[];
  last: EventPayload<'train.progress'>['progress'] | null;
  done: EventPayload<'train.done'> | null;
  /** Cancel was pressed; the run ends when its current batch does. */
  cancelling: boolean;
  /** The epoch the run trains up to (for the progress bar); 0 when unknown. */
  totalEpochs: number;
}

export const emptyTraining: TrainingView = { runId: null, name: '', batchX: [], batchLosses: [], epochs: [], last: null, done: null, cancelling: false, totalEpochs: 0 };

/** What Train sends: the name and the parsed settings. */
export interface TrainRequest {
  name: string;
  model: ValidatedForm['model'];
  config: ValidatedForm['config'];
}

export interface TrainingPanelProps {
  backend: string;
  /** Samples in the chosen signal, to say how much of it one epoch covers; null before one is shown. */
  signalLength?: number | null;
  /** The signal's name, for the suggested run name. */
  signalLabel?: string;
  /** The signal's noise floor (synthetic signals), drawn as a reference while training. */
  noiseFloor?: number | null;
  /** Names a new run must not silently take: the saved models and the run in progress. */
  takenNames?: string[];
  form: TrainForm;
  onFormChange: (f: TrainForm) => void;
  view: TrainingView;
  /** The model Resume continues (the one shown), with its own epochs; null when none. */
  resumable?: ModelSummary | null;
  /** Why the engine cannot be used now (connection lost), or null. */
  unavailable?: string | null;
  /** What is wrong with the signal's settings (Train waits until it is fixed), or null. */
  signalProblem?: string | null;
  onTrain: (r: TrainRequest, overwrite: boolean) => void;
  onCancel: () => void;
  /** `epochs` is the new total; undefined continues to the model's own. */
  onResume: (name: string, epochs: number | undefined) => void;
}

/** What one epoch trains on, in words: windows, and the share of the training windows they are. */
export function epochCoverage(signalLength: number, window: number, maxTrainWindows: number, trainFraction = DEFAULT_TRAIN_FRACTION, unit = 'samples'): string {
  const trainWindows = Math.round(Math.max(0, signalLength - window) * trainFraction);
  const perEpoch = maxTrainWindows > 0 ? Math.min(maxTrainWindows, trainWindows) : trainWindows;
  const share = trainWindows > 0 ? (100 * perEpoch) / trainWindows : 0;
  return `an epoch trains on ${perEpoch.toLocaleString('en-US')} windows of ${window} ${unit}: ${share >= 99.95 ? 'all' : `${share.toPrecision(2)} %`} of the ${trainWindows.toLocaleString('en-US')} training windows`;
}

const REF_COLORS = REFERENCE_COLORS;

/** The references as horizontal lines: from the metrics once there are some, else the signal's noise floor. */
export function referenceLines(metrics: EventPayload<'train.done'>['metrics'] | null | undefined, noiseFloor: number | null): ReferenceLine[] {
  if (metrics) {
    return referenceVerdicts(metrics)
      .filter((v) => v.mse !== null && ('family' in metrics || v.mse > 0)) // NLLs may be negative (nats per bin); a log chart needs MSEs above 0
      .map((v) => ({ label: v.label, value: v.mse!, color: REF_COLORS[v.key] }));
  }
  return noiseFloor ? [{ label: 'noise floor', value: noiseFloor, color: REF_COLORS.noise_floor }] : [];
}

function statusText(view: TrainingView): string {
  const last = view.last;
  if (view.done) {
    if (view.done.error) return `failed: ${view.done.error.message}`;
    return [view.done.outcome, view.done.message].filter(Boolean).join(': ');
  }
  if (view.runId && view.cancelling) return 'cancelling… the current batch finishes first';
  if (last && last.type === 'evaluation') return `evaluating: ${last.done.toLocaleString('en-US')} of ${last.total.toLocaleString('en-US')} windows, ETA ${Math.ceil(last.etaSeconds)} s`;
  if (last && last.type === 'batch') return `epoch ${last.epoch}, batch ${last.batch}/${last.batches}: loss ${last.loss.toPrecision(4)}, ${Math.round(last.seqPerSecond)} seq/s, ETA ${Math.ceil(last.etaSeconds)} s`;
  if (view.runId) return 'starting…';
  return 'not trained yet';
}

export function TrainingPanel(props: TrainingPanelProps) {
  const { backend, signalLength = null, signalLabel = 'signal', noiseFloor = null, takenNames = [], form, onFormChange, view, resumable = null, unavailable = null, signalProblem = null, onTrain, onCancel, onResume } = props;
  const [replacing, setReplacing] = useState<TrainRequest | null>(null);
  const set = <K extends keyof TrainForm>(k: K, v: TrainForm[K]) => onFormChange({ ...form, [k]: v });
  const running = view.runId !== null && !view.done;
  const name = form.autoName ? suggestRunName(signalLabel, form.type, form.units, takenNames) : form.name;
  const checked = useMemo(() => validateTrainForm(form, name), [form, name]);
  const invalid = Object.keys(checked.errors).length > 0;
  const nameTaken = takenNames.includes(name);
  const last = view.last;

  const chart = useMemo(() => {
    const n = view.batchLosses.length;
    const dev: (number | null)[] = new Array(n).fill(null);
    for (const e of view.epochs) {
      // The dev point sits on the epoch's last batch (x = epoch).
      let i = n - 1;
      while (i >= 0 && view.batchX[i] > e.epoch + 1e-9) i--;
      if (i >= 0) dev[i] = e.devLoss;
    }
    return [view.batchX, view.batchLosses, dev];
  }, [view.batchX, view.batchLosses, view.epochs]);

  const target = (() => {
    const e = parseNumberText(form.epochs);
    return 'value' in e ? e.value : 1;
  })();
  const pct = view.done ? 100 : last && last.type === 'batch' ? Math.min(100, ((last.epoch - 1 + last.batch / last.batches) / Math.max(view.totalEpochs, last.epoch)) * 100) : 0;
  const m = view.done?.metrics ?? null;
  const refs = referenceLines(m, noiseFloor);
  const verdict = m ? summaryVerdict(m) : null;
  const lastDev = view.epochs.at(-1);
  // A sampling model's loss is its NLL (bits per sample, nats per bin; a linear axis reads it best, and a spectral one goes below 0).
  const likelihood = likelihoodOf(m);
  const bits = m ? likelihood !== null : form.family !== 'regression';
  const lossName = likelihood?.unit ?? (form.family === 'spectral' ? 'nats/bin' : form.family === 'categorical' ? 'bits/sample' : 'MSE');
  const summary = view.batchLosses.length
    ? `Loss (${lossName}) of ${view.name || name} over ${formatValue(view.batchX.at(-1) ?? 0, 3)} epochs on a ${bits ? 'linear' : 'log'} scale: train loss from ${formatValue(view.batchLosses[0])} to ${formatValue(view.batchLosses.at(-1))}` +
      (lastDev ? `, dev loss ${formatValue(lastDev.devLoss)} at epoch ${lastDev.epoch}` : '') +
      (refs.length ? `; references: ${refs.map((r) => `${r.label} ${formatValue(r.value)}`).join(', ')}` : '') +
      '.'
    : 'Loss chart: nothing trained yet.';

  const request = (): TrainRequest => ({ name, model: checked.model, config: checked.config });
  const train = () => {
    if (invalid) return;
    if (nameTaken) setReplacing(request());
    else onTrain(request(), false);
  };

  const resumeLabel = resumable
    ? resumable.epochsDone < resumable.epochs
      ? `Resume ${resumable.name} to ${resumable.epochs} epochs`
      : `Train ${resumable.name} ${form.epochs} more epochs`
    : 'Resume';
  const resume = () => {
    if (!resumable) return;
    if (resumable.epochsDone < resumable.epochs) onResume(resumable.name, undefined);
    else onResume(resumable.name, resumable.epochsDone + target);
  };

  const num = (f: keyof typeof FIELD_LABELS & keyof TrainForm, testId?: string, hint?: string) => (
    <TextField label={f === 'maxTrainWindows' ? 'windows per epoch (0 = all)' : FIELD_LABELS[f]} inputMode="decimal" value={form[f] as string} onChange={(t) => set(f, t)} error={checked.errors[f]} testId={testId} hint={hint} />
  );

  return (
    <section className="panel" aria-labelledby="train-h">
      <h2 id="train-h">Model and training</h2>
      <div className="grid-form">
        <TextField
          className="wide-2"
          label={form.autoName ? 'name (suggested)' : 'name'}
          value={name}
          onChange={(t) => onFormChange({ ...form, name: t, autoName: false })}
          error={checked.errors.name}
          testId="model-name"
        />
        <label>
          family
          <select data-testid="family" value={form.family} onChange={(e) => onFormChange(formForFamily(form, e.target.value as ModelFamilyName))} title="switching family resets the model and training settings to that family's defaults">
            {MODEL_FAMILIES.map((f) => (
              <option key={f} value={f}>
                {FAMILY_LABELS[f]}
              </option>
            ))}
          </select>
        </label>
        <label>
          cell
          <select data-testid="cell" value={form.type} onChange={(e) => set('type', e.target.value as Cell)}>
            <option value="lstm">LSTM</option>
            <option value="gru">GRU</option>
          </select>
        </label>
        <TextField label="layer sizes" value={form.units} onChange={(t) => set('units', t)} error={checked.errors.units} testId="units" hint="units per layer, bottom first, e.g. 16,16,16" />
        {num('window', 'window', form.family === 'spectral' ? `frames (of ${DEFAULT_SPECTRAL_HOP} samples each) the network sees in one training window` : 'samples the network sees before predicting the next')}
        {num('batchSize', 'batch')}
        {num('learningRate', 'learning-rate')}
        {num('epochs', 'epochs')}
        <label>
          split
          <select value={form.split} onChange={(e) => set('split', e.target.value as Split)}>
            <option value="shuffled">shuffled</option>
            <option value="blocked">blocked</option>
          </select>
        </label>
        {num('seed', 'seed')}
        {num('maxTrainWindows', 'max-windows')}
        {!form.autoName && (
          <p className="hint wide">
            <button className="link" data-testid="fresh-name" onClick={() => onFormChange({ ...form, autoName: true })}>
              use a fresh name
            </button>
          </p>
        )}
        {nameTaken && !running && (
          <p className="hint wide warn-text" data-testid="name-taken">
            A model named {name} exists; Train will ask before replacing it.
          </p>
        )}
        {signalLength !== null && !checked.errors.window && !checked.errors.maxTrainWindows && (
          <p className="hint wide" data-testid="epoch-coverage">
            {form.family === 'spectral'
              ? epochCoverage(frameCount(signalLength, DEFAULT_SPECTRAL_HOP), checked.config.window, checked.config.maxTrainWindows, FAMILY_TRAIN_DEFAULTS.spectral.trainFraction, 'frames')
              : epochCoverage(signalLength, checked.config.window, checked.config.maxTrainWindows, FAMILY_TRAIN_DEFAULTS[form.family].trainFraction ?? DEFAULT_TRAIN_FRACTION)}
          </p>
        )}
        <label>
          backend
          <output data-testid="backend">{backend}</output>
        </label>
      </div>
      {replacing && (
        <div className="confirm" role="alertdialog" aria-labelledby="replace-q" data-testid="replace-confirm">
          <p id="replace-q">A model named {replacing.name} exists. Replace it with this run? Its weights and curve will be lost.</p>
          <button
            data-testid="replace-yes"
            onClick={() => {
              setReplacing(null);
              onTrain(replacing, true);
            }}
          >
            Replace {replacing.name}
          </button>{' '}
          <button
            data-testid="replace-no"
            onClick={() => {
              setReplacing(null);
              onFormChange({ ...form, autoName: true });
            }}
          >
            Keep it; use a fresh name
          </button>
        </div>
      )}
      <div className="row buttons">
        <button
          data-testid="train"
          disabled={running || invalid || !!unavailable || !!replacing || !!signalProblem}
          onClick={train}
          title={unavailable ?? (invalid ? 'Fix the fields marked in red first' : signalProblem ? `Fix the signal first: ${signalProblem}` : undefined)}
        >
          Train
        </button>
        <button data-testid="cancel" disabled={!running || view.cancelling || !!unavailable} onClick={onCancel}>
          {view.cancelling && running ? 'Cancelling…' : 'Cancel'}
        </button>
        <button data-testid="resume" disabled={running || !resumable || !!unavailable || (resumable.epochsDone >= resumable.epochs && !!checked.errors.epochs)} onClick={resume}>
          {resumeLabel}
        </button>
      </div>
      <progress data-testid="train-progress" aria-label="training progress" max={100} value={pct} />
      <p className="hint" data-testid="train-status" role="status">
        {statusText(view)}
      </p>
      <LineChart
        testId="loss-chart"
        height={180}
        data={chart}
        logY={!bits}
        xLabel="epoch"
        yLabel={`loss (${lossName})`}
        summary={summary}
        references={refs}
        series={[
          { label: 'train loss', color: '#4a7bd0' },
          { label: 'dev loss', color: '#d0644a', points: true },
        ]}
      />
      {m && verdict && (
        <>
          <p className={`verdict ${verdict.loses ? 'loses' : 'wins'}`} data-testid="verdict">
            {verdict.text}
          </p>
          <table className="metrics" data-testid="metrics">
            <tbody>
              {likelihood ? (
                <tr>
                  <th>test NLL</th>
                  <td title={`95 % interval over ${likelihood.over}`}>
                    {likelihood.test.toFixed(3)}
                    <span className="hint"> ± {likelihood.ci95.toFixed(3)} {likelihood.unit}</span>
                  </td>
                  <td className="hint">dev {likelihood.dev.toFixed(3)} {likelihood.unit}</td>
                </tr>
              ) : 'test_mse' in m ? (
                <tr>
                  <th>test MSE</th>
                  <td title={m.eval_windows ? `95 % interval over ${m.eval_windows.toLocaleString('en-US')} test windows` : undefined}>
                    {m.test_mse.toPrecision(4)}
                    {m.test_mse_ci95 !== undefined && <span className="hint"> ± {m.test_mse_ci95.toPrecision(2)}</span>}
                  </td>
                  <td className="hint">dev MSE {m.dev_mse.toPrecision(4)}</td>
                </tr>
              ) : null}
              {'family' in m && m.family === 'spectral' && (
                <tr>
                  <th>one-step LSD</th>
                  <td>{m.test_lsd_db.toFixed(2)} dB</td>
                  <td className="hint">the predicted mean frame against the true next frame; persistence {m.persistence_lsd_db.toFixed(2)} dB</td>
                </tr>
              )}
              {referenceVerdicts(m).map((v) => (
                <tr key={v.key} className={v.loses ? 'loses' : undefined}>
                  <th>{v.label}</th>
                  <td>{v.mse === null ? 'unknown' : likelihood ? `${v.mse.toFixed(3)} ${likelihood.unit === 'bits/sample' ? 'bits' : 'nats'}` : v.mse.toPrecision(4)}</td>
                  <td data-testid={`verdict-${v.key}`}>{v.text}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
