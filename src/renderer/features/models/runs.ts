// Runs side by side, as TensorBoard shows them: the settings that differ between runs, a sort order
// for the table, and each run's loss curves on an epoch or wall-time axis with TensorBoard's
// debiased exponential smoothing. Pure functions; the panel draws them.
import type { EpochRecord } from '../../../shared/contract';
import type { ModelSummary } from '../../../shared/protocol';
import { testScore, versusLinear } from '../training/verdict';

export interface RunHistory {
  history: EpochRecord[];
  batchLosses: Float32Array;
}

/** The settings a run is described by, as short text per setting. */
export function runSettings(m: ModelSummary): Record<string, string> {
  const s: Record<string, string> = {
    signal: m.source,
    net: `${m.type.toUpperCase()} ${m.units.join('×')}`,
    window: String(m.window),
    epochs: String(m.epochs),
  };
  if (m.config) {
    s.batch = String(m.config.batchSize);
    s.lr = String(m.config.learningRate);
    s['final lr'] = String(m.config.finalLearningRate ?? 'constant');
    s.split = m.config.split;
    s.seed = String(m.config.seed);
    s['windows/epoch'] = m.config.maxTrainWindows ? String(m.config.maxTrainWindows) : 'all';
    if (m.config.earlyStopPatience) s.patience = String(m.config.earlyStopPatience);
  }
  return s;
}

/** The settings that are not the same in every run given, in a stable order. */
export function differingSettings(models: ModelSummary[]): string[] {
  if (models.length < 2) return [];
  const all = models.map(runSettings);
  const keys = [...new Set(all.flatMap((s) => Object.keys(s)))];
  return keys.filter((k) => new Set(all.map((s) => s[k] ?? '')).size > 1);
}

export type SortKey = 'name' | 'test_mse' | 'vs_ar' | 'created' | 'duration' | 'epochs';

/** The value a run sorts by; runs without it (no metrics yet) sort last either way. */
export function sortValue(m: ModelSummary, key: SortKey): number | string | null {
  switch (key) {
    case 'name':
      return m.name;
    case 'test_mse':
      return testScore(m.metrics)?.value ?? null;
    case 'vs_ar':
      return versusLinear(m.metrics);
    case 'created':
      return m.createdAt ?? m.updatedAt;
    case 'duration':
      return m.trainSeconds ?? null;
    case 'epochs':
      return m.epochsDone;
  }
}

export function sortRuns(models: ModelSummary[], key: SortKey, ascending: boolean): ModelSummary[] {
  return [...models].sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    const c = typeof x === 'string' ? x.localeCompare(y as string) : x - (y as number);
    return ascending ? c : -c;
  });
}

/** TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0. */
export function smooth(values: ArrayLike<number>, weight: number): number[] {
  const out: number[] = [];
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out.push(v);
      continue;
    }
    last = last * weight + (1 - weight) * v;
    n++;
    out.push(weight > 0 ? last / (1 - weight ** n) : v);
  }
  return out;
}

export type XAxis = 'epoch' | 'time';

/**
 * A run's curves on the chosen axis: per batch (x of each batch) and per epoch (x of each epoch end).
 * Batches are spread evenly over their epoch; on the time axis an epoch spans its own seconds.
 */
export function runCurves(h: RunHistory, axis: XAxis): { batchX: number[]; epochX: number[] } {
  const epochs = h.history.length;
  const n = h.batchLosses.length;
  const perEpoch = epochs ? n / epochs : n;
  const ends: number[] = [];
  let t = 0;
  for (const e of h.history) ends.push(axis === 'time' ? (t += e.seconds) : e.epoch);
  const epochX = ends;
  const batchX: number[] = [];
  for (let i = 0; i < n; i++) {
    const pos = (i + 1) / (perEpoch || 1); // in epochs, 1-based end
    if (axis === 'epoch') batchX.push(pos);
    else {
      const e = Math.min(epochs - 1, Math.ceil(pos) - 1);
      const start = e > 0 ? ends[e - 1] : 0;
      const end = ends[e] ?? start;
      batchX.push(start + (end - start) * (pos - e));
    }
  }
  return { batchX, epochX };
}

/** "3 min 05 s", "42 s". */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '–';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${String(Math.round(seconds - m * 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
