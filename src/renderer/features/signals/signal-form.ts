// The Signal panel's numbers as the user typed them (samples, noise σ, seed, record seconds): kept
// as text, so that "-", "1e-" and "" survive while typing, and checked on each change against the
// preset signal spec schema, with messages in words per field. Nothing here knows React.
import { signalSpecSchema, type SignalSpec } from '../../../shared/signals/generators';
import { describeIssue, parseNumberText } from '../training/train-form';

export interface SignalFields {
  length: string;
  noise: string;
  seed: string;
  recordSeconds: string;
}

export type SignalField = keyof SignalFields;
type SpecField = Exclude<SignalField, 'recordSeconds'>;

/** The shortest and longest microphone take the panel asks for, in seconds. The longest is ten
 * minutes: at 96 kHz that is 57.6 M samples, under the 67 M a signal may have (src/shared/limits.ts). */
export const MIN_RECORD_SECONDS = 0.5;
export const MAX_RECORD_SECONDS = 600;
export const DEFAULT_RECORD_SECONDS = 3;

export interface CheckedSignalFields {
  /** Per field, what is wrong with it in words; empty when every field is fine. */
  errors: Partial<Record<SignalField, string>>;
  /** The preset's spec with the typed length, noise and seed; null while one of those is wrong. */
  spec: SignalSpec | null;
  /** The take's length in seconds; null while it is wrong. */
  recordSeconds: number | null;
}

const count = (n: number) => n.toLocaleString('en-US');

/** Checks the typed fields against `base`, the chosen preset's spec (or null when there is none). */
export function checkSignalFields(fields: SignalFields, base: SignalSpec | null): CheckedSignalFields {
  const errors: Partial<Record<SignalField, string>> = {};
  const numbers: Partial<Record<SpecField, number>> = {};
  for (const f of ['length', 'noise', 'seed'] as const) {
    const r = parseNumberText(fields[f]);
    if ('error' in r) errors[f] = r.error;
    else numbers[f] = r.value;
  }
  let spec: SignalSpec | null = null;
  if (base) {
    // The schema's own limits, per field; a field that did not parse is checked as the preset has it.
    const candidate = { ...base, ...numbers } as SignalSpec;
    const r = signalSpecSchema.safeParse(candidate);
    if (r.success) spec = Object.keys(errors).length ? null : candidate;
    else
      for (const issue of r.error.issues) {
        const f = issue.path[0];
        if (f === 'length' || f === 'noise' || f === 'seed') errors[f] ??= describeIssue(issue);
      }
  }
  let recordSeconds: number | null = null;
  const s = parseNumberText(fields.recordSeconds);
  if ('error' in s) errors.recordSeconds = s.error;
  else if (s.value < MIN_RECORD_SECONDS) errors.recordSeconds = `must be at least ${count(MIN_RECORD_SECONDS)}`;
  else if (s.value > MAX_RECORD_SECONDS) errors.recordSeconds = `must be at most ${count(MAX_RECORD_SECONDS)}`;
  else recordSeconds = s.value;
  return { errors, spec, recordSeconds };
}
