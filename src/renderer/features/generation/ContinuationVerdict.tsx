// A continuation judged as an audio person would, beside four trivial continuations: silence, the
// linear predictor run free, the last pitch period looped and the last frame frozen (src/shared/dsp). Against the true
// continuation where there is one, else against the prime. Only the first seconds are judged, so
// that a long continuation does not hold the page.
import { useMemo } from 'react';
import { WELCH_SEGMENT, type ContinuationMetrics } from '../../../shared/dsp/continuation-metrics';
import { rms } from '../../../shared/dsp/spectrum';
import { judgeContinuation, type ContinuationJudgement } from '../../../shared/dsp/trivial-continuations';

/** Seconds of a continuation judged in the page (about 1 s of work for 10 s at 44.1 kHz, a fifth of it the spectral freeze). */
export const JUDGED_SECONDS = 10;

export interface ContinuationVerdictProps {
  samples: Float32Array;
  primeSamples: Float32Array;
  truth: Float32Array | null;
  sampleRate: number;
}

export interface Verdict {
  against: 'truth' | 'prime';
  judged: ContinuationJudgement;
  /** One sentence: where the model stands against the trivial continuations by long-term spectrum. */
  sentence: string;
}

const BASELINE_NAMES = {
  silence: 'silence',
  linearPredictor: 'the linear predictor run free',
  lastPeriodLooped: 'the last period looped',
  spectralFreeze: 'the spectral freeze',
} as const;

/** "a", "a and b", "a, b and c". */
const listed = (names: string[]) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);

/** The judgement and its sentence, or null when there is nothing with sound to judge against. */
export function judge(p: ContinuationVerdictProps): Verdict | null {
  const n = Math.min(p.samples.length, Math.round(JUDGED_SECONDS * p.sampleRate));
  if (n === 0) return null;
  const truth = p.truth && p.truth.length > WELCH_SEGMENT && rms(p.truth) > 0 ? p.truth.subarray(0, n) : null;
  const reference = truth ?? p.primeSamples;
  if (!(rms(reference) > 0)) return null;
  const judged = judgeContinuation(p.samples.subarray(0, n), p.primeSamples, reference, p.sampleRate);
  const own = judged.model.lsdDb;
  const beaten: string[] = [];
  const lost: string[] = [];
  for (const [key, m] of Object.entries(judged.baselines) as [keyof typeof BASELINE_NAMES, ContinuationMetrics | null][]) {
    if (!m || m.lsdDb === null || own === null) continue;
    (own < m.lsdDb ? beaten : lost).push(BASELINE_NAMES[key]);
  }
  const collapse = judged.model.collapsed ? ' Its loudness leaves 0.5–2 × the reference’s somewhere: it collapses or blows up.' : '';
  const sentence =
    own === null
      ? 'Too short for a long-term spectrum.'
      : lost.length === 0
        ? `Its long-term spectrum is closer to the ${truth ? 'true continuation' : 'prime'} than every trivial continuation.${collapse}`
        : `Its long-term spectrum is further from the ${truth ? 'true continuation' : 'prime'} than ${listed(lost)}.${collapse}`;
  return { against: truth ? 'truth' : 'prime', judged, sentence };
}

const f = (x: number | null, digits = 3) => (x === null || !Number.isFinite(x) ? '–' : x.toPrecision(digits));

export function ContinuationVerdict(props: ContinuationVerdictProps) {
  const { samples, primeSamples, truth, sampleRate } = props;
  const verdict = useMemo(() => {
    try {
      return judge({ samples, primeSamples, truth, sampleRate });
    } catch {
      return null; // a continuation too short or silent to judge: nothing to say
    }
  }, [samples, primeSamples, truth, sampleRate]);
  if (!verdict) return null;
  const rows: [string, ContinuationMetrics | null][] = [
    ['the model', verdict.judged.model],
    ['silence', verdict.judged.baselines.silence],
    ['linear predictor', verdict.judged.baselines.linearPredictor],
    ['last period looped', verdict.judged.baselines.lastPeriodLooped],
    ['spectral freeze', verdict.judged.baselines.spectralFreeze],
  ];
  return (
    <div data-testid="continuation-verdict">
      <p className={`verdict ${verdict.sentence.includes('further') || verdict.judged.model.collapsed ? 'loses' : 'wins'}`}>{verdict.sentence}</p>
      <table className="metrics">
        <caption>
          Against the {verdict.against === 'truth' ? 'true continuation' : 'prime'}, first {Math.min(JUDGED_SECONDS, samples.length / sampleRate).toPrecision(2)} s
        </caption>
        <thead>
          <tr>
            <th scope="col">continuation</th>
            <th scope="col">RMS ratio</th>
            <th scope="col">spectral distance (dB)</th>
            <th scope="col">pitch (Hz)</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, m]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{m ? f(m.rmsRatio) : '–'}</td>
              <td>{m ? f(m.lsdDb) : '–'}</td>
              <td>{m ? f(m.pitchHz, 4) : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
