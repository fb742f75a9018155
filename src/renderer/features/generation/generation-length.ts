// How long a continuation is, as typed: seconds by default ("2", "0.5 s"), or milliseconds
// ("250 ms") or an exact count ("1000 samples"), turned into samples at the model's rate. Blank means
// the model's default: 2 s for audio, 1 s for the sine presets (long enough to hear the tone).
import { MAX_GENERATE_LENGTH } from '../../../shared/contract';

/** Seconds generated when the field is blank, for a model trained on audio. */
export const DEFAULT_AUDIO_SECONDS = 2;
/** Seconds generated when the field is blank, for a model trained on a preset (sine, ...). */
export const DEFAULT_PRESET_SECONDS = 1;

/** The default length for a model, from its summary's `source` ("preset sine", "vowel.wav", ...). */
export function defaultSeconds(source: string | null | undefined): number {
  return source?.startsWith('preset ') ? DEFAULT_PRESET_SECONDS : DEFAULT_AUDIO_SECONDS;
}

export type LengthCheck = { samples: number; seconds: number; error: null } | { samples: null; seconds: null; error: string };

const UNITS: Record<string, 'seconds' | 'ms' | 'samples'> = {
  '': 'seconds',
  s: 'seconds',
  sec: 'seconds',
  secs: 'seconds',
  second: 'seconds',
  seconds: 'seconds',
  ms: 'ms',
  sample: 'samples',
  samples: 'samples',
};

const count = (n: number) => n.toLocaleString('en-US');
const secondsText = (s: number) => `${Number(s.toPrecision(4))} s`;

/**
 * The length typed in the field as samples at `sampleRate` (Hz), or why it is not one. Blank:
 * `fallbackSeconds`. A length must be at least one sample and at most MAX_GENERATE_LENGTH samples.
 */
export function checkLength(text: string, sampleRate: number, fallbackSeconds: number = DEFAULT_AUDIO_SECONDS): LengthCheck {
  const bad = (error: string): LengthCheck => ({ samples: null, seconds: null, error });
  if (!(Number.isFinite(sampleRate) && sampleRate > 0)) return bad(`the model's sample rate (${sampleRate}) is unknown`);
  const t = text.trim().toLowerCase();
  let samples: number;
  if (t === '') {
    samples = Math.round(fallbackSeconds * sampleRate);
  } else {
    const m = /^([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*([a-z]*)$/.exec(t);
    const unit = m ? UNITS[m[2]] : undefined;
    if (!m || !unit) return bad(`"${text.trim()}" is not a length: write seconds (2), milliseconds (250 ms) or samples (1000 samples)`);
    const v = Number(m[1]);
    if (!Number.isFinite(v)) return bad('must be a finite number');
    if (v <= 0) return bad('must be more than 0');
    if (unit === 'samples') {
      if (!Number.isInteger(v)) return bad('a number of samples must be a whole number');
      samples = v;
    } else {
      samples = Math.round((unit === 'ms' ? v / 1000 : v) * sampleRate);
      if (samples < 1) return bad(`is less than one sample at ${count(sampleRate)} Hz`);
    }
  }
  if (samples > MAX_GENERATE_LENGTH) {
    return bad(`must be at most ${secondsText(MAX_GENERATE_LENGTH / sampleRate)} (${count(MAX_GENERATE_LENGTH)} samples at ${count(sampleRate)} Hz)`);
  }
  return { samples, seconds: samples / sampleRate, error: null };
}
