// The training form as the user typed it: every field kept as text (so "-", "1e-" and "" survive
// while typing) and checked on each change against the contract's own schemas, with messages in
// words per field. Nothing here knows React.
import type { z } from 'zod';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_CELL,
  DEFAULT_EPOCH_WINDOWS,
  DEFAULT_FAMILY,
  DEFAULT_EPOCHS,
  DEFAULT_LEARNING_RATE,
  DEFAULT_SEED,
  DEFAULT_SPLIT,
  DEFAULT_UNITS,
  DEFAULT_WINDOW,
  FAMILY_TRAIN_DEFAULTS,
  modelSpecSchema,
  trainConfigSchema,
  type ModelFamilyName,
  type ModelSpecInput,
  type TrainConfig,
} from '../../../shared/contract';
import { modelNameSchema } from '../../../shared/protocol';

export type Cell = 'lstm' | 'gru';
export type Split = TrainConfig['split'];

export interface TrainForm {
  /** The run's name as typed; ignored while `autoName` is true (the suggested name is used). */
  name: string;
  autoName: boolean;
  /** The model family (families/model-spec.ts); the form's other model fields are the recurrent stack's. */
  family: ModelFamilyName;
  type: Cell;
  units: string;
  window: string;
  batchSize: string;
  learningRate: string;
  epochs: string;
  split: Split;
  seed: string;
  maxTrainWindows: string;
}

export type NumericField = 'window' | 'batchSize' | 'learningRate' | 'epochs' | 'seed' | 'maxTrainWindows';
export type FormField = NumericField | 'units' | 'name';

/** What a field is called in messages and labels. */
export const FIELD_LABELS: Record<FormField, string> = {
  name: 'name',
  units: 'layer sizes',
  window: 'window',
  batchSize: 'batch',
  learningRate: 'learning rate',
  epochs: 'epochs',
  seed: 'seed',
  maxTrainWindows: 'windows per epoch',
};

export function defaultTrainForm(): TrainForm {
  return {
    name: '',
    autoName: true,
    family: DEFAULT_FAMILY,
    type: DEFAULT_CELL,
    units: DEFAULT_UNITS.join(','),
    window: String(DEFAULT_WINDOW),
    batchSize: String(DEFAULT_BATCH_SIZE),
    learningRate: String(DEFAULT_LEARNING_RATE),
    epochs: String(DEFAULT_EPOCHS),
    split: DEFAULT_SPLIT,
    seed: String(DEFAULT_SEED),
    maxTrainWindows: String(DEFAULT_EPOCH_WINDOWS),
  };
}

/**
 * The form switched to another family, its model and training fields reset to that family's defaults
 * (a categorical model trains on other windows, batches and rates than the notebook's regression);
 * the name and seed stay.
 */
export function formForFamily(form: TrainForm, family: ModelFamilyName): TrainForm {
  const spec = modelSpecSchema.parse({ family });
  const train = trainConfigSchema.parse(FAMILY_TRAIN_DEFAULTS[family]);
  return { ...formFromSettings(spec, train), seed: form.seed, name: form.name, autoName: form.autoName };
}

/** The form filled from a saved run's settings ("Duplicate run"); the name is a fresh one. */
export function formFromSettings(model: { family?: ModelFamilyName; type: Cell; units: number[] }, train: TrainConfig): TrainForm {
  return {
    ...defaultTrainForm(),
    family: model.family ?? DEFAULT_FAMILY,
    type: model.type,
    units: model.units.join(','),
    window: String(train.window),
    batchSize: String(train.batchSize),
    learningRate: String(train.learningRate),
    epochs: String(train.epochs),
    split: train.split,
    seed: String(train.seed),
    maxTrainWindows: String(train.maxTrainWindows),
  };
}

const count = (n: number) => n.toLocaleString('en-US');

/** A number as typed, or why it is not one. */
export function parseNumberText(text: string): { value: number } | { error: string } {
  const t = text.trim();
  if (t === '') return { error: 'enter a number' };
  const n = Number(t);
  if (Number.isNaN(n)) return { error: `"${t}" is not a number` };
  if (!Number.isFinite(n)) return { error: 'must be a finite number' };
  return { value: n };
}

/** A zod issue from the contract's schemas in plain words ("must be at least 1"), without the field's name. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const i = issue as { code: string; minimum?: number | bigint; maximum?: number | bigint; inclusive?: boolean; expected?: string; origin?: string };
  switch (i.code) {
    case 'too_small':
      if (i.origin === 'array') return `needs at least ${i.minimum} layer${Number(i.minimum) === 1 ? '' : 's'}`;
      return i.inclusive === false ? `must be more than ${count(Number(i.minimum))}` : `must be at least ${count(Number(i.minimum))}`;
    case 'too_big':
      if (i.origin === 'array') return `takes at most ${i.maximum} layers`;
      return i.inclusive === false ? `must be less than ${count(Number(i.maximum))}` : `must be at most ${count(Number(i.maximum))}`;
    case 'invalid_type':
      return i.expected === 'int' ? 'must be a whole number' : 'must be a number';
    default:
      return issue.message;
  }
}

export interface ValidatedForm {
  /** Per field, what is wrong with it in words; empty when the form can be sent. */
  errors: Partial<Record<FormField, string>>;
  model: ModelSpecInput;
  config: Pick<TrainConfig, 'window' | 'batchSize' | 'learningRate' | 'epochs' | 'split' | 'seed' | 'maxTrainWindows'>;
}

const NUMERIC: NumericField[] = ['window', 'batchSize', 'learningRate', 'epochs', 'seed', 'maxTrainWindows'];

/** Checks every field; `name` is the name that will be used (typed or suggested). */
export function validateTrainForm(form: TrainForm, name: string): ValidatedForm {
  const errors: Partial<Record<FormField, string>> = {};
  const numbers: Partial<Record<NumericField, number>> = {};
  for (const f of NUMERIC) {
    const r = parseNumberText(form[f]);
    if ('error' in r) errors[f] = r.error;
    else numbers[f] = r.value;
  }
  const units: number[] = [];
  const parts = form.units.split(',');
  for (let i = 0; i < parts.length; i++) {
    const r = parseNumberText(parts[i]);
    if ('error' in r) {
      errors.units ??= parts.length > 1 ? `layer ${i + 1}: ${r.error}` : r.error;
    } else units.push(r.value);
  }

  // The schemas' own limits, reported per field (fields that did not parse are left out of the check).
  const config = { ...numbers, split: form.split };
  const c = trainConfigSchema.partial().safeParse(config);
  if (!c.success) for (const issue of c.error.issues) errors[issue.path[0] as NumericField] ??= describeIssue(issue);
  if (!errors.units) {
    const m = modelSpecSchema.safeParse({ family: form.family, type: form.type, units });
    if (!m.success) {
      const issue = m.error.issues[0];
      errors.units = typeof issue.path[1] === 'number' && units.length > 1 ? `layer ${issue.path[1] + 1} ${describeIssue(issue)}` : describeIssue(issue);
    }
  }
  const n = modelNameSchema.safeParse(name);
  if (!n.success) errors.name = name === '' ? 'enter a name' : n.error.issues[0].message;

  return {
    errors,
    model: { family: form.family, type: form.type, units },
    config: config as ValidatedForm['config'],
  };
}

/** A name for a new run from its signal and model, not taken by any saved model: "sine-lstm-16x16x16-2". */
export function suggestRunName(signal: string, type: Cell, unitsText: string, taken: Iterable<string>): string {
  const slug = (s: string) =>
    s
      .replace(/\.wav$/i, '')
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 24) || 'signal';
  const units = unitsText
    .split(',')
    .map((u) => u.trim())
    .filter((u) => /^\d+$/.test(u))
    .join('x');
  const base = `${slug(signal)}-${type}${units ? `-${units}` : ''}`.slice(0, 56);
  const used = new Set(taken);
  for (let i = 1; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}
