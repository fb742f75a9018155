// A verdict beside every number: the model's test MSE as a ratio to each reference (noise floor,
// persistence, linear AR), and a plain sentence where the model loses. A ratio says more than two
// MSEs side by side: "46 × worse than linear prediction" is read at a glance, 0.0207 vs 0.00045 is not.
import type { CategoricalMetrics, Metrics, RegressionMetrics } from '../../../shared/contract';

export type ReferenceKey = 'noise_floor' | 'persistence' | 'ar' | 'lpc' | 'unigram' | 'uniform';

export interface ReferenceVerdict {
  key: ReferenceKey;
  /** What the reference is, in words. */
  label: string;
  mse: number | null;
  /** test MSE / reference MSE; null when the reference is unknown. */
  ratio: number | null;
  /** True when the model is clearly worse than this predictor (beyond its 95 % interval). */
  loses: boolean;
  /** "worse than linear prediction: 46 ×", "1.1 × the noise floor", ... */
  text: string;
}

/** A ratio as a person reads it: 46 ×, 3.2 ×, 1.05 ×. */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return '∞ ×';
  if (r >= 10) return `${Math.round(r).toLocaleString('en-US')} ×`;
  if (r >= 1.095 || r < 0.95) return `${r.toPrecision(2)} ×`;
  return `${r.toPrecision(3)} ×`;
}

/**
 * A categorical model's held-out bits per sample beside each reference's: a difference in bits says
 * it directly (0.3 bits/sample below linear prediction is a distribution 2^0.3 = 1.23 × sharper).
 * `mse` and `ratio` hold the reference's bits and the model's difference from it.
 */
export function categoricalVerdicts(m: CategoricalMetrics): ReferenceVerdict[] {
  const line = (key: ReferenceKey, label: string, bits: number, what: string): ReferenceVerdict => {
    const diff = m.test_bits - bits;
    const loses = diff - m.test_bits_ci95 > 0;
    const text = loses
      ? `worse than ${what}: ${diff.toFixed(2)} bits/sample more`
      : diff < -m.test_bits_ci95
        ? `beats ${what}: ${(-diff).toFixed(2)} bits/sample lower`
        : `level with ${what}`;
    return { key, label, mse: bits, ratio: diff, loses, text };
  };
  return [
    line('lpc', `linear prediction (${m.lpc_order})`, m.lpc_bits, 'linear prediction with a Laplace residual'),
    line('unigram', 'level histogram', m.unigram_bits, 'the levels\' histogram (no context)'),
    line('uniform', 'uniform', m.uniform_bits, 'a uniform guess'),
  ];
}

/** Each reference with the model's ratio to it (or, for a categorical model, its difference in bits), in the order shown. */
export function referenceVerdicts(metrics: Metrics): ReferenceVerdict[] {
  if ('family' in metrics) return categoricalVerdicts(metrics);
  const m: RegressionMetrics = metrics;
  const ci = m.test_mse_ci95 ?? 0;
  const line = (key: ReferenceKey, label: string, mse: number | null, what: string): ReferenceVerdict => {
    if (mse === null || !(mse > 0)) {
      return { key, label, mse, ratio: null, loses: false, text: key === 'noise_floor' ? 'unknown: a recording has no known added noise' : 'n/a' };
    }
    const ratio = m.test_mse / mse;
    if (key === 'noise_floor') {
      const text = ratio < 1.1 ? `at the noise floor (${formatRatio(ratio)}): nothing left to learn` : `${formatRatio(ratio)} the noise floor`;
      return { key, label, mse, ratio, loses: false, text };
    }
    const loses = m.test_mse - ci > mse;
    const text = loses ? `worse than ${what}: ${formatRatio(ratio)}` : ratio <= 1 ? `beats ${what}: ${formatRatio(1 / ratio)} lower` : `level with ${what} (${formatRatio(ratio)})`;
    return { key, label, mse, ratio, loses, text };
  };
  return [
    line('noise_floor', 'noise floor', m.noise_floor, 'the noise floor'),
    line('persistence', 'persistence', m.persistence_mse, 'persistence (repeating the last sample)'),
    line('ar', `linear AR(${m.ar_order})`, m.ar_mse, 'linear prediction'),
  ];
}

/** One sentence for the whole run: the worst loss first, else how close it got to the floor. */
export function summaryVerdict(metrics: Metrics): { text: string; loses: boolean } {
  const v = referenceVerdicts(metrics);
  if ('family' in metrics) {
    const lpc = v[0];
    if (lpc.loses) return { text: `Worse than linear prediction by ${lpc.ratio!.toFixed(2)} bits/sample: train longer, or try a larger network.`, loses: true };
    if (v[1].loses) return { text: 'Worse than the levels\' histogram: the model has not learned the signal; train longer or check the settings.', loses: true };
    return { text: `${metrics.test_bits.toFixed(2)} bits/sample: ${lpc.text}.`, loses: false };
  }
  const m = metrics;
  const ar = v.find((x) => x.key === 'ar')!;
  const persistence = v.find((x) => x.key === 'persistence')!;
  if (ar.loses) {
    const alsoPersistence = persistence.loses ? `, and worse than repeating the last sample: ${formatRatio(persistence.ratio!)}` : '';
    return { text: `Worse than linear prediction: ${formatRatio(ar.ratio!)}${alsoPersistence}. A linear AR(${m.ar_order}) predictor does better; train longer, or try a larger network or window.`, loses: true };
  }
  if (persistence.loses) return { text: `Worse than persistence (repeating the last sample): ${formatRatio(persistence.ratio!)}. The model has not learned the signal; train longer or check the settings.`, loses: true };
  const floor = v.find((x) => x.key === 'noise_floor')!;
  if (floor.ratio !== null && floor.ratio < 1.1) return { text: 'At the noise floor: the best any predictor can do on this signal.', loses: false };
  return { text: `Beats linear prediction${ar.ratio ? ` by ${formatRatio(1 / ar.ratio)}` : ''}.`, loses: false };
}

/** Each reference's line colour in the loss charts. */
export const REFERENCE_COLORS: Record<ReferenceKey, string> = {
  noise_floor: '#2a9d5c',
  persistence: '#9b59b6',
  ar: '#555555',
  lpc: '#555555',
  unigram: '#9b59b6',
  uniform: '#2a9d5c',
};

/** The number a run is judged by: its test MSE, or a categorical model's held-out bits per sample. */
export function testScore(m: Metrics | null | undefined): { value: number; label: string; unit: string } | null {
  if (!m) return null;
  return 'family' in m ? { value: m.test_bits, label: 'test NLL', unit: 'bits/sample' } : { value: m.test_mse, label: 'test MSE', unit: '' };
}

/** A run against linear prediction: test MSE / AR MSE, or a categorical model's bits minus the linear predictor's (lower is better either way). */
export function versusLinear(m: Metrics | null | undefined): number | null {
  if (!m) return null;
  if ('family' in m) return m.test_bits - m.lpc_bits;
  return m.ar_mse > 0 ? m.test_mse / m.ar_mse : null;
}
