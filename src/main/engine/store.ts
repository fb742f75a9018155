// Model folders on disk: model.json + weights.bin (tfjs layers format), spec.json, training-log.jsonl,
// and the optimizer state for resuming. A folder is written whole into a sibling temp folder, fsynced,
// then renamed into place, so a crash never leaves a folder that looks whole but is not.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import {
  metricsSchema,
  TRAIN_OUTCOMES,
  MODEL_STATUSES,
  normalisationSchema,
  signalSourceSchema,
  trainConfigSchema,
  epochRecordSchema,
  type EpochRecord,
} from '../../shared/contract';
import { LabError } from '../../shared/errors';
import { familySpecSchema } from './families';

export const MODEL_FORMAT = 'sequence-lab-model';
export const MODEL_FORMAT_VERSION = 1;

export const storedSpecSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(MODEL_FORMAT_VERSION),
  /** 'checkpoint': saved at an epoch end of a run still going or interrupted; 'complete': training ended. */
  status: z.enum(MODEL_STATUSES),
  /** Validated by its family's schema; a spec without `family` (from before families) is regression's. */
  model: familySpecSchema,
  train: trainConfigSchema,
  source: signalSourceSchema,
  normalisation: normalisationSchema,
  sampleRate: z.number().int().positive(),
  epochsDone: z.number().int().min(0),
  outcome: z.enum(TRAIN_OUTCOMES).nullable(),
  noiseFloor: z.number().nullable(),
  metrics: metricsSchema.nullable(),
  backend: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type StoredSpec = z.infer<typeof storedSpecSchema>;

/** A tensor with its name, as optimizers' getWeights() returns them. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export interface ModelFolder {
  model: tf.LayersModel;
  spec: StoredSpec;
  /** Optimizer variables in the order tfjs's Adam.getWeights() returns them; null when not saved. */
  optimizerWeights: NamedTensor[] | null;
  log: string[];
}

export interface SaveInput {
  model: tf.LayersModel;
  spec: StoredSpec;
  optimizerWeights?: NamedTensor[] | null;
  /** JSONL lines, without newlines. */
  log: string[];
}

const FILES = { model: 'model.json', weights: 'weights.bin', spec: 'spec.json', log: 'training-log.jsonl', optJson: 'optimizer.json', optBin: 'optimizer.bin' };

/** True when `dir` holds a spec.json that says it is a Sequence Lab model folder (any version). */
export async function isModelFolder(dir: string): Promise<boolean> {
  try {
    const raw = JSON.parse(await fs.readFile(path.join(dir, FILES.spec), 'utf8')) as { format?: unknown };
    return raw?.format === MODEL_FORMAT;
  } catch {
    return false;
  }
}

/**
 * What a model folder may be written over: nothing, an empty folder, or a model folder. Anything else
 * (`--out .`, a folder of the user's files) is refused, so that a write never deletes what it did not make.
 */
export async function checkWritableModelFolder(dir: string): Promise<'absent' | 'empty' | 'model'> {
  const abs = path.resolve(dir);
  const st = await fs.stat(abs).catch(() => null);
  if (!st) return 'absent';
  if (!st.isDirectory()) throw new LabError('bad_argument', `${dir} exists and is not a folder; choose another place for the model`);
  if (await isModelFolder(abs)) return 'model';
  const entries = await fs.readdir(abs);
  if (entries.length === 0) return 'empty';
  throw new LabError('bad_argument', `${dir} is not a Sequence Lab model folder (it holds ${entries.length} other file${entries.length === 1 ? '' : 's'}, e.g. ${entries[0]}); refusing to replace it — choose a new or empty folder`);
}

const TMP_MARK = '.tmp-';
const OLD_MARK = '.old-';

/**
 * Writes the named files into `dir` atomically: a sibling temp folder, fsynced, then renamed into
 * place. An existing folder is moved aside first (rename cannot replace a non-empty folder); a crash
 * between the two renames leaves `.NAME.old-*`, which recoverFolder() puts back.
 */
export async function writeFolderAtomic(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  const abs = path.resolve(dir);
  const parent = path.dirname(abs);
  await fs.mkdir(parent, { recursive: true });
  await recoverFolder(abs);
  await checkWritableModelFolder(abs);
  const tag = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = path.join(parent, `.${path.basename(abs)}${TMP_MARK}${tag}`);
  const old = path.join(parent, `.${path.basename(abs)}${OLD_MARK}${tag}`);
  await fs.mkdir(tmp);
  try {
    for (const [name, data] of Object.entries(files)) {
      const fh = await fs.open(path.join(tmp, name), 'w');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await fsyncDir(tmp);
    let hadOld = false;
    try {
      await fs.rename(abs, old);
      hadOld = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (process.env.SEQUENCE_LAB_TEST_CRASH_BETWEEN_RENAMES && hadOld) process.kill(process.pid, 'SIGKILL'); // test hook
    await fs.rename(tmp, abs);
    await fsyncDir(parent);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw new LabError('bad_file', `Could not write ${dir}: ${(e as Error).message}`);
  }
}

/**
 * Puts a model folder back after a crash between writeFolderAtomic's renames: when `dir` is missing
 * and `.NAME.old-*` exists, the newest of those becomes `dir` again. Leftover temp folders, and old
 * copies of a folder that exists, are removed. Returns what it did, for the caller's log.
 */
export async function recoverFolder(dir: string): Promise<string[]> {
  const abs = path.resolve(dir);
  const parent = path.dirname(abs);
  const base = path.basename(abs);
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  const olds = names.filter((n) => n.startsWith(`.${base}${OLD_MARK}`)).sort(byTagTime);
  const tmps = names.filter((n) => n.startsWith(`.${base}${TMP_MARK}`));
  const done: string[] = [];
  // A temp folder of a live writer in this process is its own business; other pids' are leftovers.
  for (const t of tmps) {
    if (tagPid(t) === process.pid) continue;
    await fs.rm(path.join(parent, t), { recursive: true, force: true });
    done.push(`removed unfinished write ${t}`);
  }
  let exists = !!(await fs.stat(abs).catch(() => null));
  for (const o of olds.reverse()) {
    if (tagPid(o) === process.pid) continue;
    if (!exists) {
      await fs.rename(path.join(parent, o), abs);
      exists = true;
      done.push(`restored ${base} from ${o}`);
    } else {
      await fs.rm(path.join(parent, o), { recursive: true, force: true });
      done.push(`removed old copy ${o}`);
    }
  }
  return done;
}

/** recoverFolder() for every model folder left in `modelsDir` (engine start-up). */
export async function recoverModelsDir(modelsDir: string): Promise<string[]> {
  const names = await fs.readdir(modelsDir).catch(() => [] as string[]);
  const bases = new Set<string>();
  for (const n of names) {
    const m = /^\.(.+?)\.(?:tmp|old)-\d+-[0-9a-z]+-[0-9a-z]+$/.exec(n);
    if (m) bases.add(m[1]);
  }
  const done: string[] = [];
  for (const b of bases) done.push(...(await recoverFolder(path.join(modelsDir, b))));
  return done;
}

/** The pid in a `.NAME.tmp-PID-TIME-RAND` name. */
function tagPid(name: string): number {
  const m = /(?:tmp|old)-(\d+)-([0-9a-z]+)-[0-9a-z]+$/.exec(name);
  return m ? Number(m[1]) : -1;
}

function byTagTime(a: string, b: string): number {
  const t = (n: string) => {
    const m = /(?:tmp|old)-\d+-([0-9a-z]+)-[0-9a-z]+$/.exec(n);
    return m ? parseInt(m[1], 36) : 0;
  };
  return t(a) - t(b);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    await fh.close();
  }
}

/** Encodes the model in tfjs layers format: model.json + one weights.bin shard. */
async function encodeModel(model: tf.LayersModel): Promise<{ json: string; weights: Uint8Array }> {
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts as unknown as tf.io.ModelArtifacts;
  const weightData = a.weightData instanceof ArrayBuffer ? a.weightData : tf.io.concatenateArrayBuffers(a.weightData as ArrayBuffer[]);
  const json = {
    format: 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy ?? null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [`./${FILES.weights}`], weights: a.weightSpecs }],
  };
  return { json: JSON.stringify(json), weights: new Uint8Array(weightData) };
}

export async function saveModelFolder(dir: string, input: SaveInput): Promise<void> {
  // A folder that could not be read back is never written: the spec is checked as readStoredSpec will.
  const checked = storedSpecSchema.safeParse(input.spec);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new LabError('bad_argument', `Refusing to save ${dir}: its spec is invalid at ${issue.path.join('.')}: ${issue.message}`);
  }
  const { json, weights } = await encodeModel(input.model);
  const files: Record<string, Uint8Array | string> = {
    [FILES.model]: json,
    [FILES.weights]: weights,
    [FILES.spec]: JSON.stringify(input.spec, null, 2),
    [FILES.log]: input.log.length ? input.log.join('\n') + '\n' : '',
  };
  if (input.optimizerWeights && input.optimizerWeights.length) {
    const { data, specs } = await tf.io.encodeWeights(input.optimizerWeights);
    files[FILES.optJson] = JSON.stringify({ specs });
    files[FILES.optBin] = new Uint8Array(data);
  }
  await writeFolderAtomic(dir, files);
}

async function readFile(dir: string, name: string): Promise<Buffer> {
  try {
    return await fs.readFile(path.join(dir, name));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LabError('bad_file', `${dir} is not a Sequence Lab model folder: ${name} is missing`);
    throw new LabError('bad_file', `Cannot read ${path.join(dir, name)}: ${(e as Error).message}`);
  }
}

function parseJson(buf: Buffer, file: string): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new LabError('bad_file', `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

export async function readStoredSpec(dir: string): Promise<StoredSpec> {
  let st = await fs.stat(dir).catch(() => null);
  if (!st && (await recoverFolder(dir)).length) st = await fs.stat(dir).catch(() => null);
  if (!st || !st.isDirectory()) throw new LabError('bad_file', `Model folder ${dir} does not exist`);
  const raw = parseJson(await readFile(dir, FILES.spec), path.join(dir, FILES.spec));
  const r = storedSpecSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new LabError('bad_file', `${path.join(dir, FILES.spec)} is not a valid model spec: ${issue.path.join('.')}: ${issue.message}`);
  }
  return r.data;
}

/** Loads a model folder, checking that every file is present and the weights match the manifest. */
export async function loadModelFolder(dir: string): Promise<ModelFolder> {
  const spec = await readStoredSpec(dir);
  const modelJson = parseJson(await readFile(dir, FILES.model), path.join(dir, FILES.model)) as {
    modelTopology?: unknown;
    weightsManifest?: { weights: tf.io.WeightsManifestEntry[] }[];
  };
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new LabError('bad_file', `${path.join(dir, FILES.model)} is not a tfjs layers model`);
  }
  const weightSpecs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const weightBuf = await readFile(dir, FILES.weights);
  const expected = weightSpecs.reduce((s, w) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  if (weightBuf.byteLength !== expected) {
    throw new LabError('bad_file', `${path.join(dir, FILES.weights)} holds ${weightBuf.byteLength} bytes, but model.json describes ${expected}`);
  }
  const weightData = weightBuf.buffer.slice(weightBuf.byteOffset, weightBuf.byteOffset + weightBuf.byteLength) as ArrayBuffer;
  const f32 = new Float32Array(weightData);
  for (let i = 0; i < f32.length; i++) {
    if (!Number.isFinite(f32[i])) throw new LabError('bad_file', `${path.join(dir, FILES.weights)} holds a non-finite weight at index ${i}`);
  }
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology as object, weightSpecs, weightData }));
  } catch (e) {
    throw new LabError('bad_file', `${path.join(dir, FILES.model)} could not be loaded: ${(e as Error).message}`);
  }
  let optimizerWeights: NamedTensor[] | null = null;
  const optJson = await fs.readFile(path.join(dir, FILES.optJson)).catch(() => null);
  if (optJson) {
    const { specs } = parseJson(optJson, path.join(dir, FILES.optJson)) as { specs?: tf.io.WeightsManifestEntry[] };
    const optBin = await readFile(dir, FILES.optBin);
    const optFile = path.join(dir, FILES.optBin);
    const ok = Array.isArray(specs) && specs.every((w) => typeof w?.name === 'string' && (w.dtype === 'float32' || w.dtype === 'int32') && Array.isArray(w.shape) && w.shape.every((d) => Number.isInteger(d) && d >= 0));
    if (!ok) {
      model.dispose();
      throw new LabError('bad_file', `${path.join(dir, FILES.optJson)} does not describe the optimizer's weights (float32 or int32 tensors)`);
    }
    const optExpected = specs.reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    if (optBin.byteLength !== optExpected) {
      model.dispose();
      throw new LabError('bad_file', `${optFile} holds ${optBin.byteLength} bytes, but optimizer.json describes ${optExpected}`);
    }
    const optF32 = new Float32Array(optBin.buffer.slice(optBin.byteOffset, optBin.byteOffset + optBin.byteLength) as ArrayBuffer);
    for (let w = 0, at = 0; w < specs.length; w++) {
      const n = specs[w].shape.reduce((a, b) => a * b, 1);
      for (let i = at; specs[w].dtype === 'float32' && i < at + n; i++) {
        if (!Number.isFinite(optF32[i])) {
          model.dispose();
          throw new LabError('bad_file', `${optFile} holds a non-finite value in ${specs[w].name}`);
        }
      }
      at += n;
    }
    const map = tf.io.decodeWeights(optF32.buffer, specs);
    optimizerWeights = specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
  }
  const logText = (await fs.readFile(path.join(dir, FILES.log), 'utf8').catch(() => '')) as string;
  return { model, spec, optimizerWeights, log: logText.split('\n').filter((l) => l.length > 0) };
}

export function nowIso(): string {
  return new Date().toISOString();
}

/**
 * Writes files atomically as a set: every file is first written and fsynced beside its target, and
 * only when all of them are staged are they renamed into place. A bad path or a full disk therefore
 * leaves none of them written (a WAV is never left without the state file asked for beside it).
 */
export async function writeFilesAtomic(files: { path: string; data: Uint8Array | string }[]): Promise<void> {
  const staged: { tmp: string; abs: string; shown: string }[] = [];
  try {
    for (const f of files) {
      const abs = path.resolve(f.path);
      const st = await fs.stat(abs).catch(() => null);
      if (st?.isDirectory()) throw new LabError('bad_argument', `Could not write ${f.path}: it is a folder`);
      const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}${TMP_MARK}${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
      try {
        const fh = await fs.open(tmp, 'w');
        staged.push({ tmp, abs, shown: f.path });
        try {
          await fh.writeFile(f.data);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? `its folder ${path.dirname(f.path)} does not exist` : code === 'EACCES' ? 'permission denied' : (e as Error).message;
        throw new LabError('bad_file', `Could not write ${f.path}: ${why}`);
      }
    }
    for (const s of staged) await fs.rename(s.tmp, s.abs);
  } catch (e) {
    await Promise.all(staged.map((s) => fs.rm(s.tmp, { force: true })));
    throw e instanceof LabError ? e : new LabError('bad_file', `Could not write ${files.map((f) => f.path).join(', ')}: ${(e as Error).message}`);
  }
}

/** Writes one file atomically: temp file beside it, fsync, rename. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  await writeFilesAtomic([{ path: file, data }]);
}

/** A model's training log: per-epoch records and per-batch losses, in order. */
export function parseTrainingLog(lines: string[]): { history: EpochRecord[]; batchLosses: number[] } {
  const history: EpochRecord[] = [];
  const batchLosses: number[] = [];
  for (const line of lines) {
    let r: { type?: string; loss?: number };
    try {
      r = JSON.parse(line);
    } catch {
      continue; // a line cut short by a crash while appending is skipped, not fatal
    }
    if (r.type === 'batch' && typeof r.loss === 'number') batchLosses.push(r.loss);
    else if (r.type === 'epoch') {
      const e = epochRecordSchema.safeParse(r);
      if (e.success) history.push(e.data);
    }
  }
  return { history, batchLosses };
}
