// A verdict beside every number: the model's test MSE as a ratio to each reference (noise floor,
// persistence, linear AR), and a plain sentence where the model loses. A ratio says more than two
// MSEs side by side: "46 × worse than linear prediction" is read at a glance, 0.0207 vs 0.00045 is not.
import type { CategoricalMetrics, Metrics, RegressionMetrics, SpectralMetrics } from '../../../shared/contract';

export type ReferenceKey = 'noise_floor' | 'persistence' | 'ar' | 'lpc' | 'unigram' | 'uniform' | 'bin_spread';

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

/** A sampling family's held-out likelihood, as the UI shows it; null for a regression model. */
export interface Likelihood {
  /** Held-out negative log-likelihood, its 95 % half-width and the dev split's, in `unit`. */
  test: number;
  ci95: number;
  dev: number;
  unit: 'bits/sample' | 'nats/bin';
  /** What the interval was measured over, in words ("12,345 held-out predictions"). */
  over: string;
}

export function likelihoodOf(m: Metrics | null | undefined): Likelihood | null {
  if (!m || !('family' in m)) return null;
  if (m.family === 'spectral') return { test: m.test_nll, ci95: m.test_nll_ci95, dev: m.dev_nll, unit: 'nats/bin', over: `${m.eval_frames.toLocaleString('en-US')} held-out frames` };
  return { test: m.test_bits, ci95: m.test_bits_ci95, dev: m.dev_bits, unit: 'bits/sample', over: `${m.eval_predictions.toLocaleString('en-US')} held-out predictions` };
}

/**
 * A likelihood model's held-out NLL beside each reference's: a difference says it directly (0.3
 * bits/sample below linear prediction is a distribution 2^0.3 = 1.23 × sharper). `mse` and `ratio`
 * hold the reference's NLL and the model's difference from it.
 */
function likelihoodLine(l: Likelihood) {
  return (key: ReferenceKey, label: string, reference: number, what: string): ReferenceVerdict => {
    const diff = l.test - reference;
    const loses = diff - l.ci95 > 0;
    const text = loses ? `worse than ${what}: ${diff.toFixed(2)} ${l.unit} more` : diff < -l.ci95 ? `beats ${what}: ${(-diff).toFixed(2)} ${l.unit} lower` : `level with ${what}`;
    return { key, label, mse: reference, ratio: diff, loses, text };
  };
}

/** A categorical model's held-out bits per sample beside linear prediction, the level histogram and a uniform guess. */
export function categoricalVerdicts(m: CategoricalMetrics): ReferenceVerdict[] {
  const line = likelihoodLine(likelihoodOf(m)!);
  return [
    line('lpc', `linear prediction (${m.lpc_order})`, m.lpc_bits, 'linear prediction with a Laplace residual'),
    line('unigram', 'level histogram', m.unigram_bits, 'the levels\' histogram (no context)'),
    line('uniform', 'uniform', m.uniform_bits, 'a uniform guess'),
  ];
}

/** A spectral model's held-out nats per bin beside persistence (the last frame again) and each bin's own spread. */
export function spectralVerdicts(m: SpectralMetrics): ReferenceVerdict[] {
  const line = likelihoodLine(likelihoodOf(m)!);
  return [
    line('persistence', 'persistence', m.persistence_nll, 'persistence (the last frame again)'),
    line('bin_spread', 'bin spread', m.mean_frame_nll, "each bin's own distribution (no context)"),
  ];
}

/** Each reference with the model's ratio to it (or, for a categorical model, its difference in bits), in the order shown. */
export function referenceVerdicts(metrics: Metrics): ReferenceVerdict[] {
  if ('family' in metrics) return metrics.family === 'spectral' ? spectralVerdicts(metrics) : categoricalVerdicts(metrics);
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
  if ('family' in metrics && metrics.family === 'spectral') {
    const [persistence, spread] = v;
    if (persistence.loses) return { text: `Worse than repeating the last frame by ${persistence.ratio!.toFixed(2)} nats/bin: train longer, or try a larger network.`, loses: true };
    if (spread.loses) return { text: "Worse than each bin's own spread: the model has not learned the signal; train longer or check the settings.", loses: true };
    return { text: `${metrics.test_nll.toFixed(2)} nats/bin, one-step LSD ${metrics.test_lsd_db.toFixed(1)} dB: ${persistence.text}.`, loses: false };
  }
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
  bin_spread: '#2a9d5c',
};

/** The number a run is judged by: its test MSE, or a sampling model's held-out NLL. */
export function testScore(m: Metrics | null | undefined): { value: number; label: string; unit: string } | null {
  if (!m) return null;
  const l = likelihoodOf(m);
  return l ? { value: l.test, label: 'test NLL', unit: l.unit } : 'test_mse' in m ? { value: m.test_mse, label: 'test MSE', unit: '' } : null;
}

/**
 * A run against its family's simple predictor: test MSE / AR MSE, a categorical model's bits minus the
 * linear predictor's, a spectral model's nats per bin minus persistence's (lower is better each way).
 */
export function versusLinear(m: Metrics | null | undefined): number | null {
  if (!m) return null;
  if ('family' in m) return m.family === 'spectral' ? m.test_nll - m.persistence_nll : m.test_bits - m.lpc_bits;
  return m.ar_mse > 0 ? m.test_mse / m.ar_mse : null;
}
