// The last session, kept in localStorage so that a reload (or a server restart) brings back the
// signal, the form as typed, the model shown, the generation settings and the runs compared.
// A stored value that does not parse is ignored, never trusted: it is only a convenience.
import { z } from 'zod';
import { DEFAULT_FAMILY, MODEL_FAMILIES, type ModelFamilyName } from '../../shared/contract';
import { defaultTrainForm, type TrainForm } from './training/train-form';

const KEY = 'sequence-lab.session.v1';

export interface PresetSettings {
  name: string;
  length: number;
  noise: number;
  seed: number;
}

const formSchema = z.object({
  name: z.string(),
  autoName: z.boolean(),
  /** Absent from sessions saved before families: the default family. */
  family: z.custom<ModelFamilyName>((v) => (MODEL_FAMILIES as readonly unknown[]).includes(v)).default(DEFAULT_FAMILY),
  type: z.enum(['lstm', 'gru']),
  units: z.string(),
  window: z.string(),
  batchSize: z.string(),
  learningRate: z.string(),
  epochs: z.string(),
  split: z.enum(['shuffled', 'blocked']),
  seed: z.string(),
  maxTrainWindows: z.string(),
}) satisfies z.ZodType<TrainForm>;

const regionSchema = z.object({ start: z.number(), end: z.number() });

const sessionSchema = z.object({
  preset: z.object({ name: z.string(), length: z.number(), noise: z.number(), seed: z.number() }).nullable(),
  /** The library recording shown as the signal, with its regions (the engine keeps the audio). */
  recording: z.object({ name: z.string(), region: regionSchema.optional(), primeRegion: regionSchema.optional() }).nullable().default(null),
  form: formSchema,
  selected: z.string().nullable(),
  /**
   * temperature: absent from sessions saved before sampling families; blank leaves it to the model's
   * family. Sessions saved before a blank was allowed (no `temperatureBlankable`) held '1', the only
   * default there was, which is read as blank.
   */
  /** length: seconds, blank for the model's default; a bare number over 100 is a count of samples from before lengths were in seconds. */
  generation: z.object({ prime: z.string(), length: z.string().transform((t) => (/^\s*\d+\s*$/.test(t) && Number(t) > 100 ? `${t.trim()} samples` : t)), live: z.boolean().optional(), temperature: z.string().default(''), temperatureBlankable: z.literal(true).optional(), offset: z.string().default('') }).transform(({ temperatureBlankable, ...g }) => ({ ...g, temperature: !temperatureBlankable && g.temperature.trim() === '1' ? '' : g.temperature })),
  compared: z.array(z.string()),
});
export type Session = z.infer<typeof sessionSchema>;

export function defaultSession(): Session {
  return { preset: null, recording: null, form: defaultTrainForm(), selected: null, generation: { prime: '', length: '', temperature: '', offset: '' }, compared: [] };
}

export function loadSession(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): Session {
  try {
    const raw = storage?.getItem(KEY);
    if (!raw) return defaultSession();
    const r = sessionSchema.safeParse(JSON.parse(raw));
    return r.success ? r.data : defaultSession();
  } catch {
    return defaultSession(); // private mode or a value from another version
  }
}

export function saveSession(s: Session, storage: Pick<Storage, 'setItem'> | undefined = globalThis.localStorage): void {
  try {
    storage?.setItem(KEY, JSON.stringify({ ...s, generation: { ...s.generation, temperatureBlankable: true } }));
  } catch {
    // storage full or disabled: the session is simply not kept
  }
}
