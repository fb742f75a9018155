// The model families, by name. A new family is one folder beside regression/ and one line in
// FAMILIES (and its schema in the shared union, src/shared/families/model-spec.ts); nothing that
// uses a family changes.
import { z } from 'zod';
import { DEFAULT_FAMILY, parseOrThrow, type ModelSpec } from '../../../shared/contract';
import { LabError } from '../../../shared/errors';
import type { FamilyDataset, ModelFamily } from './family';
import { categoricalFamily } from './categorical';
import { regressionFamily } from './regression';
import { spectralFamily } from './spectral';

// Each family is typed by its own spec and dataset; the registry hands them out by the spec's name.
type AnyFamily = ModelFamily<ModelSpec, FamilyDataset>;

const FAMILIES = new Map<string, AnyFamily>([
  [regressionFamily.name, regressionFamily as unknown as AnyFamily],
  [categoricalFamily.name, categoricalFamily as unknown as AnyFamily],
  [spectralFamily.name, spectralFamily as unknown as AnyFamily],
]);

/** Adds a family (tests add a fake one to prove that the trainer, evaluation, generator and store need no change). */
export function registerFamily<S extends { family: string }, D extends FamilyDataset>(family: ModelFamily<S, D>): () => void {
  FAMILIES.set(family.name, family as unknown as AnyFamily);
  return () => void FAMILIES.delete(family.name);
}

/** The family a spec's `family` field names; specs without one (folders from before families) are regression's. */
export function familyOf(spec: { family?: string }): AnyFamily {
  const family = spec.family ?? DEFAULT_FAMILY;
  const found = FAMILIES.get(family);
  if (found) return found;
  throw new Error(`Unknown model family: ${family}`);
}

/** The family a raw spec names, or an error message when it names none that exists. */
function familyNamed(raw: unknown): AnyFamily | string {
  const family = typeof raw === 'object' && raw !== null && 'family' in raw ? (raw as { family: unknown }).family : undefined;
  if (family !== undefined && (typeof family !== 'string' || !FAMILIES.has(family))) {
    return `expected one of ${[...FAMILIES.keys()].join(', ')}, but got ${JSON.stringify(family)}`;
  }
  return familyOf({ family: family as string | undefined });
}

/** Validates a spec by its family's schema and fills its defaults; throws `bad_argument` naming the bad value. */
export function parseModelSpec(input: unknown): ModelSpec {
  const raw = input ?? {};
  const family = familyNamed(raw);
  if (typeof family === 'string') throw new LabError('bad_argument', `Invalid model spec: family: ${family}`);
  return parseOrThrow(family.specSchema, raw, 'model spec');
}

/**
 * A spec validated by its family's schema, as a zod field (the store's): issues keep their paths. A spectral
 * spec saved before `mixtures` existed had one Gaussian per bin, which is no longer the default: it is
 * read as 1, so its weights still fit.
 */
export const familySpecSchema = z.unknown().transform((value, ctx): ModelSpec => {
  const family = familyNamed(value);
  if (typeof family === 'string') {
    ctx.issues.push({ code: 'custom', path: ['family'], message: family, input: value });
    return z.NEVER;
  }
  const saved = family.name === 'spectral' && typeof value === 'object' && value !== null && !('mixtures' in value) ? { ...value, mixtures: 1 } : value;
  const r = family.specSchema.safeParse(saved);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.issues.push({ ...issue, input: value } as never);
  return z.NEVER;
});
