// Model folders on disk: model.json + weights.bin (tfjs layers format), spec.json, training-log.jsonl,
// and the optimizer state for resuming. A folder is written whole into a sibling temp folder, fsynced,
// then renamed into place, so a crash never leaves a folder that looks whole but is not.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import {
  metricsSchema,
  modelSpecSchema,
  normalisationSchema,
  signalSourceSchema,
  trainConfigSchema,
  epochRecordSchema,
  type EpochRecord,
  type Metrics,
  type ModelSpec,
  type Normalisation,
  type SignalSource,
  type TrainConfig,
} from '../../shared/contract';
import { LabError } from '../../shared/errors';

export const MODEL_FORMAT = 'sequence-lab-model';
export const MODEL_FORMAT_VERSION = 1;

export const storedSpecSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(MODEL_FORMAT_VERSION),
  /** 'checkpoint': saved at an epoch end of a run still going or interrupted; 'complete': training ended. */
  status: z.enum(['checkpoint', 'complete']),
  model: modelSpecSchema,
  train: trainConfigSchema,
  source: signalSourceSchema,
  normalisation: normalisationSchema,
  sampleRate: z.number().int().positive(),
  epochsDone: z.number().int().min(0),
  outcome: z.string().nullable(),
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

/** Writes the named files into `dir` atomically (temp folder, fsync, rename; an old folder is replaced). */
export async function writeFolderAtomic(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  const abs = path.resolve(dir);
  const parent = path.dirname(abs);
  await fs.mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = path.join(parent, `.${path.basename(abs)}.tmp-${tag}`);
  const old = path.join(parent, `.${path.basename(abs)}.old-${tag}`);
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
    await fs.rename(tmp, abs);
    await fsyncDir(parent);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw new LabError('bad_file', `Could not write ${dir}: ${(e as Error).message}`);
  }
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
  const st = await fs.stat(dir).catch(() => null);
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
    const { specs } = parseJson(optJson, path.join(dir, FILES.optJson)) as { specs: tf.io.WeightsManifestEntry[] };
    const optBin = await readFile(dir, FILES.optBin);
    const map = tf.io.decodeWeights(optBin.buffer.slice(optBin.byteOffset, optBin.byteOffset + optBin.byteLength) as ArrayBuffer, specs);
    optimizerWeights = specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
  }
  const logText = (await fs.readFile(path.join(dir, FILES.log), 'utf8').catch(() => '')) as string;
  return { model, spec, optimizerWeights, log: logText.split('\n').filter((l) => l.length > 0) };
}

export function nowIso(): string {
  return new Date().toISOString();
}

export type { ModelSpec, TrainConfig, SignalSource, Normalisation, Metrics };

/** Writes one file atomically: temp file beside it, fsync, rename. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const abs = path.resolve(file);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  try {
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, abs);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw new LabError('bad_file', `Could not write ${file}: ${(e as Error).message}`);
  }
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
