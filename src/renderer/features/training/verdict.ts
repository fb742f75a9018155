// A verdict beside every number: the model's test MSE as a ratio to each reference (noise floor,
// persistence, linear AR), and a plain sentence where the model loses. A ratio says more than two
// MSEs side by side: "46 × worse than linear prediction" is read at a glance, 0.0207 vs 0.00045 is not.
import type { Metrics } from '../../../shared/contract';

export type ReferenceKey = 'noise_floor' | 'persistence' | 'ar';

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

/** Each reference with the model's ratio to it, in the order shown. */
export function referenceVerdicts(m: Metrics): ReferenceVerdict[] {
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
export function summaryVerdict(m: Metrics): { text: string; loses: boolean } {
  const v = referenceVerdicts(m);
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
