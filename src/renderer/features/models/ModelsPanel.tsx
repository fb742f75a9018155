// Runs: every saved model in a sortable table (metrics with their verdict, the settings that differ,
// date and duration); tick runs to overlay their loss curves (train per batch, smoothed; dev per
// epoch) on an epoch or wall-time axis, linear or log, with the references drawn in. Open one,
// duplicate one into the form, delete one.
import { useMemo, useState } from 'react';
import uPlot from 'uplot';
import type { ModelSummary } from '../../../shared/protocol';
import { LineChart, formatValue, type ReferenceLine, type Series } from '../../components/LineChart';
import { formatRatio, REFERENCE_COLORS, referenceVerdicts, testScore } from '../training/verdict';
import { differingSettings, formatDuration, runCurves, runSettings, smooth, sortRuns, type RunHistory, type SortKey, type XAxis } from './runs';

export interface ModelsPanelProps {
  models: ModelSummary[];
  selected: string | null;
  /** Runs ticked for comparison, and their curves once loaded. */
  compared?: string[];
  histories?: Record<string, RunHistory>;
  onCompareChange?: (names: string[]) => void;
  onOpen: (name: string) => void;
  onDuplicate?: (name: string) => void;
  onDelete: (name: string) => void;
  onRefresh: () => void;
}

const PALETTE = ['#4a7bd0', '#d0644a', '#2a9d5c', '#9b59b6', '#e08a1e', '#17becf', '#8c564b', '#e377c2'];
const REF_DASH = REFERENCE_COLORS;

const fmt = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toPrecision(3));

function VsAr({ m }: { m: ModelSummary }) {
  if (!m.metrics) return <>–</>;
  // The family's simple predictor: linear AR, linear prediction (categorical) or persistence (spectral).
  const ar = referenceVerdicts(m.metrics).find((v) => v.key === 'ar' || v.key === 'lpc' || ('family' in m.metrics! && v.key === 'persistence'))!;
  if (ar.ratio === null) return <>–</>;
  if (ar.key !== 'ar') {
    const unit = ar.key === 'lpc' ? 'bits' : 'nats/bin';
    return <span className={ar.loses ? 'loses' : 'wins'} title={ar.label}>{ar.ratio > 0 ? `${ar.ratio.toFixed(2)} ${unit} worse` : `${(-ar.ratio).toFixed(2)} ${unit} better`}</span>;
  }
  return <span className={ar.loses ? 'loses' : 'wins'}>{ar.loses ? `${formatRatio(ar.ratio)} worse` : `${formatRatio(1 / ar.ratio)} better`}</span>;
}

function CompareChart({ runs, histories }: { runs: ModelSummary[]; histories: Record<string, RunHistory> }) {
  const [axis, setAxis] = useState<XAxis>('epoch');
  const [logScale, setLogY] = useState(true);
  const [weight, setWeight] = useState(0.6);
  const shown = runs.filter((r) => histories[r.name]);
  // A spectral run's loss (nats per bin) goes below zero, which a log axis cannot show.
  const negative = shown.some((r) => r.metrics && 'family' in r.metrics && r.metrics.family === 'spectral');
  const logY = logScale && !negative;

  const { data, series, references, summary } = useMemo(() => {
    const tables: uPlot.AlignedData[] = [];
    const series: Series[] = [];
    const parts: string[] = [];
    shown.forEach((r, i) => {
      const h = histories[r.name];
      const color = PALETTE[i % PALETTE.length];
      const { batchX, epochX } = runCurves(h, axis);
      if (batchX.length) {
        tables.push([batchX, smooth(h.batchLosses, weight)]);
        series.push({ label: `${r.name} train`, color, width: 1.5 });
      }
      if (epochX.length) {
        tables.push([epochX, h.history.map((e) => e.devLoss)]);
        series.push({ label: `${r.name} dev`, color, points: true, dash: [2, 2], width: 1 });
      }
      const lastDev = h.history.at(-1);
      parts.push(`${r.name}: ${h.history.length} epochs${lastDev ? `, final dev loss ${formatValue(lastDev.devLoss)}` : ''}${testScore(r.metrics) ? `, ${testScore(r.metrics)!.label} ${formatValue(testScore(r.metrics)!.value)} ${testScore(r.metrics)!.unit}`.trimEnd() : ''}`);
    });
    // One line per distinct reference value (runs on the same signal share them).
    const refs = new Map<string, ReferenceLine>();
    for (const r of shown) {
      if (!r.metrics) continue;
      for (const v of referenceVerdicts(r.metrics)) {
        if (v.mse === null || (logY && !(v.mse > 0))) continue;
        const key = `${v.key}:${v.mse.toPrecision(3)}`;
        if (!refs.has(key)) refs.set(key, { label: `${v.label}${shown.length > 1 ? ` (${r.source})` : ''}`, value: v.mse, color: REF_DASH[v.key] });
      }
    }
    const joined = tables.length ? uPlot.join(tables) : ([[]] as unknown as uPlot.AlignedData);
    const summary = shown.length
      ? `Loss (MSE, bits/sample for categorical runs, nats/bin for spectral ones) of ${shown.length} run${shown.length > 1 ? 's' : ''} by ${axis === 'epoch' ? 'epoch' : 'wall time in seconds'}, ${logY ? 'log' : 'linear'} scale, train loss smoothed ${weight}: ${parts.join('; ')}.`
      : 'Runs comparison: tick runs in the table to compare their loss curves.';
    return { data: joined as unknown as (number | null)[][], series, references: [...refs.values()], summary };
  }, [shown, histories, axis, weight, logY]);

  return (
    <div className="compare" data-testid="compare">
      <div className="row">
        <label>
          x axis
          <select data-testid="compare-axis" value={axis} onChange={(e) => setAxis(e.target.value as XAxis)}>
            <option value="epoch">epoch</option>
            <option value="time">wall time (s)</option>
          </select>
        </label>
        <label>
          y scale
          <select
            data-testid="compare-scale"
            value={logY ? 'log' : 'linear'}
            disabled={negative}
            title={negative ? 'a spectral run\'s loss goes below zero: linear scale' : undefined}
            onChange={(e) => setLogY(e.target.value === 'log')}
          >
            <option value="log">log</option>
            <option value="linear">linear</option>
          </select>
        </label>
        <label className="zoom">
          smoothing {weight.toFixed(2)}
          <input type="range" aria-label="smoothing of the train loss curves" min={0} max={0.99} step={0.01} value={weight} onChange={(e) => setWeight(Number(e.target.value))} />
        </label>
      </div>
      <LineChart testId="compare-chart" height={240} data={data} series={series} references={references} logY={logY} xLabel={axis === 'epoch' ? 'epoch' : 'wall time (s)'} yLabel={shown.some((r) => r.metrics && 'family' in r.metrics) ? 'loss' : 'loss (MSE)'} summary={summary} />
    </div>
  );
}

export function ModelsPanel({ models, selected, compared = [], histories = {}, onCompareChange, onOpen, onDuplicate, onDelete, onRefresh }: ModelsPanelProps) {
  const [sort, setSort] = useState<{ key: SortKey; ascending: boolean }>({ key: 'created', ascending: false });
  const rows = useMemo(() => sortRuns(models, sort.key, sort.ascending), [models, sort]);
  // Signal, net and epochs have columns of their own.
  const differ = useMemo(() => differingSettings(models).filter((k) => k !== 'signal' && k !== 'net' && k !== 'epochs'), [models]);
  const comparedRuns = models.filter((m) => compared.includes(m.name));

  const header = (key: SortKey, label: string) => (
    <th aria-sort={sort.key === key ? (sort.ascending ? 'ascending' : 'descending') : 'none'}>
      <button className="link sort" data-testid={`sort-${key}`} onClick={() => setSort((s) => ({ key, ascending: s.key === key ? !s.ascending : key === 'name' || key === 'test_mse' || key === 'vs_ar' }))}>
        {label}
        {sort.key === key ? (sort.ascending ? ' ▲' : ' ▼') : ''}
      </button>
    </th>
  );

  const toggle = (name: string) => onCompareChange?.(compared.includes(name) ? compared.filter((n) => n !== name) : [...compared, name]);

  return (
    <section className="panel" aria-labelledby="models-h">
      <h2 id="models-h">
        Runs <button onClick={onRefresh}>Refresh</button>
      </h2>
      {models.length === 0 ? (
        <p className="hint">No saved models yet: train one.</p>
      ) : (
        <>
          {onCompareChange && <CompareChart runs={comparedRuns} histories={histories} />}
          <div className="table-scroll">
            <table className="models" data-testid="models">
              <thead>
                <tr>
                  {onCompareChange && <th>compare</th>}
                  {header('name', 'name')}
                  <th>net</th>
                  <th>signal</th>
                  {differ.map((k) => (
                    <th key={k}>{k}</th>
                  ))}
                  {header('epochs', 'epochs')}
                  {header('test_mse', 'test score')}
                  {header('vs_ar', 'vs simple predictor')}
                  {header('created', 'date')}
                  {header('duration', 'duration')}
                  <th />
                </tr>
              </thead>
              <tbody>
                {rows.map((m) => {
                  const s = runSettings(m);
                  return (
                    <tr key={m.name} className={m.name === selected ? 'selected' : ''} data-testid={`run-${m.name}`}>
                      {onCompareChange && (
                        <td>
                          <input type="checkbox" aria-label={`compare ${m.name}`} data-testid={`compare-${m.name}`} checked={compared.includes(m.name)} onChange={() => toggle(m.name)} />
                        </td>
                      )}
                      <td>
                        <button className="link" onClick={() => onOpen(m.name)} aria-label={`open ${m.name}`}>
                          {m.name}
                        </button>
                      </td>
                      <td>
                        {m.type.toUpperCase()} {m.units.join('×')}, w{m.window}
                      </td>
                      <td>{m.source}</td>
                      {differ.map((k) => (
                        <td key={k}>{s[k] ?? '–'}</td>
                      ))}
                      <td>
                        {m.epochsDone}/{m.epochs} {m.status === 'checkpoint' ? '(checkpoint)' : m.outcome && m.outcome !== 'completed' ? `(${m.outcome})` : ''}
                      </td>
                      <td title={testScore(m.metrics)?.label}>
                        {fmt(testScore(m.metrics)?.value)}
                        {m.metrics && 'family' in m.metrics && <span className="hint"> {m.metrics.family === 'spectral' ? 'nats/bin' : 'bits'}</span>}
                      </td>
                      <td>
                        <VsAr m={m} />
                      </td>
                      <td>{m.createdAt ? new Date(m.createdAt).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'short' }) : '–'}</td>
                      <td>{formatDuration(m.trainSeconds)}</td>
                      <td className="actions">
                        {onDuplicate && (
                          <button aria-label={`duplicate ${m.name}`} data-testid={`duplicate-${m.name}`} onClick={() => onDuplicate(m.name)} title="Load this run's signal and settings into the form">
                            Duplicate
                          </button>
                        )}
                        <button aria-label={`delete ${m.name}`} onClick={() => confirm(`Delete model ${m.name}?`) && onDelete(m.name)}>
                          Delete
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
